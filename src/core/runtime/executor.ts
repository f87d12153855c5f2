import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../errors.js';
import type { Graph, Node, TensorData } from '../ir/types.js';
import { asPlain, nchwToNhwc, nhwcToNchw, plainShape } from './ops/layout.js';
import { OPS } from './ops/index.js';
import { attrFloat } from './ops/attrs.js';
import { convWeightTransform, convWith } from './ops/conv.js';
import { findConvGroups, type ConvGroup } from './ops/fusion.js';
import { lastReads, nodesNeededFor, producerMap, topologicalOrder } from '../ir/graph.js';
import { foldedLayerParams } from '../ir/passes/foldBatchNorm.js';
import type { HeldValue, OpContext, OpSpec } from './ops/types.js';
import type { CapturedTensor, ExecuteOptions, ExecuteResult, TensorLayout } from './types.js';
import { executionError } from './executionError.js';

/**
 * Runs a graph IR node by node with tfjs ops (the contract is in ./types.ts).
 *
 * Layout: tfjs convolutions and pools are channels-last, so 4-D activations are held NHWC from the first
 * op that prefers it until an op that needs the graph layout (Reshape, MatMul, ...); layout-agnostic ops
 * (element-wise, BN, Pad, Slice, Concat, Resize, reductions over remapped axes) keep NHWC. Each value
 * caches its other-layout view, so several consumers pay for one conversion at most.
 *
 * Everything inside is differentiable tfjs math (constants such as shapes, axes and pads are read on the
 * JS side), so `execute` works under tf.grad / tf.variableGrads w.r.t. the inputs and `overrides`.
 * Intermediates are freed after their last consumer.
 */

interface Slot {
  held: HeldValue;
  /** Whether `held.tensor` belongs to this execute (freed when the value dies). */
  owned: boolean;
  /** Cached view in the other layout (always owned). */
  alt?: tf.Tensor;
}

const layoutOf = (v: HeldValue): TensorLayout => (v.nhwc ? 'NHWC' : v.tensor.rank === 4 ? 'NCHW' : 'plain');

/** A captured tensor in graph layout (NCHW for 4-D): a new tensor when it was held NHWC, else the same one. */
export function toGraphLayout(c: CapturedTensor): tf.Tensor {
  return c.layout === 'NHWC' ? nhwcToNchw(c.tensor) : c.tensor;
}

/** Axis of the channels (graph axis 1) in a captured tensor as it is held. */
export function channelAxis(c: CapturedTensor): number {
  return c.layout === 'NHWC' ? 3 : 1;
}

function tensorFromData(d: TensorData): tf.Tensor {
  const dtype: tf.DataType = d.dtype === 'bool' ? 'bool' : d.dtype.startsWith('float') ? 'float32' : 'int32';
  const values = dtype === 'float32' ? (d.data instanceof Float32Array ? d.data : Float32Array.from(d.data as ArrayLike<number>))
    : dtype === 'int32' ? (d.data instanceof Int32Array ? d.data : Int32Array.from(d.data as ArrayLike<number>))
    : Uint8Array.from(d.data as ArrayLike<number>);
  return tf.tensor(values, d.dims, dtype);
}

export class GraphExecutor {
  readonly graph: Graph;
  private readonly order: Node[];
  private readonly specs: OpSpec[];
  /** Values known on the JS side: initializers (and Constant nodes of graphs that still have them). */
  private readonly constants = new Map<string, TensorData>();
  /** Initializer tensors used as tensors (not only as JS-side constants). */
  private readonly initTensors = new Map<string, tf.Tensor>();
  /** Weight-transformed initializers, by `${node name}:${input index}`. */
  private readonly prepared = new Map<string, tf.Tensor>();
  /** value -> producing node, and node -> its index in `order` (the graph index from ir/graph.ts). */
  private readonly producer: Map<string, Node>;
  private readonly indexOf: Map<Node, number>;
  /** Conv(+BN)(+Relu) chains that run fused when no hook is given (see ops/fusion.ts). */
  private readonly groups: ConvGroup[];
  private disposed = false;

