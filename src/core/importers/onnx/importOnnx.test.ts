import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLocalQuantError, LocalQuantError } from '../../errors.js';
import { cifarFixture } from '../../testing/fixtures.js';
import { buildOnnxModel, buildOnnxModelWithExternal } from '../../testing/onnxBuilder.js';
import { importOnnx } from './importOnnx.js';

function opCounts(nodes: { opType: string }[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of nodes) c[n.opType] = (c[n.opType] ?? 0) + 1;
  return c;
}

function importError(fn: () => unknown): LocalQuantError {
  try {
    fn();
  } catch (e) {
    expect(isLocalQuantError(e)).toBe(true);
    return e as LocalQuantError;
  }
  throw new Error('expected a LocalQuantError');
}

const resnetBytes = () => new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));

describe('importOnnx on the CIFAR ResNet-20 fixtures', () => {
  it('imports resnet20_bn.onnx: inputs, outputs, op counts, Constants as initializers', () => {
    const g = importOnnx(resnetBytes());
    expect(g.format).toBe('onnx');
    expect(g.opset).toBe(13);
    expect(g.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['N', 3, 32, 32] }]);
    expect(g.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['N', 10] }]);
    expect(opCounts(g.nodes)).toEqual({ Conv: 19, BatchNormalization: 19, Relu: 19, Add: 9, Slice: 4, Pad: 2, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    // Every Slice/Pad parameter came from a Constant node and is now an int64 initializer.
    for (const n of g.nodes.filter((n) => n.opType === 'Slice' || n.opType === 'Pad')) {
      for (const i of n.inputs.slice(1)) expect(g.initializers.get(i)?.dtype).toBe('int64');
    }
    const pad = g.nodes.find((n) => n.opType === 'Pad')!;
    expect(Array.from(g.initializers.get(pad.inputs[1])!.data)).toEqual([0, 8, 0, 0, 0, 8, 0, 0]);
    const slice = g.nodes.find((n) => n.opType === 'Slice')!;
    // INT64_MAX "to the end" is clamped to int32 max.
    expect(Array.from(g.initializers.get(slice.inputs[2])!.data)).toEqual([2147483647]);
    const bnWeight = g.initializers.get('layer1.0.bn1.weight')!;
    expect(bnWeight.dtype).toBe('float32');
    expect(bnWeight.dims).toEqual([16]);
    let params = 0;
    for (const t of g.initializers.values()) if (t.dtype === 'float32') params += t.data.length;
    // README: 269,722 parameters (BN running stats are not parameters: 2 x 16/32/64 channels x 19 BNs).
    const bnStats = g.nodes.filter((n) => n.opType === 'BatchNormalization').reduce((s, n) => s + 2 * g.initializers.get(n.inputs[3])!.data.length, 0);
    expect(params - bnStats).toBe(269_722);
  });

  it('imports resnet20_folded.onnx with no BatchNormalization', () => {
    const g = importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_folded.onnx'))));
    expect(opCounts(g.nodes).BatchNormalization).toBeUndefined();
    expect(opCounts(g.nodes).Conv).toBe(19);
    expect(g.nodes.filter((n) => n.opType === 'Conv').every((n) => n.inputs.length === 3)).toBe(true);
  });
});

describe('importOnnx refuses bad files with a LocalQuantError', () => {
  it('a truncated model: TRUNCATED, naming where decoding stopped', () => {
    const e = importError(() => importOnnx(resnetBytes().subarray(0, 50_000)));
    expect(e.code).toBe('TRUNCATED');
    expect(e.message).toMatch(/stopped at byte \d+ of 50000.*truncated/);
  });

  it('random bytes: NOT_A_MODEL', () => {
    let seed = 12345;
    const bytes = new Uint8Array(4096).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
    const e = importError(() => importOnnx(bytes));
    expect(['NOT_A_MODEL', 'TRUNCATED']).toContain(e.code);
    expect(e.message).toMatch(/not an ONNX model|truncated/);
  });

  it('a JSON file: NOT_A_MODEL quoting its start', () => {
    const e = importError(() => importOnnx(new TextEncoder().encode('{"format": "layers-model", "modelTopology": {}}')));
    expect(e.code).toBe('NOT_A_MODEL');
    expect(e.message).toContain('starting with {"format": "layers-model"');
  });

  it('an empty file and a PNG: NOT_A_MODEL saying what they are', () => {
    expect(importError(() => importOnnx(new Uint8Array(0))).message).toMatch(/empty/);
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
    expect(importError(() => importOnnx(png)).message).toMatch(/PNG image/);
  });

  it('an unsupported op: UNSUPPORTED_OP naming op, node and the supported list', () => {
    const bytes = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [5, 1, 4] }, { name: 'w', shape: [1, 32, 4] }, { name: 'r', shape: [1, 32, 8] }],
      outputs: [{ name: 'y', shape: [5, 1, 1, 8] }],
      nodes: [{ opType: 'LSTM', name: 'lstm', inputs: ['x', 'w', 'r'], outputs: ['y'], attrs: { hidden_size: 8 } }],
    });
    const e = importError(() => importOnnx(bytes));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toContain("Unsupported operator 'LSTM' (node 'lstm'");
    expect(e.message).toContain('LocalQuant supports: Conv, ConvTranspose');
    expect(e.hint).toMatch(/re-export/i);
  });

  it('a custom-domain op: UNSUPPORTED_OP naming the domain', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
      nodes: [{ opType: 'Relu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }],
    });
    expect(importError(() => importOnnx(bytes)).message).toContain("domain 'com.microsoft'");
  });

  it('a missing initializer: MISSING_INITIALIZER naming node and value', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 3] }],
      outputs: [{ name: 'y', shape: [1, 3] }],
      nodes: [{ opType: 'Add', name: 'add_bias', inputs: ['x', 'bias'], outputs: ['y'] }],
    });
    const e = importError(() => importOnnx(bytes));
    expect(e.code).toBe('MISSING_INITIALIZER');
    expect(e.message).toContain("'add_bias'");
    expect(e.message).toContain("'bias'");
  });

  it('an opset outside 7..21: a clear error', () => {
    const bytes = buildOnnxModel({ opset: 6, inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'y', shape: [1] }], nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    expect(importError(() => importOnnx(bytes)).message).toMatch(/opset 6.*7 to 21/);
  });
});

