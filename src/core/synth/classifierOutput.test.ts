import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importModel } from '../importers/index.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { initBackend } from '../runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../testing/fixtures.js';
import { buildOnnxModel, type BuilderNode } from '../testing/onnxBuilder.js';
import { classifierOutput, classNamesOf } from './classifierOutput.js';
import { findImageInput } from './graphInput.js';
import { synthesizeImages } from './synthesizeImages.js';

/** x [N,2,4,4] -> Conv(3 or `classes`, 1x1) -> GlobalAveragePool -> Flatten -> [Softmax]; `extra` nodes/outputs added. */
function tinyGraph(o: { classes?: number; softmax?: boolean; flatten?: boolean; secondOutput?: boolean } = {}) {
  const k = o.classes ?? 3;
  const nodes: BuilderNode[] = [
    { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
    { opType: 'GlobalAveragePool', inputs: ['c'], outputs: ['p'] },
  ];
  let out = 'p';
  if (o.flatten !== false) nodes.push({ opType: 'Flatten', inputs: ['p'], outputs: [(out = 'logits')], attrs: { axis: 1 } });
  if (o.softmax) nodes.push({ opType: 'Softmax', inputs: [out], outputs: [(out = 'probs')], attrs: { axis: 1 } });
  const outputs = [{ name: out }, ...(o.secondOutput ? [{ name: 'c' }] : [])];
  const bytes = buildOnnxModel({
    inputs: [{ name: 'x', shape: ['N', 2, 4, 4] }],
    outputs,
    initializers: [{ name: 'w', dims: [k, 2, 1, 1], data: Array.from({ length: 2 * k }, (_, i) => (i % 3) - 1) }],
    nodes,
  });
  return importOnnx(bytes);
}

describe('classifierOutput: where the logits are, or why there are none', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('finds [N, classes] logits and steps over a final Softmax, without leaking', () => {
    const before = tf.memory().numTensors;
    const plain = tinyGraph();
    expect(classifierOutput(plain, findImageInput(plain))).toEqual({ value: 'logits', classes: 3 });
    const soft = tinyGraph({ classes: 5, softmax: true });
    expect(classifierOutput(soft, findImageInput(soft))).toEqual({ value: 'logits', classes: 5 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses several outputs, an output that is not [N, classes], and a single class (BAD_CONFIG)', () => {
    const cases: [ReturnType<typeof tinyGraph>, RegExp][] = [
      [tinyGraph({ secondOutput: true }), /2 outputs/],
      [tinyGraph({ flatten: false }), /\[1, 3, 1, 1\]/],
      [tinyGraph({ classes: 1 }), /1 class/],
    ];
    for (const [g, why] of cases) {
      try {
        classifierOutput(g, findImageInput(g));
        expect.unreachable();
      } catch (e) {
        expect((e as { code: string }).code).toBe('BAD_CONFIG');
        expect((e as Error).message).toMatch(why);
      }
    }
  });

  it('reads class names from the model metadata when their count matches', () => {
    const meta = (m: Record<string, string>) => ({ metadata: m });
    expect(classNamesOf(meta({ 'prop:labels': '["cat","dog","ship"]' }), 3)).toEqual(['cat', 'dog', 'ship']);
    expect(classNamesOf(meta({ 'prop:names': "{0: 'person', 1: 'bicycle'}" }), 2)).toEqual(['person', 'bicycle']);
    expect(classNamesOf(meta({ 'prop:classes': 'a\nb\nc' }), 3)).toEqual(['a', 'b', 'c']);
    expect(classNamesOf(meta({ 'prop:classes': 'a,b' }), 3)).toBeUndefined();
    expect(classNamesOf(meta({ producerName: 'x' }), 3)).toBeUndefined();
  });

  it('refuses class-conditional synthesis for noise calibration and for a model with no classifier output', async () => {
    const g = tinyGraph({ flatten: false });
    await expect(synthesizeImages(tinyGraph(), { method: 'noise', classWeight: 0.1, numImages: 2 })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(synthesizeImages(g, { method: 'prior-only', classWeight: 0.1, numImages: 2, steps: 1 })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });

  it('synthesizes for the logits of a graph without BatchNorm (prior-only plus the class term)', async () => {
    const g = tinyGraph();
    const before = tf.memory().numTensors;
    const r = await synthesizeImages(g, { method: 'prior-only', classWeight: 1, numImages: 6, batchSize: 6, steps: 15 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.method).toBe('prior-only');
    expect(r.classConditional!.targets).toEqual([0, 1, 2, 0, 1, 2]);
    expect(r.classConditional!.endClassLoss).toBeLessThan(r.classConditional!.startClassLoss);
  });
});

describe('class-conditional synthesis on ResNet-20 (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('pulls the 10-class logits towards the round-robin targets while matching BN statistics', async () => {
    const graph = importModel([{ name: 'resnet20_bn.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }]);
    const before = tf.memory().numTensors;
    const normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] };
    const r = await synthesizeImages(graph, { numImages: 4, batchSize: 4, steps: 8, learningRate: 0.25, normalization, classWeight: 1, previewEvery: 0 });
    expect(tf.memory().numTensors).toBe(before);
    const cc = r.classConditional!;
    expect(cc.classes).toBe(10);
    expect(cc.targets).toEqual([0, 1, 2, 3]);
    expect(cc.endClassLoss).toBeLessThan(cc.startClassLoss * 0.7);
    expect(r.endBnLoss).toBeLessThan(r.startBnLoss);
  });
});
