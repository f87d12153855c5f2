/**
 * 2- and 3-bit weight codes stored densely. ONNX Runtime reads no tensor type narrower than int4, so a
 * 2-bit layer in an int4 container would take as many bytes as a 4-bit one and a size budget could not
 * use it. Here the codes are stored as uint8 bit planes and unpacked in the graph by plain float ops
 * (Cast, Div, Floor, Mod, Reshape, Slice, Mul, Add, Sub) that ONNX Runtime and our executor both run;
 * every input is an initializer, so ORT constant-folds the unpacking once when the session loads.
 *
 * A b-bit code c (signed, -2^(b-1)..2^(b-1)-1) is stored as u = c + 2^(b-1): the low two bits of u in a
 * plane of four per byte (u mod 4 = floor(byte / 4^i) mod 4), the third bit (3-bit codes) in a plane of
 * eight per byte. Weight = (u - 2^(b-1)) * scale, per output channel along `axis` like DequantizeLinear.
 */
import { LocalQuantError } from '../../errors.js';
import type { Node, TensorData } from '../../ir/types.js';

export interface PackedWeightContext {
  /** Adds an initializer under a fresh name derived from the hint; returns the name. */
  addInit: (hint: string, t: TensorData) => string;
  /** A fresh value or node name derived from the hint. */
  fresh: (hint: string) => string;
  /** Constants shared by every packed weight of one graph (created on first use). */
  shared: Map<string, string>;
}

export interface PackedWeight {
  nodes: Node[];
  /** The float weight value the layer reads. */
  output: string;
}

/** Bytes the codes of an n-element weight take at `bits` (2 or 3) in this packing. */
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

function sharedConst(ctx: PackedWeightContext, key: string, t: TensorData): string {
  let name = ctx.shared.get(key);
  if (!name) {
    name = ctx.addInit(key, t);
    ctx.shared.set(key, name);
  }
  return name;
}

const f32 = (dims: number[], values: number[]): TensorData => ({ dtype: 'float32', dims, data: Float32Array.from(values) });
const i64 = (values: number[]): TensorData => ({ dtype: 'int64', dims: [values.length], data: Int32Array.from(values) });

/** The nodes that turn one plane back into n float values 0..2^width-1. */
function unpackPlane(ctx: PackedWeightContext, hint: string, plane: Uint8Array, width: 1 | 2, n: number): { nodes: Node[]; output: string } {
  const per = 8 / width;
  const packed = ctx.addInit(`${hint}_packed`, { dtype: 'uint8', dims: [plane.length, 1], data: plane });
  const divisors = sharedConst(ctx, `packed${width}_divisors`, f32([1, per], Array.from({ length: per }, (_, i) => 2 ** (width * i))));
  const modulus = sharedConst(ctx, `packed${width}_modulus`, f32([], [2 ** width]));
  const flat = sharedConst(ctx, 'packed_flat', i64([-1]));
  const v = (s: string) => ctx.fresh(`${hint}_${s}`);
  const [asFloat, shifted, floored, digits, all] = [v('float'), v('shifted'), v('floor'), v('digits'), v('all')];
  const nodes: Node[] = [
    { name: v('Cast'), opType: 'Cast', inputs: [packed], outputs: [asFloat], attrs: { to: 1 } },
    { name: v('Div'), opType: 'Div', inputs: [asFloat, divisors], outputs: [shifted], attrs: {} },
    { name: v('Floor'), opType: 'Floor', inputs: [shifted], outputs: [floored], attrs: {} },
    { name: v('Mod'), opType: 'Mod', inputs: [floored, modulus], outputs: [digits], attrs: { fmod: 1 } },
    { name: v('Reshape'), opType: 'Reshape', inputs: [digits, flat], outputs: [all], attrs: {} },
  ];
  if (plane.length * per === n) return { nodes, output: all };
  // the last byte was padded: keep the first n values
  const zero = sharedConst(ctx, 'packed_zero', i64([0]));
  const end = ctx.addInit(`${hint}_count`, i64([n]));
  const kept = v('kept');
  nodes.push({ name: v('Slice'), opType: 'Slice', inputs: [all, zero, end, zero], outputs: [kept], attrs: {} });
  return { nodes, output: kept };
}

/**
 * Nodes and initializers (added through ctx) that compute the float weight of a 2- or 3-bit layer from
 * its packed codes; `dims` the weight's dims, `axis` its output-channel axis, one scale per channel or one.
 */
export function packedLowBitWeight(ctx: PackedWeightContext, hint: string, codes: Int8Array, bits: number, scales: Float32Array, dims: number[], axis: number): PackedWeight {
  if (bits !== 2 && bits !== 3) throw new LocalQuantError('INTERNAL', `packed weights are 2 or 3 bit, not ${bits}`);
  const offset = 2 ** (bits - 1);
  const u = Int32Array.from(codes, (c) => c + offset);
  const low = unpackPlane(ctx, `${hint}_low`, packPlane(u, 2, 0), 2, u.length);
  const nodes = [...low.nodes];
  let unsigned = low.output;
  if (bits === 3) {
    const high = unpackPlane(ctx, `${hint}_high`, packPlane(u, 1, 2), 1, u.length);
    const four = sharedConst(ctx, 'packed_four', f32([], [4]));
    const [highTimes4, sum] = [ctx.fresh(`${hint}_high4`), ctx.fresh(`${hint}_codes`)];
    nodes.push(...high.nodes);
    nodes.push({ name: ctx.fresh(`${hint}_Mul4`), opType: 'Mul', inputs: [high.output, four], outputs: [highTimes4], attrs: {} });
    nodes.push({ name: ctx.fresh(`${hint}_Add`), opType: 'Add', inputs: [low.output, highTimes4], outputs: [sum], attrs: {} });
    unsigned = sum;
  }
  const offsetName = sharedConst(ctx, `packed${bits}_offset`, f32([], [offset]));
  const shape = ctx.addInit(`${hint}_shape`, i64(dims));
  const perChannel = scales.length > 1;
  const scaleDims = perChannel ? dims.map((d, i) => (i === axis ? d : 1)) : [];
  const scaleName = ctx.addInit(`${hint}_scale`, { dtype: 'float32', dims: scaleDims, data: Float32Array.from(scales) });
  const [centred, shaped, output] = [ctx.fresh(`${hint}_centred`), ctx.fresh(`${hint}_shaped`), ctx.fresh(`${hint}_dequantized`)];
  nodes.push(
    { name: ctx.fresh(`${hint}_Sub`), opType: 'Sub', inputs: [unsigned, offsetName], outputs: [centred], attrs: {} },
    { name: ctx.fresh(`${hint}_ReshapeWeight`), opType: 'Reshape', inputs: [centred, shape], outputs: [shaped], attrs: {} },
    { name: ctx.fresh(`${hint}_Scale`), opType: 'Mul', inputs: [shaped, scaleName], outputs: [output], attrs: {} },
  );
  return { nodes, output };
}
