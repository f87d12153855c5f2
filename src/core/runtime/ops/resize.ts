import * as tf from '@tensorflow/tfjs';
import { attrString, numbers, unsupported } from './attrs.js';
import { gatherAxis } from './gather.js';
import { nhwcValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/**
 * Resize (opset 11+ form: X, roi, scales, sizes) of the two spatial axes of a 4-D value, channels-last.
 * Index maps follow ONNX (onnxruntime) exactly; tfjs's resize kernels are used when they give the same
 * map, else separable gathers (nearest) or gathers + lerp (linear).
 */

type CoordMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';

function toOriginal(mode: CoordMode, x: number, scale: number, inSize: number, outSize: number): number {
  switch (mode) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outSize === 1 ? 0 : (x * (inSize - 1)) / (outSize - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
  }
}

function nearestIndex(mode: string, v: number): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return Math.floor(v + 0.5);
    default: // round_prefer_floor
      return v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v);
  }
}

/** The index map tfjs's ResizeNearestNeighbor uses (tfjs-backend-cpu). */
function tfNearestMap(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number[] {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  return Array.from({ length: outSize }, (_, r) => {
    const src = halfPixel ? ratio * (r + 0.5) : ratio * r;
    let i = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixel) i = Math.max(0, i);
    return i;
  });
}

const sameMap = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function resize(ctx: OpContext): HeldValue[] {
  const node = ctx.node;
  const shape = ctx.shape(0);
  if (shape.length !== 4) throw unsupported(node, `resizing a rank-${shape.length} tensor`);
  const mode = attrString(node, 'mode', 'nearest');
  const coord = attrString(node, 'coordinate_transformation_mode', 'half_pixel') as CoordMode;
  if (!['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'].includes(coord)) {
    throw unsupported(node, `coordinate_transformation_mode '${coord}'`);
  }
  if (node.attrs.axes !== undefined) throw unsupported(node, 'the axes attribute');
  const sizes = ctx.has(3) ? numbers(ctx.constant(3)) : undefined;
  const scalesIn = ctx.has(2) ? numbers(ctx.constant(2)) : undefined;
  let out: number[];
  let scale: number[];
  if (sizes && sizes.length) {
    out = sizes;
    scale = sizes.map((s, i) => s / shape[i]);
  } else if (scalesIn && scalesIn.length) {
    scale = scalesIn;
    out = shape.map((d, i) => Math.floor(d * scalesIn[i]));
  } else throw unsupported(node, 'a Resize without scales or sizes');
  if (out[0] !== shape[0] || out[1] !== shape[1]) throw unsupported(node, 'resizing the batch or channel axis');
  const x = ctx.nhwc(0) as tf.Tensor4D;
  const size: [number, number] = [out[2], out[3]];
  const spatial = [2, 3];

  if (mode === 'nearest') {
    const nearestMode = attrString(node, 'nearest_mode', 'round_prefer_floor');
    const maps = spatial.map((a) =>
      Array.from({ length: out[a] }, (_, i) =>
        Math.min(shape[a] - 1, Math.max(0, nearestIndex(nearestMode, toOriginal(coord, i, scale[a], shape[a], out[a])))),
      ),
    );
    for (const [alignCorners, halfPixel] of [[false, false], [false, true], [true, false]] as const) {
      if (spatial.every((a, k) => sameMap(maps[k], tfNearestMap(shape[a], out[a], alignCorners, halfPixel)))) {
        return [nhwcValue(tf.image.resizeNearestNeighbor(x, size, alignCorners, halfPixel))];
      }
    }
    let y: tf.Tensor = x;
    maps.forEach((m, k) => {
      y = gatherAxis(y, m, k + 1);
    });
    return [nhwcValue(y)];
  }
  if (mode !== 'linear') throw unsupported(node, `Resize mode '${mode}'`);
  // tfjs bilinear uses ratio in/out; it matches when the scale is exactly out/in
  const ratioMatches = spatial.every((a) => Math.abs(shape[a] / out[a] - 1 / scale[a]) < 1e-7);
  if (coord === 'align_corners') return [nhwcValue(tf.image.resizeBilinear(x, size, true, false))];
  if (ratioMatches && coord === 'asymmetric') return [nhwcValue(tf.image.resizeBilinear(x, size, false, false))];
  if (ratioMatches && (coord === 'half_pixel' || (coord === 'pytorch_half_pixel' && out[2] > 1 && out[3] > 1))) {
    return [nhwcValue(tf.image.resizeBilinear(x, size, false, true))];
  }
  let y: tf.Tensor = x;
  spatial.forEach((a, k) => {
    const i0: number[] = [];
    const i1: number[] = [];
    const lambda = new Float32Array(out[a]);
    for (let i = 0; i < out[a]; i++) {
      const src = Math.min(Math.max(toOriginal(coord, i, scale[a], shape[a], out[a]), 0), shape[a] - 1);
      const f = Math.floor(src);
      i0.push(f);
      i1.push(Math.min(f + 1, shape[a] - 1));
      lambda[i] = src - f;
    }
    const axis = k + 1;
    const g0 = gatherAxis(y, i0, axis);
    const g1 = gatherAxis(y, i1, axis);
    const lshape = [1, 1, 1, 1];
    lshape[axis] = out[a];
    y = tf.add(g0, tf.mul(tf.sub(g1, g0), tf.tensor(lambda, lshape)));
  });
  return [nhwcValue(y)];
}

export const RESIZE_OPS: Record<string, OpSpec> = {
  Resize: { run: resize, constInputs: [1, 2, 3] },
};
