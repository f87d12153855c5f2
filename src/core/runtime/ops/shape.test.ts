import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import type { BuilderModel } from '../../testing/onnxBuilder.js';
import { checkOp, f32, gradientFlows, opCheckPasses, i64, oneOp, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const X = { name: 'x', shape: [2, 3, 4, 5] };
const INT_MAX = 2147483647;

type Case = [string, OneOpSpec, { raw?: boolean; noGrad?: boolean }?];

const slice = (name: string, starts: number[], ends: number[], axes?: number[], steps?: number[], afterConv = true, xs = X): Case => [
  `Slice ${name}${afterConv ? ' (NHWC input)' : ''}`,
  {
    op: 'Slice', inputs: [xs], afterConv,
    extra: ['st', 'en', ...(axes ? ['ax'] : []), ...(steps ? ['sp'] : [])],
    initializers: [i64('st', starts), i64('en', ends), ...(axes ? [i64('ax', axes)] : []), ...(steps ? [i64('sp', steps)] : [])],
  },
];

const pad = (name: string, pads: number[], mode: string, value?: number, afterConv = true, xs = X): Case => [
  `Pad ${mode} ${name}${afterConv ? ' (NHWC input)' : ''}`,
  {
    op: 'Pad', inputs: [xs], afterConv, attrs: { mode },
    extra: ['p', ...(value !== undefined ? ['v'] : [])],
    initializers: [i64('p', pads), ...(value !== undefined ? [f32('v', [], [value])] : [])],
  },
];

const CASES: Case[] = [
  slice('steps 2 on H and W (ResNet option-A shortcut)', [0, 0], [INT_MAX, INT_MAX], [2, 3], [2, 2]),
  slice('step 2 on H only, odd start', [1], [INT_MAX], [2], [2]),
  slice('step -1 reverses W', [-1], [-INT_MAX], [3], [-1]),
  slice('step -2 on channels', [2], [-INT_MAX], [1], [-2]),
  slice('step -3 on W from 3 to 0 (exclusive)', [3], [0], [3], [-3]),
  slice('step 3 on channels', [0], [3], [1], [3]),
  slice('negative starts/ends, no axes/steps', [0, 1, -3, 1], [2, -1, -1, 100]),
  [slice('empty result', [3], [1], [2], [1])[0], slice('empty result', [3], [1], [2], [1])[1], { noGrad: true }],
  slice('3-D', [1, 0], [3, -1], [1, 2], [1, 2], false, { name: 'x', shape: [2, 4, 7] }),
  pad('spatial with value', [0, 0, 1, 2, 0, 0, 2, 1], 'constant', 0.5),
  pad('channels (ResNet option-A)', [0, 2, 0, 0, 0, 2, 0, 0], 'constant'),
  pad('spatial', [0, 0, 2, 1, 0, 0, 1, 3], 'reflect'),
  pad('spatial', [0, 0, 2, 1, 0, 0, 1, 3], 'edge'),
  pad('negative pads crop', [0, 0, -1, 2, 0, 0, 1, -2], 'constant'),
  pad('3-D', [0, 1, 2, 0, 0, 1], 'reflect', undefined, false, { name: 'x', shape: [2, 3, 5] }),
  ['Concat NHWC + NCHW inputs on channels', { op: 'Concat', inputs: [X, { name: 'z', shape: [2, 2, 4, 5] }], attrs: { axis: 1 }, afterConv: true }],
  ['Concat on W (axis -1)', { op: 'Concat', inputs: [X, { name: 'z', shape: [2, 3, 4, 2] }], attrs: { axis: -1 }, afterConv: true }],
  ['Split equal on channels', { op: 'Split', inputs: [X], attrs: { axis: 1 }, outputs: 3, afterConv: true }],
  ['Split sizes on H', { op: 'Split', inputs: [X], extra: ['s'], initializers: [i64('s', [1, 3])], attrs: { axis: 2 }, outputs: 2, afterConv: true }],
  ['Transpose NHWC input to [0,2,3,1]', { op: 'Transpose', inputs: [X], attrs: { perm: [0, 2, 3, 1] }, afterConv: true }],
  ['Transpose NHWC input to [1,0,3,2]', { op: 'Transpose', inputs: [X], attrs: { perm: [1, 0, 3, 2] }, afterConv: true }],
  ['Transpose 3-D default perm', { op: 'Transpose', inputs: [{ name: 'x', shape: [2, 3, 4] }] }],
  ['Reshape NHWC input with -1', { op: 'Reshape', inputs: [X], extra: ['s'], initializers: [i64('s', [2, -1])], afterConv: true }],
  ['Reshape with 0 (copy dim)', { op: 'Reshape', inputs: [X], extra: ['s'], initializers: [i64('s', [0, 3, -1])], afterConv: true }],
  ['Flatten axis 1 (NHWC input)', { op: 'Flatten', inputs: [X], attrs: { axis: 1 }, afterConv: true }],
  ['Flatten axis 2', { op: 'Flatten', inputs: [X], attrs: { axis: 2 } }],
  ['Squeeze axes [2]', { op: 'Squeeze', inputs: [{ name: 'x', shape: [2, 3, 1, 5] }], extra: ['a'], initializers: [i64('a', [2])], afterConv: true }],
  ['Squeeze all unit axes', { op: 'Squeeze', inputs: [{ name: 'x', shape: [2, 1, 3, 1] }] }],
  ['Unsqueeze axes [1, -1]', { op: 'Unsqueeze', inputs: [{ name: 'x', shape: [2, 3] }], extra: ['a'], initializers: [i64('a', [1, -1])] }],
  ['Gather channels [2, 0] (NHWC kept)', { op: 'Gather', inputs: [X], extra: ['i'], initializers: [i64('i', [2, 0])], attrs: { axis: 1 }, afterConv: true }],
  ['Gather scalar -1 on H', { op: 'Gather', inputs: [X], extra: ['i'], initializers: [i64('i', [-1], [])], attrs: { axis: 2 }, afterConv: true }],
  ['Gather 2-D indices on axis 0', { op: 'Gather', inputs: [{ name: 'x', shape: [3, 4] }], extra: ['i'], initializers: [i64('i', [1, 0, 2, -1], [2, 2])] }],
  ['Expand [3,1] to [2,3,4]', { op: 'Expand', inputs: [{ name: 'x', shape: [3, 1] }], extra: ['s'], initializers: [i64('s', [2, 3, 4])] }],
  ['Expand with a shape of lower rank', { op: 'Expand', inputs: [{ name: 'x', shape: [2, 1, 4] }], extra: ['s'], initializers: [i64('s', [3, 1])] }],
  ['Cast to float (identity)', { op: 'Cast', inputs: [X], attrs: { to: 1 }, afterConv: true }],
  ['Cast to int64 truncates', { op: 'Cast', inputs: [X], attrs: { to: 7 }, afterConv: true, outputDtype: 'int64' }, { noGrad: true }],
  ['Shape of an NHWC-held value (graph order)', { op: 'Shape', inputs: [X], afterConv: true, outputDtype: 'int64' }, { raw: true, noGrad: true }],
  ['Shape start/end (opset 15)', { op: 'Shape', inputs: [X], attrs: { start: 1, end: -1 }, opset: 15, outputDtype: 'int64' }, { raw: true, noGrad: true }],
];

describe('shape and slicing ops match onnxruntime-node, with gradients', () => {
  it.each(CASES)('%s', async (_, spec, opts) => {
    const r = await checkOp({ model: oneOp(spec), raw: opts?.raw, gradWrt: opts?.noGrad ? false : undefined });
    expect(r.relDiff).toBeLessThan(1e-4);
    if (!opts?.noGrad) expect(gradientFlows(r.grad)).toBe(true);
    if (!opts?.noGrad) expect(r.gradVsCpu).toBeLessThan(1e-3);
    expect(r.leaked).toBe(0);
  });

  it('ConstantOfShape of a runtime Shape (unprepared graph)', async () => {
    const model: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
        { opType: 'ConstantOfShape', inputs: ['s'], outputs: ['y'], attrs: { value: { t: { dtype: 'float32' as const, dims: [1], data: new Float32Array([2.5]) } } } },
      ],
    };
    const r = await checkOp({ model, raw: true, gradWrt: false });
    expect(r.relDiff).toBe(0);
    expect(r.outputs.get('y')!.ours.length).toBe(24);
  });
});

describe('Transpose at an NHWC model interface', () => {
  it('NHWC input -> Transpose [0,3,1,2] -> Conv -> Transpose [0,2,3,1] matches ORT', async () => {
    const model: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 5, 6, 3] }],
      outputs: [{ name: 'y' }],
      initializers: [f32('w', [4, 3, 3, 3])],
      nodes: [
        { opType: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 3, 1, 2] } },
        { opType: 'Conv', inputs: ['t', 'w'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { opType: 'Transpose', inputs: ['c'], outputs: ['y'], attrs: { perm: [0, 2, 3, 1] } },
      ],
    };
    const r = await checkOp({ model });
    expect(opCheckPasses(r)).toEqual([]);
  });
});
