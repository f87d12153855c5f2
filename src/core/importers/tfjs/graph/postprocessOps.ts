import type { Dim, DType, TensorData } from '../../../ir/types.js';
import { broadcastShapes } from '../layers/common.js';
import { int64, type SrcTensor } from '../builder.js';
import { constInput, unsupportedOp, type OpContext, type OpTranslator } from './context.js';
import { onnxTypeNumber } from './tfNode.js';

/**
 * Detection post-processing ops of graph models (comparisons, Select, FloorDiv/FloorMod, TopKV2,
 * GatherV2, GatherNd, ArgMax, Tile, Range, SparseToDense, NonMaxSuppressionV3). They translate exactly into ONNX
 * ops and work in the source (TF) layout, since they come after the network, in its float tail
 * (ir/cut.ts), where a few transposes cost nothing. Each result keeps its TF dtype (TopK's int64
 * indices are cast back to int32) so that later TF arithmetic mixes types as TF did.
 */

const onnxOp = (ctx: OpContext, op: string, inputs: string[], shape: Dim[] | null, dtype: DType, attrs = {}): SrcTensor =>
  ctx.b.tensor(ctx.b.op(op, inputs, ctx.hint, attrs), null, shape, dtype);

/** Comparison of broadcast operands: Equal, Greater, ... (NotEqual = Not(Equal)). */
export const compareOp = (op: 'Equal' | 'NotEqual' | 'Greater' | 'GreaterOrEqual' | 'Less' | 'LessOrEqual'): OpTranslator => (ctx, [p, q]) => {
  const { b } = ctx;
  const shape = broadcastShapes([p.shape, q.shape]);
  const inputs = [b.plain(p), b.plain(q)];
  if (op !== 'NotEqual') return [onnxOp(ctx, op, inputs, shape, 'bool')];
  const eq = b.op('Equal', inputs, `${ctx.hint}/equal`);
  return [onnxOp(ctx, 'Not', [eq], shape, 'bool')];
};

export const selectOp: OpTranslator = (ctx, [c, x, y]) => {
  const { b } = ctx;
  // Select (v1) with a 1-D condition picks whole rows; SelectV2 broadcasts like ONNX Where.
  if (ctx.node.op === 'Select' && c.shape?.length === 1 && (x.shape?.length ?? 1) > 1) throw unsupportedOp(ctx, 'selects rows with a 1-D condition');
  return [onnxOp(ctx, 'Where', [b.plain(c), b.plain(x), b.plain(y)], broadcastShapes([c.shape, x.shape, y.shape]), x.dtype)];
};

/** Integer shape arithmetic on two constants (same size or a scalar): computed at import. */
function foldInts(ctx: OpContext, p: SrcTensor, q: SrcTensor, f: (x: number, y: number) => number): SrcTensor | undefined {
  const [a, c] = [p.constValue, q.constValue];
  if (!a || !c || a.dtype === 'float32') return undefined;
  const n = Math.max(a.data.length, c.data.length);
  if ((a.data.length !== n && a.data.length !== 1) || (c.data.length !== n && c.data.length !== 1)) return undefined;
  const at = (t: TensorData, i: number) => Number(t.data[t.data.length === 1 ? 0 : i]);
  return ctx.b.constTensor(ctx.hint, { dtype: a.dtype, dims: a.data.length === n ? a.dims : c.dims, data: Int32Array.from({ length: n }, (_, i) => f(at(a, i), at(c, i))) });
}

/** floor(a / b): float Div + Floor; integers go through float (exact below 2^24, as indices are). */
export const floorDivOp: OpTranslator = (ctx, [p, q]) => {
  const { b } = ctx;
  const folded = foldInts(ctx, p, q, (x, y) => Math.floor(x / y));
  if (folded) return [folded];
  const shape = broadcastShapes([p.shape, q.shape]);
  const isInt = p.dtype !== 'float32';
  const asFloat = (t: SrcTensor, w: string) => (isInt ? b.op('Cast', [b.plain(t)], `${ctx.hint}/${w}_f`, { to: 1 }) : b.plain(t));
  const floor = b.op('Floor', [b.op('Div', [asFloat(p, 'a'), asFloat(q, 'b')], `${ctx.hint}/div`)], isInt ? `${ctx.hint}/floor` : ctx.hint);
  return [isInt ? onnxOp(ctx, 'Cast', [floor], shape, p.dtype, { to: onnxTypeNumber(p.dtype) }) : b.tensor(floor, null, shape, p.dtype)];
};

/** TF FloorMod takes the divisor's sign, as ONNX Mod with fmod = 0 (integers) does; floats need fmod = 1, so a - floor(a/b)*b. */
export const floorModOp: OpTranslator = (ctx, [p, q]) => {
  const { b } = ctx;
  const folded = foldInts(ctx, p, q, (x, y) => x - Math.floor(x / y) * y);
  if (folded) return [folded];
  const shape = broadcastShapes([p.shape, q.shape]);
  if (p.dtype !== 'float32') return [onnxOp(ctx, 'Mod', [b.plain(p), b.plain(q)], shape, p.dtype, { fmod: 0 })];
  const [x, y] = [b.plain(p), b.plain(q)];
  const fl = b.op('Floor', [b.op('Div', [x, y], `${ctx.hint}/div`)], `${ctx.hint}/floor`);
  return [onnxOp(ctx, 'Sub', [x, b.op('Mul', [fl, y], `${ctx.hint}/mul`)], shape, 'float32')];
};

