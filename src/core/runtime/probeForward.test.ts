import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError, type LocalQuantError } from '../errors.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { prepareGraph } from '../ir/prepare.js';
import { buildOnnxModel, type BuilderModel } from '../testing/onnxBuilder.js';
import { initBackend } from './backends.js';
import { probeForward, probeModel } from './probeForward.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const ramp = (n: number) => Array.from({ length: n }, (_, i) => 0.1 * ((i % 7) - 3));

/** x -> Conv -> BN -> Relu -> y, or with `square`: x -> Conv -> c*c -> (c*c)^2 -> y (overflows for large weights). */
function convNet(w0: number, square = false): BuilderModel {
  return {
    inputs: [{ name: 'x', shape: ['N', 3, 6, 6] }],
    outputs: [{ name: 'y' }],
    initializers: [
      { name: 'w', dims: [4, 3, 3, 3], data: [w0, ...ramp(107)] },
      { name: 's', dims: [4], data: [1, 1, 1, 1] },
      { name: 'b', dims: [4], data: [0, 0, 0, 0] },
      { name: 'm', dims: [4], data: [0, 0, 0, 0] },
      { name: 'v', dims: [4], data: [1, 1, 1, 1] },
    ],
    nodes: square
      ? [
          { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
          { name: 'sq1', opType: 'Mul', inputs: ['c', 'c'], outputs: ['c2'] },
          { name: 'sq2', opType: 'Mul', inputs: ['c2', 'c2'], outputs: ['y'] },
        ]
      : [
          { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
          { name: 'bn', opType: 'BatchNormalization', inputs: ['c', 's', 'b', 'm', 'v'], outputs: ['n'] },
          { name: 'relu', opType: 'Relu', inputs: ['n'], outputs: ['y'] },
        ],
  };
}

const prepared = (m: BuilderModel) => prepareGraph(importOnnx(buildOnnxModel(m)), { x: [1, 3, 6, 6] });

async function refusal(fn: () => Promise<unknown>): Promise<LocalQuantError> {
  try {
    await fn();
  } catch (e) {
    if (isLocalQuantError(e)) return e as LocalQuantError;
    throw e;
  }
  throw new Error('expected a LocalQuantError');
}

describe('probeForward', () => {
  it('passes a sound model, reporting finite output magnitudes, and frees what it allocates', async () => {
    const before = tf.memory().numTensors;
    const r = await probeForward(prepared(convNet(0.2)));
    expect(r.maxAbs.get('y')).toBeGreaterThan(0);
    expect(Number.isFinite(r.maxAbs.get('y'))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a model whose large (importable) weights overflow a few nodes on, naming the first node with Inf/NaN', async () => {
    const before = tf.memory().numTensors;
    const e = await refusal(() => probeForward(prepared(convNet(1e12, true))));
    expect([e.code, e.message]).toEqual(['BAD_WEIGHTS', expect.stringMatching(/NaN\/Inf at node 'sq2' \(Mul\) on a standard-normal input image\.$/)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('probeModel prepares the imported model for one image, and skips inputs with symbolic spatial dims', async () => {
    const g = importOnnx(buildOnnxModel(convNet(0.2)));
    expect((await probeModel(g))?.maxAbs.has('y')).toBe(true);
    await expect(probeModel(importOnnx(buildOnnxModel(convNet(1e12, true))))).rejects.toThrow(/NaN\/Inf at node 'sq2'/);
    const symbolic = importOnnx(buildOnnxModel({ ...convNet(0.2), inputs: [{ name: 'x', shape: ['N', 3, 'H', 'W'] }] }));
    expect(await probeModel(symbolic)).toBeUndefined();
  });
});
