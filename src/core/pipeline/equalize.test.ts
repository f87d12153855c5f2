import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { inferenceForm } from '../ir/passes/inferenceForm.js';
import type { Graph } from '../ir/types.js';
import { defaultQuantConfig } from '../quant/config.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { cifarResNet } from '../testing/resnetLike.js';
import { seeded } from '../testing/opCheck.js';
import { quantizeGraph } from './quantizeGraph.js';

/** ResNet-8-like with BN after every conv: conv -> BN -> ReLU -> conv inside each block is a channel group. */
const graph = importOnnx(cifarResNet(1, 5));
const N = 8;
const images = seeded(N * 3 * 32 * 32, 7);

function outputsOf(g: Graph): Float32Array {
  const e = new GraphExecutor(g);
  const x = tf.tensor(images, [N, 3, 32, 32]);
  const r = e.execute({ [g.inputs[0].name]: x }).outputs.get(g.outputs[0].name)!;
  const d = r.dataSync() as Float32Array;
  tf.dispose([x, r]);
  e.dispose();
  return d;
}

describe('quantizeGraph with equalization', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('rescales the blocks\' inner channels, keeps the float function, frees its tensors and reports it', async () => {
    const before = tf.memory().numTensors;
    const cfg = { ...defaultQuantConfig(), weightBits: 8 as const, activationBits: 8 as const, rounding: 'nearest' as const, equalization: true };
    const q = await quantizeGraph(graph, { images, shape: [N, 3, 32, 32] }, cfg);
    expect(tf.memory().numTensors).toBe(before);
    expect(q.equalization!.rescaled).toBeGreaterThan(0);
    expect(q.equalization!.layers).toBeGreaterThanOrEqual(2);
    expect(q.seconds.equalization).toBeGreaterThan(0);
    expect(q.notes.join(' ')).toMatch(/Cross-layer equalization: \d+ of \d+ channel groups rescaled/);
    // q.folded carries the rescaled weights: same logits as the plain folded graph
    const ref = outputsOf(inferenceForm(graph));
    const got = outputsOf(q.folded);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    ref.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-3 * scale));
    // ... from weights that did change
    const plain = inferenceForm(graph);
    const changed = [...q.folded.initializers].filter(([k, t]) => plain.initializers.has(k) && t.data.some((v, i) => v !== plain.initializers.get(k)!.data[i]));
    expect(changed.length).toBeGreaterThanOrEqual(2);
  });

  it('without it, no equalization is reported', async () => {
    const q = await quantizeGraph(graph, { images, shape: [N, 3, 32, 32] }, { ...defaultQuantConfig(), weightBits: 8, activationBits: 8, rounding: 'nearest' });
    expect(q.equalization).toBeUndefined();
    expect(q.seconds.equalization).toBeUndefined();
  });
});
