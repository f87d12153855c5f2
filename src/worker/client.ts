/**
 * The page's side of the worker: starts it, forwards events, turns crashes into error events, and on
 * cancel terminates it and starts a fresh one so the page is ready for the next run.
 */
import type { ModelFile } from '../core/ir/types.js';
import type { PipelineConfig, RgbaImage } from '../core/pipeline/types.js';
import { createQuantWorker } from './workerFactory.js';
import { PROTOCOL_VERSION, type WorkerEvent, type WorkerRequest } from './protocol.js';

export type WorkerListener = (event: WorkerEvent) => void;

export class QuantWorkerClient {
  private worker: Worker;
  /** False until the worker says 'ready'; a worker that dies before that is not restarted in a loop. */
  private started = false;
  private broken = false;
  constructor(private readonly listener: WorkerListener) {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = createQuantWorker();
    this.started = false;
    this.broken = false;
    worker.onmessage = (m: MessageEvent<WorkerEvent>) => {
      if (m.data.type === 'ready') this.started = true;
      this.listener(m.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const startup = !this.started;
      this.listener({
        v: PROTOCOL_VERSION, type: 'error',
        error: {
          code: 'WORKER_CRASHED',
          message: startup ? `The worker could not start: ${e.message || 'unknown error'}` : `The worker stopped: ${e.message || 'unknown error'}`,
          hint: startup ? 'This browser may not support module workers or WebAssembly here; try a current Chrome, Edge or Firefox.' : 'Try again; the page started a fresh worker.',
        },
      });
      // A crash mid-run gets a fresh worker now; one that cannot even start is retried on the next request.
      if (startup) {
        this.worker.terminate();
        this.broken = true;
      } else {
        this.restart();
      }
    };
    worker.onmessageerror = () => this.listener({ v: PROTOCOL_VERSION, type: 'error', error: { code: 'INTERNAL', message: 'A message from the worker could not be read.' } });
    return worker;
  }

  private send(req: WorkerRequest): void {
    if (this.broken) this.restart();
    // Files are copied (not transferred): the page keeps them for the next run.
    this.worker.postMessage(req);
  }

  importFiles(files: ModelFile[]): void {
    this.send({ v: PROTOCOL_VERSION, type: 'import', files });
  }

  run(files: ModelFile[], config: PipelineConfig, wasmPath: string): void {
    this.send({ v: PROTOCOL_VERSION, type: 'run', files, config, wasmPath });
  }

  /** Scores the last run's models on the user's images; the answer is an 'evaluation' event. */
  evaluate(images: RgbaImage[], labels: (number | null)[] | undefined): void {
    this.send({ v: PROTOCOL_VERSION, type: 'evaluate', images, labels });
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
