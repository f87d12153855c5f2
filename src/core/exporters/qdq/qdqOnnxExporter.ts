/**
 * QDQ ONNX form of a quantized graph (what ONNX Runtime and TensorRT consume):
 * - each quantized Conv/Gemm weight becomes an int8 (or int4, opset 21) initializer ->
 *   DequantizeLinear (per output channel, `axis` = the weight's output-channel axis) -> the layer;
 * - its bias becomes int32 with scale = input scale x weight scale (zero point 0) -> DequantizeLinear,
 *   when the layer input is quantized; otherwise it stays float;
 * - each quantized activation passes through QuantizeLinear -> DequantizeLinear (uint8 zero point when
 *   unsigned, int8 when signed). Activations narrower than 8 bits: with `lowBitActivations: 'clip'`
 *   (opset 13) a Clip to the grid's range before an 8-bit Q/DQ pair gives exactly the narrow grid;
 *   with 'int4' (opset 21) the zero point is uint4/int4.
 * Graph input/output names and shapes are kept: a quantized graph output is produced by its
 * DequantizeLinear under the original name.
 */
import { LocalQuantError } from '../../errors.js';
import { cloneGraph, producerMap } from '../../ir/graph.js';
import { LAYER_OPS } from '../../ir/opKinds.js';
import type { DType, Graph, Node, TensorData } from '../../ir/types.js';
import { qrange, roundHalfEven } from '../../quant/primitives.js';
import { blockedInt4Weight, type BlockedInt4Weight } from './blockedInt4Weight.js';
import { gemmAsMatMul } from './gemmAsMatMul.js';
import { fitBiasToInt32 } from './int32Bias.js';
import { finishPackedWeights, packedLowBitWeight, type PackedWeightContext } from './packedLowBitWeight.js';

export interface QuantizedLayerPlan {
  /** Name of the Conv / Gemm / MatMul node. */
  node: string;
  /** Integer weights in the float weight's own layout and dims (Conv: OIHW). */
  weightCodes: Int8Array;
  /** One scale per output channel (per-channel), or a single scale (per tensor). */
  weightScales: Float32Array;
  weightBits: number;
  /** Output-channel axis of the weight (Conv 0, Gemm transB=0: 1); see quant/weightScale.ts. */
  axis: number;
  /** Float bias to use (e.g. after bias correction); default: the node's bias initializer. */
  bias?: Float32Array;
}

export interface ActivationPlan {
  scale: number;
  zeroPoint: number;
  bits: number;
  signed: boolean;
}

export interface QuantizationPlan {
  layers: QuantizedLayerPlan[];
  /** Quantized activation values (graph inputs, layer outputs, ...) by value name. */
  activations: Record<string, ActivationPlan>;
}

