import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import { checkOp, f32, i64, oneOp, opCheckPasses, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const X = { name: 'x', shape: [2, 3, 4, 5] };

function resize(name: string, attrs: OneOpSpec['attrs'], by: { scales?: number[]; sizes?: number[] }, afterConv = true): [string, OneOpSpec] {
  const inits = by.scales ? [f32('sc', [4], by.scales)] : [i64('sz', by.sizes!)];
  return [
    `Resize ${name}`,
    { op: 'Resize', inputs: [X], extra: by.scales ? ['', 'sc'] : ['', '', 'sz'], initializers: inits, attrs, afterConv },
  ];
}

const nearest = (coord: string, mode: string) => ({ mode: 'nearest', coordinate_transformation_mode: coord, nearest_mode: mode });
const linear = (coord: string) => ({ mode: 'linear', coordinate_transformation_mode: coord });

const CASES: [string, OneOpSpec][] = [
  resize('nearest asymmetric floor x2', nearest('asymmetric', 'floor'), { scales: [1, 1, 2, 2] }),
  resize('nearest half_pixel round_prefer_floor x2', nearest('half_pixel', 'round_prefer_floor'), { scales: [1, 1, 2, 2] }),
  resize('nearest half_pixel round_prefer_ceil x3', nearest('half_pixel', 'round_prefer_ceil'), { scales: [1, 1, 3, 3] }),
  resize('nearest align_corners round_prefer_floor to 7x9', nearest('align_corners', 'round_prefer_floor'), { sizes: [2, 3, 7, 9] }),
  resize('nearest half_pixel floor downsample to 2x3', nearest('half_pixel', 'floor'), { sizes: [2, 3, 2, 3] }),
  resize('nearest asymmetric ceil x1.5', nearest('asymmetric', 'ceil'), { scales: [1, 1, 1.5, 1.5] }),
  resize('nearest tf_half_pixel_for_nn to 6x7', nearest('tf_half_pixel_for_nn', 'floor'), { sizes: [2, 3, 6, 7] }),
  resize('nearest pytorch_half_pixel x2 (NCHW input)', nearest('pytorch_half_pixel', 'round_prefer_floor'), { scales: [1, 1, 2, 2] }, false),
  resize('linear half_pixel x2', linear('half_pixel'), { scales: [1, 1, 2, 2] }),
  resize('linear align_corners to 7x9', linear('align_corners'), { sizes: [2, 3, 7, 9] }),
  resize('linear asymmetric x2', linear('asymmetric'), { scales: [1, 1, 2, 2] }),
  resize('linear pytorch_half_pixel to 7x1', linear('pytorch_half_pixel'), { sizes: [2, 3, 7, 1] }),
  resize('linear half_pixel scale 1.7 (non-exact ratio)', linear('half_pixel'), { scales: [1, 1, 1.7, 1.7] }),
  resize('linear half_pixel downsample to 3x2', linear('half_pixel'), { sizes: [2, 3, 3, 2] }),
];

describe('Resize matches onnxruntime-node, with gradients', () => {
  it.each(CASES)('%s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });
});

describe('older opset forms (normalized by the importer) run the same', () => {
  it('Upsample (opset 9) nearest x2', async () => {
    const spec: OneOpSpec = { op: 'Upsample', inputs: [X], extra: ['sc'], initializers: [f32('sc', [4], [1, 1, 2, 2])], attrs: { mode: 'nearest' }, opset: 9, afterConv: true };
    expect(opCheckPasses(await checkOp({ model: oneOp(spec) }))).toEqual([]);
  });
  it('Resize opset 10 linear x2 (asymmetric)', async () => {
    const spec: OneOpSpec = { op: 'Resize', inputs: [X], extra: ['sc'], initializers: [f32('sc', [4], [1, 1, 2, 2])], attrs: { mode: 'linear' }, opset: 10, afterConv: true };
    expect(opCheckPasses(await checkOp({ model: oneOp(spec) }))).toEqual([]);
  });
  it('Clip opset 7 (min/max attributes)', async () => {
    const spec: OneOpSpec = { op: 'Clip', inputs: [X], attrs: { min: { f: -0.5 }, max: { f: 0.8 } }, opset: 7, afterConv: true };
    expect(opCheckPasses(await checkOp({ model: oneOp(spec) }))).toEqual([]);
  });
  it('Split opset 18 num_outputs (uneven)', async () => {
    const spec: OneOpSpec = { op: 'Split', inputs: [{ name: 'x', shape: [2, 3, 5, 4] }], attrs: { axis: 2, num_outputs: 2 }, outputs: 2, opset: 18, afterConv: true };
    expect(opCheckPasses(await checkOp({ model: oneOp(spec) }))).toEqual([]);
  });
  it('Pad opset 7 (pads attribute)', async () => {
    const spec: OneOpSpec = { op: 'Pad', inputs: [X], attrs: { pads: [0, 0, 1, 2, 0, 0, 2, 1], mode: 'constant', value: { f: 0.25 } }, opset: 7, afterConv: true };
    expect(opCheckPasses(await checkOp({ model: oneOp(spec) }))).toEqual([]);
  });
});
