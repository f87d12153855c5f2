/**
 * Any thrown value as a LocalQuantError a person can act on, for the CLI and the worker: our own errors as
 * they are, file-system errors (Node's errno objects) and out-of-memory RangeErrors with a typed code,
 * anything else as INTERNAL with a generic message. The raw JS text of an unexpected error is kept in
 * `detail` (for LOCALQUANT_DEBUG / the console), never shown as the message.
 */
import { isLocalQuantError, LocalQuantError } from './errors.js';

export interface UserError {
  error: LocalQuantError;
  /** The original error's text, for debugging; absent for LocalQuantErrors. */
  detail?: string;
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
  EEXIST: 'it exists already',
};

export function toUserError(e: unknown): UserError {
  if (e instanceof LocalQuantError) return { error: e };
  // One that crossed a realm boundary (worker message, another copy of the module) is rebuilt.
  if (isLocalQuantError(e)) {
    const x = e as { code: LocalQuantError['code']; message: string; hint?: string };
    return { error: new LocalQuantError(x.code, x.message, x.hint) };
  }
  const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const errno = e as { code?: unknown; path?: unknown; syscall?: unknown };
  if (typeof errno?.code === 'string' && errno.code in FS_REASONS) {
    const path = typeof errno.path === 'string' ? ` '${errno.path}'` : '';
    return { error: new LocalQuantError('MISSING_FILE', `Cannot access${path}: ${FS_REASONS[errno.code]}.`, 'Check the path and its permissions.'), detail };
  }
  if (e instanceof RangeError && /allocat|Invalid (typed )?array length|out of memory/i.test(e.message)) {
    return { error: new LocalQuantError('TOO_LARGE', 'The run needed more memory than this machine could give.', 'Use fewer or smaller calibration images, or a smaller model.'), detail };
  }
  return {
    error: new LocalQuantError('INTERNAL', 'LocalQuant stopped on an unexpected internal error.', 'This is a bug in LocalQuant: please report it with the model and the settings used.'),
    detail,
  };
}
