import type { Dim } from '../../../ir/types.js';
import { identityPerm, NCHW_FROM_NHWC, transposeData, type SrcTensor } from '../builder.js';
import { spatialPadding } from '../emit.js';
import { depthwiseToOihw, hwioToOihw } from '../layers/convLayers.js';
import { applyTfActivation } from './elementwiseOps.js';
import { constInput, unsupportedOp, type OpContext, type OpTranslator } from './context.js';

/** Conv2D, DepthwiseConv2dNative and their fused forms; MatMul / _FusedMatMul; FusedBatchNorm; pools. */

function layoutOf(ctx: OpContext): { nhwc: boolean; perm: number[]; sp: [number, number] } {
  const nhwc = ctx.attrs.str('data_format', 'NHWC') !== 'NCHW';
  return { nhwc, perm: nhwc ? NCHW_FROM_NHWC : identityPerm(4), sp: nhwc ? [1, 2] : [2, 3] };
}

function spatialOf(x: SrcTensor, sp: [number, number]): [Dim, Dim] {
  return x.shape ? [x.shape[sp[0]], x.shape[sp[1]]] : [null, null];
}

function outShape(x: SrcTensor, nhwc: boolean, c: Dim, hw: [Dim, Dim]): Dim[] {
  const n = x.shape?.[0] ?? null;
  return nhwc ? [n, hw[0], hw[1], c] : [n, c, hw[0], hw[1]];
}

/** Padding attrs for SAME / VALID / EXPLICIT (explicit_paddings in data_format order). */
function padAttrs(ctx: OpContext, x: SrcTensor, sp: [number, number], kernel: number[], strides: number[], dilations: number[]) {
  const padding = ctx.attrs.str('padding', 'VALID');
  if (padding === 'EXPLICIT') {
    const e = ctx.attrs.ints('explicit_paddings');
    const pads = [e[sp[0] * 2], e[sp[1] * 2], e[sp[0] * 2 + 1], e[sp[1] * 2 + 1]];
    const hw = spatialOf(x, sp).map((d, i) => (typeof d === 'number' ? Math.floor((d + pads[i] + pads[i + 2] - ((kernel[i] - 1) * dilations[i] + 1)) / strides[i]) + 1 : null)) as [Dim, Dim];
    return { attrs: { pads }, outHW: hw };
  }
  if (padding !== 'SAME' && padding !== 'VALID') throw unsupportedOp(ctx, `uses padding '${padding}'`);
  return spatialPadding(padding === 'SAME' ? 'same' : 'valid', spatialOf(x, sp), kernel, strides, dilations);
}

export const conv: OpTranslator = (ctx, [x, filter, ...args]) => {
  const { b, node } = ctx;
  const depthwise = node.op.includes('Depthwise');
  const { nhwc, perm, sp } = layoutOf(ctx);
  const k = constInput(ctx, filter, 'filter');
  const [kh, kw, cin, cout] = k.dims;
  const stridesAll = ctx.attrs.ints('strides', [1, 1, 1, 1]);
  const dilAll = ctx.attrs.ints('dilations', [1, 1, 1, 1]);
  const strides = [stridesAll[sp[0]], stridesAll[sp[1]]];
  const dilations = [dilAll[sp[0]], dilAll[sp[1]]];
  const { attrs, outHW } = padAttrs(ctx, x, sp, [kh, kw], strides, dilations);
  const fused = ctx.attrs.strs('fused_ops').map((s) => s.toLowerCase());
  const [extra, act] = fused;
  let bias: string[] = [];
  let argIndex = 0;
  if (extra === 'biasadd') bias = [b.constant(`${ctx.hint}/bias`, constInput(ctx, args[argIndex++], 'bias'))];
  const w = b.constant(`${ctx.hint}/weights`, depthwise ? depthwiseToOihw(k) : hwioToOihw(k));
  const xc = x.shape?.[nhwc ? 3 : 1];
  const group = depthwise ? cin : typeof xc === 'number' && xc !== cin ? xc / cin : 1;
  const outC = depthwise ? cin * cout : cout;
  const more = extra === 'fusedbatchnorm' || (act && act !== 'biasadd');
  let y = b.op('Conv', [b.form(x, perm), w, ...bias], more ? `${ctx.hint}/conv` : ctx.hint, { kernel_shape: [kh, kw], strides, dilations, group, ...attrs }, ctx.hint);
  if (bias.length === 0 && !more) ctx.biasFusable.set(y, b.nodes[b.nodes.length - 1]);
  if (extra === 'fusedbatchnorm') {
    const stats = ['scale', 'offset', 'mean', 'variance'].map((what) => b.constant(`${ctx.hint}/bn_${what}`, constInput(ctx, args[argIndex++], `batch-norm ${what}`)));
    y = b.op('BatchNormalization', [y, ...stats], act ? `${ctx.hint}/bn` : ctx.hint, { epsilon: ctx.attrs.float('epsilon', 1e-3) });
  } else if (extra && extra !== 'biasadd' && !act) {
    return [applyTfActivation(ctx, b.tensor(y, perm, outShape(x, nhwc, outC, outHW)), extra, args[argIndex])];
  }
  const out = b.tensor(y, perm, outShape(x, nhwc, outC, outHW));
  return [act ? applyTfActivation(ctx, out, act, args[argIndex]) : out];
};