export interface QdqOptions {
  /** How activations below 8 bits are written; default 'clip' below opset 21, else 'int4'. */
  lowBitActivations?: 'clip' | 'int4';
  /** Force an opset (13..21); default 21 when anything is stored as 4 bit, else max(13, graph.opset). */
  opset?: number;
  /**
   * Integer type of the 8-bit (and clipped narrow) activation codes. ORT's integer kernels need one type
   * on every input and output of a node unit (QLinearAdd: A, B and C alike; QLinearConv: X and Y), so
   * the plan's signed and unsigned grids are written in one type: a signed grid with zero point z is the
   * uint8 grid with zero point z + 128, an unsigned one the int8 grid with z - 128 (the same values).
   * Default 'as-planned' (each point in its own type).
   */
  activationType?: 'uint8' | 'int8' | 'as-planned';
  /**
   * Where 4-bit (and narrower) weight codes are stored: 'int4' (packed, opset 21; half the bytes, but
   * ORT has no integer conv kernel for int4, so it dequantizes to float) or 'int8' (same codes in int8, so
   * the layer runs as an 8-bit integer kernel). Default 'int4'.
   */
  lowBitWeights?: 'int4' | 'int8';
  /** Write quantized Gemms as MatMul + bias Add (ORT runs those as QLinearMatMul; see gemmAsMatMul.ts). */
  gemmAsMatMul?: boolean;
  /** Packed int4 Gemm/MatMul weights in the blocked form ORT turns into MatMulNBits (blockedInt4Weight.ts). */
  int4MatMulBlocks?: boolean;
  /** 2- and 3-bit weights (with packed int4 weights) as denser uint8 bit planes unpacked in the graph (packedLowBitWeight.ts). */
  packBelowFourBits?: boolean;
  /**
   * Weights of a layer whose input is float (kept float by a rule or an override): 'int8' codes behind
   * DequantizeLinear (default), or 'float32', the dequantized values themselves (the same numbers). ORT does
   * not constant-fold a weight's DequantizeLinear (it keeps QDQ patterns for its fusions), so a float layer
   * with int8 weights dequantizes them on every run and misses the fast float kernels (NCHWc): MediaPipe's
   * hand landmark model ran at 0.32x float that way, 0.83x with float32 weights (4 bytes per weight instead of 1).
   * Which convs get them, within a cap on the file's growth: floatWeightLayers.
   */
  floatInputWeights?: 'int8' | 'float32';
  /**
   * Integer type of weight codes stored in 8 bits: 'int8' (symmetric, no zero point; default), 'uint8'
   * (the same codes + 128 with zero point 128: the same values), or 'avx2-exact': uint8 for a layer that reads
   * an 8-bit activation and has a code beyond +-64, int8 for the others (narrower input codes cannot saturate). ORT's U8S8 kernels on x86-64 without VNNI (AVX2/AVX-512BW) add
   * pairs of u8 x s8 products in int16 (vpmaddubsw) and saturate once |w0| + |w1| > 128; its U8U8 kernels
   * widen to int16 first and are exact on every CPU, but slower than U8S8 (deploymentTargets.ts).
   */
  weightType?: 'int8' | 'uint8' | 'avx2-exact';
}

