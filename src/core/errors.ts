/**
 * Errors a user can act on. Every failure that reaches the UI or the CLI is one of these: it names what
 * was found and what to do, so that a page or a script can show `message` and `hint` as they are.
 */
export type ErrorCode =
  | 'NOT_A_MODEL'
  | 'TRUNCATED'
  | 'UNSUPPORTED_OP'
  | 'MISSING_INITIALIZER'
  | 'MISSING_FILE'
  | 'BAD_WEIGHTS'
  /** The file breaks its format's rules (sizes, attribute ranges, graph structure): found at import. */
  | 'INVALID_MODEL'
  /** Declared shapes need more memory than LocalQuant allows itself (refused before allocating). */
  | 'TOO_LARGE'
  /** An operation failed while running the model (the message names the node and its op). */
  | 'EXECUTION_FAILED'
  /** A batch ran out of memory while running (wasm trap, failed allocation): the hint says what to lower. */
  | 'OUT_OF_MEMORY'
  | 'NO_BATCHNORM'
  | 'BAD_CONFIG'
  | 'BAD_INPUT'
  | 'CANCELLED'
  | 'INTERNAL';

export class LocalQuantError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'LocalQuantError';
    this.code = code;
    this.hint = hint;
  }
  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isLocalQuantError(e: unknown): e is LocalQuantError {
  return e instanceof LocalQuantError || (typeof e === 'object' && e !== null && (e as { name?: string }).name === 'LocalQuantError');
}

/** The one error a cancel ends in, at every stage. */
export function cancelledError(message = 'The run was cancelled.'): LocalQuantError {
  return new LocalQuantError('CANCELLED', message);
}

export function throwIfCancelled(signal: AbortSignal | undefined, message?: string): void {
  if (signal?.aborted) throw cancelledError(message);
}
