import * as tf from '@tensorflow/tfjs';
import { KernelScope, type Pads4 } from './kernelCalls';

/**
 * Convolution gradients (NHWC) composed from the backend's fast forward convolutions.
 *
 * Notation: x [N,H,W,Cin], filter [fh,fw,Cin,Cout] (depthwise: [fh,fw,C,M]), dy [N,Ho,Wo,Cout],
 * y[oy] = sum_k x[oy*s + k*d - padTop] * w[k].
 *  - input gradient: dx[i] = sum_k dyUp[i + padTop - k*d] * w[k], where dyUp has s-1 zeros between rows;
 *    with the kernel flipped this is a stride-1 forward conv of dyUp (dilation d).
 *  - filter gradient: dw[k] = sum_o x[o*s + k*d - padTop] * dy[o], i.e. a forward conv of x (batch and
 *    channels swapped) by dy used as the filter, with stride d and dilation s.
 */
export interface ConvGeometry {
  strides: [number, number];
  dilations: [number, number];
  pad: 'valid' | 'same' | number | number[][];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function pair(v: number | number[] | undefined): [number, number] {
  if (v == null) return [1, 1];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export function convGeometry(attrs: Record<string, unknown>): ConvGeometry {
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC' && attrs.dataFormat !== 'channelsLast') {
    throw new Error(`wasm conv gradients support NHWC only, got dataFormat ${String(attrs.dataFormat)}`);
  }
  return {
    strides: pair(attrs.strides as number | number[]),
    dilations: pair(attrs.dilations as number | number[] | undefined),
    pad: attrs.pad as ConvGeometry['pad'],
    dimRoundingMode: attrs.dimRoundingMode as ConvGeometry['dimRoundingMode'],
  };
}

interface Layout {
  n: number; h: number; w: number; ho: number; wo: number;
  fh: number; fw: number; sh: number; sw: number; dh: number; dw: number;
  top: number; left: number;
}

function layout(xShape: number[], filterShape: number[], g: ConvGeometry, depthwise: boolean): Layout {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    g.strides, g.dilations, g.pad as 'same', g.dimRoundingMode, depthwise, 'channelsLast');
  return {
    n: xShape[0], h: xShape[1], w: xShape[2], ho: info.outHeight, wo: info.outWidth,
    fh: filterShape[0], fw: filterShape[1], sh: info.strideHeight, sw: info.strideWidth,
    dh: info.dilationHeight, dw: info.dilationWidth, top: info.padInfo.top, left: info.padInfo.left,
  };
}

/** dy with (s-1) zeros after every row/column: [N, Ho*sh, Wo*sw, C]. */
function upsample(ks: KernelScope, dy: tf.TensorInfo, L: Layout): tf.TensorInfo {
  if (L.sh === 1 && L.sw === 1) return dy;
  const c = dy.shape[3];
  const r = ks.reshape(dy, [L.n, L.ho, 1, L.wo, 1, c]);
  const p = ks.pad(r, [[0, 0], [0, 0], [0, L.sh - 1], [0, 0], [0, L.sw - 1], [0, 0]]);
  return ks.reshape(p, [L.n, L.ho * L.sh, L.wo * L.sw, c]);
}

/**
 * Pads (or crops, where a pad would be negative) the upsampled gradient so that a stride-1 conv with the
 * flipped kernel yields exactly H x W.
 */
function padForInputGrad(ks: KernelScope, up: tf.TensorInfo, L: Layout): { src: tf.TensorInfo; pads: Pads4 } {
  const hu = up.shape[1], wu = up.shape[2];
  const effH = (L.fh - 1) * L.dh + 1, effW = (L.fw - 1) * L.dw + 1;
  const pt = effH - 1 - L.top, pl = effW - 1 - L.left;
  const pb = L.h + effH - 1 - hu - pt, pr = L.w + effW - 1 - wu - pl;
  const cropT = Math.max(0, -pt), cropB = Math.max(0, -pb), cropL = Math.max(0, -pl), cropR = Math.max(0, -pr);
  const src = ks.slice(up, [0, cropT, cropL, 0], [up.shape[0], hu - cropT - cropB, wu - cropL - cropR, up.shape[3]]);
  const pads: Pads4 = [[0, 0], [Math.max(0, pt), Math.max(0, pb)], [Math.max(0, pl), Math.max(0, pr)], [0, 0]];
  return { src, pads };
}

/** Applies a spatially flipped (sub-)kernel to a gradient with explicit pads: [N,rows,cols,Cin]. */
type FlippedConv = (src: tf.TensorInfo, flipped: tf.TensorInfo, pads: Pads4) => tf.TensorInfo;