export const matMul: OpTranslator = (ctx, [a, bT, ...args]) => {
  const { b } = ctx;
  const transA = ctx.attrs.bool('transpose_a');
  const transB = ctx.attrs.bool('transpose_b');
  const fused = ctx.attrs.strs('fused_ops').map((s) => s.toLowerCase());
  const [extra, act] = fused;
  const rankA = b.rankOf(a);
  let y: string;
  let shape: Dim[] | null = null;
  const hint = fused.length > 1 ? `${ctx.hint}/matmul` : ctx.hint;
  if (bT.constValue && rankA === 2) {
    const w = bT.constValue;
    const wT = transB ? w : transposeData(w, [1, 0]); // Gemm B as [out, in]
    const bias = extra === 'biasadd' ? [b.constant(`${ctx.hint}/bias`, constInput(ctx, args[0], 'bias'))] : [];
    y = b.op('Gemm', [b.plain(a), b.constant(`${ctx.hint}/weights`, wT), ...bias], hint, { transA: transA ? 1 : 0, transB: 1 }, ctx.hint);
    if (bias.length === 0 && fused.length === 0) ctx.biasFusable.set(y, b.nodes[b.nodes.length - 1]);
    shape = [a.shape ? a.shape[transA ? 1 : 0] : null, wT.dims[0]];
  } else {
    if (transA || transB) throw unsupportedOp(ctx, 'transposes a computed operand');
    y = b.op('MatMul', [b.plain(a), b.plain(bT)], extra === 'biasadd' ? `${ctx.hint}/mm` : hint, {}, ctx.hint);
    if (extra === 'biasadd') y = b.op('Add', [y, b.constant(`${ctx.hint}/bias`, constInput(ctx, args[0], 'bias'))], hint);
    shape = a.shape && bT.shape ? [...a.shape.slice(0, -1), bT.shape[bT.shape.length - 1]] : null;
  }
  const out = b.tensor(y, identityPerm(shape?.length ?? rankA), shape);
  if (extra && extra !== 'biasadd') return [applyTfActivation(ctx, out, extra, args[0])];
  return [act ? applyTfActivation(ctx, out, act, args[1]) : out];
};

export const fusedBatchNorm: OpTranslator = (ctx, [x, scale, offset, mean, variance]) => {
  const { b } = ctx;
  if (ctx.attrs.bool('is_training', false)) throw unsupportedOp(ctx, 'is in training mode');
  const rank = b.rankOf(x);
  const { perm } = rank === 4 ? layoutOf(ctx) : { perm: identityPerm(rank) };
  const inputs = [b.form(x, perm), ...[scale, offset, mean, variance].map((t, i) => b.constant(`${ctx.hint}/${['scale', 'offset', 'mean', 'variance'][i]}`, constInput(ctx, t, 'statistics')))];
  const y = b.op('BatchNormalization', inputs, ctx.hint, { epsilon: ctx.attrs.float('epsilon', 1e-3) });
  return [b.tensor(y, perm, x.shape)];
};

export const pool: OpTranslator = (ctx, [x]) => {
  const { b, node } = ctx;
  const { nhwc, perm, sp } = layoutOf(ctx);
  const ks = ctx.attrs.ints('ksize', [1, 1, 1, 1]);
  const st = ctx.attrs.ints('strides', [1, 1, 1, 1]);
  const kernel = [ks[sp[0]], ks[sp[1]]];
  const strides = [st[sp[0]], st[sp[1]]];
  const { attrs, outHW } = padAttrs(ctx, x, sp, kernel, strides, [1, 1]);
  const isMax = node.op.startsWith('MaxPool');
  const y = b.op(isMax ? 'MaxPool' : 'AveragePool', [b.form(x, perm)], ctx.hint, { kernel_shape: kernel, strides, ...attrs, ...(isMax ? {} : { count_include_pad: 0 }) });
  return [b.tensor(y, perm, outShape(x, nhwc, x.shape ? x.shape[nhwc ? 3 : 1] : null, outHW))];
};

