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

describe('executor: a graph output listed twice', () => {
  it('is returned once and leaks nothing (import refuses such files; graphs built in code may still have them)', () => {
    const g = importOnnx(buildOnnxModel({
      inputs: [{ name: 'x', shape: ['N', 2] }],
      outputs: [{ name: 'y' }],
      nodes: [{ name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
    }));
    g.outputs.push({ ...g.outputs[0] });
    const ex = new GraphExecutor(g);
    const x = tf.tensor2d([[1, -1]]);
    const before = tf.memory().numTensors;
    for (let run = 0; run < 3; run++) {
      const { outputs } = ex.execute({ x });
      expect([...outputs.keys()]).toEqual(['y']);
      tf.dispose([...outputs.values()]);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    ex.dispose();
  });
});
