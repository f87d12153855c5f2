/** Starts the quantization worker from its own same-origin file. */
export function createQuantWorker(): Worker {
  return new Worker(new URL('./quantWorker.ts', import.meta.url), { type: 'module', name: 'localquant' });
}
