import type { Dim, TensorData } from '../../../ir/types.js';
import { applyPerm, float32, identityPerm, int64, invertPerm, keyPerm, permKey, type SrcTensor } from '../builder.js';
import { constInput, unsupportedOp, type OpContext, type OpTranslator } from './context.js';
import { onnxTypeNumber, tfDtype } from './tfNode.js';

/** Shape-changing ops of graph models, with import-time folding of shape computations. */

const INT_MAX = 2147483647;

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** A constant (or partly known) 1-D int vector's entries. */
function vectorOf(t: SrcTensor): (number | null)[] | undefined {
  if (t.partial) return t.partial;
  if (t.constValue) return Array.from(t.constValue.data, Number);
  return undefined;
}

function vectorTensor(ctx: OpContext, values: (number | null)[], dtype: TensorData['dtype'], scalarOut = false): SrcTensor {
  const dims = scalarOut ? [] : [values.length];
  if (values.every((v) => v !== null)) return ctx.b.constTensor(ctx.hint, { dtype, dims, data: Int32Array.from(values as number[]) });
  return { shape: dims, dtype, forms: new Map(), partial: values };
}

/** Form perm of a tensor after removing source axes `removed` (reductions, squeezes). */
function permAfterRemoving(perm: number[], removed: Set<number>): number[] {
  const kept = perm.filter((a) => !removed.has(a));
  const sorted = [...kept].sort((x, y) => x - y);
  return kept.map((a) => sorted.indexOf(a));
}

export const shapeOp: OpTranslator = (ctx, [x]) => {
  const dtype = tfDtype(ctx.attrs.type('out_type') ?? 'DT_INT32');
  if (!x.shape) throw unsupportedOp(ctx, 'reads the shape of a value whose rank is unknown');
  return [vectorTensor(ctx, x.shape.map((d) => (typeof d === 'number' ? d : null)), dtype)];
};

export const identityOp: OpTranslator = (_ctx, inputs) => [inputs[0]];

export const castOp: OpTranslator = (ctx, [x]) => {
  const { b } = ctx;
  const to = tfDtype(ctx.attrs.type('DstT'));
  if (x.partial) return [{ ...x, dtype: to }];
  if (x.constValue) {
    const v = x.constValue;
    const data = to === 'float32' ? Float32Array.from(v.data) : to === 'bool' ? Uint8Array.from(v.data, (e) => (e ? 1 : 0)) : Int32Array.from(v.data, (e) => Math.trunc(Number(e)));
    return [b.constTensor(ctx.hint, { dtype: to, dims: v.dims, data })];
  }
  const { name, perm } = b.anyForm(x);
  return [b.tensor(b.op('Cast', [name], ctx.hint, { to: onnxTypeNumber(to) }), perm, x.shape, to)];
};

export const reshapeOp: OpTranslator = (ctx, [x, shapeT]) => {
  const { b } = ctx;
  const target = vectorOf(shapeT);
  if (!target) throw unsupportedOp(ctx, 'takes its target shape from a computed value');
  if (x.constValue && target.every((d) => d !== null && d >= 0)) return [b.constTensor(ctx.hint, { ...x.constValue, dims: target as number[] })];
  // Unknown entries (the batch size from a Shape): -1 when it is the only free one, else 0 (copy) at index 0.
  const unknown = target.filter((d) => d === null).length;
  const hasMinus = target.includes(-1);
  const resolved = target.map((d, i) => (d !== null ? d : unknown === 1 && !hasMinus ? -1 : i === 0 ? 0 : NaN));
  if (resolved.some((d) => Number.isNaN(d))) throw unsupportedOp(ctx, 'reshapes to a shape that depends on the input size in more than one place');
  const y = b.op('Reshape', [b.plain(x), b.constant(`${ctx.hint}/shape`, int64(resolved))], ctx.hint);
  let shape: Dim[] = resolved.map((d, i) => (d === 0 ? (x.shape?.[i] ?? null) : d === -1 ? null : d));
  const total = x.shape && x.shape.every((d) => typeof d === 'number') ? (x.shape as number[]).reduce((a, c) => a * c, 1) : null;
  const known = shape.filter((d) => typeof d === 'number') as number[];
  if (total !== null && shape.filter((d) => d === null).length === 1) shape = shape.map((d) => (d === null ? total / known.reduce((a, c) => a * c, 1) : d));
  return [b.tensor(y, identityPerm(shape.length), shape, x.dtype)];
};

