/**
 * The page's side of the worker: starts it, forwards events, turns crashes into error events, and on
 * cancel terminates it and starts a fresh one so the page is ready for the next run.
 */
import type { ModelFile } from '../core/ir/types.js';
import type { PipelineConfig } from '../core/pipeline/types.js';
import { createQuantWorker } from './workerFactory.js';
import { PROTOCOL_VERSION, type WorkerEvent, type WorkerRequest } from './protocol.js';

export type WorkerListener = (event: WorkerEvent) => void;

export class QuantWorkerClient {
  private worker: Worker;
  constructor(private readonly listener: WorkerListener) {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = createQuantWorker();
    worker.onmessage = (m: MessageEvent<WorkerEvent>) => this.listener(m.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.listener({ v: PROTOCOL_VERSION, type: 'error', error: { code: 'WORKER_CRASHED', message: `The worker stopped: ${e.message || 'unknown error'}`, hint: 'Press Quantize to try again; the page restarted the worker.' } });
      this.restart();
    };
    worker.onmessageerror = () => this.listener({ v: PROTOCOL_VERSION, type: 'error', error: { code: 'INTERNAL', message: 'A message from the worker could not be read.' } });
    return worker;
  }

  private send(req: WorkerRequest): void {
    // Files are copied (not transferred): the page keeps them for the next run.
    this.worker.postMessage(req);
  }

  importFiles(files: ModelFile[]): void {
    this.send({ v: PROTOCOL_VERSION, type: 'import', files });
  }

  run(files: ModelFile[], config: PipelineConfig, wasmPath: string): void {
    this.send({ v: PROTOCOL_VERSION, type: 'run', files, config, wasmPath });
  }

  /** Stops a run for sure: terminate, then start a fresh worker. */
  cancel(): void {
    this.restart();
  }

  private restart(): void {
    this.worker.terminate();
    this.worker = this.start();
  }

  dispose(): void {
    this.worker.terminate();
  }
}
