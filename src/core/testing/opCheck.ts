import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { prepareGraph } from '../ir/prepare.js';
import { GraphExecutor } from '../runtime/executor.js';
import { buildOnnxModel, type BuilderModel } from './onnxBuilder.js';

/**
 * Per-op checks of the tfjs executor against onnxruntime-node (Node-only test helper): a tiny ONNX
 * model is built, run in ORT and, imported and prepared, in our executor; then the gradient of a random
 * projection of the outputs w.r.t. the first float input is taken through the executor.
 */

export interface OpCheck {
  model: BuilderModel;
  /** Float input data by name; default: seeded values in [-2, 2). */
  inputs?: Record<string, ArrayLike<number>>;
  /** Skip prepareGraph (keeps ops that folding would precompute, e.g. Shape of a fixed input). */
  raw?: boolean;
  /** Check the gradient w.r.t. this input (default: the first input); false: none (integer outputs). */
  gradWrt?: string | false;
}

export interface OpCheckResult {
  /** max |ours - ort| / max(1, max |ort|) over all outputs. */
  relDiff: number;
  outputs: Map<string, { ours: Float32Array; ref: Float32Array; dims: number[] }>;
  /** Gradient w.r.t. the chosen input (absent when gradWrt is false). */
  grad?: Float32Array;
  /** max |grad - grad on the cpu backend| / max(1e-6, max |grad on cpu|): the backend's kernels vs tfjs's reference ones. */
  gradVsCpu?: number;
  /** tf.memory().numTensors after minus before (executor built and disposed inside). */
  leaked: number;
}

/** Deterministic values in [lo, hi): a small LCG, so that failures reproduce. */
export function seeded(n: number, seed = 1, lo = -2, hi = 2): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function inputDims(model: BuilderModel, name: string): number[] {
  const v = model.inputs.find((i) => i.name === name)!;
  if (!v.shape || v.shape.some((d) => typeof d !== 'number')) throw new Error(`opCheck: input '${name}' needs a fixed shape`);
  return v.shape as number[];
}

export async function checkOp(c: OpCheck): Promise<OpCheckResult> {
  const bytes = buildOnnxModel(c.model);
  const data: Record<string, Float32Array> = {};
  c.model.inputs.forEach((v, i) => {
    const dims = inputDims(c.model, v.name);
    data[v.name] = c.inputs?.[v.name] ? Float32Array.from(c.inputs[v.name]) : seeded(size(dims), 7 + i);
  });

  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of c.model.inputs) feeds[v.name] = new ort.Tensor('float32', data[v.name], inputDims(c.model, v.name));
  const refOut = await session.run(feeds);
  await session.release();

  const before = tf.memory().numTensors;
  const shapes = Object.fromEntries(c.model.inputs.map((v) => [v.name, inputDims(c.model, v.name)]));
  const imported = importOnnx(bytes);
  const graph = c.raw ? imported : prepareGraph(imported, shapes);
  const ex = new GraphExecutor(graph);
  const outputs = new Map<string, { ours: Float32Array; ref: Float32Array; dims: number[] }>();
  let relDiff = 0;
  let grad: Float32Array | undefined;
  let gradVsCpu: number | undefined;
  try {
    const xs = Object.fromEntries(c.model.inputs.map((v) => [v.name, tf.tensor(data[v.name], shapes[v.name])]));
    const res = ex.execute(xs);
    for (const o of c.model.outputs) {
      const t = res.outputs.get(o.name)!;
      const r = refOut[o.name];
      const ref = Float32Array.from(r.data as ArrayLike<number | bigint>, Number);
      const ours = Float32Array.from(t.dataSync() as ArrayLike<number>);
      if (ours.length !== ref.length || t.shape.join() !== [...r.dims].join()) {
        throw new Error(`opCheck: output '${o.name}' has shape [${t.shape}], onnxruntime gives [${r.dims}]`);
      }
      let scale = 1;
      for (const v of ref) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < ref.length; i++) {
        const d = Number.isNaN(ref[i]) && Number.isNaN(ours[i]) ? 0 : Math.abs(ours[i] - ref[i]) / scale;
        relDiff = Math.max(relDiff, Number.isNaN(d) ? Infinity : d);
      }
      outputs.set(o.name, { ours, ref, dims: [...r.dims] });
    }
    res.outputs.forEach((t) => t.dispose());

    const wrt = c.gradWrt === false ? undefined : (c.gradWrt ?? c.model.inputs[0].name);
    if (wrt) {
      const gradient = () => {
        const proj = c.model.outputs.map((o, i) => tf.tensor(seeded(outputs.get(o.name)!.ref.length, 99 + i, 0.5, 1.5), outputs.get(o.name)!.dims));
        const g = tf.grad((x: tf.Tensor) => {
          const r = ex.execute({ ...xs, [wrt]: x });
          const parts = c.model.outputs.map((o, i) => tf.sum(tf.mul(r.outputs.get(o.name)!, proj[i])));
          return parts.reduce((a, b) => tf.add(a, b));
        })(xs[wrt]);
        const d = Float32Array.from(g.dataSync());
        g.dispose();
        proj.forEach((t) => t.dispose());
        return d;
      };
      grad = gradient();
      const backend = tf.getBackend();
      if (backend !== 'cpu') {
        await tf.setBackend('cpu');
        try {
          const ref = gradient();
          let scale = 1e-6;
          let diff = 0;
          ref.forEach((v, i) => {
            scale = Math.max(scale, Math.abs(v));
            diff = Math.max(diff, Math.abs(v - grad![i]));
          });
          gradVsCpu = diff / scale;
        } finally {
          await tf.setBackend(backend);
        }
      }
    }
    Object.values(xs).forEach((t) => t.dispose());
  } finally {
    ex.dispose();
  }
  return { relDiff, outputs, grad, gradVsCpu, leaked: tf.memory().numTensors - before };
}