/** BiasAdd: joins the preceding Conv/Gemm when it has no bias yet and nothing else reads it. */
export const biasAdd: OpTranslator = (ctx, [x, bias]) => {
  const { b } = ctx;
  const value = constInput(ctx, bias, 'bias');
  const { name, perm } = b.anyForm(x);
  const rank = perm.length;
  const nchwData = ctx.attrs.str('data_format', 'NHWC') === 'NCHW';
  const irChannelAxis = perm.indexOf(nchwData ? 1 : rank - 1);
  const producer = ctx.biasFusable.get(name);
  const input0 = ctx.node.input?.[0] ?? '';
  if (producer && irChannelAxis === 1 && (ctx.consumers.get(input0) ?? 0) === 1) {
    producer.inputs.push(b.constant(`${ctx.hint}/bias`, value));
    ctx.biasFusable.delete(name);
    return [x];
  }
  const dims = identityPerm(rank).map((a) => (a === irChannelAxis ? value.data.length : 1));
  const c = b.constant(`${ctx.hint}/bias`, { ...value, dims });
  return [b.tensor(b.op('Add', [name, c], ctx.hint), perm, x.shape)];
};


/** Conv2DBackpropInput (tf.conv2dTranspose in a graph model): inputs output size, filter [kh, kw, out, in], x. */
export const conv2dBackpropInput: OpTranslator = (ctx, [sizesT, filter, x]) => {
  const { b } = ctx;
  const { nhwc, perm, sp } = layoutOf(ctx);
  const outSize = Array.from(constInput(ctx, sizesT, 'output size').data, Number);
  const k = constInput(ctx, filter, 'filter');
  const [kh, kw, cout] = k.dims;
  const stridesAll = ctx.attrs.ints('strides', [1, 1, 1, 1]);
  const dilAll = ctx.attrs.ints('dilations', [1, 1, 1, 1]);
  const strides = [stridesAll[sp[0]], stridesAll[sp[1]]];
  const dilations = [dilAll[sp[0]], dilAll[sp[1]]];
  const padding = ctx.attrs.str('padding', 'VALID');
  if (padding !== 'SAME' && padding !== 'VALID') throw unsupportedOp(ctx, `uses padding '${padding}'`);
  const inHW = spatialOf(x, sp);
  const pads = [0, 0, 0, 0];
  const outputPadding = [0, 0];
  [kh, kw].forEach((kk, i) => {
    const inSize = inHW[i];
    if (typeof inSize !== 'number') throw unsupportedOp(ctx, 'transposes a convolution over an input of unknown height/width');
    const effK = (kk - 1) * dilations[i] + 1;
    const out = outSize[sp[i]];
    const full = (inSize - 1) * strides[i] + effK;
    // The forward convolution (out -> in) padded floor(total / 2) first; what it did not cover is output_padding.
    const total = padding === 'SAME' ? Math.max(full - out, 0) : 0;
    pads[i] = Math.floor(total / 2);
    pads[i + 2] = total - pads[i];
    outputPadding[i] = out - (full - total);
    if (outputPadding[i] < 0 || outputPadding[i] >= Math.max(strides[i], dilations[i])) throw unsupportedOp(ctx, `asks for an output size ${out} that a transposed convolution cannot give`);
  });
  const attrs: Record<string, number[]> = { kernel_shape: [kh, kw], strides, dilations, pads };
  if (outputPadding.some((p) => p > 0)) attrs.output_padding = outputPadding;
  const w = b.constant(`${ctx.hint}/weights`, transposeData(k, [3, 2, 0, 1]));
  const y = b.op('ConvTranspose', [b.form(x, perm), w], ctx.hint, { ...attrs, group: 1 });
  ctx.biasFusable.set(y, b.nodes[b.nodes.length - 1]);
  const outHW: [Dim, Dim] = [outSize[sp[0]], outSize[sp[1]]];
  return [b.tensor(y, perm, outShape(x, nhwc, cout, outHW))];
};

/** DepthToSpace: TF's channel order is ONNX's DCR mode. (tfjs runs no SpaceToDepth, so no TF.js model has one.) */
export const depthToSpace: OpTranslator = (ctx, [x]) => {
  const { b } = ctx;
  const { nhwc, perm, sp } = layoutOf(ctx);
  const k = ctx.attrs.int('block_size', 0);
  if (!(k >= 1)) throw unsupportedOp(ctx, `has block_size ${k}`);
  const y = b.op('DepthToSpace', [b.form(x, perm)], ctx.hint, { blocksize: k, mode: 'DCR' });
  const times = (d: Dim, f: number): Dim => (typeof d === 'number' ? d * f : null);
  const [h, w] = spatialOf(x, sp);
  return [b.tensor(y, perm, outShape(x, nhwc, times(x.shape?.[nhwc ? 3 : 1] ?? null, 1 / (k * k)), [times(h, k), times(w, k)]))];
};
