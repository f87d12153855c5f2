import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { prepareGraph } from '../ir/prepare.js';
import { buildOnnxModel, type BuilderModel } from '../testing/onnxBuilder.js';
import { f32, seeded } from '../testing/opCheck.js';
import { initBackend } from './backends.js';
import { GraphExecutor } from './executor.js';
import { GraphWalk, ValueStream } from './valueStream.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** x -> c1 -> Relu r -> c2 -> Add(c2, r) -> Relu s -> c3 -> GAP -> Flatten -> Gemm: a skip branch stays open across c2. */
const NET: BuilderModel = {
  opset: 13,
  inputs: [{ name: 'x', shape: ['N', 3, 8, 8] }],
  outputs: [{ name: 'logits' }],
  initializers: [f32('w1', [4, 3, 3, 3], undefined, 1), f32('b1', [4], undefined, 2), f32('w2', [4, 4, 3, 3], undefined, 3), f32('w3', [6, 4, 1, 1], undefined, 4), f32('fc', [5, 6], undefined, 5)],
  nodes: [
    { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['c1'], outputs: ['r'] },
    { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['c2'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { opType: 'Add', inputs: ['c2', 'r'], outputs: ['sum'] },
    { opType: 'Relu', inputs: ['sum'], outputs: ['s'] },
    { opType: 'Conv', inputs: ['s', 'w3'], outputs: ['c3'], attrs: { kernel_shape: [1, 1], strides: [2, 2] } },
    { opType: 'GlobalAveragePool', inputs: ['c3'], outputs: ['gap'] },
    { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
    { opType: 'Gemm', inputs: ['flat', 'fc'], outputs: ['logits'], attrs: { transB: 1 } },
  ],
};
const STEPS = ['x', 'r', 's', 'flat', 'logits'];

describe('ValueStream', () => {
  it('walks the graph layer input by layer input, equal to full runs, each node once, freeing what is done', async () => {
    const graph = prepareGraph(importOnnx(buildOnnxModel(NET)), { x: [2, 3, 8, 8] });
    const exec = new GraphExecutor(graph);
    const x = tf.tensor(seeded(2 * 3 * 8 * 8, 7), [2, 3, 8, 8]);
    const before = tf.memory().numTensors;
    const full = exec.execute({ x }, { capture: STEPS });
    const seen: string[] = [];
    const hook = (name: string) => {
      seen.push(name);
      return undefined;
    };
    for (const offload of [false, true]) {
      seen.length = 0;
      const stream = new ValueStream(exec, new GraphWalk(graph), new Map([['x', { tensor: tf.clone(x), layout: 'NCHW' as const }]]), { hook });
      for (const name of STEPS) {
        const got = stream.advanceTo([name]).get(name)!;
        const want = full.captured.get(name)!;
        expect(got.layout).toBe(want.layout);
        const [a, b] = [await got.tensor.data(), await want.tensor.data()];
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
        if (offload) {
          await stream.offload();
          expect(stream.heldBytes()).toBe(0);
        }
      }
      // every value produced exactly once over the whole walk (linear in depth)
      expect(seen.sort()).toEqual(['c1', 'c2', 'c3', 'flat', 'gap', 'logits', 'r', 's', 'sum']);
      stream.dispose();
    }
    for (const c of full.captured.values()) c.tensor.dispose();
    tf.dispose([...full.outputs.values()]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    exec.dispose();
  });

  it('applies the hook to the hooked values at every step, also when they are given as an iterator', () => {
    const graph = prepareGraph(importOnnx(buildOnnxModel(NET)), { x: [1, 3, 8, 8] });
    const exec = new GraphExecutor(graph);
    const hooked = new Map([['r', 0], ['s', 0], ['flat', 0]]);
    const hook = (name: string) => {
      hooked.set(name, hooked.get(name)! + 1);
      return undefined;
    };
    const stream = new ValueStream(exec, new GraphWalk(graph), new Map([['x', { tensor: tf.zeros([1, 3, 8, 8]), layout: 'NCHW' as const }]]), { hook, hookValues: hooked.keys() });
    for (const name of STEPS) stream.advanceTo([name]);
    expect([...hooked.values()]).toEqual([1, 1, 1]);
    stream.dispose();
    exec.dispose();
  });

  it('a hooked stream with weight overrides equals hooked full runs (the prefix re-runs it replaces)', async () => {
    const graph = prepareGraph(importOnnx(buildOnnxModel(NET)), { x: [2, 3, 8, 8] });
    const exec = new GraphExecutor(graph);
    const x = tf.tensor(seeded(2 * 3 * 8 * 8, 3), [2, 3, 8, 8]);
    // a coarse grid on the hooked values, and overrides that change as the walk goes (as weights get quantized)
    const hook = (_: string, v: { tensor: tf.Tensor }) => tf.round(v.tensor.mul(4)).div(4);
    const hookValues = ['r', 's', 'flat'];
    const overrides = new Map<string, tf.Tensor>();
    const stream = new ValueStream(exec, new GraphWalk(graph), new Map([['x', { tensor: tf.clone(x), layout: 'NCHW' as const }]]), { hook, hookValues, overrides });
    for (const [step, name] of STEPS.entries()) {
      const got = await stream.advanceTo([name]).get(name)!.tensor.data();
      const full = exec.execute({ x }, { capture: [name], stopAfterCaptures: true, hook, hookValues, overrides });
      const want = full.captured.get(name)!;
      const ref = await want.tensor.data();
      for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i], 4);
      tf.dispose([want.tensor, ...full.outputs.values()]);
      // after each step, "quantize" one more weight
      const w = ['w1', 'w2', 'w3', 'fc'][step];
      if (w) overrides.set(w, tf.tidy(() => tf.round(tf.tensor(graph.initializers.get(w)!.data as Float32Array, graph.initializers.get(w)!.dims).mul(8)).div(8)));
    }
    stream.dispose();
    tf.dispose([x, ...overrides.values()]);
    exec.dispose();
  });

  it('keeps only the values later nodes read', () => {
    const graph = prepareGraph(importOnnx(buildOnnxModel(NET)), { x: [1, 3, 8, 8] });
    const exec = new GraphExecutor(graph);
    const stream = new ValueStream(exec, new GraphWalk(graph), new Map([['x', { tensor: tf.zeros([1, 3, 8, 8]), layout: 'NCHW' as const }]]));
    stream.advanceTo(['c2']);
    // r (the open skip branch) and c2 are held; x and c1 are gone: 2 values of 4*8*8 floats
    expect(stream.heldBytes()).toBe(2 * 4 * 8 * 8 * 4);
    stream.dispose();
    exec.dispose();
  });
});