  constructor(graph: Graph) {
    this.graph = graph;
    for (const [name, t] of graph.initializers) this.constants.set(name, t);
    const nodes = topologicalOrder(graph).filter((n) => {
      if (n.opType !== 'Constant') return true;
      const v = n.attrs.value;
      if (v && typeof v === 'object' && !Array.isArray(v) && 'dims' in v) this.constants.set(n.outputs[0], v as TensorData);
      else throw new LocalQuantError('UNSUPPORTED_OP', `Constant node '${n.name}' without a tensor value`);
      return false;
    });
    this.order = nodes;
    this.specs = nodes.map((n) => {
      const spec = n.domain && n.domain !== 'ai.onnx' ? undefined : OPS[n.opType];
      if (!spec) {
        throw new LocalQuantError('UNSUPPORTED_OP', `operator ${n.domain ? n.domain + '.' : ''}${n.opType} (node '${n.name}') is not supported by the executor`,
          'Simplify or re-export the model with supported operators.');
      }
      return spec;
    });
    this.producer = producerMap({ nodes });
    this.indexOf = new Map(nodes.map((n, i) => [n, i]));
    this.groups = findConvGroups(nodes, new Set(graph.outputs.map((o) => o.name)));

    // Decide which initializers need a raw tensor, and prepare transformed weights once.
    const rawNeeded = new Set<string>(graph.outputs.map((o) => o.name).filter((n) => this.constants.has(n)));
    let preparing: Node[] = [];
    try {
      nodes.forEach((node, k) => {
        preparing = [node];
        const spec = this.specs[k];
        node.inputs.forEach((name, i) => {
          if (!name || !this.constants.has(name)) return;
          if (spec.constInputs?.includes(i)) return;
          const data = this.constants.get(name)!;
          const fn = spec.weightTransform?.(node, i, data.dims);
          if (!fn) {
            rawNeeded.add(name);
            return;
          }
          this.prepared.set(`${node.name}:${i}`, tf.keep(tf.tidy(() => fn(tensorFromData(data)))));
        });
      });
      // kept: an executor built inside someone's tf.tidy must not lose its weights
      for (const name of rawNeeded) this.initTensors.set(name, tf.keep(tensorFromData(this.constants.get(name)!)));
      // Conv+BN groups get their folded filter and bias once, by ir's folding rule (float32 constants
      // only; a group whose parameters are computed or overridden runs unfused, see steps()).
      for (const g of this.groups) {
        if (g.bn === undefined) continue;
        const [w, b, ...bnp] = this.foldInputs(g).map((n) => (n ? this.constants.get(n) : undefined));
        const f32 = (t: TensorData | undefined) => (t && t.dtype === 'float32' ? (t.data as Float32Array) : undefined);
        const [gamma, beta, mean, variance] = bnp.map(f32);
        const conv = nodes[g.conv];
        if (!f32(w) || (this.foldInputs(g)[1] && !f32(b)) || !gamma || !beta || !mean || !variance || w!.dims[0] !== gamma.length) continue;
        preparing = [conv, nodes[g.bn]];
        const folded = foldedLayerParams({ gamma, beta, mean, variance, epsilon: attrFloat(nodes[g.bn], 'epsilon', 1e-5) }, f32(w)!, w!.dims, 0, f32(b) ?? null);
        this.prepared.set(`fold:${conv.name}:w`, tf.keep(tf.tidy(() => convWeightTransform(conv, 1, w!.dims)!(tf.tensor(folded.w, w!.dims)))));
        this.prepared.set(`fold:${conv.name}:b`, tf.keep(tf.tensor1d(folded.b)));
      }
    } catch (e) {
      this.dispose();
      throw executionError(e, preparing);
    }
  }

  /** Frees the initializer tensors this executor created. */
  dispose(): void {
    for (const t of this.initTensors.values()) t.dispose();
    for (const t of this.prepared.values()) t.dispose();
    this.initTensors.clear();
    this.prepared.clear();
    this.disposed = true;
  }

  /** Conv weight, conv bias ('' when none) and the BN's scale, bias, mean, var of a fused group. */
  private foldInputs(g: ConvGroup): string[] {
    const conv = this.order[g.conv];
    const bn = this.order[g.bn!];
    return [conv.inputs[1], conv.inputs[2] ?? '', ...bn.inputs.slice(1, 5)];
  }

