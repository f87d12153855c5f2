import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { isLocalQuantError, type LocalQuantError } from '../../errors.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { buildOnnxModel, type BuilderModel } from '../../testing/onnxBuilder.js';
import { prepareGraph } from '../prepare.js';
import { MAX_DIM } from './limits.js';

/** Import-time validation on a small Conv -> BN -> Relu model, each case one defect. */

const ramp = (n: number, scale = 0.1, offset = 0) => Array.from({ length: n }, (_, i) => offset + scale * ((i % 7) - 3));

function model(edit: (m: BuilderModel) => void = () => {}): BuilderModel {
  const m: BuilderModel = {
    inputs: [{ name: 'x', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'y', shape: ['N', 4, 8, 8] }],
    initializers: [
      { name: 'w', dims: [4, 3, 3, 3], data: ramp(108) },
      { name: 'b', dims: [4], data: ramp(4) },
      { name: 'scale', dims: [4], data: [1, 1.1, 0.9, 1.2] },
      { name: 'bias', dims: [4], data: [0, 0.1, -0.1, 0.2] },
      { name: 'mean', dims: [4], data: [0, 0.5, -0.5, 0.1] },
      { name: 'var', dims: [4], data: [1, 0.5, 2, 1.5] },
    ],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], strides: [1, 1] } },
      { name: 'bn', opType: 'BatchNormalization', inputs: ['c', 'scale', 'bias', 'mean', 'var'], outputs: ['n'], attrs: { epsilon: { f: 1e-5 } } },
      { name: 'relu', opType: 'Relu', inputs: ['n'], outputs: ['y'] },
    ],
  };
  edit(m);
  return m;
}

function refusal(fn: () => unknown): LocalQuantError {
  try {
    fn();
  } catch (e) {
    if (isLocalQuantError(e)) return e as LocalQuantError;
    throw new Error(`expected a LocalQuantError, got ${String(e)}`);
  }
  throw new Error('expected a LocalQuantError, got none');
}

const node = (m: BuilderModel, name: string) => m.nodes.find((n) => n.name === name)!;
const init = (m: BuilderModel, name: string) => m.initializers!.find((i) => i.name === name)!;

