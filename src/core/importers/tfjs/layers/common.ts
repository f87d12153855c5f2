import type { Dim, TensorData } from '../../../ir/types.js';
import { identityPerm, NCHW_FROM_NHWC, transposeData, type GraphBuilder, type SrcTensor } from '../builder.js';
import { activation } from '../emit.js';
import { cfgString, unsupported, type LayerContext } from './context.js';

/** The IR form a 4-D layer computes in: NCHW of an NHWC tensor, or the tensor itself when channels_first. */
export function spatialForm(ctx: LayerContext, x: SrcTensor): { perm: number[]; channelsLast: boolean } {
  const rank = ctx.b.rankOf(x);
  if (rank !== 4) throw unsupported(ctx, `gets a rank-${rank} input; only 4-D (batch, height, width, channels) inputs are supported`);
  const channelsLast = cfgString(ctx.layer.config, 'data_format', 'channels_last') !== 'channels_first';
  return { perm: channelsLast ? NCHW_FROM_NHWC : identityPerm(4), channelsLast };
}

/** Height and width of a 4-D source shape. */
export function spatialDims(x: SrcTensor, channelsLast: boolean): [Dim, Dim] {
  const s = x.shape ?? [null, null, null, null];
  return channelsLast ? [s[1], s[2]] : [s[2], s[3]];
}

export function channelsOf(x: SrcTensor, channelsLast: boolean): Dim {
  const s = x.shape ?? [null, null, null, null];
  return channelsLast ? s[3] : s[1];
}

/** Source shape of a 4-D result from batch, channels and spatial sizes. */
export function spatialShape(batch: Dim, c: Dim, hw: [Dim, Dim], channelsLast: boolean): Dim[] {
  return channelsLast ? [batch, hw[0], hw[1], c] : [batch, c, hw[0], hw[1]];
}

/** Applies a Keras activation to a source tensor; keeps its form (softmax maps its axis). */
export function applyActivation(ctx: LayerContext, t: SrcTensor, name: string, hint = ctx.hint, axis = -1): SrcTensor {
  const { b } = ctx;
  if (name === 'linear') return t;
  const { name: x, perm } = b.anyForm(t);
  const rank = perm.length;
  let y: string;
  if (name === 'softmax') {
    const srcAxis = axis < 0 ? axis + rank : axis;
    y = b.op('Softmax', [x], hint, { axis: perm.indexOf(srcAxis) });
  } else {
    y = activation(b, name, x, hint, `Layer '${ctx.layer.name}' (${ctx.layer.className})`);
  }
  return b.tensor(y, perm, t.shape, t.dtype);
}

/**
 * A per-channel (or any lower-rank) constant broadcast against a rank-`rank` source tensor held in form
 * `perm`: numpy-aligned to the trailing axes, expanded to full rank, then transposed like the tensor.
 */
export function broadcastConstant(b: GraphBuilder, hint: string, value: TensorData, rank: number, perm: number[]): string {
  return b.constant(hint, broadcastTo(value, rank, perm));
}

/** The host tensor `broadcastConstant` stores: expanded to full rank, transposed like the tensor. */
export function broadcastTo(value: TensorData, rank: number, perm: number[]): TensorData {
  if (value.dims.length === 0) return value;
  const full: TensorData = { ...value, dims: [...new Array<number>(rank - value.dims.length).fill(1), ...value.dims] };
  return transposeData(full, perm);
}

/** Broadcast result shape of source shapes (numpy rules), null when unknown. */
export function broadcastShapes(shapes: (Dim[] | null)[]): Dim[] | null {
  if (shapes.some((s) => s === null)) return null;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const v = s![s!.length - rank + i];
      if (v === undefined || v === 1) continue;
      if (d === 1 || d === null) d = v;
    }
    out.push(d);
  }
  return out;
}
