/**
 * 2- and 3-bit weight codes stored densely. ONNX Runtime reads no tensor type narrower than int4, so a
 * 2-bit layer in an int4 container would take as many bytes as a 4-bit one and a size budget could not
 * use it. Here the codes are stored as uint8 bit planes and unpacked in the graph by plain float ops
 * (Cast, Div, Floor, Mod, Reshape, Mul, Sub, Split, Add) that ONNX Runtime and our executor both run;
 * every input is an initializer, so ORT constant-folds the unpacking once when the session loads.
 *
 * The codes of all packed layers go into three streams, each one initializer unpacked by one chain of
 * nodes and Split into per-layer pieces (per layer only Add/Reshape/Mul remain: ~100 bytes, where a
 * chain per layer cost 300-600):
 * - 'two': 2-bit codes c as c + 2, four per byte; unpacked d, the code is d - 2;
 * - 'low': the low two bits of u = c + 4 of 3-bit codes, four per byte;
 * - 'high': the third bit b of u, eight per byte; unpacked as 4b - 4, so that low + high = c.
 * Weight = code * scale, per output channel along `axis` like DequantizeLinear.
 */
import { LocalQuantError } from '../../errors.js';
import type { Node, TensorData } from '../../ir/types.js';

type StreamName = 'two' | 'low' | 'high';

interface Stream {
  values: number[];
  /** Per-layer piece: the value name its Split output gets, and its length. */
  pieces: { name: string; n: number }[];
}

export interface PackedWeightContext {
  /** Adds an initializer under a fresh name derived from the hint; returns the name. */
  addInit: (hint: string, t: TensorData) => string;
  /** A fresh value or node name derived from the hint. */
  fresh: (hint: string) => string;
  /** The graph's code streams (filled by packedLowBitWeight, written by finishPackedWeights). */
  streams?: Map<StreamName, Stream>;
}

export interface PackedWeight {
  nodes: Node[];
  /** The float weight value the layer reads. */
  output: string;
}

/** Bytes the codes of an n-element weight take at `bits` (2 or 3) in the streams. */
export function packedCodeBytes(n: number, bits: number): number {
  return Math.ceil(n / 4) + (bits === 3 ? Math.ceil(n / 8) : 0);
}

/** One plane: `width` bits of every value (after shifting right by `shift`), 8 / width values per byte, little end first. */
export function packPlane(values: ArrayLike<number>, width: 1 | 2, shift: number): Uint8Array {
  const per = 8 / width;
  const mask = (1 << width) - 1;
  const out = new Uint8Array(Math.ceil(values.length / per));
  for (let i = 0; i < values.length; i++) out[(i / per) | 0] |= ((values[i] >> shift) & mask) << (width * (i % per));
  return out;
}

const f32 = (dims: number[], values: number[]): TensorData => ({ dtype: 'float32', dims, data: Float32Array.from(values) });
const i64 = (values: number[]): TensorData => ({ dtype: 'int64', dims: [values.length], data: Int32Array.from(values) });

function piece(ctx: PackedWeightContext, stream: StreamName, hint: string, values: ArrayLike<number>): string {
  ctx.streams ??= new Map();
  let s = ctx.streams.get(stream);
  if (!s) ctx.streams.set(stream, (s = { values: [], pieces: [] }));
  const name = ctx.fresh(`${hint}_${stream}`);
  for (let i = 0; i < values.length; i++) s.values.push(values[i]);
  s.pieces.push({ name, n: values.length });
  return name;
}

/**
 * The per-layer nodes that compute the float weight of a 2- or 3-bit layer from its pieces of the code
 * streams; `dims` the weight's dims, `axis` its output-channel axis, one scale per channel or one.
 * finishPackedWeights must be called once all layers are added.
 */
