import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError, type LocalQuantError } from '../../errors.js';
import type { ModelFile } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { importTfjs } from './index.js';
import type { WeightSpec } from './modelJson.js';
import { jsonFile, saveLayersModel } from './testSupport.js';
import { decodeWeightsManifest } from './weights.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function catchError(f: () => unknown): LocalQuantError {
  try {
    f();
  } catch (e) {
    if (isLocalQuantError(e)) return e;
    throw e;
  }
  throw new Error('expected a LocalQuantError');
}

const SPECS: WeightSpec[] = [
  { name: 'a/u8', shape: [3, 5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.0123, min: -1.5 } },
  { name: 'b/u16', shape: [7], dtype: 'float32', quantization: { dtype: 'uint16', scale: 1.7e-5, min: -0.3 } },
  { name: 'c/f16', shape: [2, 2, 9], dtype: 'float32', quantization: { dtype: 'float16' } },
  { name: 'd/f32', shape: [4], dtype: 'float32' },
  { name: 'e/i32', shape: [3], dtype: 'int32' },
  { name: 'f/i32q', shape: [6], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.5, min: -3 } },
];
const SIZES = [15, 14, 72, 16, 12, 6];

describe('TF.js weight decoding', () => {
  it('decodes float32, int32, uint8/uint16/float16-quantized weights exactly as tf.io.decodeWeights, across groups and shards', async () => {
    const total = SIZES.reduce((a, b) => a + b, 0);
    const data = bytes(total, 7);
    // Every float16 bit pattern class: subnormal, max, inf, -0.
    const f16 = new DataView(data.buffer, 15 + 14);
    [0x0001, 0x03ff, 0x7bff, 0x7c00, 0x8000, 0xfc00].forEach((h, i) => f16.setUint16(i * 2, h, true));
    const ref = tf.io.decodeWeights(data.buffer as ArrayBuffer, SPECS as tf.io.WeightsManifestEntry[]);
    // Two groups; the first split over two shards at an odd offset, paths with folders and a query.
    const files: ModelFile[] = [
      { name: 'g1-shard1of2.bin', bytes: data.slice(0, 20) },
      { name: 'g1-shard2of2.bin', bytes: data.slice(20, 15 + 14 + 72) },
      { name: 'g2.bin', bytes: data.slice(15 + 14 + 72) },
    ];
    const decoded = decodeWeightsManifest(
      [
        { paths: ['weights/g1-shard1of2.bin', './g1-shard2of2.bin?v=1'], weights: SPECS.slice(0, 3) },
        { paths: ['g2.bin'], weights: SPECS.slice(3) },
      ],
      files,
    );
    for (const spec of SPECS) {
      const ours = decoded.get(spec.name)!;
      const theirs = ref[spec.name];
      expect(ours.dims).toEqual(theirs.shape);
      expect(ours.dtype).toBe(theirs.dtype);
      const a = Array.from(ours.data);
      const b = Array.from(theirs.dataSync());
      expect(a.map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v))).toEqual(b.map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)));
    }
    tf.dispose(Object.values(ref));
  });

  it('a missing shard is MISSING_FILE naming the file and the byte count', () => {
    const e = catchError(() => decodeWeightsManifest([{ paths: ['group1-shard1of1.bin'], weights: SPECS }], []));
    expect(e.code).toBe('MISSING_FILE');
    expect(e.message).toContain('group1-shard1of1.bin');
    expect(e.message).toContain(String(SIZES.reduce((a, b) => a + b, 0)));
  });

  it('a short shard is MISSING_FILE with the expected byte count', () => {
    const e = catchError(() => decodeWeightsManifest([{ paths: ['w.bin'], weights: SPECS }], [{ name: 'w.bin', bytes: new Uint8Array(50) }]));
    expect(e.code).toBe('MISSING_FILE');
    expect(e.message).toContain('135 bytes');
    expect(e.message).toContain('50 bytes');
  });
});

describe('importTfjs: bad input', () => {
  async function savedConvModel(): Promise<ModelFile[]> {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 })] });
    const files = await saveLayersModel(model);
    model.dispose();
    return files;
  }

  it('model.json without its shards', async () => {
    const [modelJson] = await savedConvModel();
    const e = catchError(() => importTfjs([modelJson]));
    expect(e.code).toBe('MISSING_FILE');
    expect(e.message).toContain('weights.bin');
    expect(e.message).toContain(`${(3 * 3 * 2 + 2) * 4} bytes`);
  });

  it('a shard too short', async () => {
    const [modelJson, bin] = await savedConvModel();
    const e = catchError(() => importTfjs([modelJson, { name: bin.name, bytes: bin.bytes.slice(0, 10) }]));
    expect(e.code).toBe('MISSING_FILE');
    expect(e.message).toContain('80 bytes');
  });

  it('an unknown layer class', async () => {
    const [modelJson, bin] = await savedConvModel();
    const json = JSON.parse(new TextDecoder().decode(modelJson.bytes));
    json.modelTopology.config.layers[0].class_name = 'FancyConv';
    const e = catchError(() => importTfjs([jsonFile('model.json', json), bin]));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toContain('FancyConv');
    expect(e.hint).toContain('Conv2D');
  });

  it('detects model.json by content, whatever its file name', async () => {
    const [modelJson, bin] = await savedConvModel();
    const graph = importTfjs([bin, { name: 'renamed.txt', bytes: modelJson.bytes }]);
    expect(graph.format).toBe('tfjs-layers');
    const e = catchError(() => importTfjs([{ name: 'model.json', bytes: new TextEncoder().encode('{"hello": 1}') }]));
    expect(e.code).toBe('NOT_A_MODEL');
  });
});