export const squeezeOp: OpTranslator = (ctx, [x]) => {
  const { b } = ctx;
  const rank = b.rankOf(x);
  let axes = ctx.attrs.ints('squeeze_dims', ctx.attrs.ints('axis')).map((a) => normAxis(a, rank));
  if (axes.length === 0) {
    if (!x.shape) throw unsupportedOp(ctx, 'squeezes all size-1 axes of a value of unknown shape');
    axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  }
  const removed = new Set(axes);
  const shape = x.shape ? x.shape.filter((_, i) => !removed.has(i)) : null;
  if (x.constValue) return [b.constTensor(ctx.hint, { ...x.constValue, dims: shape as number[] })];
  if (x.partial) return [x];
  const { name, perm } = b.anyForm(x);
  const irAxes = axes.map((a) => perm.indexOf(a)).sort((p, q) => p - q);
  const y = b.op('Squeeze', [name, b.constant(`${ctx.hint}/axes`, int64(irAxes))], ctx.hint);
  return [b.tensor(y, permAfterRemoving(perm, removed), shape, x.dtype)];
};

export const expandDimsOp: OpTranslator = (ctx, [x, axisT]) => {
  const { b } = ctx;
  const rank = b.rankOf(x);
  const axis = normAxis(Number(constInput(ctx, axisT, 'axis').data[0]), rank + 1);
  const shape = x.shape ? [...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)] : null;
  if (x.constValue) return [b.constTensor(ctx.hint, { ...x.constValue, dims: shape as number[] })];
  if (x.partial && rank === 0) return [{ ...x, shape: [1] }];
  const y = b.op('Unsqueeze', [b.plain(x), b.constant(`${ctx.hint}/axes`, int64([axis]))], ctx.hint);
  return [b.tensor(y, identityPerm(rank + 1), shape, x.dtype)];
};

/** Transpose needs no node: every held form is re-expressed against the transposed tensor. */
export const transposeOp: OpTranslator = (ctx, [x, permT]) => {
  const q = Array.from(constInput(ctx, permT, 'permutation').data, Number);
  const invq = invertPerm(q);
  if (x.constValue) return [ctx.b.constTensor(ctx.hint, transposeHost(x.constValue, q))];
  const out: SrcTensor = { shape: x.shape ? applyPerm(x.shape, q) : null, dtype: x.dtype, forms: new Map() };
  for (const [key, name] of x.forms) out.forms.set(permKey(keyPerm(key, q.length).map((a) => invq[a])), name);
  return [out];
};

function transposeHost(t: TensorData, perm: number[]): TensorData {
  const rank = t.dims.length;
  const strides = t.dims.map((_, i) => t.dims.slice(i + 1).reduce((a, c) => a * c, 1));
  const outDims = perm.map((p) => t.dims[p]);
  const n = t.data.length;
  const Ctor = t.data.constructor as new (n: number) => TensorData['data'];
  const out = new Ctor(n);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * strides[perm[d]];
    out[o] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return { ...t, dims: outDims };
}

export const packOp: OpTranslator = (ctx, inputs) => {
  const { b } = ctx;
  const rank = b.rankOf(inputs[0]);
  const axis = normAxis(ctx.attrs.int('axis', 0), rank + 1);
  if (rank === 0 && inputs.every((t) => t.constValue || t.partial)) {
    return [vectorTensor(ctx, inputs.map((t) => vectorOf(t)![0]), inputs[0].dtype)];
  }
  const parts = inputs.map((t, i) => b.op('Unsqueeze', [b.plain(t), b.constant(`${ctx.hint}/axes`, int64([axis]))], `${ctx.hint}/unsqueeze${i}`));
  const y = b.op('Concat', parts, ctx.hint, { axis });
  const shape = inputs[0].shape ? [...inputs[0].shape.slice(0, axis), inputs.length, ...inputs[0].shape.slice(axis)] : null;
  return [b.tensor(y, identityPerm(rank + 1), shape, inputs[0].dtype)];
};

export const concatOp: OpTranslator = (ctx, all) => {
  const { b } = ctx;
  const inputs = ctx.node.op === 'Concat' ? all.slice(1) : all.slice(0, -1);
  const axisT = ctx.node.op === 'Concat' ? all[0] : all[all.length - 1];
  const rank = b.rankOf(inputs[0]);
  const axis = normAxis(Number(constInput(ctx, axisT, 'axis').data[0]), rank);
  if (rank === 1 && inputs.every((t) => t.constValue || t.partial)) return [vectorTensor(ctx, inputs.flatMap((t) => vectorOf(t)!), inputs[0].dtype)];
  const lead = inputs.find((t) => !t.constValue) ?? inputs[0];
  const { perm } = b.anyForm(lead);
  const y = b.op('Concat', inputs.map((t) => b.form(t, perm)), ctx.hint, { axis: perm.indexOf(axis) });
  let shape: Dim[] | null = null;
  if (inputs.every((t) => t.shape)) {
    shape = inputs[0].shape!.slice();
    const sizes = inputs.map((t) => t.shape![axis]);
    shape[axis] = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, c) => a + c, 0) : null;
  }
  return [b.tensor(y, perm, shape, inputs[0].dtype)];
};

