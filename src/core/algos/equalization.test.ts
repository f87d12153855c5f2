import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { channelScalingGroups } from '../ir/channelScaling.js';
import { cloneGraph } from '../ir/graph.js';
import type { Graph, Node } from '../ir/types.js';
import { equalizeChannels } from './equalization.js';

const node = (name: string, opType: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, opType, inputs, outputs, attrs });
const rand = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
function tensor(dims: number[], seed: number, rowScale?: (row: number) => number) {
  const r = rand(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const per = n / dims[0];
  return { dtype: 'float32' as const, dims, data: Float32Array.from({ length: n }, (_, i) => r() * (rowScale ? rowScale(Math.floor(i / per)) : 1)) };
}

/**
 * x -> c1 (8 ch, rows scaled 0.01..10 as a folded BN leaves them) -> LeakyRelu -> MaxPool -> Concat with c2's
 * 4 channels -> c3 and a depthwise c4 reading the concat; c3 -> Add(x') pins c3's output; Sigmoid pins c4's.
 */
function net(): Graph {
  const spread = (r: number) => [0.01, 10, 0.3, 1, 0.05, 4, 0.2, 2][r % 8];
  return {
    name: 't', format: 'onnx', interfaceLayout: 'NCHW', opset: 13, metadata: {}, valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] }],
    outputs: [{ name: 'sum', dtype: 'float32', shape: null }, { name: 'sig', dtype: 'float32', shape: null }],
    nodes: [
      node('c1', 'Conv', ['x', 'w1', 'b1'], ['a1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      node('lr', 'LeakyRelu', ['a1'], ['l1'], { alpha: 0.1 }),
      node('mp', 'MaxPool', ['l1'], ['p1'], { kernel_shape: [2, 2], strides: [1, 1], pads: [0, 0, 1, 1] }),
      node('c2', 'Conv', ['x', 'w2'], ['a2'], { kernel_shape: [1, 1] }),
      node('r2', 'Relu', ['a2'], ['l2']),
      node('cat', 'Concat', ['p1', 'l2'], ['cc'], { axis: 1 }),
      node('c3', 'Conv', ['cc', 'w3', 'b3'], ['a3'], { kernel_shape: [1, 1] }),
      node('c4', 'Conv', ['cc', 'w4'], ['a4'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 12 }),
      node('add', 'Add', ['a3', 'a3'], ['sum']),
      node('sg', 'Sigmoid', ['a4'], ['sig']),
    ],
    initializers: new Map([
      ['w1', tensor([8, 3, 3, 3], 1, spread)],
      ['b1', tensor([8], 2, spread)],
      ['w2', tensor([4, 3, 1, 1], 3, (r) => [0.02, 1, 5, 0.1][r])],
      ['w3', tensor([6, 12, 1, 1], 4)],
      ['b3', tensor([6], 5)],
      ['w4', tensor([12, 1, 3, 3], 6)],
    ]),
  };
}

async function run(g: Graph, x: Float32Array): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(writeOnnx(g));
  const r = await s.run({ x: new ort.Tensor('float32', x, [1, 3, 8, 8]) });
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Per-channel max |x| of a value, from an ONNX Runtime run with it as an output. */
async function absMaxOf(g: Graph, value: string, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(writeOnnx({ ...g, outputs: [{ name: value, dtype: 'float32', shape: null }] }));
  const t = (await s.run({ x: new ort.Tensor('float32', x, [1, 3, 8, 8]) }))[value];
  const [, c, h, w] = t.dims as number[];
  const d = t.data as Float32Array;
  return Float32Array.from({ length: c }, (_, k) => d.subarray(k * h * w, (k + 1) * h * w).reduce((m, v) => Math.max(m, Math.abs(v)), 0));
}

