import { isLocalQuantError, LocalQuantError } from '../../errors.js';

/**
 * The TF.js readers walk user-supplied JSON: a field of the wrong type (a number where a list is due, a
 * missing config) surfaces as a TypeError or RangeError deep inside them. Such a file is malformed; the
 * user gets that as INVALID_MODEL naming `where` (a file, a layer, a node), with the reader's words as detail.
 */
export function readingMalformed<T>(where: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isLocalQuantError(e)) throw e;
    const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new LocalQuantError('INVALID_MODEL', `${where} is malformed (${detail.slice(0, 200)}).`, 'Convert the model again with tensorflowjs_converter, or restore the original model.json.');
  }
}