/**
 * Input gradient. With stride 1 (or dilation > 1) it is one stride-1 conv of the (zero-upsampled) gradient.
 * With stride s > 1 (dilation 1) the zero-upsampled conv would waste (s^2-1)/s^2 of its work, so we split
 * it by output phase: rows iy = a*s + r - padTop only see the taps k = r, r+s, ..., which is a plain conv of
 * dy with that sub-kernel; the s*s phase results are then interleaved (concat + reshape) and cropped.
 */
function inputGrad(ks: KernelScope, dy: tf.TensorInfo, filter: tf.TensorInfo, L: Layout, cin: number, apply: FlippedConv): tf.TensorInfo {
  if ((L.sh === 1 && L.sw === 1) || L.dh !== 1 || L.dw !== 1) {
    const { src, pads } = padForInputGrad(ks, upsample(ks, dy, L), L);
    return apply(src, ks.reverse(filter, [0, 1]), pads);
  }
  const a = Math.ceil((L.top + L.h) / L.sh), b = Math.ceil((L.left + L.w) / L.sw);
  const dyc = ks.slice(dy, [0, 0, 0, 0], [L.n, Math.min(L.ho, a), Math.min(L.wo, b), dy.shape[3]]);
  const [fh, fw, f2, f3] = filter.shape;
  const columns: tf.TensorInfo[] = [];
  for (let rw = 0; rw < L.sw; rw++) {
    const rows: tf.TensorInfo[] = [];
    for (let rh = 0; rh < L.sh; rh++) {
      const kh = rh < fh ? Math.ceil((fh - rh) / L.sh) : 0, kw = rw < fw ? Math.ceil((fw - rw) / L.sw) : 0;
      let z: tf.TensorInfo;
      if (kh === 0 || kw === 0) {
        z = ks.call('Fill', {}, { shape: [L.n, a, b, cin], value: 0, dtype: 'float32' });
      } else {
        const sub = ks.stridedSlice(filter, [rh, rw, 0, 0], [fh, fw, f2, f3], [L.sh, L.sw, 1, 1]);
        const pads: Pads4 = [[0, 0], [kh - 1, a - dyc.shape[1]], [kw - 1, b - dyc.shape[2]], [0, 0]];
        z = apply(dyc, ks.reverse(sub, [0, 1]), pads);
      }
      rows.push(ks.reshape(z, [L.n, a, 1, b, 1, cin]));
    }
    columns.push(ks.concat(rows, 2));
  }
  const full = ks.reshape(ks.concat(columns, 4), [L.n, a * L.sh, b * L.sw, cin]);
  return ks.slice(full, [0, L.top, L.left, 0], [L.n, L.h, L.w, cin]);
}

export function conv2dBackpropInput(
  backend: tf.KernelBackend, dy: tf.TensorInfo, filter: tf.TensorInfo, inputShape: number[], g: ConvGeometry,
): tf.TensorInfo {
  const ks = new KernelScope(backend);
  const L = layout(inputShape, filter.shape, g, false);
  // flipped [kh,kw,Cin,Cout] -> [kh,kw,Cout,Cin]: a forward conv from Cout back to Cin channels
  const apply: FlippedConv = (src, flipped, pads) => ks.conv2d(src, ks.transpose(flipped, [0, 1, 3, 2]), [1, 1], [L.dh, L.dw], pads);
  return ks.release(inputGrad(ks, dy, filter, L, inputShape[3], apply));
}

export function conv2dBackpropFilter(
  backend: tf.KernelBackend, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[], g: ConvGeometry,
): tf.TensorInfo {
  const ks = new KernelScope(backend);
  const L = layout(x.shape, filterShape, g, false);
  // Rows of x the conv must see: exactly (fh-1)*dh + (Ho-1)*sh + 1 after the top pad.
  const needH = (L.fh - 1) * L.dh + (L.ho - 1) * L.sh + 1 - L.top;
  const needW = (L.fw - 1) * L.dw + (L.wo - 1) * L.sw + 1 - L.left;
  const xc = ks.slice(x, [0, 0, 0, 0], [L.n, Math.min(L.h, needH), Math.min(L.w, needW), x.shape[3]]);
  const xT = ks.transpose(xc, [3, 1, 2, 0]); // [Cin,H,W,N]: batch <-> channels
  const dyT = ks.transpose(dy, [1, 2, 0, 3]); // [Ho,Wo,N,Cout] used as the filter
  const pads: Pads4 = [[0, 0], [L.top, Math.max(0, needH - L.h)], [L.left, Math.max(0, needW - L.w)], [0, 0]];
  const out = ks.conv2d(xT, dyT, [L.dh, L.dw], [L.sh, L.sw], pads); // [Cin,fh,fw,Cout]
  return ks.release(ks.transpose(out, [1, 2, 0, 3]));
}

