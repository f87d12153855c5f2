/**
 * Test double for src/worker/pipelineHost.ts: a scripted runPipeline that emits the events of a real run
 * (synthesis steps and previews, layer progress, a result) on a timer, honouring the abort signal. It lets
 * the browser tests check the page's wiring before, and independently of, the real pipeline.
 */
import type { ModelFile } from '../src/core/ir/types.js';
import type { PipelineConfig, PipelineEvent, QuantizationReport } from '../src/core/pipeline/types.js';
import type { RunPipeline } from '../src/worker/pipelineHost.js';

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')); }, { once: true });
});

function image(seed: number): { width: number; height: number; rgba: Uint8ClampedArray } {
  const rgba = new Uint8ClampedArray(32 * 32 * 4);
  for (let i = 0; i < 32 * 32; i++) {
    rgba[i * 4] = (i * 7 + seed * 40) % 256;
    rgba[i * 4 + 1] = (i * 3 + seed * 90) % 256;
    rgba[i * 4 + 2] = (seed * 60) % 256;
    rgba[i * 4 + 3] = 255;
  }
  return { width: 32, height: 32, rgba };
}

const scripted: RunPipeline = async (files: ModelFile[], config: PipelineConfig, onEvent: (e: PipelineEvent) => void, signal: AbortSignal) => {
  // Seed 13: an uncaught error inside the worker, as a crashing kernel would raise; the run never ends.
  if (config.seed === 13) {
    setTimeout(() => { throw new Error('scripted crash'); }, 50);
    return new Promise(() => undefined);
  }
  const steps = 12;
  onEvent({ type: 'stage', stage: 'synthesis', status: 'start' });
  for (let s = 0; s < steps; s++) {
    await sleep(60, signal);
    onEvent({ type: 'synth-step', version: 1, batch: 0, batches: 1, step: s, steps, loss: 10 / (s + 1), bnLoss: 8 / (s + 1), priorLoss: 2 / (s + 1) });
    if (s % 4 === 3) onEvent({ type: 'synth-preview', images: [image(s), image(s + 1), image(s + 2)] });
  }
  const layers = ['conv1', 'conv2', 'conv3', 'conv4', 'fc'];
  onEvent({ type: 'layers', layers: layers.map((name) => ({ name, opType: name === 'fc' ? 'Gemm' : 'Conv', weightBits: config.quant.weightBits, activationBits: config.quant.activationBits })) });
  for (const name of layers) {
    onEvent({ type: 'layer', name, status: 'running', iteration: 0, iterations: 10 });
    await sleep(60, signal);
    onEvent({ type: 'layer', name, status: 'done', iteration: 10, iterations: 10, nearestError: 0.02, adaptiveError: 0.01 });
  }
  const size = files[0].bytes.byteLength;
  const agreementOn = { images: 8, method: 'bn-statistics', runtime: 'scripted pipeline' };
  // A complete report, as the real pipeline writes it: the worker builds the HTML report and views from it.
  const report: QuantizationReport = {
    version: 1, tool: 'localquant', createdAt: new Date(0).toISOString(),
    model: { name: files[0].name, format: 'onnx', sizeBytes: size, batchNormCount: 4 },
    config, backend: { name: 'cpu', reason: 'scripted' },
    calibration: { method: 'bn-statistics', images: 8, batch: 8, steps, seconds: 1 },
    layers: layers.map((name, i) => ({ name, opType: name === 'fc' ? 'Gemm' : 'Conv', weightBits: 8, activationBits: 8, rounding: 'adaptive', scales: [0.01], nearestError: 0.02, adaptiveError: 0.01, sqnrDb: 30 + i, seconds: 0.1 })),
    activations: {}, sizes: { floatBytes: size, quantizedBytes: size, ratio: 1 }, agreement: 0.99, agreementOn, seconds: { synthesis: 1, rounding: 1 }, notes: [],
  };
  return { onnx: files[0].bytes.slice(), sizeBefore: size, agreement: 0.99, agreementOn, report, config };
};

export async function loadRunPipeline(): Promise<RunPipeline> {
  return scripted;
}