describe('validateGraph at import', () => {
  it('accepts the intact model', () => {
    const g = importOnnx(buildOnnxModel(model()));
    expect(g.nodes.map((n) => n.opType)).toEqual(['Conv', 'BatchNormalization', 'Relu']);
  });

  const cases: [string, (m: BuilderModel) => void, string, RegExp][] = [
    ['negative BN variance names the tensor and channel', (m) => (init(m, 'var').data = [1, -0.5, 2, 1]), 'BAD_WEIGHTS', /running variance -0.5 in channel 1 of 'var'/],
    ['NaN weight names the initializer', (m) => (init(m, 'w').data = [...ramp(50), NaN, ...ramp(57)]), 'BAD_WEIGHTS', /initializer 'w' holds NaN at element 50/],
    ['a weight beyond sqrt(float32 max) (a flipped exponent bit)', (m) => (init(m, 'w').data = [...ramp(9), 3e38, ...ramp(98)]), 'BAD_WEIGHTS', /'w' holds 3\.\d+e\+38 at element 9 .*beyond 1\.8e\+19/],
    ['Inf bias', (m) => (init(m, 'b').data = [0, Infinity, 0, 0]), 'BAD_WEIGHTS', /'b' holds Infinity/],
    ['NaN epsilon', (m) => (node(m, 'bn').attrs!.epsilon = { f: NaN }), 'INVALID_MODEL', /'bn'.*epsilon/],
    ['zero stride', (m) => (node(m, 'conv').attrs!.strides = [0, 1]), 'INVALID_MODEL', /'conv' \(Conv\) has 'strides' \[0, 1\]: each must be >= 1/],
    ['3-element strides on a 2-D conv', (m) => (node(m, 'conv').attrs!.strides = [1, 1, 1]), 'INVALID_MODEL', /3 'strides' values where 2 are needed/],
    ['negative pad', (m) => (node(m, 'conv').attrs!.pads = [1, -1, 1, 1]), 'INVALID_MODEL', /'pads' \[1, -1, 1, 1\]/],
    ['zero dilation', (m) => (node(m, 'conv').attrs!.dilations = [1, 0]), 'INVALID_MODEL', /'dilations'/],
    ['group not dividing the channels', (m) => (node(m, 'conv').attrs!.group = 3), 'INVALID_MODEL', /group 3, which does not divide/],
    ['kernel_shape disagreeing with the weight', (m) => (node(m, 'conv').attrs!.kernel_shape = [5, 5]), 'INVALID_MODEL', /kernel_shape \[5, 5\] but a weight of shape \[4, 3, 3, 3\]/],
    ['bias of the wrong length', (m) => (init(m, 'b').dims = [2], init(m, 'b').data = [0, 1]), 'INVALID_MODEL', /bias of shape \[2\] for 4 output channels/],
    ['graph output listed twice', (m) => m.outputs.push(m.outputs[0]), 'INVALID_MODEL', /output 'y' twice/],
    ['a value written by two nodes', (m) => m.nodes.push({ name: 'dup', opType: 'Identity', inputs: ['x'], outputs: ['c'] }), 'INVALID_MODEL', /'dup' \(Identity\) writes 'c', which node 'conv' already provides/],
    ['input height 0', (m) => (m.inputs[0].shape = ['N', 3, 0, 8]), 'INVALID_MODEL', /dimension 2 is 0/],
    ['input height 10^6 (refused before allocating)', (m) => (m.inputs[0].shape = ['N', 3, 1e6, 8]), 'TOO_LARGE', new RegExp(`limit of ${MAX_DIM}`)],
    ['an extra input the op would ignore', (m) => node(m, 'relu').inputs.push('b'), 'INVALID_MODEL', /'relu' \(Relu\) has 2 inputs; Relu takes at most 1/],
    ['BN without its variance', (m) => (node(m, 'bn').inputs = ['c', 'scale', 'bias', 'mean']), 'INVALID_MODEL', /'bn'.*input 5 of the 5/],
  ];
  for (const [what, edit, code, message] of cases) {
    it(what, () => {
      const e = refusal(() => importOnnx(buildOnnxModel(model(edit))));
      expect([e.code, e.message]).toEqual([code, expect.stringMatching(message)]);
    });
  }

  it('a node reading its own output is a cycle', () => {
    const e = refusal(() => importOnnx(buildOnnxModel(model((m) => (node(m, 'relu').inputs = ['y'])))));
    expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(/'relu' \(Relu\) reads its own output 'y'/)]);
  });

  it('a cycle is refused naming a node on it', () => {
    const e = refusal(() => importOnnx(buildOnnxModel(model((m) => (node(m, 'conv').inputs = ['y', 'w', 'b'])))));
    expect(e.message).toMatch(/cycle/);
  });

  it('raw_data longer or shorter than dims x dtype is refused in both directions', () => {
    const bytes = buildOnnxModel(model());
    for (const delta of [4, -4]) {
      const m = onnxProto.onnx.ModelProto.decode(bytes);
      const w = m.graph!.initializer!.find((t) => t.name === 'w')!;
      const raw = new Uint8Array(w.rawData!.length + delta);
      raw.set(w.rawData!.subarray(0, Math.min(raw.length, w.rawData!.length)));
      w.rawData = raw;
      const e = refusal(() => importOnnx(onnxProto.onnx.ModelProto.encode(m).finish()));
      expect(e.message).toMatch(new RegExp(`initializer 'w' should hold 432 bytes .* but has ${432 + delta}`));
      expect(e.code).toBe(delta > 0 ? 'INVALID_MODEL' : 'BAD_WEIGHTS');
    }
  });

  it('duplicate initializer names, an undefined input type and an integer input into Conv are refused', () => {
    const dup = onnxProto.onnx.ModelProto.decode(buildOnnxModel(model()));
    dup.graph!.initializer!.find((t) => t.name === 'b')!.name = 'scale';
    expect(refusal(() => importOnnx(onnxProto.onnx.ModelProto.encode(dup).finish())).message).toMatch(/two initializers named 'scale'/);
    for (const [elemType, message] of [[0, /input 'x' has element type/], [7, /'conv' \(Conv\) reads graph input 'x' of type int64/]] as const) {
      const m = onnxProto.onnx.ModelProto.decode(buildOnnxModel(model()));
      m.graph!.input![0].type!.tensorType!.elemType = elemType;
      const e = refusal(() => importOnnx(onnxProto.onnx.ModelProto.encode(m).finish()));
      expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(message)]);
    }
  });

  it('float32 bytes labelled float16 are refused (twice the bytes the dims allow)', () => {
    const m = onnxProto.onnx.ModelProto.decode(buildOnnxModel(model()));
    m.graph!.initializer!.find((t) => t.name === 'var')!.dataType = 10;
    expect(refusal(() => importOnnx(onnxProto.onnx.ModelProto.encode(m).finish())).message).toMatch(/'var' should hold 8 bytes \(4 elements of FLOAT16/);
  });
});

describe('checkPreparedShapes in prepareGraph', () => {
  it('a kernel larger than the padded input is refused naming the node', () => {
    const g = importOnnx(buildOnnxModel(model((m) => (m.inputs[0].shape = ['N', 3, 1, 1], node(m, 'conv').attrs!.pads = [0, 0, 0, 0]))));
    const e = refusal(() => prepareGraph(g, { x: [1, 3, 1, 1] }));
    expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(/Node 'conv' \(Conv\) would produce 'c' of shape \[1, 4, -1, -1\]/)]);
  });

  it('channels that do not match the weight are refused', () => {
    const g = importOnnx(buildOnnxModel(model((m) => (m.inputs[0].shape = ['N', 5, 8, 8]))));
    expect(refusal(() => prepareGraph(g, { x: [1, 5, 8, 8] })).message).toMatch(/gets 5 input channels .* expects 3/);
  });

  it('activations over the per-image budget and absurd compute are TOO_LARGE before anything is allocated', () => {
    const g = importOnnx(buildOnnxModel(model((m) => (m.inputs[0].shape = ['N', 3, 'H', 'W']))));
    const big = refusal(() => prepareGraph(g, { x: [1, 3, 8192, 8192] }));
    expect([big.code, big.message]).toEqual(['TOO_LARGE', expect.stringMatching(/Node 'conv' \(Conv\) would produce 'c' of shape \[1, 4, 8192, 8192\]/)]);
    expect(() => prepareGraph(g, { x: [2, 3, 64, 64] })).not.toThrow();
  });
});
