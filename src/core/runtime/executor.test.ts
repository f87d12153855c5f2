import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../errors.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { prepareGraph } from '../ir/prepare.js';
import { buildOnnxModel, type BuilderModel } from '../testing/onnxBuilder.js';
import { f32, seeded } from '../testing/opCheck.js';
import { initBackend } from './backends.js';
import { GraphExecutor, channelAxis, toGraphLayout } from './executor.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** x -> Conv(w1,b1) -> BN -> Relu -> c2 (3x3) -> Add(skip r) -> GAP -> Flatten -> Gemm -> logits */
const SMALL: BuilderModel = {
  opset: 13,
  inputs: [{ name: 'x', shape: ['N', 3, 6, 6] }],
  outputs: [{ name: 'logits' }],
  initializers: [
    f32('w1', [4, 3, 3, 3], undefined, 1), f32('b1', [4], undefined, 2),
    f32('bn_s', [4], undefined, 3), f32('bn_b', [4], undefined, 4), f32('bn_m', [4], undefined, 5), f32('bn_v', [4], [0.5, 1, 1.5, 2]),
    f32('w2', [4, 4, 3, 3], undefined, 6),
    f32('fc_w', [5, 4], undefined, 7), f32('fc_b', [5], undefined, 8),
  ],
  nodes: [
    { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { opType: 'BatchNormalization', inputs: ['c1', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], outputs: ['bn'] },
    { opType: 'Relu', inputs: ['bn'], outputs: ['r'] },
    { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['c2'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { opType: 'Add', inputs: ['c2', 'r'], outputs: ['sum'] },
    { opType: 'GlobalAveragePool', inputs: ['sum'], outputs: ['gap'] },
    { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
    { opType: 'Gemm', inputs: ['flat', 'fc_w', 'fc_b'], outputs: ['logits'], attrs: { transB: 1 } },
  ],
};

const X_DATA = seeded(2 * 3 * 6 * 6, 42);
const graph = () => prepareGraph(importOnnx(buildOnnxModel(SMALL)), { x: [2, 3, 6, 6] });
const input = () => tf.tensor(X_DATA, [2, 3, 6, 6]);

/** ORT values of the named tensors (made graph outputs). */
async function ortValues(names: string[]): Promise<Record<string, Float32Array>> {
  const model = buildOnnxModel({ ...SMALL, outputs: names.map((name) => ({ name })) });
  const s = await ort.InferenceSession.create(model);
  const r = await s.run({ x: new ort.Tensor('float32', X_DATA, [2, 3, 6, 6]) });
  return Object.fromEntries(names.map((n) => [n, r[n].data as Float32Array]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

describe('GraphExecutor', () => {
  it('matches ORT on outputs and captured intermediates, reporting their layout', async () => {
    const ref = await ortValues(['logits', 'c1', 'r', 'gap', 'flat']);
    const ex = new GraphExecutor(graph());
    const x = input();
    const res = ex.execute({ x }, { capture: ['c1', 'r', 'gap', 'flat'] });
    expect(maxAbsDiff(res.outputs.get('logits')!.dataSync(), ref.logits)).toBeLessThan(1e-4);
    expect(res.captured.get('r')!.layout).toBe('NHWC');
    expect(res.captured.get('flat')!.layout).toBe('plain');
    expect(channelAxis(res.captured.get('r')!)).toBe(3);
    for (const name of ['c1', 'r', 'gap', 'flat']) {
      const c = res.captured.get(name)!;
      const g = toGraphLayout(c);
      expect(maxAbsDiff(g.dataSync(), ref[name]), name).toBeLessThan(1e-4);
      if (g !== c.tensor) g.dispose();
    }
    res.outputs.forEach((t) => t.dispose());
    res.captured.forEach((c) => c.tensor.dispose());
    x.dispose();
    ex.dispose();
  });

  it('leaks no tensors: execute (with captures, hooks, stopAfterCaptures), dispose', () => {
    const before = tf.memory().numTensors;
    const ex = new GraphExecutor(graph());
    const x = input();
    const afterBuild = tf.memory().numTensors;
    for (const opts of [{}, { capture: ['r', 'sum'] }, { capture: ['c1'], stopAfterCaptures: true }, { hook: (_: string, v: { tensor: tf.Tensor }) => tf.mul(v.tensor, 1) }]) {
      const res = ex.execute({ x }, opts);
      res.outputs.forEach((t) => t.dispose());
      res.captured.forEach((c) => c.tensor.dispose());
      expect(tf.memory().numTensors).toBe(afterBuild);
    }
    tf.tidy(() => {
      ex.execute({ x });
    });
    expect(tf.memory().numTensors).toBe(afterBuild);
    // built inside a tidy, the executor keeps its weights
    let inner!: GraphExecutor;
    tf.tidy(() => {
      inner = new GraphExecutor(graph());
    });
    const out = inner.execute({ x }).outputs.get('logits')!;
    expect(out.dataSync().every(Number.isFinite)).toBe(true);
    out.dispose();
    inner.dispose();
    expect(tf.memory().numTensors).toBe(afterBuild);
    x.dispose();
    ex.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('hook replaces produced values before consumers see them (graph input included)', async () => {
    const ex = new GraphExecutor(graph());
    const x = input();
    const seen: string[] = [];
    const res = ex.execute({ x }, {
      hook: (name, v) => {
        seen.push(`${name}:${v.layout}`);
        return name === 'sum' ? tf.zerosLike(v.tensor) : undefined;
      },
    });
    // sum = 0 -> logits = fc bias
    const fcb = SMALL.initializers!.find((i) => i.name === 'fc_b')!.data as Float32Array;
    const logits = res.outputs.get('logits')!.dataSync();
    expect(maxAbsDiff(logits.slice(0, 5), fcb)).toBeLessThan(1e-6);
    expect(seen).toContain('x:NCHW');
    expect(seen).toContain('c1:NHWC');
    expect(seen).toContain('flat:plain');
    res.outputs.forEach((t) => t.dispose());
    x.dispose();
    ex.dispose();
  });

  it('hookValues limits the hook to some values and keeps the others fused, with the same result', () => {
    const ex = new GraphExecutor(graph());
    const x = input();
    const seen: string[] = [];
    const half = (name: string, v: { tensor: tf.Tensor }) => {
      seen.push(name);
      return tf.mul(v.tensor, 0.5);
    };
    const a = ex.execute({ x }, { hook: half, hookValues: ['r', 'sum'] });
    expect(seen).toEqual(['r', 'sum']);
    // the same run with a hook on every value, halving only r and sum
    const b = ex.execute({ x }, { hook: (n, v) => (n === 'r' || n === 'sum' ? tf.mul(v.tensor, 0.5) : undefined) });
    expect(maxAbsDiff(a.outputs.get('logits')!.dataSync(), b.outputs.get('logits')!.dataSync())).toBeLessThan(1e-5);
    // a hooked value inside a fusable chain (c1 feeds BN) is still seen
    seen.length = 0;
    const c = ex.execute({ x }, { hook: half, hookValues: ['c1'] });
    expect(seen).toEqual(['c1']);
    [a, b, c].forEach((r) => r.outputs.forEach((t) => t.dispose()));
    x.dispose();
    ex.dispose();
  });

  it('stopAfterCaptures runs only what the captures need', () => {
    const ex = new GraphExecutor(graph());
    const x = input();
    const seen: string[] = [];
    const res = ex.execute({ x }, { capture: ['bn'], stopAfterCaptures: true, hook: (n) => void seen.push(n) });
    expect(seen).toEqual(['x', 'c1', 'bn']);
    expect(res.outputs.size).toBe(0);
    expect(res.captured.get('bn')!.tensor.shape).toEqual([2, 6, 6, 4]);
    res.captured.forEach((c) => c.tensor.dispose());
    x.dispose();
    ex.dispose();
  });

  it('fused (no hook) and unfused (hook) runs agree, also with BN parameters overridden', () => {
    const ex = new GraphExecutor(graph());
    const x = input();
    const scale = tf.tensor1d([2, -1, 0.5, 3]);
    const overrides = new Map([['bn_s', scale]]);
    const run = (hook: boolean, ov?: Map<string, tf.Tensor>) => {
      const r = ex.execute({ x }, { overrides: ov, hook: hook ? () => undefined : undefined });
      const v = r.outputs.get('logits')!;
      const d = v.dataSync().slice();
      v.dispose();
      return d;
    };
    expect(maxAbsDiff(run(false), run(true))).toBeLessThan(1e-5);
    const fused = run(false, overrides);
    expect(maxAbsDiff(fused, run(true, overrides))).toBeLessThan(1e-5);
    expect(maxAbsDiff(fused, run(false))).toBeGreaterThan(1e-3);
    scale.dispose();
    x.dispose();
    ex.dispose();
  });

  it('gradients flow to the input and to overridden weights (tf.variableGrads), fused or not', () => {
    const ex = new GraphExecutor(graph());
    const x = input();
    const w1 = tf.variable(tf.tensor(SMALL.initializers![0].data as Float32Array, [4, 3, 3, 3]));
    const bnS = tf.variable(tf.tensor1d(SMALL.initializers![2].data as Float32Array));
    for (const hook of [undefined, () => undefined]) {
      const { value, grads } = tf.variableGrads(() => {
        const r = ex.execute({ x }, { overrides: new Map<string, tf.Tensor>([['w1', w1], ['bn_s', bnS]]), hook });
        return tf.sum(tf.square(r.outputs.get('logits')!)) as tf.Scalar;
      }, [w1, bnS]);
      for (const g of Object.values(grads)) {
        const d = g.dataSync();
        expect(d.every(Number.isFinite)).toBe(true);
        expect(d.some((v) => v !== 0)).toBe(true);
      }
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    }
    const gx = tf.grad((xi: tf.Tensor) => tf.sum(ex.execute({ x: xi }).outputs.get('logits')!))(x);
    expect(gx.shape).toEqual([2, 3, 6, 6]);
    expect(gx.dataSync().some((v) => v !== 0)).toBe(true);
    [gx, w1, bnS, x].forEach((t) => t.dispose());
    ex.dispose();
  });

  it('reports user-facing errors', () => {
    const ex = new GraphExecutor(graph());
    const x = input();
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isLocalQuantError(e) ? e.code : String(e);
      }
      return 'no error';
    };
    expect(code(() => ex.execute({}))).toBe('BAD_INPUT');
    const nhwc = tf.zeros([2, 6, 6, 3]);
    expect(code(() => ex.execute({ x: nhwc }))).toBe('BAD_INPUT');
    nhwc.dispose();
    expect(code(() => ex.execute({ x }, { capture: ['nope'] }))).toBe('BAD_CONFIG');
    const g = graph();
    g.nodes.push({ name: 'weird', opType: 'LSTM', inputs: ['logits'], outputs: ['nz'], attrs: {} });
    expect(code(() => new GraphExecutor(g))).toBe('UNSUPPORTED_OP');
    x.dispose();
    ex.dispose();
    expect(code(() => ex.execute({ x }))).toBe('INTERNAL');
  });
});