describe('importOnnx tensor encodings', () => {
  it('reads typed fields (float_data, int64_data, double_data, int32_data) and widens float16', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [2] }],
      outputs: [{ name: 'y', shape: [2] }],
      initializers: [
        { name: 'f', dims: [2], data: [1.5, -2], encoding: 'typed' },
        { name: 'i64', dtype: 'int64', dims: [3], data: [-1, 5, 2 ** 40], encoding: 'typed' },
        { name: 'i64raw', dtype: 'int64', dims: [2], data: [-(2 ** 40), 7] },
        { name: 'd', dtype: 'float64', dims: [1], data: [0.25], encoding: 'typed' },
        { name: 'i8', dtype: 'int8', dims: [2], data: [-128, 127], encoding: 'typed' },
        { name: 'h', dtype: 'float16', dims: [3], data: [0.5, -3, 65504] },
        { name: 'ht', dtype: 'float16', dims: [1], data: [1.25], encoding: 'typed' },
        { name: 'q4', dtype: 'int4', dims: [3], data: [-8, 7, -1] },
      ],
      nodes: [{ opType: 'Add', inputs: ['x', 'f'], outputs: ['y'] }],
    });
    const g = importOnnx(bytes);
    const get = (n: string) => g.initializers.get(n)!;
    expect(Array.from(get('f').data)).toEqual([1.5, -2]);
    expect(get('i64')).toEqual({ dtype: 'int64', dims: [3], data: Int32Array.from([-1, 5, 2147483647]) });
    expect(Array.from(get('i64raw').data)).toEqual([-2147483648, 7]);
    expect(get('d').data).toBeInstanceOf(Float64Array);
    expect(Array.from(get('i8').data)).toEqual([-128, 127]);
    expect(get('h').dtype).toBe('float32');
    expect(Array.from(get('h').data)).toEqual([0.5, -3, 65504]);
    expect(Array.from(get('ht').data)).toEqual([1.25]);
    expect(get('q4')).toEqual({ dtype: 'int4', dims: [3], data: Int8Array.from([-8, 7, -1]) });
  });

  it('reads external data by basename; names a missing external file', () => {
    const spec = {
      inputs: [{ name: 'x', shape: [1, 3] }],
      outputs: [{ name: 'y', shape: [1, 3] }],
      initializers: [
        { name: 'a', dims: [3], data: [1, 2, 3], external: { location: 'weights.bin' } },
        { name: 'b', dims: [3], data: [4, 5, 6], external: { location: 'weights.bin' } },
      ],
      nodes: [
        { opType: 'Add', inputs: ['x', 'a'], outputs: ['t'] },
        { opType: 'Mul', inputs: ['t', 'b'], outputs: ['y'] },
      ],
    };
    const { model, externalFiles } = buildOnnxModelWithExternal(spec);
    expect(externalFiles.get('weights.bin')!.length).toBe(24);
    const g = importOnnx(model, [{ name: 'some/dir/weights.bin', bytes: externalFiles.get('weights.bin')! }]);
    expect(Array.from(g.initializers.get('a')!.data)).toEqual([1, 2, 3]);
    expect(Array.from(g.initializers.get('b')!.data)).toEqual([4, 5, 6]);
    const e = importError(() => importOnnx(model, []));
    expect(e.code).toBe('MISSING_FILE');
    expect(e.message).toContain('weights.bin');
  });
});

