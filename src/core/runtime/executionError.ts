import { isLocalQuantError, LocalQuantError } from '../errors.js';
import type { Node } from '../ir/types.js';

/**
 * An error raised inside tfjs while running (or preparing the weights of) `nodes` as a LocalQuantError that
 * names them: tfjs preconditions ("Operands could not be broadcast", "rank of input 5") say nothing about
 * which part of the model failed. LocalQuantErrors pass through unchanged.
 *
 * tfjs 4.22 pitfall: a wasm kernel that aborts (XNNPACK setup failure, out-of-bounds access) leaves the
 * wasm module's memory unusable, and every later op fails with "memory access out of bounds". Import-time
 * validation keeps such inputs away from the kernels; if one still gets through, the message says so.
 */
export function executionError(e: unknown, nodes: Node[]): LocalQuantError {
  if (isLocalQuantError(e)) return e as LocalQuantError;
  const detail = e instanceof Error ? e.message : String(e);
  const what = nodes.map((n) => `${n.opType} node '${n.name}'`).join(' fused with ');
  const trapped = typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError;
  return new LocalQuantError(
    'EXECUTION_FAILED',
    `${what} failed: ${detail.split('\n')[0].slice(0, 300)}`,
    trapped
      ? 'The wasm backend trapped and may be unusable now: reload the page (or restart the command) and report the model.'
      : "The node's inputs or weights do not fit its operator (a damaged or unusual model): check the input shape, or export the model again.",
  );
}
