/**
 * TF.js graph-model export (model.json with a TF GraphDef topology + weight shards) of an IR graph.
 *
 * The IR body is NCHW (ONNX semantics); TF.js kernels are NHWC-native, so 4-D activations are held
 * channels-last inside the exported graph. Every value carries the permutation `h` it is held in
 * (held[i] = ir[h[i]]); layout-sensitive ops ask for the layout they need and a Transpose is inserted
 * only where the held layout differs. Graph inputs/outputs keep the user's interface layout.
 * Quantized weights (from a QuantizationPlan) are stored as TF.js per-tensor affine uint8/uint16 codes.
 */
import { LocalQuantError } from '../../errors.js';
import type { Graph, Node, TensorData } from '../../ir/types.js';
import { shapesAtBatchOne } from '../../ir/shapeInference.js';
import type { QuantizationPlan, QuantizedLayerPlan } from '../qdq/qdqOnnxExporter.js';
import { encodeFloat, encodeInt, encodeQuantized, type EncodedWeight, type TfjsWeightSpec } from './tfjsWeights.js';

export interface TfjsExportOptions {
  /** Largest shard in bytes (default 4 MiB, as the TF.js converter does). */
  shardBytes?: number;
}

export interface TfjsExport {
  modelJson: {
    format: 'graph-model';
    generatedBy: string;
    convertedBy: string;
    modelTopology: { node: TfNode[]; versions: { producer: number } };
    weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
  };
  files: { name: string; bytes: Uint8Array }[];
  notes: string[];
}

interface TfNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, unknown>;
}

/** How a value is held in the exported graph. */
interface Held {
  ref: string;
  /** held[i] = ir[h[i]] */
  h: number[];
}

const NHWC = [0, 2, 3, 1];
const ident = (r: number) => Array.from({ length: r }, (_, i) => i);
const inverse = (p: number[]) => {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
};
const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const b64 = (s: string) => btoa(s);
const FLOAT = { type: 'DT_FLOAT' };
const INT = { type: 'DT_INT32' };
const ints = (v: number[]) => ({ list: { i: v.map(String) } });

function unsupported(n: Node, why: string): never {
  throw new LocalQuantError('UNSUPPORTED_OP', `TF.js export: ${n.opType} '${n.name}' ${why}.`, 'Export ONNX instead, or simplify the model.');
}

/** IR shapes of every value at batch 1 (ir's static shape inference). */
function staticShapes(graph: Graph): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const [name, v] of shapesAtBatchOne(graph)) if (v.shape && v.shape.every((d) => typeof d === 'number')) shapes.set(name, v.shape as number[]);
  return shapes;
}