/** Finite everywhere and not all zero. */
export function gradientFlows(g: Float32Array | undefined): boolean {
  return !!g && g.every(Number.isFinite) && g.some((v) => v !== 0);
}

/** The usual assertion of a checkOp result: ORT-equal outputs, a flowing gradient equal to cpu's, no leak. */
export function opCheckPasses(r: OpCheckResult, opts: { grad?: boolean } = {}): string[] {
  const problems: string[] = [];
  if (!(r.relDiff < 1e-4)) problems.push(`outputs differ from onnxruntime by ${r.relDiff} (relative)`);
  if (opts.grad !== false) {
    if (!gradientFlows(r.grad)) problems.push('gradient is zero or not finite');
    if (r.gradVsCpu !== undefined && !(r.gradVsCpu < 1e-3)) problems.push(`gradient differs from the cpu backend's by ${r.gradVsCpu} (relative)`);
  }
  if (r.leaked !== 0) problems.push(`${r.leaked} tensors leaked`);
  return problems;
}

export interface OneOpSpec {
  op: string;
  /** Graph inputs (float32, fixed shapes); the first is the data input. */
  inputs: { name: string; shape: number[] }[];
  /** Node inputs after the graph inputs: initializer names ('' for an omitted optional input). */
  extra?: string[];
  initializers?: BuilderModel['initializers'];
  attrs?: NonNullable<BuilderModel['nodes'][number]['attrs']>;
  opset?: number;
  /** Number of outputs (default 1): y0, y1, ... ('y' when 1). */
  outputs?: number;
  /**
   * Run the first input through a 1x1 Conv first, so that the op sees a value the executor holds
   * channels-last (NHWC paths); the first input must be 4-D.
   */
  afterConv?: boolean;
  /** Output dtype (default float32). */
  outputDtype?: import('../ir/types.js').DType;
}

/** A one-op model (optionally behind a 1x1 Conv). */
export function oneOp(s: OneOpSpec): BuilderModel {
  const nOut = s.outputs ?? 1;
  const outs = nOut === 1 ? ['y'] : Array.from({ length: nOut }, (_, i) => `y${i}`);
  const inits = [...(s.initializers ?? [])];
  const nodes: BuilderModel['nodes'] = [];
  const names = s.inputs.map((i) => i.name);
  if (s.afterConv) {
    const c = s.inputs[0].shape[1];
    inits.push({ name: 'pre_w', dims: [c, c, 1, 1], data: seeded(c * c, 3, -1, 1) });
    nodes.push({ opType: 'Conv', inputs: [names[0], 'pre_w'], outputs: ['pre_y'], attrs: { kernel_shape: [1, 1] } });
    names[0] = 'pre_y';
  }
  nodes.push({ opType: s.op, inputs: [...names, ...(s.extra ?? [])], outputs: outs, attrs: s.attrs });
  return {
    opset: s.opset ?? 13,
    inputs: s.inputs.map((i) => ({ name: i.name, shape: i.shape })),
    outputs: outs.map((name) => ({ name, dtype: s.outputDtype })),
    initializers: inits,
    nodes,
  };
}

/** int64 initializer helper. */
export const i64 = (name: string, data: number[], dims = [data.length]) => ({ name, dtype: 'int64' as const, dims, data });
/** float32 initializer helper (seeded values unless given). */
export const f32 = (name: string, dims: number[], data?: ArrayLike<number>, seed = 11) => ({
  name, dims, data: data ?? seeded(dims.reduce((a, b) => a * b, 1), seed, -1, 1),
});
