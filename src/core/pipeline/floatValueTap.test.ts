import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ortNodeRuntime } from '../../../cli/lib/ortNodeRuntime.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { inferenceForm } from '../ir/passes/inferenceForm.js';
import { defaultQuantConfig } from '../quant/config.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { mobileNetV2Like } from '../testing/mobileNetV2Like.js';
import { seeded } from '../testing/opCheck.js';
import { disposeTapped, executorTap, ortTap, type TappedValue } from './floatValueTap.js';
import { quantizeGraph } from './quantizeGraph.js';

const graph = importOnnx(mobileNetV2Like({ seed: 7, width: 0.5, squeezeExcite: true, concat: true }));
const N = 6;
const shape = [N, 3, 32, 32];
const images = seeded(N * 3 * 32 * 32, 11);

/** NCHW data of a tapped value, whatever layout it was held in (read through its tensor). */
async function nchw(v: TappedValue): Promise<Float32Array> {
  const t = v.layout === 'NHWC' ? tf.transpose(v.tensor(), [0, 3, 1, 2]) : v.tensor();
  const d = (await t.data()) as Float32Array;
  if (t !== v.tensor()) t.dispose();
  return d;
}

describe('float value taps', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('onnxruntime gives the values our executor gives, in NCHW, with the graph input answered from the feed', async () => {
    const folded = inferenceForm(graph);
    const names = [folded.inputs[0].name, ...folded.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Concat' || n.opType === 'Mul').map((n) => n.outputs[0])];
    const exec = new GraphExecutor(folded);
    const ours = executorTap(exec, 'executor');
    const ort = ortTap(folded, ortNodeRuntime());
    const batch = tf.tensor(images, shape);
    const before = tf.memory().numTensors;
    const a = await ours.values(batch, names);
    const b = await ort.values(batch, names);
    expect([...b.keys()].sort()).toEqual([...new Set(names)].sort());
    for (const name of names) {
      const x = await nchw(a.get(name)!);
      const y = await nchw(b.get(name)!);
      expect(y.length, name).toBe(x.length);
      const scale = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
      expect(worst / scale, name).toBeLessThan(1e-4);
    }
    // host data is what the range pass reads: the same numbers as through the tensor
    const host = await b.get(names[1])!.data();
    expect(Array.from(host.subarray(0, 8))).toEqual(Array.from((await b.get(names[1])!.tensor().data()).subarray(0, 8)));
    disposeTapped(a);
    disposeTapped(b);
    expect(tf.memory().numTensors).toBe(before);
    batch.dispose();
    await ort.dispose();
    exec.dispose();
  });

  it('runs a model declared with a fixed batch of 1 image by image and joins the values', async () => {
    const folded = inferenceForm(graph);
    const fixed = { ...folded, inputs: [{ ...folded.inputs[0], shape: [1, ...(folded.inputs[0].shape ?? []).slice(1)] }] };
    const names = folded.nodes.filter((n) => n.opType === 'Conv').map((n) => n.outputs[0]).slice(0, 3);
    const exec = new GraphExecutor(folded);
    const batch = tf.tensor(images, shape);
    const a = await executorTap(exec, 'executor').values(batch, names);
    const tap = ortTap(fixed, ortNodeRuntime());
    const b = await tap.values(batch, names);
    for (const name of names) {
      expect(b.get(name)!.tensor().shape[0]).toBe(N);
      const x = await nchw(a.get(name)!);
      const y = await nchw(b.get(name)!);
      const scale = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0) / scale, name).toBeLessThan(1e-4);
    }
    disposeTapped(a);
    disposeTapped(b);
    batch.dispose();
    await tap.dispose();
    exec.dispose();
  });

  it('quantizeGraph with onnxruntime for the forward-only passes sets the same activation grids and says what ran them', async () => {
    const cfg = { ...defaultQuantConfig(), weightBits: 8 as const, activationBits: 8 as const, rounding: 'nearest' as const };
    const viaExecutor = await quantizeGraph(graph, { images, shape }, cfg);
    const viaOrt = await quantizeGraph(graph, { images, shape }, cfg, undefined, undefined, { forwardRuntime: ortNodeRuntime() });
    expect(viaOrt.forwardEngine).toMatch(/onnxruntime-node/);
    expect(viaExecutor.forwardEngine).toMatch(/executor/);
    expect(Object.keys(viaOrt.activations).sort()).toEqual(Object.keys(viaExecutor.activations).sort());
    for (const [name, q] of Object.entries(viaExecutor.activations)) {
      expect(Math.abs(viaOrt.activations[name].scale - q.scale) / q.scale, name).toBeLessThan(1e-3);
      expect(viaOrt.activations[name].zeroPoint, name).toBe(q.zeroPoint);
    }
  });
});
