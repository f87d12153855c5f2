/** Single-file build: the worker is inlined into the page and started from a blob URL. */
import QuantWorker from './quantWorker.ts?worker&inline';

export function createQuantWorker(): Worker {
  return new QuantWorker({ name: 'localquant' });
}