  /** What to run: single nodes, or fused groups (at the position of their last node). */
  private steps(plan: number[], watched: Set<string>, fuse: boolean, overrides: Map<string, tf.Tensor>): { nodes: number[]; group?: ConvGroup; inputs: string[] }[] {
    const inPlan = new Set(plan);
    const byLast = new Map<number, ConvGroup>();
    const member = new Set<number>();
    if (fuse) {
      for (const g of this.groups) {
        const ks = [g.conv, g.bn, g.relu].filter((k): k is number => k !== undefined);
        if (!ks.every((k) => inPlan.has(k)) || g.hidden.some((h) => watched.has(h))) continue;
        // a BN is fused only with its folded parameters prepared and none of them overridden
        if (g.bn !== undefined && (!this.prepared.has(`fold:${this.order[g.conv].name}:w`) || this.foldInputs(g).some((n) => overrides.has(n)))) continue;
        byLast.set(Math.max(...ks), g);
        ks.forEach((k) => member.add(k));
      }
    }
    const steps: { nodes: number[]; group?: ConvGroup; inputs: string[] }[] = [];
    for (const k of plan) {
      const g = byLast.get(k);
      if (g) {
        const ks = [g.conv, g.bn, g.relu].filter((x): x is number => x !== undefined);
        const inputs = [...new Set(ks.flatMap((x) => this.order[x].inputs))].filter((n) => n && !g.hidden.includes(n));
        steps.push({ nodes: ks, group: g, inputs });
      } else if (!member.has(k)) steps.push({ nodes: [k], inputs: this.order[k].inputs.filter((n) => n) });
    }
    return steps;
  }

  /** A fused Conv(+BN)(+Relu) group: with a BN, the filter and bias folded at construction. */
  private runGroup(g: ConvGroup, ctx: OpContext): HeldValue {
    const conv = this.order[g.conv];
    const folded = g.bn !== undefined;
    const w = (folded ? this.prepared.get(`fold:${conv.name}:w`)! : ctx.weight(1)) as tf.Tensor4D;
    const b = folded ? (this.prepared.get(`fold:${conv.name}:b`) as tf.Tensor1D) : ctx.has(2) ? (ctx.plain(2) as tf.Tensor1D) : undefined;
    return convWith(ctx, w, b, g.relu !== undefined ? 'relu' : 'linear');
  }

