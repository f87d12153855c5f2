import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { initBackend } from '../runtime/backends.js';
import { ssdStyleDetector, yoloStyleDetector } from '../testing/detectorModels.js';
import { buildOnnxModel, type BuilderModel } from '../testing/onnxBuilder.js';
import { seeded } from '../testing/opCheck.js';
import { defaultPipelineConfig } from './defaults.js';
import { measureBoxAgreement } from './detectionAgreement.js';
import { describeFloatTail, floatTailReport, splitFloatTail, withFloatTail } from './floatTail.js';
import { quantizeGraph } from './quantizeGraph.js';
import { toQuantConfig } from './run.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Smooth images (a few blobs), so that the random detectors score some cells high and some low. */
function images(n: number): { images: Float32Array; shape: number[] } {
  const out = new Float32Array(n * 3 * 32 * 32);
  const r = seeded(n * 9, 4, 0, 1);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
    const [cy, cx, a] = [r[i * 9 + c * 3] * 32, r[i * 9 + c * 3 + 1] * 32, r[i * 9 + c * 3 + 2] * 4 - 2];
    out[((i * 3 + c) * 32 + y) * 32 + x] = a * Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 60);
  }
  return { images: out, shape: [n, 3, 32, 32] };
}

async function quantizedWithTail(spec: BuilderModel, wbits: 8 | 4) {
  const graph = importOnnx(buildOnnxModel(spec));
  const { head, cut } = splitFloatTail(graph);
  const base = defaultPipelineConfig();
  const cfg = toQuantConfig({ ...base, quant: { ...base.quant, weightBits: wbits, rounding: 'nearest' } }, head.nodes.map((n) => n.name));
  const before = tf.memory().numTensors;
  const q = await quantizeGraph(head, images(16), cfg);
  const leaked = tf.memory().numTensors - before;
  return { graph, cut, q, qdq: withFloatTail(q.qdq, cut), folded: withFloatTail(q.folded, cut), leaked };
}

describe.each([
  ['YOLO-style (NonMaxSuppression)', yoloStyleDetector],
  ['SSD-style (TopK)', ssdStyleDetector],
])('%s detector: quantized head, float tail', (_, spec) => {
  it('the W8A8 export runs in onnxruntime with the original output names, types and ranks; boxes agree', async () => {
    const { graph, cut, q, qdq, folded, leaked } = await quantizedWithTail(spec(), 8);
    expect(leaked).toBe(0);
    expect(cut).toBeDefined();
    // the tail ops are in the export, unquantized: no QDQ pair reads or writes a tail value
    const tailNames = new Set(cut!.tail.map((n) => n.name));
    expect(qdq.nodes.filter((n) => tailNames.has(n.name)).map((n) => n.opType)).toEqual(cut!.tail.map((n) => n.opType));
    expect(q.qdq.nodes.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
    const tailInputs = new Set(cut!.tail.flatMap((n) => n.inputs));
    expect(qdq.nodes.filter((n) => n.opType === 'QuantizeLinear' && n.outputs.some((o) => tailInputs.has(o)))).toEqual([]);

    const session = await ort.InferenceSession.create(writeOnnx(qdq));
    const ref = await ort.InferenceSession.create(buildOnnxModel(spec()));
    const x = new ort.Tensor('float32', images(1).images, [1, 3, 32, 32]);
    const [a, b] = [await session.run({ images: x }), await ref.run({ images: x })];
    expect(Object.keys(a).sort()).toEqual(graph.outputs.map((o) => o.name).sort());
    for (const o of graph.outputs) {
      expect(a[o.name].type).toBe(b[o.name].type);
      expect(a[o.name].dims.length).toBe(b[o.name].dims.length);
      if (o.shape?.every((d) => typeof d === 'number')) expect([...a[o.name].dims]).toEqual([...b[o.name].dims]);
    }

    const agree = (await measureBoxAgreement(folded, qdq, images(16), { limit: 16, scoreThreshold: 0.45 }))!;
    expect(agree.floatDetections).toBeGreaterThan(0);
    expect(agree.agreement, JSON.stringify(agree)).toBeGreaterThanOrEqual(0.8);
    expect(agree.decoder).toMatch(spec === yoloStyleDetector ? /NonMaxSuppression/ : /boxes 'det_boxes'/);
  });

  it('the report lists the float nodes and where they start', async () => {
    const graph = importOnnx(buildOnnxModel(spec()));
    const r = floatTailReport(splitFloatTail(graph).cut)!;
    expect(r.nodes.length).toBeGreaterThan(0);
    expect(r.byUser).toBe(false);
    expect(describeFloatTail(r)).toMatch(/Float tail: \d+ node\(s\) stay float from /);
  });
});

describe('box agreement sees a broken quantization', () => {
  it('weights at 2 bits: fewer float boxes kept than at 8 bits', async () => {
    const w8 = await quantizedWithTail(yoloStyleDetector(), 8);
    const graph = importOnnx(buildOnnxModel(yoloStyleDetector()));
    const { head, cut } = splitFloatTail(graph);
    const base = defaultPipelineConfig();
    const cfg = toQuantConfig({ ...base, quant: { ...base.quant, weightBits: 2, activationBits: 4, keepFirstLast8bit: false, rounding: 'nearest' } }, head.nodes.map((n) => n.name));
    const q2 = await quantizeGraph(head, images(16), cfg);
    const a8 = (await measureBoxAgreement(w8.folded, w8.qdq, images(16), { limit: 16, scoreThreshold: 0.45 }))!;
    const a2 = (await measureBoxAgreement(w8.folded, withFloatTail(q2.qdq, cut), images(16), { limit: 16, scoreThreshold: 0.45 }))!;
    expect(a2.agreement).toBeLessThan(a8.agreement);
  });
});
