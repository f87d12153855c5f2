import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrtSession, runOrtBatched } from '../../../cli/lib/ort.js';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../data/cifar10.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { prepareGraph } from '../ir/prepare.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../testing/fixtures.js';
import { initBackend } from './backends.js';
import { GraphExecutor, channelAxis } from './executor.js';

/**
 * The real fixtures: ResNet-20 with BatchNorm kept and folded, on 256 CIFAR-10 test images spread over
 * all classes (the file is sorted by class, so every 39th record), against onnxruntime-node.
 */
const N = 256;
let batch: ReturnType<typeof cifar10Batch>;

beforeAll(async () => {
  await initBackend('wasm');
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  batch = cifar10Batch(set, Array.from({ length: N }, (_, i) => i * 39), CIFAR_MEAN, CIFAR_STD);
});

const load = (file: 'resnet20_bn.onnx' | 'resnet20_folded.onnx', n: number) =>
  prepareGraph(importOnnx(new Uint8Array(readFileSync(cifarFixture(file)))), { input: [n, 3, 32, 32] });

describe.each(['resnet20_bn.onnx', 'resnet20_folded.onnx'] as const)('%s in the tfjs executor', (file) => {
  it('gives ORT logits within 1e-3 and the same top-1 on 256 images, without leaking', async () => {
    expect(new Set(batch.labels).size).toBe(10);
    const session = await createOrtSession(cifarFixture(file));
    const ref = await runOrtBatched(session, batch.images, batch.dims);
    await session.release();

    const before = tf.memory().numTensors;
    const ex = new GraphExecutor(load(file, N));
    const x = tf.tensor(batch.images, batch.dims);
    const afterBuild = tf.memory().numTensors;
    const res = ex.execute({ input: x });
    const logits = res.outputs.get('logits')!;
    expect(logits.shape).toEqual([N, 10]);
    const ours = logits.dataSync();
    logits.dispose();
    expect(tf.memory().numTensors).toBe(afterBuild);
    x.dispose();
    ex.dispose();
    expect(tf.memory().numTensors).toBe(before);

    let maxDiff = 0;
    for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref.data[i]));
    expect(maxDiff).toBeLessThan(1e-3);
    expect(Array.from(argmaxRows(ours, N, 10))).toEqual(Array.from(argmaxRows(ref.data, N, 10)));
    const correct = argmaxRows(ours, N, 10).filter((p, i) => p === batch.labels[i]).length;
    expect(correct / N).toBeGreaterThan(0.85);
  });

  it('passes gradients to the input and to an overridden conv weight', () => {
    const n = 4;
    const graph = load(file, n);
    const ex = new GraphExecutor(graph);
    const convW = graph.nodes.find((nd) => nd.opType === 'Conv' && graph.initializers.get(nd.inputs[1])?.dims[1] === 16)!.inputs[1];
    const init = graph.initializers.get(convW)!;
    const w = tf.variable(tf.tensor(init.data as Float32Array, init.dims));
    const x = tf.variable(tf.tensor(batch.images.subarray(0, n * 3072), [n, 3, 32, 32]));
    const { value, grads } = tf.variableGrads(() => {
      const r = ex.execute({ input: x }, { overrides: new Map([[convW, w as tf.Tensor]]) });
      const logits = r.outputs.get('logits')!;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(Array.from(batch.labels.subarray(0, n)), 'int32'), 10), logits) as tf.Scalar;
    }, [w, x]);
    for (const g of Object.values(grads)) {
      const d = g.dataSync();
      expect(d.every(Number.isFinite)).toBe(true);
      expect(d.some((v) => v !== 0)).toBe(true);
    }
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    w.dispose();
    x.dispose();
    ex.dispose();
  });
});

describe('BatchNorm statistics path (synthesis) on resnet20_bn.onnx', () => {
  it('captures every BN input with stopAfterCaptures and differentiates a BN-statistics loss w.r.t. the input', () => {
    const n = 4;
    const graph = load('resnet20_bn.onnx', n);
    const bns = graph.nodes.filter((nd) => nd.opType === 'BatchNormalization');
    expect(bns.length).toBe(19);
    const ex = new GraphExecutor(graph);
    const x = tf.variable(tf.randomNormal([n, 3, 32, 32], 0, 1, 'float32', 5));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const r = ex.execute({ input: x }, { capture: bns.map((b) => b.inputs[0]), stopAfterCaptures: true });
      let loss = tf.scalar(0);
      bns.forEach((b) => {
        const c = r.captured.get(b.inputs[0])!;
        const axes = [0, 1, 2, 3].filter((a) => a !== channelAxis(c));
        const { mean, variance } = tf.moments(c.tensor, axes);
        const mu = tf.tensor(graph.initializers.get(b.inputs[3])!.data as Float32Array);
        const v = tf.tensor(graph.initializers.get(b.inputs[4])!.data as Float32Array);
        loss = tf.add(loss, tf.add(tf.sum(tf.square(tf.sub(mean, mu))), tf.sum(tf.square(tf.sub(variance, v)))));
      });
      return loss as tf.Scalar;
    }, [x]);
    const g = grads[x.name].dataSync();
    expect(g.every(Number.isFinite) && g.some((v) => v !== 0)).toBe(true);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    value.dispose();
    Object.values(grads).forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    ex.dispose();
  });
});