  execute(inputs: Record<string, tf.Tensor> | Map<string, tf.Tensor>, opts: ExecuteOptions = {}): ExecuteResult {
    if (this.disposed) throw new LocalQuantError('INTERNAL', 'executor used after dispose()');
    const inMap = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
    const capture = new Set(opts.capture ?? []);
    const overrides = opts.overrides ?? new Map<string, tf.Tensor>();
    const hook = opts.hook;
    const hookValues = opts.hook && opts.hookValues ? new Set(opts.hookValues) : undefined;
    const start = opts.start ?? new Map<string, CapturedTensor>();
    let graphInputs = this.graph.inputs.filter((v) => (!this.constants.has(v.name) || inMap.has(v.name)) && !start.has(v.name));
    for (const name of capture) {
      if (!this.producer.has(name) && !this.constants.has(name) && !start.has(name) && !this.graph.inputs.some((v) => v.name === name)) {
        throw new LocalQuantError('BAD_CONFIG', `cannot capture '${name}': no value of that name in the graph`);
      }
    }
    const plan = opts.stopAfterCaptures && capture.size ? this.ancestorsOf(capture, start) : this.order.map((_, i) => i);
    if (start.size) {
      // resuming: only the graph inputs this part of the graph still reads
      const read = new Set([...capture, ...plan.flatMap((k) => this.order[k].inputs)]);
      graphInputs = graphInputs.filter((v) => read.has(v.name));
    }
    const keep = new Set<string>([...capture, ...(opts.stopAfterCaptures && capture.size ? [] : this.graph.outputs.map((o) => o.name))]);
    // fusion hides the values inside a group: only when nobody may look at them
    const watched = hookValues ? new Set([...capture, ...hookValues]) : capture;
    const steps = this.steps(plan, watched, !hook || !!hookValues, overrides);
    const lastUse = lastReads(steps);

    const slots = new Map<string, Slot>();
    const freeSlot = (name: string) => {
      const s = slots.get(name);
      if (!s) return;
      if (s.owned) s.held.tensor.dispose();
      s.alt?.dispose();
      slots.delete(name);
    };
    const applyHook = (name: string, slot: Slot) => {
      if (!hook || (hookValues && !hookValues.has(name))) return;
      const cur = slot.held;
      const r = tf.tidy(() => hook(name, { tensor: cur.tensor, layout: layoutOf(cur) }));
      if (r && r !== cur.tensor) {
        if (slot.owned) cur.tensor.dispose();
        slot.alt?.dispose();
        slot.held = { tensor: r, nhwc: cur.nhwc };
        slot.alt = undefined;
        slot.owned = true;
      }
    };

    try {
      for (const [name, c] of start) slots.set(name, { held: { tensor: c.tensor, nhwc: c.layout === 'NHWC' }, owned: false });
      for (const vi of graphInputs) {
        const t = inMap.get(vi.name);
        if (!t) throw new LocalQuantError('BAD_INPUT', `missing input '${vi.name}'`, `The model's inputs are: ${graphInputs.map((v) => v.name).join(', ')}.`);
        checkInputShape(vi.name, vi.shape, t);
        const slot: Slot = { held: { tensor: t, nhwc: false }, owned: false };
        slots.set(vi.name, slot);
        applyHook(vi.name, slot);
      }

      const slotOf = (name: string): Slot => {
        let s = slots.get(name);
        if (s) return s;
        const o = overrides.get(name);
        const init = this.initTensors.get(name);
        if (o) s = { held: { tensor: o, nhwc: false }, owned: false };
        else if (init) s = { held: { tensor: init, nhwc: false }, owned: false };
        else if (this.constants.has(name)) s = { held: { tensor: tensorFromData(this.constants.get(name)!), nhwc: false }, owned: true };
        else throw new LocalQuantError('INTERNAL', `value '${name}' is used before it is produced`);
        slots.set(name, s);
        return s;
      };

      for (let step = 0; step < steps.length; step++) {
        const st = steps[step];
        const inputTensors = new Set<tf.Tensor>();
        const ctxOf = (k: number) => this.context(this.order[k], this.specs[k], slotOf, overrides, inputTensors);
        const node = this.order[st.nodes[st.nodes.length - 1]];
        let outFlags: boolean[] = [];
        let outs: tf.Tensor[];
        try {
          outs = tf.tidy(() => {
            const r = st.group ? [this.runGroup(st.group, ctxOf(st.group.conv))] : this.specs[st.nodes[0]].run(ctxOf(st.nodes[0]));
            outFlags = r.map((v) => v.nhwc);
            return r.map((v) => v.tensor);
          });
        } catch (e) {
          throw executionError(e, st.nodes.map((k) => this.order[k]));
        }
        const outNames = st.group ? [st.group.output] : node.outputs;
        if (outNames.some((o, i) => o && i >= outs.length)) {
          outs.forEach((t) => inputTensors.has(t) || t.dispose());
          throw new LocalQuantError('UNSUPPORTED_OP', `${node.opType} node '${node.name}': output ${outs.length + 1} is not supported`);
        }
        outs.forEach((t, i) => {
          const name = outNames[i];
          if (!name) {
            if (!inputTensors.has(t)) t.dispose();
            return;
          }
          if (inputTensors.has(t)) t = tf.clone(t); // an op handed back its input: give the value its own tensor
          const slot: Slot = { held: { tensor: t, nhwc: outFlags[i] && t.rank === 4 }, owned: true };
          slots.set(name, slot);
          applyHook(name, slot);
          if (!lastUse.has(name) && !keep.has(name)) freeSlot(name);
        });
        for (const name of st.inputs) if (lastUse.get(name) === step && !keep.has(name)) freeSlot(name);
      }

      return this.collect(slots, capture, !!(opts.stopAfterCaptures && capture.size), slotOf);
    } finally {
      for (const name of [...slots.keys()]) freeSlot(name);
    }
  }

  /** Moves results out of the slots (the `finally` of execute frees what is left). */
  private collect(slots: Map<string, Slot>, capture: Set<string>, partial: boolean, slotOf: (n: string) => Slot): ExecuteResult {
    const outputs = new Map<string, tf.Tensor>();
    const captured = new Map<string, CapturedTensor>();
    const taken = new Set<tf.Tensor>();
    const take = (t: tf.Tensor, owned: boolean): tf.Tensor => {
      if (!owned || taken.has(t)) return tf.clone(t);
      taken.add(t);
      return t;
    };
    for (const o of this.graph.outputs) {
      // an output listed twice would take a clone the second time and strand the first tensor (a leak per run)
      if ((partial && !slots.has(o.name)) || outputs.has(o.name)) continue;
      const s = slotOf(o.name);
      if (s.held.nhwc) {
        s.alt ??= nhwcToNchw(s.held.tensor);
        outputs.set(o.name, take(s.alt, true));
      } else outputs.set(o.name, take(s.held.tensor, s.owned));
    }
    for (const name of capture) {
      const s = slotOf(name);
      captured.set(name, { tensor: take(s.held.tensor, s.owned), layout: layoutOf(s.held) });
    }
    // keep the taken tensors from being freed with their slots
    for (const s of slots.values()) {
      if (taken.has(s.held.tensor)) s.owned = false;
      if (s.alt && taken.has(s.alt)) s.alt = undefined;
    }
    return { outputs, captured };
  }

