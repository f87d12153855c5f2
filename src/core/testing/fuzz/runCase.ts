import * as tf from '@tensorflow/tfjs';
import { isLocalQuantError, type ErrorCode } from '../../errors.js';
import { importModel } from '../../importers/index.js';
import { prepareGraph } from '../../ir/prepare.js';
import type { Graph, ModelFile } from '../../ir/types.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { oneImageShapes, probeForward, standardNormalFeeds } from '../../runtime/probeForward.js';

/**
 * One fuzz case through the path a user's file takes: import -> prepare (shape checks) -> a 1-image forward
 * pass on the executor, then a classification of what happened. Inputs are allocated only after prepare
 * accepted the shapes, so the harness itself never allocates what the model declares.
 */

export type Outcome =
  | { kind: 'typed'; code: ErrorCode; message: string }
  | { kind: 'accepted' }
  | { kind: 'generic'; message: string }
  | { kind: 'hang'; seconds: number }
  | { kind: 'nan'; message: string }
  | { kind: 'leak'; tensors: number; after: string; message?: string };

/** A table row key: "typed:INVALID_MODEL", "accepted", "generic", ... */
export function outcomeClass(o: Outcome): string {
  return o.kind === 'typed' ? `typed:${o.code}` : o.kind;
}

async function forwardOnce(files: ModelFile[]): Promise<Outcome> {
  const graph = importModel(files);
  // one image whatever batch is declared; other symbolic dims are left for prepare to refuse
  const shapes = oneImageShapes(graph) ?? {};
  const prepared = prepareGraph(graph, shapes);
  await probeForward(prepared); // the product's own check: refuses (typed) a model whose outputs are not finite
  return independentForward(prepared);
}

/** The harness's own 1-image forward pass and finiteness check, so that a wrong probe would show as 'nan'. */
function independentForward(prepared: Graph): Outcome {
  const ex = new GraphExecutor(prepared);
  const feeds = standardNormalFeeds(prepared, 7);
  try {
    const { outputs } = ex.execute(feeds);
    let bad = '';
    for (const [name, t] of outputs) {
      if (!bad && t.dtype === 'float32' && !t.dataSync().every(Number.isFinite)) bad = `output '${name}' holds NaN/Inf`;
      t.dispose();
    }
    return bad ? { kind: 'nan', message: bad } : { kind: 'accepted' };
  } finally {
    tf.dispose([...feeds.values()]);
    ex.dispose();
  }
}

/** Runs one case; `timeoutMs` marks a case that took longer as a hang (see fuzzWorker for a hard limit). */
export async function runFuzzCase(files: ModelFile[], timeoutMs: number): Promise<Outcome> {
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  let out: Outcome;
  try {
    out = await forwardOnce(files);
  } catch (e) {
    if (isLocalQuantError(e)) out = { kind: 'typed', code: e.code, message: e.message };
    else out = { kind: 'generic', message: `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`.slice(0, 300) };
  }
  const seconds = (performance.now() - t0) / 1000;
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) return { kind: 'leak', tensors: leaked, after: outcomeClass(out), message: 'message' in out ? out.message : undefined };
  if (seconds * 1000 > timeoutMs) return { kind: 'hang', seconds };
  return out;
}