export const padOp: OpTranslator = (ctx, [x, padsT, valueT]) => {
  const { b, node } = ctx;
  const p = Array.from(constInput(ctx, padsT, 'paddings').data, Number);
  const rank = p.length / 2;
  let mode = 'constant';
  if (node.op === 'MirrorPad') {
    const m = ctx.attrs.str('mode', 'REFLECT');
    if (m !== 'REFLECT') throw unsupportedOp(ctx, `uses mirror mode ${m}; only REFLECT is supported`);
    mode = 'reflect';
  }
  const { perm } = b.anyForm(x);
  const pads = [...perm.map((a) => p[a * 2]), ...perm.map((a) => p[a * 2 + 1])];
  const inputs = [b.form(x, perm), b.constant(`${ctx.hint}/pads`, int64(pads))];
  if (valueT) {
    const v = Number(constInput(ctx, valueT, 'pad value').data[0]);
    if (v !== 0) inputs.push(b.constant(`${ctx.hint}/value`, float32([v], [])));
  }
  const shape = x.shape ? x.shape.map((d, i) => (typeof d === 'number' ? d + p[i * 2] + p[i * 2 + 1] : null)) : null;
  return [b.tensor(b.op('Pad', inputs, ctx.hint, { mode }), perm, shape)];
};

/** Mean / Sum / Max over constant axes; Max only over the spatial axes of a 4-D tensor (GlobalMaxPool). */
export const reduceOp: OpTranslator = (ctx, [x, axesT]) => {
  const { b, node } = ctx;
  const rank = b.rankOf(x);
  const axes = [...new Set(Array.from(constInput(ctx, axesT, 'axes').data, (a) => normAxis(Number(a), rank)))].sort();
  const keep = ctx.attrs.bool('keep_dims', ctx.attrs.bool('keepdims', false));
  const removed = new Set(axes);
  const { name, perm } = b.anyForm(x);
  const irAxes = axes.map((a) => perm.indexOf(a)).sort((p, q) => p - q);
  const shape = x.shape ? (keep ? x.shape.map((d, i) => (removed.has(i) ? 1 : d)) : x.shape.filter((_, i) => !removed.has(i))) : null;
  const outPerm = keep ? perm : permAfterRemoving(perm, removed);
  if (node.op === 'Max') {
    if (rank !== 4 || irAxes.join() !== '2,3') throw unsupportedOp(ctx, 'takes a maximum over axes other than the spatial ones', 'Only global max pooling over height and width is supported.');
    let y = b.op('GlobalMaxPool', [name], keep ? ctx.hint : `${ctx.hint}/pool`);
    if (!keep) y = b.op('Flatten', [y], ctx.hint, { axis: 1 });
    return [b.tensor(y, outPerm, shape)];
  }
  const y = b.op(node.op === 'Mean' ? 'ReduceMean' : 'ReduceSum', [name], ctx.hint, { axes: irAxes, keepdims: keep ? 1 : 0 });
  return [b.tensor(y, outPerm, shape)];
};