  /** Node indices (in order) needed to produce the given values from the graph inputs and `known` values. */
  private ancestorsOf(names: Iterable<string>, known: Map<string, unknown> = new Map()): number[] {
    return [...nodesNeededFor(this.producer, names, known)].map((n) => this.indexOf.get(n)!).sort((a, b) => a - b);
  }

  private context(node: Node, spec: OpSpec, slotOf: (n: string) => Slot, overrides: Map<string, tf.Tensor>, used: Set<tf.Tensor>): OpContext {
    const name = (i: number) => {
      const n = node.inputs[i];
      if (!n) throw new LocalQuantError('BAD_WEIGHTS', `${node.opType} node '${node.name}' lacks its input ${i}`);
      return n;
    };
    const note = (t: tf.Tensor) => {
      used.add(t);
      return t;
    };
    const plain = (i: number): tf.Tensor => {
      const s = slotOf(name(i));
      note(s.held.tensor);
      if (!s.held.nhwc) return s.held.tensor;
      s.alt ??= tf.keep(nhwcToNchw(s.held.tensor));
      return note(s.alt);
    };
    const constants = this.constants;
    return {
      node,
      opset: this.graph.opset,
      has: (i) => i < node.inputs.length && node.inputs[i] !== '',
      held: (i) => {
        const s = slotOf(name(i));
        note(s.held.tensor);
        return s.held;
      },
      plain,
      nhwc: (i) => {
        const s = slotOf(name(i));
        note(s.held.tensor);
        if (s.held.nhwc) return s.held.tensor;
        if (s.held.tensor.rank !== 4) throw new LocalQuantError('UNSUPPORTED_OP', `${node.opType} node '${node.name}': input ${i} must be 4-D, got shape [${s.held.tensor.shape}]`);
        s.alt ??= tf.keep(nchwToNhwc(s.held.tensor));
        return note(s.alt);
      },
      weight: (i) => {
        const n = name(i);
        const cached = overrides.has(n) ? undefined : this.prepared.get(`${node.name}:${i}`);
        if (cached) return note(cached);
        const fn = spec.weightTransform?.(node, i, this.shapeOf(n, slotOf, overrides));
        return fn ? fn(plain(i)) : plain(i);
      },
      known: (i) => {
        const n = node.inputs[i];
        return n && !overrides.has(n) ? constants.get(n) : undefined;
      },
      constant: (i) => {
        const n = node.inputs[i];
        if (!n) return undefined;
        const c = overrides.has(n) ? undefined : constants.get(n);
        if (c) return c;
        // a runtime value used as a constant (shape arithmetic the importer did not fold): read it
        const t = plain(i);
        return { dtype: t.dtype === 'float32' ? 'float32' : 'int32', dims: t.shape, data: t.dataSync() as Float32Array | Int32Array };
      },
      shape: (i) => this.shapeOf(name(i), slotOf, overrides),
    };
  }

  private shapeOf(n: string, slotOf: (n: string) => Slot, overrides: Map<string, tf.Tensor>): number[] {
    const o = overrides.get(n);
    if (o) return o.shape.slice();
    const c = this.constants.get(n);
    if (c) return c.dims.slice();
    return plainShape(slotOf(n).held);
  }
}

function checkInputShape(name: string, shape: (number | string | null)[] | null, t: tf.Tensor): void {
  if (!shape) return;
  // the batch dimension is not checked: a graph prepared for one batch size usually runs any other
  const bad = shape.length !== t.rank || shape.some((d, i) => i > 0 && typeof d === 'number' && d > 0 && d !== t.shape[i]);
  if (bad) {
    throw new LocalQuantError('BAD_INPUT', `input '${name}' has shape [${t.shape.join(', ')}], the model expects [${shape.map((d) => d ?? '?').join(', ')}]`,
      'Inputs are NCHW (batch, channels, height, width) as in the ONNX model.');
  }
}

export { asPlain };
