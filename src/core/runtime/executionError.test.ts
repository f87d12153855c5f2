import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../errors.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { initBackend } from './backends.js';
import { GraphExecutor } from './executor.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('executor: errors raised inside tfjs name the node', () => {
  it('a broadcast failure is EXECUTION_FAILED naming the node and op, without leaks', () => {
    // the constant does not broadcast against x; prepareGraph would refuse it, the executor alone must still say where
    const g = importOnnx(buildOnnxModel({
      inputs: [{ name: 'x', shape: ['N', 3, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [{ name: 'k', dims: [5], data: [1, 2, 3, 4, 5] }],
      nodes: [
        { name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['r'] },
        { name: 'add', opType: 'Add', inputs: ['r', 'k'], outputs: ['y'] },
      ],
    }));
    const before = tf.memory().numTensors;
    const ex = new GraphExecutor(g);
    const x = tf.randomNormal([1, 3, 4, 4]);
    let error: unknown;
    try {
      ex.execute({ x });
    } catch (e) {
      error = e;
    }
    x.dispose();
    ex.dispose();
    expect(isLocalQuantError(error)).toBe(true);
    const e = error as { code: string; message: string };
    expect([e.code, e.message]).toEqual(['EXECUTION_FAILED', expect.stringMatching(/^Add node 'add' failed: .*broadcast/)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
