/// <reference lib="webworker" />
/**
 * The worker: all model work runs here so the page stays responsive. Cancel is done by the page
 * terminating this worker (the only sure way to stop running compute); the abort signal below lets the
 * pipeline stop cleanly when it gets the chance.
 */
import { importModel } from '../core/importers/index.js';
import { summarizeGraph } from '../core/ir/summary.js';
import { toUserError } from '../core/toUserError.js';
import { initBackend } from '../core/runtime/backends.js';
import { PROTOCOL_VERSION, transferablesOf, type WorkerErrorInfo, type WorkerEvent, type WorkerRequest } from './protocol.js';
import { loadRunPipeline } from './pipelineHost.js';
import { adaptResult } from './resultAdapter.js';
import { registerInlinedWasm } from './wasmFiles.js';
import { LocalQuantError } from '../core/errors.js';
import { writeOnnx } from '../core/exporters/onnx/onnxWriter.js';
import type { PipelineResult } from '../core/pipeline/types.js';
import type { RunResult } from './protocol.js';
import { evaluateInPage, type EvaluableRun } from './evaluateInPage.js';
import { galleryImages, galleryLabels, htmlReportBytes, modelViewData } from './runViews.js';
import { verifyInPage } from './verifyInPage.js';
import { ORT_WEB_AVAILABLE } from './ortWebRuntime.js';

declare const self: DedicatedWorkerGlobalScope;

function post(event: WorkerEvent): void {
  self.postMessage(event, transferablesOf(event));
}

function errorInfo(e: unknown): WorkerErrorInfo {
  const { error, detail } = toUserError(e);
  // The JS text of an unexpected error goes to the console for a bug report, not into the page.
  if (detail) console.warn(`LocalQuant: ${detail}`);
  return { code: error.code, message: error.message, hint: error.hint };
}

let running: AbortController | null = null;
/** The last finished run, kept for "evaluate on my own images". */
let lastRun: EvaluableRun | null = null;

function stage(stage: 'verification', status: 'start' | 'end', seconds?: number): void {
  post({ v: PROTOCOL_VERSION, type: 'progress', event: { type: 'stage', stage, status, ...(seconds !== undefined ? { seconds } : {}) } });
}

/**
 * The result as the page gets it: downloads (plus the HTML report), view data, and the export verified in
 * onnxruntime-web. Verification never fails a finished run; only a cancel stops it.
 */
async function finishRun(raw: PipelineResult, synthesisLoss: number[], signal: AbortSignal): Promise<RunResult> {
  const result = adaptResult(raw);
  const images = galleryImages(raw);
  const html = htmlReportBytes(raw, images, synthesisLoss);
  result.files.push({ name: 'report.html', mime: 'text/html', bytes: html.buffer as ArrayBuffer });
  result.modelView = modelViewData(raw);
  result.calibrationImages = images;
  const labels = galleryLabels(raw);
  if (labels) result.calibrationLabels = labels;
  const detector = raw.report.agreementOn?.metric === 'boxes';
  stage('verification', 'start');
  const t0 = performance.now();
  if (!ORT_WEB_AVAILABLE) result.verification = { on: '', skipped: 'the single-file build does not carry onnxruntime-web (14 MB of wasm)' };
  else {
    try {
      result.verification = await verifyInPage({ onnx: raw.onnx, floatModel: raw.floatModel, calibration: raw.calibration, detector }, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      result.verification = { on: '', skipped: toUserError(e).error.message };
    }
  }
  stage('verification', 'end', (performance.now() - t0) / 1000);
  lastRun = raw.onnx && raw.floatModel ? { floatOnnx: writeOnnx(raw.floatModel), quantOnnx: raw.onnx.slice(), floatModel: raw.floatModel, normalization: raw.config.normalization, detector } : null;
  return result;
}

async function handle(req: WorkerRequest): Promise<void> {
  if (req.v !== PROTOCOL_VERSION) {
    post({ v: PROTOCOL_VERSION, type: 'error', error: { code: 'INTERNAL', message: `Protocol mismatch: page ${req.v}, worker ${PROTOCOL_VERSION}.`, hint: 'Reload the page.' } });
    return;
  }
  try {
    if (req.type === 'import') {
      const bytes = req.files.reduce((s, f) => s + f.bytes.byteLength, 0);
      const graph = importModel(req.files);
      post({ v: PROTOCOL_VERSION, type: 'summary', summary: summarizeGraph(graph, bytes) });
    } else if (req.type === 'run') {
      running = new AbortController();
      // The backend needs the page's wasm location (same origin, or inlined in the single-file build).
      registerInlinedWasm();
      const backend = await initBackend(req.config.backend, { wasmPath: req.wasmPath });
      post({ v: PROTOCOL_VERSION, type: 'progress', event: { type: 'backend', name: backend.name, reason: backend.reason } });
      const runPipeline = await loadRunPipeline();
      const synthesisLoss: number[] = [];
      const raw = (await runPipeline(req.files, req.config, (event) => {
        if (event.type === 'synth-step') synthesisLoss.push(event.loss);
        post({ v: PROTOCOL_VERSION, type: 'progress', event });
      }, running.signal)) as PipelineResult;
      const result = await finishRun(raw, synthesisLoss, running.signal);
      post({ v: PROTOCOL_VERSION, type: 'result', result });
    } else if (req.type === 'evaluate') {
      if (!lastRun) throw new LocalQuantError('BAD_INPUT', 'There is no quantized model to evaluate yet.', 'Quantize a model first.');
      running = new AbortController();
      post({ v: PROTOCOL_VERSION, type: 'evaluation', evaluation: await evaluateInPage(lastRun, req.images, req.labels, running.signal) });
    } else if (req.type === 'cancel') {
      running?.abort();
    }
  } catch (e) {
    post({ v: PROTOCOL_VERSION, type: 'error', error: errorInfo(e) });
  } finally {
    if (req.type === 'run' || req.type === 'evaluate') running = null;
  }
}

self.onmessage = (msg: MessageEvent<WorkerRequest>) => void handle(msg.data);
self.addEventListener('unhandledrejection', (e) => post({ v: PROTOCOL_VERSION, type: 'error', error: errorInfo(e.reason) }));
post({ v: PROTOCOL_VERSION, type: 'ready' });
