import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import type { BuilderModel } from '../../testing/onnxBuilder.js';
import { checkOp, f32, i64, oneOp, seeded, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const X = { name: 'x', shape: [2, 3, 4, 5] };

const CASES: [string, OneOpSpec][] = [
  ['TopK largest on the last axis', { op: 'TopK', inputs: [X], extra: ['k'], initializers: [i64('k', [3])], outputs: 2 }],
  ['TopK smallest on axis 1 (NHWC input)', { op: 'TopK', inputs: [X], extra: ['k'], initializers: [i64('k', [2])], attrs: { axis: 1, largest: 0 }, outputs: 2, afterConv: true }],
  ['ArgMax axis 1 keepdims', { op: 'ArgMax', inputs: [X], attrs: { axis: 1 }, outputDtype: 'int64', afterConv: true }],
  ['ArgMin axis -1 no keepdims', { op: 'ArgMin', inputs: [X], attrs: { axis: -1, keepdims: 0 }, outputDtype: 'int64' }],
  ['Floor', { op: 'Floor', inputs: [X] }],
  ['Mod fmod = 1 on floats', { op: 'Mod', inputs: [X], extra: ['d'], initializers: [f32('d', [1], [0.7])], attrs: { fmod: 1 } }],
  ['Tile', { op: 'Tile', inputs: [{ name: 'x', shape: [2, 3] }], extra: ['r'], initializers: [i64('r', [2, 3])] }],
  ['NonZero', { op: 'NonZero', inputs: [{ name: 'x', shape: [3, 4] }], outputDtype: 'int64' }],
  ['Greater than a scalar (bool output)', { op: 'Greater', inputs: [X], extra: ['t'], initializers: [f32('t', [], [0.3])], outputDtype: 'bool' }],
];

/** oneOp, with TopK's second output (indices) typed int64. */
function model(spec: OneOpSpec): BuilderModel {
  const m = oneOp(spec);
  if (spec.op === 'TopK') m.outputs[1].dtype = 'int64';
  return m;
}

describe('post-processing ops match onnxruntime-node (forward only)', () => {
  it.each(CASES)('%s', async (_, spec) => {
    const r = await checkOp({ model: model(spec), gradWrt: false });
    expect(r.relDiff).toBeLessThan(1e-5);
    expect(r.leaked).toBe(0);
  });

  it('NonMaxSuppression over 2 batches and 3 classes, with score and IoU thresholds', async () => {
    // boxes clustered so that suppression happens: 12 boxes on a 4-position grid with jitter
    const n = 12;
    const boxes = new Float32Array(2 * n * 4);
    const jitter = seeded(boxes.length, 5, 0, 0.3);
    for (let b = 0; b < 2; b++) for (let i = 0; i < n; i++) {
      const [y, x] = [(i % 2) * 2, Math.floor(i / 2) % 2 * 2];
      boxes.set([y + jitter[(b * n + i) * 4], x + jitter[(b * n + i) * 4 + 1], y + 1.5 + jitter[(b * n + i) * 4 + 2], x + 1.5 + jitter[(b * n + i) * 4 + 3]], (b * n + i) * 4);
    }
    const model: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'boxes', shape: [2, n, 4] }, { name: 'scores', shape: [2, 3, n] }],
      outputs: [{ name: 'sel', dtype: 'int64' }],
      initializers: [i64('max', [4]), f32('iou', [1], [0.4]), f32('smin', [1], [0.2])],
      nodes: [{ opType: 'NonMaxSuppression', inputs: ['boxes', 'scores', 'max', 'iou', 'smin'], outputs: ['sel'] }],
    };
    const r = await checkOp({ model, inputs: { boxes, scores: seeded(2 * 3 * n, 9, 0, 1) }, gradWrt: false });
    expect(r.relDiff).toBe(0);
    const sel = r.outputs.get('sel')!;
    // something was selected and something suppressed (at most 4 per class of 12 candidates)
    expect(sel.dims[0]).toBeGreaterThan(0);
    expect(sel.dims[0]).toBeLessThanOrEqual(2 * 3 * 4);
    expect(r.leaked).toBe(0);
  });

  it('GatherND of a runtime index tensor (from TopK)', async () => {
    const model: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'x', shape: [6, 5] }],
      outputs: [{ name: 'y' }],
      initializers: [i64('k', [3]), i64('col', [-1, 1])],
      nodes: [
        { opType: 'Slice', inputs: ['x', 'zero', 'one', 'one'], outputs: ['c0'] },
        { opType: 'Reshape', inputs: ['c0', 'flat'], outputs: ['c'] },
        { opType: 'TopK', inputs: ['c', 'k'], outputs: ['v', 'i'] },
        { opType: 'Reshape', inputs: ['i', 'col'], outputs: ['ic'] },
        { opType: 'GatherND', inputs: ['x', 'ic'], outputs: ['y'] },
      ],
    };
    model.initializers!.push(i64('zero', [0]), i64('one', [1]), i64('flat', [-1]));
    const r = await checkOp({ model, gradWrt: false, raw: true });
    expect(r.relDiff).toBe(0);
    expect(r.outputs.get('y')!.dims).toEqual([3, 5]);
    expect(r.leaked).toBe(0);
  });
});