export const topKOp: OpTranslator = (ctx, [x, kT]) => {
  const { b } = ctx;
  const k = Number(constInput(ctx, kT, 'k').data[0]);
  const shape = x.shape ? [...x.shape.slice(0, -1), k] : null;
  const [values, indices] = b.opMulti('TopK', [b.plain(x), b.constant(`${ctx.hint}/k`, int64([k]))], [ctx.hint, `${ctx.hint}:1/int64`], { axis: -1, largest: 1, sorted: 1 });
  const idx = b.op('Cast', [indices], `${ctx.hint}:1`, { to: onnxTypeNumber('int32') });
  return [b.tensor(values, null, shape, x.dtype), b.tensor(idx, null, shape, 'int32')];
};

export const gatherOp: OpTranslator = (ctx, [x, idx, axisT]) => {
  const { b } = ctx;
  if (ctx.attrs.int('batch_dims', 0) !== 0) throw unsupportedOp(ctx, 'gathers with batch_dims');
  const rank = x.shape?.length;
  const a = Number(axisT ? constInput(ctx, axisT, 'axis').data[0] : 0);
  const axis = a < 0 && rank !== undefined ? a + rank : a;
  const shape = x.shape && idx.shape ? [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] : null;
  return [onnxOp(ctx, 'Gather', [b.plain(x), b.plain(idx)], shape, x.dtype, { axis })];
};

/** GatherNd (batch_dims 0) is ONNX GatherND, whose indices must be int64. */
export const gatherNdOp: OpTranslator = (ctx, [x, idx]) => {
  const { b } = ctx;
  const k = idx.shape?.[idx.shape.length - 1];
  const shape = x.shape && idx.shape && typeof k === 'number' ? [...idx.shape.slice(0, -1), ...x.shape.slice(k)] : null;
  const indices = idx.dtype === 'int64' ? b.plain(idx) : b.op('Cast', [b.plain(idx)], `${ctx.hint}/indices`, { to: onnxTypeNumber('int64') });
  return [onnxOp(ctx, 'GatherND', [b.plain(x), indices], shape, x.dtype)];
};

export const argMaxOp: OpTranslator = (ctx, [x, axisT]) => {
  const { b } = ctx;
  const rank = x.shape?.length ?? 0;
  const a = Number(constInput(ctx, axisT, 'axis').data[0]);
  const axis = a < 0 ? a + rank : a;
  const out = tfOutDtype(ctx.attrs.type('output_type'));
  const shape = x.shape ? x.shape.filter((_, i) => i !== axis) : null;
  const am = b.op('ArgMax', [b.plain(x)], `${ctx.hint}/int64`, { axis, keepdims: 0 });
  return [out === 'int64' ? b.tensor(am, null, shape, 'int64') : onnxOp(ctx, 'Cast', [am], shape, out, { to: onnxTypeNumber(out) })];
};

const tfOutDtype = (t: string | undefined): DType => (t === 'DT_INT32' ? 'int32' : 'int64');

export const tileOp: OpTranslator = (ctx, [x, repsT]) => {
  const { b } = ctx;
  const reps = Array.from(constInput(ctx, repsT, 'multiples').data, Number);
  const shape = x.shape ? x.shape.map((d, i) => (typeof d === 'number' ? d * reps[i] : null)) : null;
  return [onnxOp(ctx, 'Tile', [b.plain(x), b.constant(`${ctx.hint}/reps`, int64(reps))], shape, x.dtype)];
};

export const rangeOp: OpTranslator = (ctx, [s, l, d]) => {
  const [start, limit, delta] = [s, l, d].map((t, i) => Number(constInput(ctx, t, ['start', 'limit', 'delta'][i]).data[0]));
  const n = Math.max(0, Math.ceil((limit - start) / delta));
  const dtype = s.dtype;
  const data = dtype === 'float32' ? Float32Array.from({ length: n }, (_, i) => start + i * delta) : Int32Array.from({ length: n }, (_, i) => start + i * delta);
  return [ctx.b.constTensor(ctx.hint, { dtype, dims: [n], data })];
};