/** int32 bias codes for scale inputScale * weightScale[o] (zero point 0), saturated to int32. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { codes: Int32Array; scales: Float32Array } {
  const codes = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let o = 0; o < bias.length; o++) {
    // the float32 product is what DequantizeLinear will multiply by
    const s = Math.fround(inputScale * (weightScales.length === 1 ? weightScales[0] : weightScales[o]));
    scales[o] = s;
    codes[o] = Math.max(-2147483648, Math.min(2147483647, roundHalfEven(bias[o] / s)));
  }
  return { codes, scales };
}

function zeroPointTensor(bits: number, signed: boolean, four: boolean, values: number[], dims: number[]): TensorData {
  const dtype: DType = four && bits <= 4 ? (signed ? 'int4' : 'uint4') : signed ? 'int8' : 'uint8';
  const data = signed ? Int8Array.from(values) : Uint8Array.from(values);
  return { dtype, dims, data };
}

/** Graph with weights as integer initializers behind DequantizeLinear and Q/DQ pairs on activations. */
export function buildQdqGraph(floatGraph: Graph, floatPlan: QuantizationPlan, opts: QdqOptions = {}): Graph {
  const { graph: input, plan } = opts.gemmAsMatMul ? gemmAsMatMul(floatGraph, floatPlan) : { graph: floatGraph, plan: floatPlan };
  const g = cloneGraph(input, { shareTensors: true });
  const any4bitWeight = (opts.lowBitWeights ?? 'int4') === 'int4' && plan.layers.some((l) => l.weightBits <= 4);
  const any4bitAct = Object.values(plan.activations).some((a) => a.bits < 8);
  let opset = opts.opset ?? Math.max(13, g.opset, any4bitWeight ? 21 : 0);
  const lowAct = opts.lowBitActivations ?? (opset >= 21 ? 'int4' : 'clip');
  if (lowAct === 'int4' && any4bitAct && opts.opset === undefined) opset = Math.max(opset, 21);
  if (opset < 13 || opset > 21) throw new LocalQuantError('BAD_CONFIG', `QDQ export supports opsets 13 to 21, not ${opset}.`);
  const int4Weights = opset >= 21 && (opts.lowBitWeights ?? 'int4') === 'int4';
  const actType = opts.activationType ?? 'as-planned';
  const int4Acts = lowAct === 'int4';
  if (int4Acts && opset < 21) throw new LocalQuantError('BAD_CONFIG', `4-bit activation types need opset 21; export asked for ${opset}.`, "Use lowBitActivations: 'clip' or opset 21.");

  // chosen on the graph's own names, before Q/DQ pairs take them over
  const floatWeights = opts.floatInputWeights === 'float32' ? floatWeightLayers(g, plan) : new Map<string, number>();
  const taken = new Set<string>([...g.initializers.keys(), ...g.inputs.map((v) => v.name)]);
  for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) taken.add(v);
  const fresh = (hint: string): string => {
    let name = hint;
    for (let i = 1; taken.has(name); i++) name = `${hint}_${i}`;
    taken.add(name);
    return name;
  };
  const addInit = (hint: string, t: TensorData): string => {
    const name = fresh(hint);
    g.initializers.set(name, t);
    return name;
  };

  // ---- activations: which value gets which Q/DQ, and under which names
  const before = new Map<Node, Node[]>(); // nodes to insert before a node
  const after = new Map<Node, Node[]>(); // nodes to insert after a node
  const atStart: Node[] = [];
  const producer = producerMap(g);
  const graphInputs = new Set(g.inputs.map((v) => v.name));
  const rename = new Map<string, string>(); // graph-input value -> its DQ output (consumers rewired)
  const floatSource = new Map<string, string>(); // quantized value -> the float value its Q reads

  // Weight-only int4 layers (MatMulNBits form): ORT matches DQ(weight) -> MatMul/Gemm only with a float
  // input and no Q right after, so their input is read before its Q and their output gets no Q/DQ.
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  // (node name -> its blocked weight; the weights pass below writes these)
  const weightOnly = new Map<string, BlockedInt4Weight>();
  if (int4Weights && opts.int4MatMulBlocks) {
    for (const l of plan.layers) {
      const n = byName.get(l.node);
      const w = n && g.initializers.get(n.inputs[1]);
      const blocked = n && w ? blockedInt4Weight(n, w.dims, l) : null;
      if (blocked) weightOnly.set(n!.name, blocked);
    }
  }
  for (const [value, a] of Object.entries(plan.activations)) {
    const prod = producer.get(value);
    if (prod && weightOnly.has(prod.name)) continue;
    if (!prod && !graphInputs.has(value)) throw new LocalQuantError('INTERNAL', `quantization plan names activation '${value}', which no node produces`);
    const { qmin, qmax } = qrange(a.bits, a.signed);
    if (a.zeroPoint < qmin || a.zeroPoint > qmax || !(a.scale > 0)) throw new LocalQuantError('INTERNAL', `bad quantization parameters for '${value}': scale ${a.scale}, zero point ${a.zeroPoint}`);
    const chain: Node[] = [];
    let src: string;
    let dqOut: string;
    if (prod) {
      // producer writes a fresh name; the DQ output takes over the original name (graph outputs keep theirs)
      src = fresh(`${value}_float`);
      prod.outputs = prod.outputs.map((o) => (o === value ? src : o));
      dqOut = value;
    } else {
      src = value;
      dqOut = fresh(`${value}_dq`);
      rename.set(value, dqOut);
    }
    floatSource.set(value, src);
    const scaleName = addInit(`${value}_scale`, { dtype: 'float32', dims: [], data: Float32Array.of(a.scale) });
    const narrow = a.bits < 8;
    const container = containerGrid(a, narrow && int4Acts ? 'as-planned' : actType);
    const zp = zeroPointTensor(a.bits, container.signed, narrow && int4Acts, [container.zeroPoint], []);
    const zpName = addInit(`${value}_zero_point`, zp);
    let qIn = src;
    if (narrow && !int4Acts) {
      // exact narrow grid inside an 8-bit Q/DQ pair
      const lo = addInit(`${value}_clip_min`, { dtype: 'float32', dims: [], data: Float32Array.of((qmin - a.zeroPoint) * a.scale) });
      const hi = addInit(`${value}_clip_max`, { dtype: 'float32', dims: [], data: Float32Array.of((qmax - a.zeroPoint) * a.scale) });
      qIn = fresh(`${value}_clipped`);
      chain.push({ name: fresh(`${value}_Clip`), opType: 'Clip', inputs: [src, lo, hi], outputs: [qIn], attrs: {} });
    }
    const q = fresh(`${value}_quantized`);
    chain.push({ name: fresh(`${value}_QuantizeLinear`), opType: 'QuantizeLinear', inputs: [qIn, scaleName, zpName], outputs: [q], attrs: {} });
    chain.push({ name: fresh(`${value}_DequantizeLinear`), opType: 'DequantizeLinear', inputs: [q, scaleName, zpName], outputs: [dqOut], attrs: {} });
    if (prod) after.set(prod, [...(after.get(prod) ?? []), ...chain]);
    else atStart.push(...chain);
  }
  for (const n of g.nodes) n.inputs = n.inputs.map((v) => rename.get(v) ?? v);

  // ---- weights and biases
  const replacedWeights = new Set<string>();
  const packing: PackedWeightContext = { addInit, fresh };
  for (const planned of plan.layers) {
    const node = byName.get(planned.node);
    let l = planned;
    if (!node) throw new LocalQuantError('INTERNAL', `quantization plan names layer '${l.node}', which is not in the graph`);
    if (!LAYER_OPS.has(node.opType)) throw new LocalQuantError('INTERNAL', `layer '${l.node}' is a ${node.opType}, not a Conv/Gemm/MatMul`);
    const wName = node.inputs[1];
    const w = g.initializers.get(wName);
    if (!w) throw new LocalQuantError('MISSING_INITIALIZER', `weight '${wName}' of ${l.node} is not an initializer`);
    if (w.data.length !== l.weightCodes.length) throw new LocalQuantError('INTERNAL', `plan for ${l.node} has ${l.weightCodes.length} weight codes; the weight has ${w.data.length}`);
    const perChannel = l.weightScales.length > 1;
    if (perChannel && w.dims[l.axis] !== l.weightScales.length) throw new LocalQuantError('INTERNAL', `plan for ${l.node}: ${l.weightScales.length} scales for ${w.dims[l.axis]} output channels`);
    const { qmin, qmax } = qrange(l.weightBits, true);
    // a bias that would saturate int32 widens its channel's weight scale (int32Bias.ts)
    const plannedBias = l.bias ?? (node.inputs[2] ? (g.initializers.get(node.inputs[2])?.data as Float32Array | undefined) : undefined);
    const fitted = node.opType !== 'MatMul' && !(l.weightBits <= 4 && int4Weights && opts.int4MatMulBlocks) ? fitBiasToInt32(l, w.dims, plannedBias, plan.activations[originalInput(node.inputs[0], rename)]?.scale) : undefined;
    if (fitted) l = { ...l, ...fitted };
    for (const c of l.weightCodes) if (c < qmin || c > qmax) throw new LocalQuantError('INTERNAL', `plan for ${l.node}: weight code ${c} outside ${l.weightBits}-bit range`);
    if (floatWeights.has(node.name)) {
      // a float layer: its quantized weights as float32 values, its bias float (see QdqOptions.floatInputWeights)
      node.inputs[1] = addInit(`${wName}_dequantized`, { dtype: 'float32', dims: w.dims.slice(), data: dequantizedWeights(l, w.dims) });
      if (l.bias) {
        if (node.inputs[2]) replacedWeights.add(node.inputs[2]);
        node.inputs = [node.inputs[0], node.inputs[1], addInit(`${l.node}_bias`, { dtype: 'float32', dims: [l.bias.length], data: Float32Array.from(l.bias) })];
      }
      replacedWeights.add(wName);
      continue;
    }
    const four = l.weightBits <= 4 && int4Weights;
    const blocked = four && opts.int4MatMulBlocks ? (weightOnly.get(node.name) ?? null) : null;
    const dense = four && !blocked && opts.packBelowFourBits && l.weightBits < 4 ? packedLowBitWeight(packing, wName, l.weightCodes, l.weightBits, l.weightScales, w.dims, l.axis) : null;
    // 8-bit containers as uint8 with zero point 128 where asked (QdqOptions.weightType)
    const unsigned = !four && !dense && !blocked && unsignedWeights(l.weightCodes, opts.weightType ?? 'int8', plan.activations[originalInput(node.inputs[0], rename)]?.bits);
    const codes: TensorData = unsigned
      ? { dtype: 'uint8', dims: w.dims.slice(), data: Uint8Array.from(l.weightCodes, (c) => c + 128) }
      : { dtype: four ? 'int4' : 'int8', dims: blocked ? blocked.dims : w.dims.slice(), data: Int8Array.from(blocked ? blocked.codes : l.weightCodes) };
    const codesName = dense ? '' : addInit(`${wName}_quantized`, codes);
    const sDims = blocked ? blocked.scaleDims : perChannel ? [l.weightScales.length] : [];
    const sName = dense ? '' : addInit(`${wName}_scale`, { dtype: 'float32', dims: sDims, data: blocked ? blocked.scales : Float32Array.from(l.weightScales) });
    if (blocked && node.opType === 'Gemm') node.attrs = { ...node.attrs, transB: 0 };
    // MatMulNBits is weight-only: ORT matches DQ(weight) -> MatMul only when the input is not a DQ output
    if (blocked) node.inputs[0] = floatSource.get(originalInput(node.inputs[0], rename)) ?? node.inputs[0];
    // Symmetric int8 weights: no zero-point input (DequantizeLinear's default is 0), which saves bytes per channel.
    const zpName = unsigned ? addInit(`${wName}_zero_point`, { dtype: 'uint8', dims: sDims, data: new Uint8Array(l.weightScales.length).fill(128) }) : '';
    const wDq = dense ? dense.output : fresh(`${wName}_dequantized`);
    const dqAttrs: Node['attrs'] = blocked ? { ...blocked.attrs } : perChannel ? { axis: l.axis } : {};
    const pre: Node[] = dense ? [...dense.nodes] : [{ name: fresh(`${l.node}_weight_DequantizeLinear`), opType: 'DequantizeLinear', inputs: zpName ? [codesName, sName, zpName] : [codesName, sName], outputs: [wDq], attrs: dqAttrs }];
    replacedWeights.add(wName);

    const biasName = node.inputs[2] ?? '';
    const floatBias = l.bias ?? (biasName ? (g.initializers.get(biasName)?.data as Float32Array | undefined) : undefined);
    if (biasName && !floatBias) throw new LocalQuantError('MISSING_INITIALIZER', `bias '${biasName}' of ${l.node} is not an initializer`);
    let newBias = biasName;
    if (floatBias) {
      // the layer's input as the quantized graph sees it: the original value name before renaming
      const inAct = plan.activations[originalInput(node.inputs[0], rename)];
      if (inAct && node.opType !== 'MatMul' && !blocked) {
        const { codes, scales } = quantizeBias(floatBias, inAct.scale, l.weightScales);
        const bq = addInit(`${l.node}_bias_quantized`, { dtype: 'int32', dims: [codes.length], data: codes });
        const bs = addInit(`${l.node}_bias_scale`, { dtype: 'float32', dims: [scales.length], data: scales });
        newBias = fresh(`${l.node}_bias_dequantized`);
        pre.push({ name: fresh(`${l.node}_bias_DequantizeLinear`), opType: 'DequantizeLinear', inputs: [bq, bs], outputs: [newBias], attrs: { axis: 0 } });
        if (biasName) replacedWeights.add(biasName);
      } else if (l.bias) {
        newBias = addInit(`${l.node}_bias`, { dtype: 'float32', dims: [l.bias.length], data: Float32Array.from(l.bias) });
        if (biasName) replacedWeights.add(biasName);
      }
    }
    node.inputs = [node.inputs[0], wDq, ...(newBias ? [newBias] : [])];
    before.set(node, [...(before.get(node) ?? []), ...pre]);
  }

  const nodes: Node[] = [...atStart, ...finishPackedWeights(packing)];
  for (const n of g.nodes) {
    nodes.push(...(before.get(n) ?? []), n, ...(after.get(n) ?? []));
  }
  g.nodes = nodes;
  // float weights nothing reads any more
  const used = new Set<string>();
  for (const n of g.nodes) for (const v of n.inputs) used.add(v);
  for (const k of replacedWeights) if (!used.has(k)) g.initializers.delete(k);
  g.opset = opset;
  return g;
}