describe('channelScalingGroups', () => {
  it('joins channels through LeakyRelu, MaxPool, Relu and Concat; an Add or Sigmoid reader pins them', () => {
    const groups = channelScalingGroups(net());
    // the 12 concat channels: c1's 8 (through LeakyRelu, MaxPool) and c2's 4 (through Relu); read by c3 and c4
    expect(groups).toHaveLength(12);
    const first = groups.find((g) => g.members.some((m) => m.value === 'cc' && m.channel === 9))!;
    expect(first.members.map((m) => `${m.value}:${m.channel}`).sort()).toEqual(['a2:1', 'cc:9', 'l2:1']);
    expect(first.producers.map((p) => `${p.node.name}:${p.channel}`)).toEqual(['c2:1']);
    expect(first.consumers.map((p) => `${p.node.name}:${p.channel}`).sort()).toEqual(['c3:9', 'c4:9']);
    // c3's and c4's outputs reach an Add and a Sigmoid: no group holds them
    expect(groups.some((g) => g.members.some((m) => m.value === 'a3' || m.value === 'a4'))).toBe(false);
  });

  it('a Clip (ReLU6) between two convs pins the channels: a per-channel scale does not commute with it', () => {
    const g = net();
    g.nodes[1] = node('lr', 'Clip', ['a1', 'lo', 'hi'], ['l1']);
    g.initializers.set('lo', { dtype: 'float32', dims: [], data: Float32Array.of(0) });
    g.initializers.set('hi', { dtype: 'float32', dims: [], data: Float32Array.of(6) });
    expect(channelScalingGroups(g).map((x) => x.producers[0].node.name)).toEqual(['c2', 'c2', 'c2', 'c2']);
  });


  it('a Concat with a constant input pins its channels (a constant cannot absorb a factor)', () => {
    const g = net();
    g.nodes[5] = node('cat', 'Concat', ['p1', 'l2', 'k'], ['cc'], { axis: 1 });
    g.initializers.set('k', { dtype: 'float32', dims: [1, 1, 8, 8], data: new Float32Array(64) });
    g.initializers.set('w3', tensor([6, 13, 1, 1], 4));
    g.nodes[7] = node('c4', 'Conv', ['cc', 'w4'], ['a4'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 13 });
    g.initializers.set('w4', tensor([13, 1, 3, 3], 6));
    expect(channelScalingGroups(g)).toEqual([]);
  });
});

describe('equalizeChannels', () => {
  const x = Float32Array.from({ length: 3 * 64 }, rand(9));

  it('keeps the float function and evens out the channels of the activation it balances', async () => {
    const g = net();
    const before = await run(g, x);
    const groups = channelScalingGroups(g);
    const measured = await absMaxOf(g, 'cc', x);
    const eq = cloneGraph(g, { shareTensors: true });
    const r = equalizeChannels(eq, groups, new Map([['cc', Float32Array.from(measured)]]), { weightBits: 8, activationBits: 8 });
    expect(r.changed).toBeGreaterThan(6);
    const after = await run(eq, x);
    for (const k of ['sum', 'sig']) {
      const maxAbs = before[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      before[k].forEach((v, i) => expect(Math.abs(after[k][i] - v)).toBeLessThan(1e-4 * maxAbs + 1e-6));
    }
    // the narrowest channel of the concat, relative to its widest, grows (measured again on the new graph)
    const rel = (a: Float32Array) => Math.min(...a) / Math.max(...a);
    expect(rel(await absMaxOf(eq, 'cc', x))).toBeGreaterThan(5 * rel(measured));
    // the original graph's tensors were not written into
    expect(Array.from(g.initializers.get('w1')!.data)).toEqual(Array.from(net().initializers.get('w1')!.data));
  });

  it('with 4-bit weights it moves the channels less than with 8-bit ones (the weight grid is the coarser one)', async () => {
    const g = net();
    const groups = channelScalingGroups(g);
    const measured = await absMaxOf(g, 'cc', x);
    const spreadOf = (bits: number) => {
      const r = equalizeChannels(cloneGraph(g, { shareTensors: true }), groups, new Map([['cc', Float32Array.from(measured)]]), { weightBits: bits, activationBits: 8 });
      return r.factors.reduce((m, f) => m + Math.abs(Math.log2(f)), 0);
    };
    expect(spreadOf(4)).toBeLessThan(spreadOf(8));
  });

  it('also cuts the error of per-tensor weight rounding (DFQ\'s case: a folded BN scales a row and its channel alike)', async () => {
    const g = net();
    const groups = channelScalingGroups(g);
    const measured = await absMaxOf(g, 'cc', x);
    const float = await run(g, x);
    /** Output error energy with every conv weight rounded on one symmetric 6-bit grid per tensor. */
    const roundedError = async (m: Graph) => {
      const q = cloneGraph(m, { shareTensors: true });
      for (const w of ['w1', 'w2', 'w3', 'w4']) {
        const t = q.initializers.get(w)!;
        const step = (t.data as Float32Array).reduce((a, v) => Math.max(a, Math.abs(v)), 0) / 31;
        q.initializers.set(w, { ...t, data: (t.data as Float32Array).map((v) => Math.round(v / step) * step) });
      }
      const out = await run(q, x);
      return ['sum', 'sig'].reduce((e, k) => e + out[k].reduce((a, v, i) => a + (v - float[k][i]) ** 2, 0), 0);
    };
    const eq = cloneGraph(g, { shareTensors: true });
    equalizeChannels(eq, groups, new Map([['cc', Float32Array.from(measured)]]), { weightBits: 6, activationBits: 8 });
    // 234.6 -> 125.8 (-46 %) when written
    expect(await roundedError(eq)).toBeLessThan(0.65 * (await roundedError(g)));
  });

  it('leaves a group without a measured member alone', () => {
    const g = net();
    const w1 = g.initializers.get('w1');
    const r = equalizeChannels(g, channelScalingGroups(g), new Map(), { weightBits: 8, activationBits: 8 });
    expect(r.changed).toBe(0);
    expect(g.initializers.get('w1')).toBe(w1);
  });
});