/** SparseToDense with constant operands (converters leave such shape arithmetic in): folded at import. */
export const sparseToDenseOp: OpTranslator = (ctx, [idxT, shapeT, valT, defT]) => {
  const idx = constInput(ctx, idxT, 'indices');
  const dims = Array.from(constInput(ctx, shapeT, 'output shape').data, Number);
  const vals = constInput(ctx, valT, 'values');
  const dflt = Number(constInput(ctx, defT, 'default value').data[0] ?? 0);
  const size = dims.reduce((a, c) => a * c, 1);
  const rank = dims.length;
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, c) => a * c, 1));
  const count = idx.dims.length === 0 ? 1 : idx.dims[0];
  const data = new Array<number>(size).fill(dflt);
  for (let k = 0; k < count; k++) {
    let flat = 0;
    for (let r = 0; r < rank; r++) flat += Number(idx.data[k * rank + r]) * strides[r];
    data[flat] = Number(vals.data[vals.data.length === 1 ? 0 : k]);
  }
  const out: TensorData = vals.dtype === 'float32' ? { dtype: 'float32', dims, data: Float32Array.from(data) } : { dtype: vals.dtype, dims, data: Int32Array.from(data) };
  return [ctx.b.constTensor(ctx.hint, out)];
};

/**
 * NonMaxSuppressionV3/V4/V5 (boxes [N,4] y1x1y2x2, scores [N]) as ONNX NonMaxSuppression on one batch and
 * class. V4 adds valid_outputs (and, with pad_to_max_output_size, pads the indices with 0 to the maximum);
 * V5 adds the selected scores too, and is exact only as hard NMS (soft_nms_sigma 0: ONNX has no soft NMS).
 */
export const nmsOp: OpTranslator = (ctx, [boxes, scores, maxT, iouT, scoreT, sigmaT]) => {
  const { b } = ctx;
  const op = ctx.node.op;
  const max = Number(constInput(ctx, maxT, 'max_output_size').data[0]);
  if (op === 'NonMaxSuppressionV5' && Number(constInput(ctx, sigmaT, 'soft_nms_sigma').data[0]) !== 0) {
    throw unsupportedOp(ctx, 'is a soft NMS (soft_nms_sigma > 0), which ONNX NonMaxSuppression cannot express', 'Cut the model before it with --until.');
  }
  const box3 = b.op('Unsqueeze', [b.plain(boxes), b.constant(`${ctx.hint}/ax0`, int64([0]))], `${ctx.hint}/boxes`);
  const score3 = b.op('Unsqueeze', [b.plain(scores), b.constant(`${ctx.hint}/ax01`, int64([0, 1]))], `${ctx.hint}/scores`);
  const sel = b.op('NonMaxSuppression', [box3, score3, b.constant(`${ctx.hint}/max`, int64([max])), b.plain(iouT), b.plain(scoreT)], `${ctx.hint}/selected`);
  const col = b.op('Gather', [sel, b.constant(`${ctx.hint}/col`, int64([2], []))], `${ctx.hint}/int64`, { axis: 1 });
  if (op === 'NonMaxSuppressionV3') return [onnxOp(ctx, 'Cast', [col], [null], 'int32', { to: onnxTypeNumber('int32') })];
  const pad = ctx.attrs.bool('pad_to_max_output_size', false);
  const count = b.op('Shape', [col], `${ctx.hint}/count`);
  // [0, max - count]: pad the 1-D result at its end up to max entries
  const padTo = (v: string, hint: string) =>
    pad ? b.op('Pad', [v, b.op('Concat', [b.constant(`${ctx.hint}/zero`, int64([0])), b.op('Sub', [b.constant(`${ctx.hint}/maxv`, int64([max])), count], `${ctx.hint}/missing`)], `${ctx.hint}/pads`, { axis: 0 })], hint) : v;
  const indices = b.op('Cast', [padTo(col, `${ctx.hint}/padded`)], ctx.hint, { to: onnxTypeNumber('int32') });
  const valid = b.op('Cast', [b.op('Squeeze', [count, b.constant(`${ctx.hint}/ax0b`, int64([0]))], `${ctx.hint}/count0`)], `${ctx.hint}:valid`, { to: onnxTypeNumber('int32') });
  const len: Dim[] = [pad ? max : null];
  const out = [b.tensor(indices, null, len, 'int32')];
  if (op === 'NonMaxSuppressionV5') out.push(b.tensor(padTo(b.op('Gather', [b.plain(scores), col], `${ctx.hint}/scores_sel`, { axis: 0 }), `${ctx.hint}:scores`), null, len, scores.dtype));
  out.push(b.tensor(valid, null, [], 'int32'));
  return out;
};

export const POSTPROCESS_TF_OPS: Record<string, OpTranslator> = {
  Equal: compareOp('Equal'),
  NotEqual: compareOp('NotEqual'),
  Greater: compareOp('Greater'),
  GreaterEqual: compareOp('GreaterOrEqual'),
  Less: compareOp('Less'),
  LessEqual: compareOp('LessOrEqual'),
  Select: selectOp,
  SelectV2: selectOp,
  FloorDiv: floorDivOp,
  FloorMod: floorModOp,
  TopKV2: topKOp,
  GatherV2: gatherOp,
  GatherNd: gatherNdOp,
  ArgMax: argMaxOp,
  Tile: tileOp,
  Range: rangeOp,
  SparseToDense: sparseToDenseOp,
  NonMaxSuppressionV3: nmsOp,
  NonMaxSuppressionV4: nmsOp,
  NonMaxSuppressionV5: nmsOp,
};