/** At most this share of the int8 weight bytes is added by float32 weights (floatWeightLayers). */
const FLOAT_WEIGHT_GROWTH = 0.5;

/**
 * The float convs (input not quantized) that get float32 weights, with the bytes each adds over its int8 codes: most output positions first (a conv
 * computes each weight once per position, so there ORT's fast float kernels win the most back), while
 * the added bytes stay within FLOAT_WEIGHT_GROWTH of the plan's int8 weight bytes. MediaPipe's hand landmark
 * model: all 12 float convs (+34 %), 0.30x -> 0.94x float; CenterNet's float head convs alone would have
 * grown its file 2.8x, and an age/gender net's one big float conv 2x for 2.2x -> 2.6x speed.
 * Gemm/MatMul and convs of unknown output shape keep int8.
 */
export function floatWeightLayers(graph: Pick<Graph, 'nodes' | 'valueInfo'>, plan: QuantizationPlan): Map<string, number> {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const int8Bytes = plan.layers.reduce((a, l) => a + l.weightCodes.length, 0);
  const candidates = plan.layers.flatMap((l) => {
    const node = byName.get(l.node);
    if (!node || node.opType !== 'Conv' || node.inputs[0] in plan.activations) return [];
    const shape = graph.valueInfo.get(node.outputs[0])?.shape;
    if (!shape || shape.length < 3 || !shape.slice(2).every((d) => typeof d === 'number')) return [];
    return [{ name: l.node, positions: (shape.slice(2) as number[]).reduce((a, d) => a * d, 1), extra: 3 * l.weightCodes.length }];
  });
  candidates.sort((a, b) => b.positions - a.positions);
  const chosen = new Map<string, number>();
  let added = 0;
  for (const c of candidates) {
    if (added + c.extra > FLOAT_WEIGHT_GROWTH * int8Bytes) continue;
    added += c.extra;
    chosen.set(c.name, c.extra);
  }
  return chosen;
}

