import { LocalQuantError } from '../../errors.js';
import * as tf from '@tensorflow/tfjs';
import { attrInt, attrString, normAxis, numbers, unsupported } from './attrs.js';
import { gatherAxis } from './gather.js';
import { heldAxis } from './layout.js';
import type { HeldValue, OpContext, OpSpec } from './types.js';

/**
 * Slice, Split, Concat, Gather, Pad. Each remaps its axes onto the held layout, so NHWC activations
 * stay NHWC. Strided slices use tf.slice + tf.gather (tf.stridedSlice has no gradient).
 */

function sliceOp(ctx: OpContext): HeldValue[] {
  const v = ctx.held(0);
  const dims = v.tensor.shape;
  const rank = dims.length;
  const starts = numbers(ctx.constant(1)) ?? [];
  const ends = numbers(ctx.constant(2)) ?? [];
  const axes = (ctx.has(3) ? numbers(ctx.constant(3)) : undefined) ?? starts.map((_, i) => i);
  const steps = (ctx.has(4) ? numbers(ctx.constant(4)) : undefined) ?? starts.map(() => 1);
  const begin = new Array(rank).fill(0);
  const size = dims.slice();
  const strided: { axis: number; step: number; n: number }[] = [];
  const reversed: number[] = [];
  axes.forEach((a, k) => {
    const axis = heldAxis(normAxis(a, rank), v.nhwc);
    const d = dims[axis];
    const step = steps[k];
    if (step === 0) throw unsupported(ctx.node, 'a zero step');
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      const n = Math.max(0, Math.ceil((e - s) / step));
      begin[axis] = s;
      size[axis] = n === 0 ? 0 : (n - 1) * step + 1;
      if (step > 1 && n > 1) strided.push({ axis, step, n });
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      const n = Math.max(0, Math.ceil((s - e) / -step));
      // covering range [s + (n-1)*step, s], read backwards
      begin[axis] = n === 0 ? 0 : s + (n - 1) * step;
      size[axis] = n === 0 ? 0 : (n - 1) * -step + 1;
      if (n > 1) reversed.push(axis);
      if (step < -1 && n > 1) strided.push({ axis, step: -step, n });
    }
  });
  // a pooled (spatial, NHWC) step needs no covering slice when the pool alone yields the same count
  for (const st of strided) {
    const pooled = v.nhwc && v.tensor.dtype === 'float32' && (st.axis === 1 || st.axis === 2) && !reversed.includes(st.axis);
    if (pooled && Math.floor((dims[st.axis] - begin[st.axis] - 1) / st.step) + 1 === st.n) size[st.axis] = dims[st.axis] - begin[st.axis];
  }
  const whole = begin.every((b) => b === 0) && size.every((d, i) => d === dims[i]);
  let y = whole ? v.tensor : tf.slice(v.tensor, begin, size);
  if (reversed.length) y = tf.reverse(y, reversed);
  // Steps on the spatial axes of an NHWC float value: a 1x1 average pool with strides is an exact
  // subsampling, far faster than tf.gather on wasm (and, unlike max pool, with a correct wasm gradient).
  const poolStrides: [number, number] = [1, 1];
  for (const { axis, step, n } of strided) {
    if (v.nhwc && y.dtype === 'float32' && (axis === 1 || axis === 2)) poolStrides[axis - 1] = step;
    else y = gatherAxis(y, Array.from({ length: n }, (_, i) => i * step), axis);
  }
  if (poolStrides[0] > 1 || poolStrides[1] > 1) y = tf.avgPool(y as tf.Tensor4D, 1, poolStrides, 'valid');
  return [{ tensor: y, nhwc: v.nhwc }];
}

function split(ctx: OpContext): HeldValue[] {
  const v = ctx.held(0);
  const rank = v.tensor.rank;
  const axis = heldAxis(normAxis(attrInt(ctx.node, 'axis', 0), rank), v.nhwc);
  const d = v.tensor.shape[axis];
  let sizes = ctx.has(1) ? numbers(ctx.constant(1)) : undefined;
  if (!sizes) {
    const n = attrInt(ctx.node, 'num_outputs', ctx.node.outputs.length);
    const each = Math.ceil(d / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, d - i * each)));
  }
  return tf.split(v.tensor, sizes, axis).map((tensor) => ({ tensor, nhwc: v.nhwc }));
}

