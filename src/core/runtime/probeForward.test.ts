import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError, type LocalQuantError } from '../errors.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { prepareGraph } from '../ir/prepare.js';
import { buildOnnxModel, type BuilderModel } from '../testing/onnxBuilder.js';
import { initBackend } from './backends.js';
import { probeForward } from './probeForward.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const ramp = (n: number) => Array.from({ length: n }, (_, i) => 0.1 * ((i % 7) - 3));

/** x -> Conv -> BN -> Relu -> y; `w0` is the first weight (a flipped exponent bit makes it huge). */
function convBnRelu(w0: number): BuilderModel {
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
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { name: 'bn', opType: 'BatchNormalization', inputs: ['c', 's', 'b', 'm', 'v'], outputs: ['n'] },
      { name: 'relu', opType: 'Relu', inputs: ['n'], outputs: ['y'] },
    ],
  };
}

const prepared = (m: BuilderModel) => prepareGraph(importOnnx(buildOnnxModel(m)), { x: [1, 3, 6, 6] });

function refusal(fn: () => unknown): LocalQuantError {
  try {
    fn();
  } catch (e) {
    if (isLocalQuantError(e)) return e as LocalQuantError;
    throw e;
  }
  throw new Error('expected a LocalQuantError');
}

describe('probeForward', () => {
  it('passes a sound model, reporting finite output magnitudes, and frees what it allocates', () => {
    const before = tf.memory().numTensors;
    const r = probeForward(prepared(convBnRelu(0.2)));
    expect(r.maxAbs.get('y')).toBeGreaterThan(0);
    expect(Number.isFinite(r.maxAbs.get('y'))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses finite but absurd weights that overflow, naming the first node with Inf/NaN and its weight', () => {
    const before = tf.memory().numTensors;
    const e = refusal(() => probeForward(prepared(convBnRelu(3e38))));
    expect([e.code, e.message]).toEqual(['BAD_WEIGHTS', expect.stringMatching(/NaN\/Inf at node 'conv' \(Conv\).*'w' \(max \|w\| 3\.00e\+38\)/)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