/** Codes up to this magnitude cannot saturate vpmaddubsw's int16 pair sums: 255 x (64 + 64) = 32640. */
export const U8S8_EXACT_CODE_LIMIT = 64;

/** Whether a layer's 8-bit container is written as uint8 (QdqOptions.weightType); inputBits: its input grid's bits, undefined when float. */
export function unsignedWeights(codes: ArrayLike<number>, type: NonNullable<QdqOptions['weightType']>, inputBits: number | undefined): boolean {
  if (type !== 'avx2-exact') return type === 'uint8';
  if (inputBits === undefined || inputBits < 8) return false;
  for (let i = 0; i < codes.length; i++) if (Math.abs(codes[i]) > U8S8_EXACT_CODE_LIMIT) return true;
  return false;
}

/** codes x scale in float32, as DequantizeLinear computes it (an int8 code times a float32 scale is exact before rounding). */
function dequantizedWeights(l: QuantizedLayerPlan, dims: number[]): Float32Array {
  const perChannel = l.weightScales.length > 1;
  const inner = dims.slice(l.axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(l.weightCodes.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(l.weightCodes[i] * l.weightScales[perChannel ? Math.floor(i / inner) % dims[l.axis] : 0]);
  return out;
}

/** The same grid written with codes of the wanted 8-bit type (see QdqOptions.activationType). */
function containerGrid(a: ActivationPlan, type: 'uint8' | 'int8' | 'as-planned'): { signed: boolean; zeroPoint: number } {
  if (type === 'uint8' && a.signed) return { signed: false, zeroPoint: a.zeroPoint + 128 };
  if (type === 'int8' && !a.signed) return { signed: true, zeroPoint: a.zeroPoint - 128 };
  return { signed: a.signed, zeroPoint: a.zeroPoint };
}

function originalInput(v: string, rename: Map<string, string>): string {
  for (const [orig, dq] of rename) if (dq === v) return orig;
  return v;
}