/** StridedSlice: import-time on constant vectors, else Slice (+ Squeeze / Unsqueeze for shrink / new axes). */
export const stridedSliceOp: OpTranslator = (ctx, [x, beginT, endT, stridesT]) => {
  const { b } = ctx;
  const begin = Array.from(constInput(ctx, beginT, 'begin').data, Number);
  const end = Array.from(constInput(ctx, endT, 'end').data, Number);
  const strides = stridesT ? Array.from(constInput(ctx, stridesT, 'strides').data, Number) : begin.map(() => 1);
  const [beginMask, endMask, ellipsisMask, newAxisMask, shrinkMask] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((m) => ctx.attrs.int(m, 0));
  const rank = b.rankOf(x);
  // Expand the spec to one entry per input axis (ellipsis fills, new axes are inserted afterwards).
  interface Dimspec { axis: number; start: number; end: number; step: number; shrink: boolean }
  const specs: Dimspec[] = [];
  const newAxesAt: number[] = [];
  let axis = 0;
  let outPos = 0;
  const nSpec = begin.length;
  const specAxes = Array.from({ length: nSpec }, (_, i) => i).filter((i) => !(newAxisMask & (1 << i)) && !(ellipsisMask & (1 << i))).length;
  for (let i = 0; i < nSpec; i++) {
    if (ellipsisMask & (1 << i)) {
      const fill = rank - specAxes;
      for (let k = 0; k < fill; k++) specs.push({ axis: axis++, start: 0, end: INT_MAX, step: 1, shrink: false });
      outPos += fill;
      continue;
    }
    if (newAxisMask & (1 << i)) {
      newAxesAt.push(outPos++);
      continue;
    }
    const step = strides[i];
    const shrink = Boolean(shrinkMask & (1 << i));
    const start = beginMask & (1 << i) ? (step > 0 ? 0 : INT_MAX) : begin[i];
    let stop = endMask & (1 << i) ? (step > 0 ? INT_MAX : -INT_MAX) : end[i];
    if (shrink) stop = start === -1 ? INT_MAX : start + 1;
    specs.push({ axis: axis++, start, end: stop, step, shrink });
    if (!shrink) outPos++;
  }
  while (axis < rank) specs.push({ axis: axis++, start: 0, end: INT_MAX, step: 1, shrink: false });

  const vec = vectorOf(x);
  if (vec && rank <= 1) {
    // Host evaluation on a 1-D (partly) known vector.
    const s = specs[0];
    const n = vec.length;
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let st = s.start < 0 ? s.start + n : s.start;
    let en = s.end < 0 && s.end > -INT_MAX ? s.end + n : s.end;
    const out: (number | null)[] = [];
    if (s.step > 0) {
      st = clampIdx(st, 0, n);
      en = clampIdx(en, 0, n);
      for (let i = st; i < en; i += s.step) out.push(vec[i]);
    } else {
      st = clampIdx(st, -1, n - 1);
      en = clampIdx(en, -1, n - 1);
      for (let i = st; i > en; i += s.step) out.push(vec[i]);
    }
    return [vectorTensor(ctx, out, x.dtype, s.shrink)];
  }

  const sliced = specs.filter((s) => !(s.start === 0 && s.end === INT_MAX && s.step === 1));
  let y = b.plain(x);
  let shape: Dim[] | null = x.shape ? x.shape.slice() : null;
  if (sliced.length > 0) {
    y = b.op('Slice', [
      y,
      b.constant(`${ctx.hint}/starts`, int64(sliced.map((s) => s.start))),
      b.constant(`${ctx.hint}/ends`, int64(sliced.map((s) => s.end))),
      b.constant(`${ctx.hint}/axes`, int64(sliced.map((s) => s.axis))),
      b.constant(`${ctx.hint}/steps`, int64(sliced.map((s) => s.step))),
    ], specs.some((s) => s.shrink) || newAxesAt.length ? `${ctx.hint}/slice` : ctx.hint);
    if (shape) {
      for (const s of sliced) {
        const d = shape[s.axis];
        if (typeof d !== 'number') continue;
        const st = Math.min(Math.max(s.start < 0 ? s.start + d : s.start, s.step > 0 ? 0 : -1), s.step > 0 ? d : d - 1);
        const en = Math.min(Math.max(s.end < 0 && s.end > -INT_MAX ? s.end + d : s.end, s.step > 0 ? 0 : -1), s.step > 0 ? d : d - 1);
        shape[s.axis] = Math.max(0, Math.ceil((en - st) / s.step));
      }
    }
  }
  const shrinkAxes = specs.filter((s) => s.shrink).map((s) => s.axis);
  if (shrinkAxes.length) {
    y = b.op('Squeeze', [y, b.constant(`${ctx.hint}/squeeze_axes`, int64(shrinkAxes))], newAxesAt.length ? `${ctx.hint}/squeeze` : ctx.hint);
    if (shape) shape = shape.filter((_, i) => !shrinkAxes.includes(i));
  }
  if (newAxesAt.length) {
    y = b.op('Unsqueeze', [y, b.constant(`${ctx.hint}/unsqueeze_axes`, int64(newAxesAt))], ctx.hint);
    if (shape) for (const a of newAxesAt) shape.splice(a, 0, 1);
  }
  const outRank = rank - shrinkAxes.length + newAxesAt.length;
  return [b.tensor(y, identityPerm(outRank), shape, x.dtype)];
};