export function exportTfjsGraphModel(graph: Graph, plan?: QuantizationPlan, opts: TfjsExportOptions = {}): TfjsExport {
  const shapes = staticShapes(graph);
  const notes: string[] = [];
  const nodes: TfNode[] = [];
  const weights: EncodedWeight[] = [];
  const held = new Map<string, Held>();
  const layerPlan = new Map<string, QuantizedLayerPlan>((plan?.layers ?? []).map((l) => [l.node, l]));
  let exactLayers = 0;
  let uint16Layers = 0;

  // ---- names: TF node names allow [A-Za-z0-9._/-] and must not start with '/' or '_'
  const taken = new Set<string>();
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[/_\-]+/, '') || 'v';
  const fresh = (hint: string) => {
    const base = clean(hint);
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const ioNames = new Map<string, string>();
  for (const v of [...graph.inputs, ...graph.outputs]) if (!graph.initializers.has(v.name)) ioNames.set(v.name, fresh(v.name));

  const emit = (hint: string, op: string, input: string[], attr: Record<string, unknown> = {}, exactName?: string): string => {
    const name = exactName ?? fresh(hint);
    nodes.push({ name, op, input, attr });
    return name;
  };
  const constNode = (hint: string, w: (name: string) => EncodedWeight): string => {
    const name = fresh(hint);
    const e = w(name);
    weights.push(e);
    const dt = e.spec.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    nodes.push({ name, op: 'Const', input: [], attr: { dtype: { type: dt }, value: { tensor: { dtype: dt, tensorShape: e.spec.shape.length ? { dim: e.spec.shape.map((d) => ({ size: String(d) })) } : {} } } } });
    return name;
  };
  const constF = (hint: string, shape: number[], v: Float32Array) => constNode(hint, (n) => encodeFloat(n, shape, v));
  const constI = (hint: string, v: number[], shape = [v.length]) => constNode(hint, (n) => encodeInt(n, shape, Int32Array.from(v)));

  const init = (name: string): TensorData | undefined => graph.initializers.get(name);
  const initNums = (n: Node, i: number): number[] | undefined => {
    const t = n.inputs[i] ? init(n.inputs[i]) : undefined;
    return t ? Array.from(t.data as ArrayLike<number>, Number) : undefined;
  };
  const rankOf = (v: string) => shapes.get(v)?.length ?? init(v)?.dims.length ?? unsupportedValue(v);
  const unsupportedValue = (v: string): never => {
    throw new LocalQuantError('INTERNAL', `TF.js export: unknown shape of '${v}'`);
  };

  /** The value held in permutation `want` (a Transpose when it is held otherwise); constants are materialized. */
  const transposeCache = new Map<string, string>();
  const get = (v: string, want?: number[]): Held => {
    let x = held.get(v);
    if (!x) {
      const t = init(v);
      if (!t) throw new LocalQuantError('INTERNAL', `TF.js export: value '${v}' used before it is produced`);
      x = { ref: constTensor(v, t, ident(t.dims.length)), h: ident(t.dims.length) };
      held.set(v, x);
    }
    if (!want || same(want, x.h)) return x;
    const key = `${v}|${want.join(',')}`;
    let ref = transposeCache.get(key);
    if (!ref) {
      // out[i] = held[q[i]], held[j] = ir[h[j]]  =>  q[i] = hinv[want[i]]
      const hinv = inverse(x.h);
      const q = want.map((w) => hinv[w]);
      ref = emit(`${v}/transpose`, 'Transpose', [x.ref, constI(`${v}/perm`, q)], { T: FLOAT, Tperm: INT });
      transposeCache.set(key, ref);
    }
    return { ref, h: want };
  };
  const constTensor = (hint: string, t: TensorData, h: number[]): string => {
    const vals = permute(Float64Array.from(t.data as ArrayLike<number>), t.dims, h);
    const shape = h.map((a) => t.dims[a]);
    if (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16') return constF(hint, shape, Float32Array.from(vals));
    return constI(hint, Array.from(vals), shape);
  };
  /** Layout a 4-D activation is held in. */
  const actLayout = (rank: number) => (rank === 4 ? NHWC : ident(rank));
  const set = (v: string, ref: string, h: number[]) => held.set(v, { ref, h });

  // ---- graph inputs
  for (const v of graph.inputs) {
    if (graph.initializers.has(v.name)) continue;
    const rank = rankOf(v.name);
    const shape = (v.shape ?? []).map((d) => (typeof d === 'number' ? d : -1));
    const dtype = v.dtype === 'int32' || v.dtype === 'int64' ? 'DT_INT32' : 'DT_FLOAT';
    const ph = emit(v.name, 'Placeholder', [], { dtype: { type: dtype }, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } }, ioNames.get(v.name));
    // an NHWC-interface model's input holds NHWC data already: its IR value is NHWC, held as it is
    set(v.name, ph, ident(rank));
  }

  // ---- weights of Conv/Gemm/MatMul, possibly quantized
  const layerWeight = (n: Node, t: TensorData, srcIndex: Int32Array, shape: number[]): string => {
    const lp = layerPlan.get(n.name);
    if (!lp) {
      const src = t.data as Float32Array;
      const vals = new Float32Array(srcIndex.length);
      for (let j = 0; j < vals.length; j++) vals[j] = src[srcIndex[j]];
      return constF(`${n.name}/weight`, shape, vals);
    }
    const stride = t.dims.slice(lp.axis + 1).reduce((a, b) => a * b, 1);
    const chans = t.dims[lp.axis];
    const sc = lp.weightScales;
    const chanOf = (i: number) => Math.floor(i / stride) % chans;
    const uniform = sc.length === 1 || sc.every((s) => s === sc[0]) ? sc[0] : null;
    const codes = new Int32Array(srcIndex.length);
    for (let j = 0; j < codes.length; j++) codes[j] = lp.weightCodes[srcIndex[j]];
    let exact = false;
    const name = constNode(`${n.name}/weight`, (nm) => {
      const r = encodeQuantized(nm, shape, codes, (j) => (sc.length === 1 ? sc[0] : sc[chanOf(srcIndex[j])]), uniform);
      exact = r.exact;
      return r.weight;
    });
    if (exact) exactLayers++;
    else uint16Layers++;
    return name;
  };
  const biasOf = (n: Node, idx: number, size: number, scale = 1): string | undefined => {
    const lp = layerPlan.get(n.name);
    const src = lp?.bias ?? (n.inputs[idx] ? (init(n.inputs[idx])?.data as Float32Array | undefined) : undefined);
    if (!src) {
      if (n.inputs[idx]) unsupported(n, 'has a computed (non-constant) bias');
      return undefined;
    }
    if (src.length !== size) return undefined;
    return constF(`${n.name}/bias`, [size], Float32Array.from(src, (x) => x * scale));
  };

  for (const n of graph.nodes) {
    const out = n.outputs[0];
    const outRank = shapes.get(out)?.length;
    const x0 = n.inputs[0];
    switch (n.opType) {
      case 'Identity':
      case 'Dropout': {
        held.set(out, get(x0));
        break;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Elu':
      case 'Exp':
      case 'Abs':
      case 'Neg':
      case 'Sqrt': {
        const x = get(x0);
        set(out, emit(n.name, n.opType, [x.ref], { T: FLOAT }), x.h);
        break;
      }
      case 'LeakyRelu': {
        const x = get(x0);
        set(out, emit(n.name, 'LeakyRelu', [x.ref], { T: FLOAT, alpha: { f: (n.attrs.alpha as number) ?? 0.01 } }), x.h);
        break;
      }
      case 'Clip': {
        const x = get(x0);
        const lo = initNums(n, 1)?.[0] ?? (n.attrs.min as number | undefined) ?? -3.4028234663852886e38;
        const hi = initNums(n, 2)?.[0] ?? (n.attrs.max as number | undefined) ?? 3.4028234663852886e38;
        if ((n.inputs[1] && !init(n.inputs[1])) || (n.inputs[2] && !init(n.inputs[2]))) unsupported(n, 'has computed bounds');
        const ref = lo === 0 && hi === 6 ? emit(n.name, 'Relu6', [x.ref], { T: FLOAT }) : emit(n.name, 'ClipByValue', [x.ref, constF(`${n.name}/min`, [], Float32Array.of(lo)), constF(`${n.name}/max`, [], Float32Array.of(hi))], { T: FLOAT });
        set(out, ref, x.h);
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Max':
      case 'Min': {
        const op = { Add: 'AddV2', Sub: 'Sub', Mul: 'Mul', Div: 'RealDiv', Max: 'Maximum', Min: 'Minimum' }[n.opType]!;
        if (n.inputs.length !== 2) unsupported(n, 'has other than two inputs');
        const r = outRank ?? unsupportedValue(out);
        // the layout of the first non-constant operand of full rank, else plain
        const lead = n.inputs.find((v) => !init(v) && rankOf(v) === r);
        const h = lead ? (held.get(lead)?.h ?? actLayout(r)) : ident(r);
        const refs = n.inputs.map((v) => {
          const t = init(v);
          if (t) {
            // numpy broadcasting: pad the constant's dims on the left to rank r, then permute
            const dims = [...new Array(r - t.dims.length).fill(1), ...t.dims];
            return constTensor(`${n.name}/${v}`, { ...t, dims }, h);
          }
          if (rankOf(v) !== r) unsupported(n, 'broadcasts a computed tensor of lower rank');
          return get(v, h).ref;
        });
        set(out, emit(n.name, op, refs, { T: FLOAT }), h);
        break;
      }
      case 'Conv': {
        const w = init(n.inputs[1]);
        if (!w || w.dims.length !== 4) unsupported(n, 'is not a 2-D convolution with a constant weight');
        const [O, I, KH, KW] = w.dims;
        const group = (n.attrs.group as number) ?? 1;
        const cin = shapes.get(x0)![1];
        const strides = (n.attrs.strides as number[]) ?? [1, 1];
        const dil = (n.attrs.dilations as number[]) ?? [1, 1];
        if (n.attrs.auto_pad && n.attrs.auto_pad !== 'NOTSET') unsupported(n, `uses auto_pad ${n.attrs.auto_pad}`);
        const pads = (n.attrs.pads as number[]) ?? [0, 0, 0, 0];
        let x = get(x0, NHWC).ref;
        if (pads.some((p) => p !== 0)) x = emit(`${n.name}/pad`, 'Pad', [x, constI(`${n.name}/paddings`, [0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0], [4, 2])], { T: FLOAT, Tpaddings: INT });
        const conv = { T: FLOAT, strides: ints([1, strides[0], strides[1], 1]), dilations: ints([1, dil[0], dil[1], 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } };
        let y: string;
        if (group === 1) {
          // OIHW -> HWIO
          const src = new Int32Array(O * I * KH * KW);
          let j = 0;
          for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) src[j++] = ((o * I + i) * KH + kh) * KW + kw;
          y = emit(n.name, 'Conv2D', [x, layerWeight(n, w, src, [KH, KW, I, O])], conv);
        } else if (group === cin && I === 1) {
          // depthwise: [C*M,1,KH,KW] -> [KH,KW,C,M], output channel c*M+m
          const M = O / group;
          const src = new Int32Array(O * KH * KW);
          let j = 0;
          for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let c = 0; c < group; c++) for (let m = 0; m < M; m++) src[j++] = ((c * M + m) * KH + kh) * KW + kw;
          y = emit(n.name, 'DepthwiseConv2dNative', [x, layerWeight(n, w, src, [KH, KW, group, M])], conv);
        } else unsupported(n, `has group ${group} (only 1 and depthwise are exported)`);
        const b = biasOf(n, 2, O);
        if (b) y = emit(`${n.name}/bias_add`, 'BiasAdd', [y, b], { T: FLOAT, data_format: { s: b64('NHWC') } });
        set(out, y, NHWC);
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const w = init(n.inputs[1]);
        if (!w || w.dims.length !== 2 || rankOf(x0) !== 2) unsupported(n, 'is not a 2-D product with a constant weight');
        if (n.attrs.transA) unsupported(n, 'uses transA');
        const transB = n.opType === 'Gemm' && !!n.attrs.transB;
        const alpha = n.opType === 'Gemm' ? ((n.attrs.alpha as number) ?? 1) : 1;
        const beta = n.opType === 'Gemm' ? ((n.attrs.beta as number) ?? 1) : 1;
        const [K, O] = transB ? [w.dims[1], w.dims[0]] : w.dims;
        const src = new Int32Array(K * O);
        for (let k = 0; k < K; k++) for (let o = 0; o < O; o++) src[k * O + o] = transB ? o * K + k : k * O + o;
        if (alpha !== 1 && layerPlan.has(n.name)) unsupported(n, 'has alpha != 1 and a quantized weight');
        const wRef = layerWeight(n, alpha === 1 ? w : { ...w, data: Float32Array.from(w.data as Float32Array, (v) => v * alpha) }, src, [K, O]);
        let y = emit(n.name, 'MatMul', [get(x0, [0, 1]).ref, wRef], { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } });
        if (n.opType === 'Gemm' && n.inputs[2]) {
          const b = biasOf(n, 2, O, beta);
          if (b) y = emit(`${n.name}/bias_add`, 'BiasAdd', [y, b], { T: FLOAT, data_format: { s: b64('NHWC') } });
          else {
            const c = init(n.inputs[2]);
            if (!c) unsupported(n, 'has a computed C input');
            y = emit(`${n.name}/add_c`, 'AddV2', [y, constF(`${n.name}/c`, [...new Array(2 - c.dims.length).fill(1), ...c.dims], Float32Array.from(c.data as Float32Array, (v) => v * beta))], { T: FLOAT });
          }
        }
        set(out, y, [0, 1]);
        break;
      }
      case 'BatchNormalization': {
        const [g, b, m, v] = [1, 2, 3, 4].map((i) => init(n.inputs[i])?.data as Float32Array | undefined);
        if (!g || !b || !m || !v) unsupported(n, 'has computed statistics');
        const eps = (n.attrs.epsilon as number) ?? 1e-5;
        const r = rankOf(x0);
        const a = Float32Array.from(g, (gi, c) => gi / Math.sqrt(v[c] + eps));
        const sh = Float32Array.from(b, (bi, c) => bi - m[c] * a[c]);
        // channel (IR axis 1) must be the last held axis so that a 1-D constant broadcasts over it
        const want = r === 4 ? NHWC : r === 2 ? [0, 1] : unsupported(n, `has rank ${r}`);
        const x = get(x0, want).ref;
        const y = emit(`${n.name}/mul`, 'Mul', [x, constF(`${n.name}/scale`, [a.length], a)], { T: FLOAT });
        set(out, emit(n.name, 'AddV2', [y, constF(`${n.name}/shift`, [sh.length], sh)], { T: FLOAT }), want);
        break;
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        if (rankOf(x0) !== 4) unsupported(n, 'is not 2-D');
        const x = get(x0, NHWC).ref;
        set(out, emit(n.name, n.opType === 'GlobalAveragePool' ? 'Mean' : 'Max', [x, constI(`${n.name}/axes`, [1, 2])], { T: FLOAT, Tidx: INT, keep_dims: { b: true } }), NHWC);
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        if (rankOf(x0) !== 4) unsupported(n, 'is not 2-D');
        if (n.attrs.ceil_mode) unsupported(n, 'uses ceil_mode');
        if (n.attrs.dilations && (n.attrs.dilations as number[]).some((d) => d !== 1)) unsupported(n, 'uses dilations');
        const k = n.attrs.kernel_shape as number[];
        const s = (n.attrs.strides as number[]) ?? [1, 1];
        const pads = (n.attrs.pads as number[]) ?? [0, 0, 0, 0];
        const [, , H, W] = shapes.get(x0)!;
        // TF 'SAME': total pad max((ceil(in/s)-1)*s + k - in, 0), the smaller half first
        const samePads = [H, W].map((d, i) => {
          const total = Math.max((Math.ceil(d / s[i]) - 1) * s[i] + k[i] - d, 0);
          return [Math.floor(total / 2), total - Math.floor(total / 2)];
        });
        const isSame = pads[0] === samePads[0][0] && pads[2] === samePads[0][1] && pads[1] === samePads[1][0] && pads[3] === samePads[1][1];
        let x = get(x0, NHWC).ref;
        let padding = 'VALID';
        if (pads.some((p) => p !== 0)) {
          if (isSame && (n.opType === 'MaxPool' || !n.attrs.count_include_pad)) padding = 'SAME';
          else {
            if (n.opType === 'AveragePool' && !n.attrs.count_include_pad) unsupported(n, 'pads asymmetrically and excludes the padding from the average');
            const fill = n.opType === 'MaxPool' ? -3.4028234663852886e38 : 0;
            x = emit(`${n.name}/pad`, 'PadV2', [x, constI(`${n.name}/paddings`, [0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0], [4, 2]), constF(`${n.name}/fill`, [], Float32Array.of(fill))], { T: FLOAT, Tpaddings: INT });
          }
        }
        const op = n.opType === 'MaxPool' ? 'MaxPool' : 'AvgPool';
        set(out, emit(n.name, op, [x], { T: FLOAT, ksize: ints([1, k[0], k[1], 1]), strides: ints([1, s[0], s[1], 1]), padding: { s: b64(padding) }, data_format: { s: b64('NHWC') } }), NHWC);
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const inShape = shapes.get(x0)!;
        const outShape = shapes.get(out)!;
        const x = held.get(x0) ?? get(x0);
        // NHWC [N,1,1,C] flattens like NCHW [N,C,1,1]: no transpose needed
        const trivial = inShape.length === 4 && same(x.h, NHWC) && inShape[2] === 1 && inShape[3] === 1;
        const src = trivial ? x.ref : get(x0, ident(inShape.length)).ref;
        const target = outShape.slice();
        target[0] = -1; // batch stays dynamic
        if (n.opType === 'Reshape') {
          const spec = initNums(n, 1);
          if (!spec) unsupported(n, 'has a computed shape');
          if (spec[0] !== 0 && spec[0] !== -1 && spec[0] !== inShape[0]) target[0] = outShape[0]; // batch not kept in dim 0
        }
        set(out, emit(n.name, 'Reshape', [src, constI(`${n.name}/shape`, target)], { T: FLOAT, Tshape: INT }), ident(outShape.length));
        break;
      }
      case 'Transpose': {
        const r = rankOf(x0);
        const p = (n.attrs.perm as number[]) ?? ident(r).reverse();
        const x = held.get(x0) ?? get(x0);
        const isOutput = graph.outputs.some((o) => o.name === out);
        const hOut = isOutput || r !== 4 ? ident(r) : NHWC;
        // held_out[i] = ir_out[hOut[i]] = ir_in[p[hOut[i]]] = held_in[hinv[p[hOut[i]]]]
        const hinv = inverse(x.h);
        const q = hOut.map((i) => hinv[p[i]]);
        set(out, same(q, ident(r)) ? x.ref : emit(n.name, 'Transpose', [x.ref, constI(`${n.name}/perm`, q)], { T: FLOAT, Tperm: INT }), hOut);
        break;
      }
      case 'Concat': {
        const r = outRank ?? unsupportedValue(out);
        const axis = ((n.attrs.axis as number) + r) % r;
        const lead = n.inputs.find((v) => !init(v));
        const h = lead ? held.get(lead)!.h : ident(r);
        const refs = n.inputs.map((v) => get(v, h).ref);
        set(out, emit(n.name, 'ConcatV2', [...refs, constI(`${n.name}/axis`, [inverse(h)[axis]], [])], { T: FLOAT, N: { i: String(refs.length) }, Tidx: INT }), h);
        break;
      }
      case 'Softmax': {
        const r = rankOf(x0);
        const axis = (((n.attrs.axis as number) ?? -1) + r) % r;
        const x = held.get(x0) ?? get(x0);
        // TF Softmax works on the last axis: use a layout that puts the IR axis last
        const h = inverse(x.h)[axis] === r - 1 ? x.h : [...ident(r).filter((a) => a !== axis), axis];
        set(out, emit(n.name, 'Softmax', [get(x0, h).ref], { T: FLOAT }), h);
        break;
      }
      case 'Slice': {
        const x = held.get(x0) ?? get(x0);
        const inShape = shapes.get(x0)!;
        const r = inShape.length;
        const starts = initNums(n, 1);
        const ends = initNums(n, 2);
        if (!starts || !ends || (n.inputs[3] && !init(n.inputs[3])) || (n.inputs[4] && !init(n.inputs[4]))) unsupported(n, 'has computed bounds');
        const axes = (initNums(n, 3) ?? ident(starts.length)).map((a) => (a + r) % r);
        const steps = initNums(n, 4) ?? starts.map(() => 1);
        const hinv = inverse(x.h);
        const begin = new Array(r).fill(0);
        const end = new Array(r).fill(0);
        const stride = new Array(r).fill(1);
        let beginMask = 0;
        let endMask = 0;
        for (let i = 0; i < r; i++) if (!axes.includes(x.h[i])) (beginMask |= 1 << i), (endMask |= 1 << i);
        axes.forEach((a, k) => {
          const d = inShape[a];
          const st = steps[k];
          const i = hinv[a];
          // ONNX clamping: positive step [0, d], negative step [-1, d-1]
          const norm = (v: number) => (v < 0 ? v + d : v);
          let b = norm(starts[k]);
          let e = norm(ends[k]);
          if (st > 0) {
            b = Math.max(0, Math.min(d, b));
            e = Math.max(0, Math.min(d, e));
          } else {
            b = Math.max(-1, Math.min(d - 1, b));
            e = Math.max(-1, Math.min(d - 1, e));
          }
          begin[i] = b;
          end[i] = e;
          stride[i] = st;
          if (st < 0 && e < 0) endMask |= 1 << i; // "through index 0"; -1 would wrap in TF
          if (st < 0 && b < 0) unsupported(n, 'selects an empty range');
        });
        const ref = emit(n.name, 'StridedSlice', [x.ref, constI(`${n.name}/begin`, begin), constI(`${n.name}/end`, end), constI(`${n.name}/strides`, stride)], {
          T: FLOAT, Index: INT, begin_mask: { i: String(beginMask) }, end_mask: { i: String(endMask) }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' }, shrink_axis_mask: { i: '0' },
        });
        set(out, ref, x.h);
        break;
      }
      case 'Pad': {
        const x = held.get(x0) ?? get(x0);
        const r = x.h.length;
        const mode = (n.attrs.mode as string) ?? 'constant';
        const pads = initNums(n, 1) ?? (n.attrs.pads as number[] | undefined);
        if (!pads) unsupported(n, 'has computed pads');
        const axesIn = initNums(n, 3);
        const full = new Array(2 * r).fill(0);
        const axes = (axesIn ?? ident(r)).map((a) => (a + r) % r);
        axes.forEach((a, k) => ((full[a] = pads[k]), (full[r + a] = pads[axes.length + k])));
        if (full.some((p) => p < 0)) unsupported(n, 'has negative pads');
        const paddings = x.h.flatMap((a) => [full[a], full[r + a]]);
        const value = initNums(n, 2)?.[0] ?? 0;
        const pRef = constI(`${n.name}/paddings`, paddings, [r, 2]);
        let ref: string;
        if (mode === 'constant') ref = value === 0 ? emit(n.name, 'Pad', [x.ref, pRef], { T: FLOAT, Tpaddings: INT }) : emit(n.name, 'PadV2', [x.ref, pRef, constF(`${n.name}/value`, [], Float32Array.of(value))], { T: FLOAT, Tpaddings: INT });
        else if (mode === 'reflect') ref = emit(n.name, 'MirrorPad', [x.ref, pRef], { T: FLOAT, Tpaddings: INT, mode: { s: b64('REFLECT') } });
        else unsupported(n, `uses mode '${mode}'`);
        set(out, ref, x.h);
        break;
      }
      default:
        unsupported(n, 'has no TF.js graph-model translation');
    }
  }

  // ---- graph outputs: the IR value in the interface layout, under the output's own name
  for (const o of graph.outputs) {
    const r = rankOf(o.name);
    const x = get(o.name, ident(r));
    emit(o.name, 'Identity', [x.ref], { T: FLOAT }, ioNames.get(o.name));
  }

  // ---- shards
  const shardBytes = opts.shardBytes ?? 4 * 1024 * 1024;
  const total = weights.reduce((a, w) => a + w.bytes.byteLength, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const w of weights) {
    all.set(w.bytes, off);
    off += w.bytes.byteLength;
  }
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const files = Array.from({ length: count }, (_, i) => ({ name: `group1-shard${i + 1}of${count}.bin`, bytes: all.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes)) }));

  if (plan) {
    if (exactLayers) notes.push(`TF.js export: ${exactLayers} quantized layer weight(s) stored exactly as uint8 per-tensor codes (their per-channel scales are all equal).`);
    if (uint16Layers) notes.push(`TF.js export: TF.js stores only per-tensor affine uint8/uint16 weights, so ${uint16Layers} per-channel quantized layer weight(s) are stored as their dequantized values on a uint16 per-tensor grid (error at most 1/131070 of each tensor's range); the int4/int8 codes themselves are in the ONNX export.`);
    if (Object.keys(plan.activations).length) notes.push('TF.js export: activations are left float (a graph model has no fake-quantization op); the activation ranges are in the report and the QDQ ONNX export.');
  }
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'localquant',
      convertedBy: 'localquant tfjs graph exporter',
      modelTopology: { node: nodes, versions: { producer: 1395 } },
      weightsManifest: [{ paths: files.map((f) => f.name), weights: weights.map((w) => w.spec) }],
    },
    files,
    notes,
  };
}

/** Values of a row-major tensor with dims `dims` rearranged so that out axis i is input axis h[i]. */
function permute(v: Float64Array, dims: number[], h: number[]): Float64Array {
  if (same(h, ident(h.length))) return v;
  const outDims = h.map((a) => dims[a]);
  const inStrides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float64Array(v.length);
  const idx = new Array(h.length).fill(0);
  for (let j = 0; j < v.length; j++) {
    let s = 0;
    for (let i = 0; i < h.length; i++) s += idx[i] * inStrides[h[i]];
    out[j] = v[s];
    for (let i = h.length - 1; i >= 0; i--) {
      if (++idx[i] < outDims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}