export function depthwiseBackpropInput(
  backend: tf.KernelBackend, dy: tf.TensorInfo, filter: tf.TensorInfo, inputShape: number[], g: ConvGeometry,
): tf.TensorInfo {
  const ks = new KernelScope(backend);
  const L = layout(inputShape, filter.shape, g, true);
  const [, , c, m] = filter.shape;
  // flipped [kh,kw,C,M] as a multiplier-1 depthwise filter over the C*M gradient channels, then sum over M
  const apply: FlippedConv = (src, flipped, pads) => {
    const [kh, kw] = flipped.shape;
    const out = ks.depthwiseConv2d(src, ks.reshape(flipped, [kh, kw, c * m, 1]), [1, 1], [L.dh, L.dw], pads);
    return m === 1 ? out : ks.sum(ks.reshape(out, [...out.shape.slice(0, 3), c, m]), [4]);
  };
  return ks.release(inputGrad(ks, dy, filter, L, c, apply));
}

/**
 * Depthwise filter gradient dw[ky,kx,c,m] = sum over batch and output positions of x[window] * dy.
 * Up to MAX_XNN_FILTER_TAPS output positions: like conv2dBackpropFilter, a forward conv with dy as the
 * filter, here a depthwise one over N*C channels (x as [1,H,W,N*C], dy as [Ho,Wo,N*C,M]; stride and
 * dilation swap roles), then a sum over N. Larger dy maps: one JavaScript loop (XNNPACK was measured only
 * up to 32x32 filters). Both replace a per-tap Slice + Multiply + Sum over the leading axes (tfjs-wasm runs
 * such a Sum as a transpose plus a reduction), which cost ~10x more and was 60 % of a GhostNet training
 * step; on [128,32,32,48] k3 the XNNPACK form takes half the time of the loop.
 */
const MAX_XNN_FILTER_TAPS = 32 * 32;

export function depthwiseBackpropFilter(
  backend: tf.KernelBackend, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[], g: ConvGeometry,
): tf.TensorInfo {
  const L = layout(x.shape, filterShape, g, true);
  if (L.ho * L.wo > MAX_XNN_FILTER_TAPS) return depthwiseBackpropFilterLoop(backend, x, dy, filterShape, L);
  const ks = new KernelScope(backend);
  const [fh, fw, c, m] = filterShape;
  const needH = (L.fh - 1) * L.dh + (L.ho - 1) * L.sh + 1 - L.top;
  const needW = (L.fw - 1) * L.dw + (L.wo - 1) * L.sw + 1 - L.left;
  const xc = ks.slice(x, [0, 0, 0, 0], [L.n, Math.min(L.h, needH), Math.min(L.w, needW), c]);
  const xT = ks.reshape(ks.transpose(xc, [1, 2, 0, 3]), [1, xc.shape[1], xc.shape[2], L.n * c]);
  const dyT = ks.reshape(ks.transpose(dy, [1, 2, 0, 3]), [L.ho, L.wo, L.n * c, m]);
  const pads: Pads4 = [[0, 0], [L.top, Math.max(0, needH - L.h)], [L.left, Math.max(0, needW - L.w)], [0, 0]];
  const out = ks.depthwiseConv2d(xT, dyT, [L.dh, L.dw], [L.sh, L.sw], pads); // [1,fh,fw,N*C*M]
  return ks.release(ks.reshape(ks.sum(ks.reshape(out, [fh, fw, L.n, c * m]), [2]), [fh, fw, c, m]));
}

/** The same gradient as one loop over the two arrays, accumulated in float64. */
function depthwiseBackpropFilterLoop(
  backend: tf.KernelBackend, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[], L: Layout,
): tf.TensorInfo {
  const [fh, fw, c, m] = filterShape;
  const xs = backend.readSync(x.dataId) as Float32Array;
  const dys = backend.readSync(dy.dataId) as Float32Array;
  const cm = c * m;
  const acc = new Float64Array(fh * fw * cm);
  for (let n = 0; n < L.n; n++) {
    for (let oy = 0; oy < L.ho; oy++) {
      for (let ox = 0; ox < L.wo; ox++) {
        const dyOff = ((n * L.ho + oy) * L.wo + ox) * cm;
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * L.sh - L.top + ky * L.dh;
          if (iy < 0 || iy >= L.h) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * L.sw - L.left + kx * L.dw;
            if (ix < 0 || ix >= L.w) continue;
            const xOff = ((n * L.h + iy) * L.w + ix) * c;
            const aOff = (ky * fw + kx) * cm;
            if (m === 1) {
              for (let ci = 0; ci < c; ci++) acc[aOff + ci] += xs[xOff + ci] * dys[dyOff + ci];
            } else {
              for (let ci = 0; ci < c; ci++) {
                const xv = xs[xOff + ci];
                for (let mi = 0; mi < m; mi++) acc[aOff + ci * m + mi] += xv * dys[dyOff + ci * m + mi];
              }
            }
          }
        }
      }
    }
  }
  const shape = [fh, fw, c, m];
  return { dataId: backend.write(Float32Array.from(acc), shape, 'float32'), shape, dtype: 'float32' };
}