export const sliceOp: OpTranslator = (ctx, [x, beginT, sizeT]) => {
  const { b } = ctx;
  const begin = Array.from(constInput(ctx, beginT, 'begin').data, Number);
  const size = Array.from(constInput(ctx, sizeT, 'size').data, Number);
  const vec = vectorOf(x);
  if (vec && begin.length === 1) {
    const out = vec.slice(begin[0], size[0] < 0 ? undefined : begin[0] + size[0]);
    return [vectorTensor(ctx, out, x.dtype)];
  }
  const ends = begin.map((s, i) => (size[i] < 0 ? INT_MAX : s + size[i]));
  const { perm } = b.anyForm(x);
  const y = b.op('Slice', [
    b.form(x, perm),
    b.constant(`${ctx.hint}/starts`, int64(perm.map((a) => begin[a]))),
    b.constant(`${ctx.hint}/ends`, int64(perm.map((a) => ends[a]))),
    b.constant(`${ctx.hint}/axes`, int64(identityPerm(perm.length))),
  ], ctx.hint);
  const shape = x.shape ? x.shape.map((d, i) => (size[i] >= 0 ? size[i] : typeof d === 'number' ? d - begin[i] : null)) : null;
  return [b.tensor(y, perm, shape, x.dtype)];
};

/** ResizeBilinear / ResizeNearestNeighbor to a constant size, with TF's align_corners / half_pixel_centers. */
export const resizeOp: OpTranslator = (ctx, [x, sizeT]) => {
  const { b, node } = ctx;
  const [oh, ow] = Array.from(constInput(ctx, sizeT, 'size').data, Number);
  const align = ctx.attrs.bool('align_corners');
  const half = ctx.attrs.bool('half_pixel_centers');
  const nearest = node.op === 'ResizeNearestNeighbor';
  const h = x.shape?.[1];
  const w = x.shape?.[2];
  if (typeof h !== 'number' || typeof w !== 'number') throw unsupportedOp(ctx, 'resizes an input of unknown height/width');
  const mode = align ? 'align_corners' : half ? (nearest ? 'tf_half_pixel_for_nn' : 'half_pixel') : 'asymmetric';
  const scales = b.constant(`${ctx.hint}/scales`, float32([1, 1, oh / h, ow / w], [4]));
  const perm = [0, 3, 1, 2];
  const y = b.op('Resize', [b.form(x, perm), '', scales], ctx.hint, {
    mode: nearest ? 'nearest' : 'linear',
    coordinate_transformation_mode: mode,
    nearest_mode: nearest && align ? 'round_prefer_ceil' : 'floor',
  });
  return [b.tensor(y, perm, [x.shape?.[0] ?? null, oh, ow, x.shape?.[3] ?? null])];
};

/** Split (axis, value; num_split equal parts), SplitV (value, sizes, axis) and Unpack (Split + Squeeze). */
export const splitOp: OpTranslator = (ctx, inputs) => {
  const { b, node } = ctx;
  const [x, sizesT, axisT] = node.op === 'Split' ? [inputs[1], undefined, inputs[0]] : node.op === 'SplitV' ? inputs : [inputs[0], undefined, undefined];
  const rank = b.rankOf(x);
  const axis = normAxis(axisT ? Number(constInput(ctx, axisT, 'axis').data[0]) : ctx.attrs.int('axis', 0), rank);
  const dim = x.shape?.[axis];
  let sizes: number[];
  if (sizesT) sizes = Array.from(constInput(ctx, sizesT, 'split sizes').data, Number);
  else {
    const n = node.op === 'Unpack' ? ctx.attrs.int('num', typeof dim === 'number' ? dim : 0) : ctx.attrs.int('num_split', 1);
    if (typeof dim !== 'number') throw unsupportedOp(ctx, 'splits an axis of unknown size');
    sizes = new Array<number>(n).fill(dim / n);
  }
  if (sizes.includes(-1)) {
    if (typeof dim !== 'number') throw unsupportedOp(ctx, 'splits an axis of unknown size');
    const known = sizes.filter((s) => s !== -1).reduce((a, c) => a + c, 0);
    sizes = sizes.map((s) => (s === -1 ? dim - known : s));
  }
  const { name, perm } = b.anyForm(x);
  const irAxis = perm.indexOf(axis);
  const outs = b.opMulti('Split', [name, b.constant(`${ctx.hint}/split`, int64(sizes))], sizes.map((_, i) => `${ctx.hint}:${i}`), { axis: irAxis }, ctx.hint);
  return outs.map((o, i) => {
    const shape = x.shape ? x.shape.map((d, j) => (j === axis ? sizes[i] : d)) : null;
    if (node.op !== 'Unpack') return b.tensor(o, perm, shape, x.dtype);
    const squeezed = b.op('Squeeze', [o, b.constant(`${ctx.hint}/axes`, int64([irAxis]))], `${ctx.hint}/unpack${i}`);
    return b.tensor(squeezed, permAfterRemoving(perm, new Set([axis])), shape ? shape.filter((_, j) => j !== axis) : null, x.dtype);
  });
};