export function packedLowBitWeight(ctx: PackedWeightContext, hint: string, codes: Int8Array, bits: number, scales: Float32Array, dims: number[], axis: number): PackedWeight {
  if (bits !== 2 && bits !== 3) throw new LocalQuantError('INTERNAL', `packed weights are 2 or 3 bit, not ${bits}`);
  const nodes: Node[] = [];
  let centred: string;
  if (bits === 2) centred = piece(ctx, 'two', hint, Int32Array.from(codes, (c) => c + 2));
  else {
    const u = Int32Array.from(codes, (c) => c + 4);
    const low = piece(ctx, 'low', hint, u.map((v) => v & 3));
    const high = piece(ctx, 'high', hint, u.map((v) => v >> 2));
    centred = ctx.fresh(`${hint}_codes`);
    nodes.push({ name: ctx.fresh(`${hint}_Add`), opType: 'Add', inputs: [low, high], outputs: [centred], attrs: {} });
  }
  const shape = ctx.addInit(`${hint}_shape`, i64(dims));
  const perChannel = scales.length > 1;
  const scaleDims = perChannel ? dims.map((d, i) => (i === axis ? d : 1)) : [];
  const scaleName = ctx.addInit(`${hint}_scale`, { dtype: 'float32', dims: scaleDims, data: Float32Array.from(scales) });
  const [shaped, output] = [ctx.fresh(`${hint}_shaped`), ctx.fresh(`${hint}_dequantized`)];
  nodes.push(
    { name: ctx.fresh(`${hint}_Reshape`), opType: 'Reshape', inputs: [centred, shape], outputs: [shaped], attrs: {} },
    { name: ctx.fresh(`${hint}_Scale`), opType: 'Mul', inputs: [shaped, scaleName], outputs: [output], attrs: {} },
  );
  return { nodes, output };
}

/** Per stream: how values are stored and what the unpacked digit d becomes (d * mul + add). */
const STREAM_FORM: Record<StreamName, { width: 1 | 2; mul: number; add: number }> = {
  two: { width: 2, mul: 1, add: -2 },
  low: { width: 2, mul: 1, add: 0 },
  high: { width: 1, mul: 4, add: -4 },
};

/** The streams' initializers and unpacking nodes (all inputs constant: put them anywhere before their readers). */
export function finishPackedWeights(ctx: PackedWeightContext): Node[] {
  const nodes: Node[] = [];
  for (const [name, s] of ctx.streams ?? []) {
    const { width, mul, add } = STREAM_FORM[name];
    const per = 8 / width;
    const plane = packPlane(s.values, width, 0);
    const v = (x: string) => ctx.fresh(`packed_${name}_${x}`);
    const packed = ctx.addInit(`packed_${name}`, { dtype: 'uint8', dims: [plane.length, 1], data: plane });
    const divisors = ctx.addInit(`packed_${name}_divisors`, f32([1, per], Array.from({ length: per }, (_, i) => 2 ** (width * i))));
    const modulus = ctx.addInit(`packed_${name}_modulus`, f32([], [2 ** width]));
    const flat = ctx.addInit(`packed_${name}_flat`, i64([-1]));
    const [asFloat, shifted, floored, digits, all] = [v('float'), v('shifted'), v('floor'), v('digits'), v('all')];
    nodes.push(
      { name: v('Cast'), opType: 'Cast', inputs: [packed], outputs: [asFloat], attrs: { to: 1 } },
      { name: v('Div'), opType: 'Div', inputs: [asFloat, divisors], outputs: [shifted], attrs: {} },
      { name: v('Floor'), opType: 'Floor', inputs: [shifted], outputs: [floored], attrs: {} },
      { name: v('Mod'), opType: 'Mod', inputs: [floored, modulus], outputs: [digits], attrs: { fmod: 1 } },
      { name: v('Reshape'), opType: 'Reshape', inputs: [digits, flat], outputs: [all], attrs: {} },
    );
    let codes = all;
    if (mul !== 1) {
      const scaled = v('scaled');
      nodes.push({ name: v('Mul'), opType: 'Mul', inputs: [codes, ctx.addInit(`packed_${name}_mul`, f32([], [mul]))], outputs: [scaled], attrs: {} });
      codes = scaled;
    }
    if (add !== 0) {
      const shiftedCodes = v('codes');
      nodes.push({ name: v('Add'), opType: 'Add', inputs: [codes, ctx.addInit(`packed_${name}_add`, f32([], [add]))], outputs: [shiftedCodes], attrs: {} });
      codes = shiftedCodes;
    }
    // the last byte's padding is a last piece nobody reads
    const padding = plane.length * per - s.values.length;
    const sizes = [...s.pieces.map((p) => p.n), ...(padding ? [padding] : [])];
    const outputs = [...s.pieces.map((p) => p.name), ...(padding ? [v('padding')] : [])];
    if (outputs.length === 1) nodes.push({ name: v('Identity'), opType: 'Identity', inputs: [codes], outputs, attrs: {} });
    else nodes.push({ name: v('Split'), opType: 'Split', inputs: [codes, ctx.addInit(`packed_${name}_sizes`, i64(sizes))], outputs, attrs: { axis: 0 } });
  }
  ctx.streams?.clear();
  return nodes;
}