describe('importOnnx value info', () => {
  it('keeps symbolic and unknown dims, drops initializers listed as graph inputs', () => {
    const bytes = buildOnnxModel({
      opset: 9,
      inputs: [{ name: 'x', shape: ['batch', null, 4] }, { name: 'w', shape: [4] }],
      outputs: [{ name: 'y', shape: ['batch', null, 4] }],
      initializers: [{ name: 'w', dims: [4], data: [1, 2, 3, 4] }],
      nodes: [{ opType: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const g = importOnnx(bytes);
    expect(g.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', null, 4] }]);
    expect(g.outputs[0].shape).toEqual(['batch', null, 4]);
  });
});

describe('importOnnx Constant nodes and normalization', () => {
  it('turns every Constant form into an initializer, even when the Constant comes after its consumer', () => {
    const bytes = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 2, 3] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { opType: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['r'], attrs: { keepdims: 0 } },
        { opType: 'Constant', inputs: [], outputs: ['axes'], attrs: { value_ints: [1, 2] } },
        { opType: 'Constant', inputs: [], outputs: ['f'], attrs: { value_float: { f: 2.5 } } },
        { opType: 'Constant', inputs: [], outputs: ['fs'], attrs: { value_floats: { floats: [1, 2] } } },
        { opType: 'Constant', inputs: [], outputs: ['i'], attrs: { value_int: 3 } },
        { opType: 'Constant', inputs: [], outputs: ['t'], attrs: { value: { t: { dtype: 'float32', dims: [1], data: Float32Array.of(4) } } } },
        { opType: 'Mul', inputs: ['r', 'f'], outputs: ['m1'] },
        { opType: 'Mul', inputs: ['m1', 't'], outputs: ['m2'] },
        { opType: 'Add', inputs: ['m2', 'fs'], outputs: ['y'] },
      ],
    });
    const g = importOnnx(bytes);
    expect(g.nodes.map((n) => n.opType)).toEqual(['ReduceSum', 'Mul', 'Mul', 'Add']);
    // ReduceSum axes: input -> attribute (the normalized form).
    expect(g.nodes[0].inputs).toEqual(['x']);
    expect(g.nodes[0].attrs.axes).toEqual([1, 2]);
    expect(g.initializers.get('f')).toEqual({ dtype: 'float32', dims: [], data: Float32Array.of(2.5) });
    expect(g.initializers.get('fs')).toEqual({ dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) });
    expect(g.initializers.get('i')).toEqual({ dtype: 'int64', dims: [], data: Int32Array.of(3) });
    expect(g.initializers.get('t')!.data).toEqual(Float32Array.of(4));
  });

  it('moves opset-7 attributes to inputs and drops BatchNormalization training outputs', () => {
    const g = importOnnx(
      buildOnnxModel({
        opset: 7,
        inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
        outputs: [{ name: 'y' }],
        initializers: ['s', 'b', 'm', 'v'].map((name) => ({ name, dims: [2], data: [1, 1] })),
        nodes: [
          { opType: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['bn', 'rm', 'rv', 'sm', 'sv'], attrs: { spatial: 1 } },
          { opType: 'Clip', inputs: ['bn'], outputs: ['c'], attrs: { max: { f: 6 } } },
          { opType: 'Unsqueeze', inputs: ['c'], outputs: ['u'], attrs: { axes: [0] } },
          { opType: 'Squeeze', inputs: ['u'], outputs: ['y'], attrs: { axes: [0] } },
        ],
      }),
    );
    const [bn, clip, uns, sq] = g.nodes;
    expect(bn.outputs).toEqual(['bn']);
    expect(bn.attrs.spatial).toBeUndefined();
    expect(clip.inputs[1]).toBe('');
    expect(g.initializers.get(clip.inputs[2])).toEqual({ dtype: 'float32', dims: [], data: Float32Array.of(6) });
    expect(Array.from(g.initializers.get(uns.inputs[1])!.data)).toEqual([0]);
    expect(sq.attrs.axes).toBeUndefined();
    expect(g.initializers.get(sq.inputs[1])?.dtype).toBe('int64');
  });

  it('refuses a model that uses a BatchNormalization training output', () => {
    const bytes = buildOnnxModel({
      opset: 9,
      inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: ['s', 'b', 'm', 'v'].map((name) => ({ name, dims: [2], data: [1, 1] })),
      nodes: [
        { opType: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['bn', 'rm'] },
        { opType: 'Add', inputs: ['bn', 'rm'], outputs: ['y'] },
      ],
    });
    expect(() => importOnnx(bytes)).toThrow(/training-only output/);
  });
});

describe('importOnnx on text-heavy models', () => {
  it('imports a model whose first bytes are mostly printable (long node and value names)', () => {
    const long = (p: string) => `${p}_${'abcdefghij'.repeat(30)}`;
    const bytes = buildOnnxModel({
      graphName: long('graph'),
      inputs: [{ name: long('x'), shape: [1] }],
      outputs: [{ name: long('y'), shape: [1] }],
      nodes: [{ opType: 'Relu', name: long('node'), inputs: [long('x')], outputs: [long('y')] }],
    });
    expect(importOnnx(bytes).nodes[0].name).toBe(long('node'));
  });
});
