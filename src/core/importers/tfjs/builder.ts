import type { AttrValue, Dim, DType, Graph, Node, TensorData, ValueInfo } from '../../ir/types.js';

/**
 * Builds an IR graph from a channels-last source model.
 *
 * A source tensor (a Keras layer output or a TF GraphDef value) is held in the IR in one or more
 * "forms": IR value = transpose(source tensor, perm). Convolutions ask for the NCHW form of an NHWC
 * tensor (perm [0,3,1,2]); Flatten/Reshape ask for the source form (identity perm). Forms are made on
 * demand with a Transpose node and cached, so a chain of convolutions stays NCHW with no transposes.
 */
export interface SrcTensor {
  /** Shape in the source layout (Keras/TF), null when the rank is unknown. */
  shape: Dim[] | null;
  dtype: DType;
  /** IR value name per form, keyed by permKey(perm). */
  forms: Map<string, string>;
  /** Value as a host array, when known at import time (constants and shape computations). */
  constValue?: TensorData;
  /** A 1-D int vector partly known at import time (a Shape with an unknown batch size): null = unknown. */
  partial?: (number | null)[];
}

export const NCHW_FROM_NHWC = [0, 3, 1, 2];
export const NHWC_FROM_NCHW = [0, 2, 3, 1];

export function identityPerm(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

export function permKey(perm: number[]): string {
  return perm.every((p, i) => p === i) ? 'id' : perm.join(',');
}

export function keyPerm(key: string, rank: number): number[] {
  return key === 'id' ? identityPerm(rank) : key.split(',').map(Number);
}

export function invertPerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export function applyPerm<T>(values: T[], perm: number[]): T[] {
  return perm.map((p) => values[p]);
}

export const int64 = (values: number[], dims = [values.length]): TensorData => ({ dtype: 'int64', dims, data: Int32Array.from(values) });
export const float32 = (values: ArrayLike<number>, dims: number[]): TensorData => ({ dtype: 'float32', dims, data: Float32Array.from(values) });
export const scalar = (v: number): TensorData => float32([v], []);

/** Transposes a host tensor (row-major) by `perm`. */
export function transposeData(t: TensorData, perm: number[]): TensorData {
  const dims = t.dims;
  const outDims = applyPerm(dims, perm);
  const n = t.data.length;
  const Ctor = t.data.constructor as new (n: number) => TensorData['data'];
  const out = new Ctor(n);
  const rank = dims.length;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= dims[i];
  }
  const strideForOut = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * strideForOut[d];
    out[o] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, dims: outDims, data: out };
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, TensorData>();
  readonly valueInfo = new Map<string, ValueInfo>();
  private readonly used = new Set<string>();
  private readonly nodeNames = new Set<string>();

  /** Marks names as taken (graph inputs, reserved output names). */
  reserve(name: string): void {
    this.used.add(name);
  }

  /** A value name not used yet, derived from `hint`. */
  fresh(hint: string): string {
    const base = hint.replace(/:0$/, '') || 'v';
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  private freshNodeName(hint: string): string {
    let name = hint;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${hint}_${i}`;
    this.nodeNames.add(name);
    return name;
  }

  /** Adds an initializer under a fresh name. */
  constant(hint: string, t: TensorData): string {
    const name = this.fresh(hint);
    this.initializers.set(name, t);
    return name;
  }

  /** Adds a node with one output named from `outHint`; returns the output name. */
  op(opType: string, inputs: string[], outHint: string, attrs: Record<string, AttrValue> = {}, nodeHint = outHint): string {
    const out = this.fresh(outHint);
    this.nodes.push({ name: this.freshNodeName(nodeHint), opType, inputs, outputs: [out], attrs });
    return out;
  }

  /** Adds a node with several outputs; returns their names. */
  opMulti(opType: string, inputs: string[], outHints: string[], attrs: Record<string, AttrValue> = {}, nodeHint = outHints[0]): string[] {
    const outs = outHints.map((h) => this.fresh(h));
    this.nodes.push({ name: this.freshNodeName(nodeHint), opType, inputs, outputs: outs, attrs });
    return outs;
  }

  /** Records the IR shape of a value (for valueInfo). */
  info(name: string, dtype: DType, shape: Dim[] | null): void {
    this.valueInfo.set(name, { name, dtype, shape });
  }

  /** A source tensor held in one form. */
  tensor(irName: string, perm: number[] | null, shape: Dim[] | null, dtype: DType = 'float32'): SrcTensor {
    const rank = shape?.length ?? perm?.length ?? 0;
    const key = perm ? permKey(perm) : 'id';
    const t: SrcTensor = { shape, dtype, forms: new Map([[key, irName]]) };
    if (shape && rank) this.info(irName, dtype, perm ? applyPerm(shape, perm) : shape);
    return t;
  }

  /** The IR value holding transpose(source, perm); made from an existing form when missing. */
  form(t: SrcTensor, perm: number[]): string {
    const key = permKey(perm);
    const have = t.forms.get(key);
    if (have !== undefined) return this.renamed.get(have) ?? have;
    if (t.constValue) {
      const name = this.constant('const', key === 'id' ? t.constValue : transposeData(t.constValue, perm));
      t.forms.set(key, name);
      return name;
    }
    const [fromKey, heldName] = t.forms.entries().next().value as [string, string];
    const fromName = this.renamed.get(heldName) ?? heldName;
    const fromPerm = keyPerm(fromKey, perm.length);
    const inv = invertPerm(fromPerm);
    const transposePerm = perm.map((a) => inv[a]);
    const out = this.op('Transpose', [fromName], `${fromName}_${key === 'id' ? 'src' : 'perm'}`, { perm: transposePerm });
    if (t.shape) this.info(out, t.dtype, applyPerm(t.shape, perm));
    t.forms.set(key, out);
    return out;
  }

  /** The IR value in the source layout (identity form). */
  plain(t: SrcTensor): string {
    return this.form(t, identityPerm(this.rankOf(t)));
  }

  /** The perm of some existing form (the first one made). */
  anyForm(t: SrcTensor): { name: string; perm: number[] } {
    const [key, name] = t.forms.entries().next().value as [string, string];
    return { name: this.renamed.get(name) ?? name, perm: keyPerm(key, this.rankOf(t)) };
  }

  rankOf(t: SrcTensor): number {
    if (t.shape) return t.shape.length;
    for (const key of t.forms.keys()) if (key !== 'id') return key.split(',').length;
    if (t.constValue) return t.constValue.dims.length;
    throw new Error('rank unknown');
  }

  /** A source tensor for a host constant (its IR forms are made when used). */
  constTensor(hint: string, value: TensorData): SrcTensor {
    const t: SrcTensor = { shape: value.dims.slice(), dtype: value.dtype, forms: new Map(), constValue: value };
    t.forms.set('id', this.constant(hint, value));
    return t;
  }

  /** Values renamed by bindOutput (other source tensors may still hold the old name in their forms). */
  private readonly renamed = new Map<string, string>();

  /** Renames a value everywhere it appears (node inputs/outputs, valueInfo). */
  private rename(from: string, to: string): void {
    this.renamed.set(from, to);
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
    }
    const info = this.valueInfo.get(from);
    if (info) {
      this.valueInfo.delete(from);
      this.valueInfo.set(to, { ...info, name: to });
    }
    this.used.add(to);
  }

  private readonly boundOutputs = new Set<string>();

  /**
   * Makes the source form of `t` available under the exact name `name` (a graph output, reserved with
   * `reserve` up front so no intermediate value took it): renames the producing value, or adds Identity
   * when the value is a graph input, an initializer or already bound to another output.
   */
  bindOutput(t: SrcTensor, name: string, inputNames: Set<string>): void {
    const x = this.plain(t);
    if (x === name) return;
    const produced = this.nodes.some((n) => n.outputs.includes(x));
    if (produced && !inputNames.has(x) && !this.boundOutputs.has(x)) {
      this.rename(x, name);
      for (const [k, v] of t.forms) if (v === x) t.forms.set(k, name);
    } else {
      this.nodes.push({ name: this.freshNodeName(`${name}_Identity`), opType: 'Identity', inputs: [x], outputs: [name], attrs: {} });
      const info = this.valueInfo.get(x);
      if (info) this.valueInfo.set(name, { ...info, name });
    }
    this.boundOutputs.add(name);
  }

  finish(base: Omit<Graph, 'nodes' | 'initializers' | 'valueInfo'>): Graph {
    // Drop initializers nothing reads (constants made for forms nobody used are cheap but noisy).
    const read = new Set<string>();
    for (const n of this.nodes) for (const i of n.inputs) read.add(i);
    for (const o of base.outputs) read.add(o.name);
    for (const name of [...this.initializers.keys()]) if (!read.has(name)) this.initializers.delete(name);
    for (const name of [...this.valueInfo.keys()]) if (this.initializers.has(name)) this.valueInfo.delete(name);
    return { ...base, nodes: this.nodes, initializers: this.initializers, valueInfo: this.valueInfo };
  }
}