function concat(ctx: OpContext): HeldValue[] {
  const idx = ctx.node.inputs.map((_, i) => i).filter((i) => ctx.has(i));
  const held = idx.map((i) => ctx.held(i));
  const rank = held[0].tensor.rank;
  const nhwc = rank === 4 && held.some((h) => h.nhwc);
  const axis = heldAxis(normAxis(attrInt(ctx.node, 'axis', 0), rank), nhwc);
  const tensors = idx.map((i) => (nhwc ? ctx.nhwc(i) : ctx.plain(i)));
  return [{ tensor: tf.concat(tensors, axis), nhwc }];
}

function gather(ctx: OpContext): HeldValue[] {
  const v = ctx.held(0);
  const graphAxis = normAxis(attrInt(ctx.node, 'axis', 0), v.tensor.rank);
  const known = ctx.known(1);
  let indices: tf.Tensor;
  const d = ctx.shape(0)[graphAxis];
  if (known) indices = tf.tensor(Array.from(known.data as ArrayLike<number>, (i) => (i < 0 ? i + d : i)), known.dims, 'int32');
  else {
    const raw = tf.cast(ctx.plain(1), 'int32');
    indices = tf.where(tf.less(raw, 0), tf.add(raw, tf.scalar(d, 'int32')), raw);
  }
  // rank-preserving gathers (1-D indices) keep the held layout
  if (v.nhwc && indices.rank === 1) return [{ tensor: gatherAxis(v.tensor, indices, heldAxis(graphAxis, true)), nhwc: true }];
  return [{ tensor: gatherAxis(ctx.plain(0), indices, graphAxis), nhwc: false }];
}

function pad(ctx: OpContext): HeldValue[] {
  const v = ctx.held(0);
  const rank = v.tensor.rank;
  const mode = attrString(ctx.node, 'mode', 'constant');
  const pads = numbers(ctx.constant(1)) ?? [];
  const axes = (ctx.has(3) ? numbers(ctx.constant(3)) : undefined)?.map((a) => normAxis(a, rank)) ?? Array.from({ length: rank }, (_, i) => i);
  const value = ctx.has(2) ? Number(ctx.constant(2)?.data[0] ?? 0) : 0;
  // tfjs 4.22 pitfall: the wasm pad kernel reads undefined paddings as garbage and corrupts its heap.
  if (pads.length !== 2 * axes.length || !pads.every(Number.isInteger)) {
    throw new LocalQuantError('INVALID_MODEL', `Pad node '${ctx.node.name}' has pads [${pads.join(', ')}] for ${axes.length} axes; it needs ${2 * axes.length} integers.`, 'The file is damaged: export the model again.');
  }
  const paddings: [number, number][] = Array.from({ length: rank }, () => [0, 0]);
  axes.forEach((a, k) => {
    paddings[heldAxis(a, v.nhwc)] = [pads[k], pads[k + axes.length]];
  });
  let x = v.tensor;
  // negative pads crop
  if (paddings.some(([b, e]) => b < 0 || e < 0)) {
    x = tf.slice(x, paddings.map(([b]) => Math.max(0, -b)), x.shape.map((d, i) => d - Math.max(0, -paddings[i][0]) - Math.max(0, -paddings[i][1])));
    paddings.forEach((p) => {
      p[0] = Math.max(0, p[0]);
      p[1] = Math.max(0, p[1]);
    });
  }
  let y: tf.Tensor;
  if (paddings.every(([b, e]) => b === 0 && e === 0)) y = tf.clone(x);
  else if (mode === 'constant') y = tf.pad(x, paddings, value);
  else if (mode === 'reflect') y = tf.mirrorPad(x, paddings, 'reflect');
  else if (mode === 'edge') {
    y = x;
    paddings.forEach(([b, e], axis) => {
      if (!b && !e) return;
      const parts: tf.Tensor[] = [];
      const edge = (at: number, n: number) => {
        const begin = y.shape.map((_, i) => (i === axis ? at : 0));
        const size = y.shape.map((d, i) => (i === axis ? 1 : d));
        return tf.broadcastTo(tf.slice(y, begin, size), size.map((d, i) => (i === axis ? n : d)));
      };
      if (b) parts.push(edge(0, b));
      parts.push(y);
      if (e) parts.push(edge(y.shape[axis] - 1, e));
      y = tf.concat(parts, axis);
    });
  } else throw unsupported(ctx.node, `Pad mode '${mode}'`);
  return [{ tensor: y, nhwc: v.nhwc }];
}

export const SLICING_OPS: Record<string, OpSpec> = {
  Slice: { run: sliceOp, constInputs: [1, 2, 3, 4] },
  Split: { run: split, constInputs: [1] },
  Concat: { run: concat },
  Gather: { run: gather },
  Pad: { run: pad, constInputs: [1, 2, 3] },
};
