import type { Dim, TensorData } from '../../../ir/types.js';
import { applyPerm, float32, identityPerm, int64, invertPerm, keyPerm, permKey, scalar, type SrcTensor } from '../builder.js';
import { clip, elu, spatialPadding } from '../emit.js';
import { applyActivation, broadcastConstant, broadcastShapes, broadcastTo, spatialDims, spatialForm, spatialShape } from './common.js';
import { cfgActivation, cfgBool, cfgInts, cfgNumber, cfgPadPairs, cfgString, unsupported, type LayerContext, type LayerTranslator } from './context.js';

/** Normalization, activation, merge, pooling and reshaping layers. */

const INT_MAX = 2147483647;

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Keras BatchNormalization -> BatchNormalization on the IR form where the normalized axis is axis 1. */
export const batchNormalization: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const cfg = ctx.layer.config;
  const rank = b.rankOf(input);
  const rawAxis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
  if (rawAxis.length !== 1) throw unsupported(ctx, `normalizes over several axes (${rawAxis.join(', ')})`);
  const axis = normAxis(Number(rawAxis[0]), rank);
  if (axis === 0) throw unsupported(ctx, 'normalizes over the batch axis');
  const perm = [0, axis, ...identityPerm(rank).filter((a) => a !== 0 && a !== axis)];
  const scale = cfgBool(cfg, 'scale', true);
  const center = cfgBool(cfg, 'center', true);
  let i = 0;
  const gamma = scale ? ctx.weight('gamma', i++)! : undefined;
  const beta = center ? ctx.weight('beta', i++)! : undefined;
  const mean = ctx.weight('moving_mean', i++)!;
  const variance = ctx.weight('moving_variance', i++)!;
  const c = mean.data.length;
  const vec = (t: TensorData | undefined, fill: number): TensorData => float32(t ? t.data : new Float32Array(c).fill(fill), [c]);
  const inputs = [
    b.form(input, perm),
    ctx.weightConst('gamma', () => vec(gamma, 1)),
    ctx.weightConst('beta', () => vec(beta, 0)),
    ctx.weightConst('moving_mean', () => vec(mean, 0)),
    ctx.weightConst('moving_variance', () => vec(variance, 1)),
  ];
  const y = b.op('BatchNormalization', inputs, ctx.hint, { epsilon: cfgNumber(cfg, 'epsilon', 1e-3), momentum: cfgNumber(cfg, 'momentum', 0.99) });
  return b.tensor(y, perm, input.shape, input.dtype);
};

export const activationLayer: LayerTranslator = (ctx, [input]) => applyActivation(ctx, input, cfgActivation(ctx.layer.config));

export const softmaxLayer: LayerTranslator = (ctx, [input]) => {
  const axis = ctx.layer.config.axis;
  return applyActivation(ctx, input, 'softmax', ctx.hint, Array.isArray(axis) ? Number(axis[0]) : typeof axis === 'number' ? axis : -1);
};

/** Keras ReLU: max_value, negative_slope (threshold 0 only). tfjs-layers reads max_value alone. */
export const reluLayer: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const cfg = ctx.layer.config;
  const threshold = cfgNumber(cfg, 'threshold', 0);
  if (threshold !== 0) throw unsupported(ctx, `has threshold ${threshold}; only threshold 0 is supported`);
  const maxValue = typeof cfg.max_value === 'number' ? cfg.max_value : null;
  const slope = cfgNumber(cfg, 'negative_slope', 0);
  const { name: x, perm } = b.anyForm(input);
  let y: string;
  if (slope === 0) y = maxValue === null ? b.op('Relu', [x], ctx.hint) : clip(b, x, 0, maxValue, ctx.hint);
  else {
    y = b.op('LeakyRelu', [x], maxValue === null ? ctx.hint : `${ctx.hint}/leaky`, { alpha: slope });
    if (maxValue !== null) y = clip(b, y, null, maxValue, ctx.hint);
  }
  return b.tensor(y, perm, input.shape);
};

export const leakyReluLayer: LayerTranslator = (ctx, [input]) => {
  const cfg = ctx.layer.config;
  const alpha = typeof cfg.alpha === 'number' ? cfg.alpha : cfgNumber(cfg, 'negative_slope', 0.3);
  const { name: x, perm } = ctx.b.anyForm(input);
  return ctx.b.tensor(ctx.b.op('LeakyRelu', [x], ctx.hint, { alpha }), perm, input.shape);
};

export const eluLayer: LayerTranslator = (ctx, [input]) => {
  const { name: x, perm } = ctx.b.anyForm(input);
  return ctx.b.tensor(elu(ctx.b, x, cfgNumber(ctx.layer.config, 'alpha', 1), ctx.hint), perm, input.shape);
};

/** PReLU: alpha has the input's shape without batch (shared axes set to 1), broadcast like the tensor. */
export const preluLayer: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const alpha = ctx.weight('alpha', 0)!;
  const { name: x, perm } = b.anyForm(input);
  const slope = ctx.weightConst('alpha', () => broadcastTo(alpha, perm.length, perm), perm.join(''));
  return b.tensor(b.op('PRelu', [x, slope], ctx.hint), perm, input.shape);
};

/** Add, Subtract, Multiply, Average, Maximum, Minimum: all inputs in the first input's form. */
function merge(kind: 'Add' | 'Sub' | 'Mul' | 'Average' | 'Maximum' | 'Minimum'): LayerTranslator {
  return (ctx, inputs) => {
    const { b } = ctx;
    const ranks = inputs.map((t) => b.rankOf(t));
    const { perm } = b.anyForm(inputs[0]);
    const sameRank = ranks.every((r) => r === ranks[0]);
    const usePerm = sameRank ? perm : identityPerm(ranks[0]);
    const xs = inputs.map((t) => (sameRank ? b.form(t, usePerm) : b.plain(t)));
    const last = xs.length - 1;
    const hintAt = (i: number) => (i === last && kind !== 'Average' ? ctx.hint : `${ctx.hint}/${i}`);
    let acc = xs[0];
    for (let i = 1; i < xs.length; i++) {
      const x = xs[i];
      if (kind === 'Maximum') acc = b.op('Add', [acc, b.op('Relu', [b.op('Sub', [x, acc], `${ctx.hint}/diff${i}`)], `${ctx.hint}/relu${i}`)], hintAt(i)); // max(a,b) = a + relu(b - a)
      else if (kind === 'Minimum') acc = b.op('Sub', [acc, b.op('Relu', [b.op('Sub', [acc, x], `${ctx.hint}/diff${i}`)], `${ctx.hint}/relu${i}`)], hintAt(i)); // min(a,b) = a - relu(a - b)
      else acc = b.op(kind === 'Average' ? 'Add' : kind, [acc, x], hintAt(i));
    }
    if (kind === 'Average') acc = b.op('Mul', [acc, b.constant(`${ctx.hint}/inv_n`, scalar(1 / xs.length))], ctx.hint);
    return b.tensor(acc, usePerm, broadcastShapes(inputs.map((t) => t.shape)));
  };
}

export const addLayer = merge('Add');
export const subtractLayer = merge('Sub');
export const multiplyLayer = merge('Mul');
export const averageLayer = merge('Average');
export const maximumLayer = merge('Maximum');
export const minimumLayer = merge('Minimum');

export const concatenateLayer: LayerTranslator = (ctx, inputs) => {
  const { b } = ctx;
  const rank = b.rankOf(inputs[0]);
  const axis = normAxis(cfgNumber(ctx.layer.config, 'axis', -1), rank);
  const { perm } = b.anyForm(inputs[0]);
  const y = b.op('Concat', inputs.map((t) => b.form(t, perm)), ctx.hint, { axis: perm.indexOf(axis) });
  let shape: Dim[] | null = null;
  if (inputs.every((t) => t.shape)) {
    shape = inputs[0].shape!.slice();
    const sizes = inputs.map((t) => t.shape![axis]);
    shape[axis] = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, c) => a + c, 0) : null;
  }
  return b.tensor(y, perm, shape);
};

export const zeroPadding2d: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const [[t, bo], [l, r]] = cfgPadPairs(ctx.layer.config, 'padding', 1);
  const { perm, channelsLast } = spatialForm(ctx, input);
  const pads = b.constant(`${ctx.hint}/pads`, int64([0, 0, t, l, 0, 0, bo, r]));
  const y = b.op('Pad', [b.form(input, perm), pads], ctx.hint, { mode: 'constant' });
  const [h, w] = spatialDims(input, channelsLast);
  const hw: [Dim, Dim] = [typeof h === 'number' ? h + t + bo : null, typeof w === 'number' ? w + l + r : null];
  return b.tensor(y, perm, spatialShape(input.shape?.[0] ?? null, channelsOfShape(input, channelsLast), hw, channelsLast));
};

function channelsOfShape(x: SrcTensor, channelsLast: boolean): Dim {
  if (!x.shape) return null;
  return channelsLast ? x.shape[3] : x.shape[1];
}

export const cropping2d: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const [[t, bo], [l, r]] = cfgPadPairs(ctx.layer.config, 'cropping', 0);
  const { perm, channelsLast } = spatialForm(ctx, input);
  const starts = b.constant(`${ctx.hint}/starts`, int64([t, l]));
  const ends = b.constant(`${ctx.hint}/ends`, int64([bo > 0 ? -bo : INT_MAX, r > 0 ? -r : INT_MAX]));
  const axes = b.constant(`${ctx.hint}/axes`, int64([2, 3]));
  const y = b.op('Slice', [b.form(input, perm), starts, ends, axes], ctx.hint);
  const [h, w] = spatialDims(input, channelsLast);
  const hw: [Dim, Dim] = [typeof h === 'number' ? h - t - bo : null, typeof w === 'number' ? w - l - r : null];
  return b.tensor(y, perm, spatialShape(input.shape?.[0] ?? null, channelsOfShape(input, channelsLast), hw, channelsLast));
};

function pooling(opType: 'MaxPool' | 'AveragePool'): LayerTranslator {
  return (ctx, [input]) => {
    const { b } = ctx;
    const cfg = ctx.layer.config;
    const pool = cfgInts(cfg, 'pool_size', 2, [2, 2]);
    const strides = cfg.strides === null || cfg.strides === undefined ? pool : cfgInts(cfg, 'strides', 2, pool);
    const pad = cfgString(cfg, 'padding', 'valid');
    if (pad !== 'same' && pad !== 'valid') throw unsupported(ctx, `uses padding '${pad}'`);
    const { perm, channelsLast } = spatialForm(ctx, input);
    const { attrs, outHW } = spatialPadding(pad, spatialDims(input, channelsLast), pool, strides, [1, 1]);
    const extra: Record<string, number> = opType === 'AveragePool' ? { count_include_pad: 0 } : {};
    const y = b.op(opType, [b.form(input, perm)], ctx.hint, { kernel_shape: pool, strides, ...attrs, ...extra });
    return b.tensor(y, perm, spatialShape(input.shape?.[0] ?? null, channelsOfShape(input, channelsLast), outHW, channelsLast));
  };
}

export const maxPooling2d = pooling('MaxPool');
export const averagePooling2d = pooling('AveragePool');

function globalPooling(opType: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerTranslator {
  return (ctx, [input]) => {
    const { b } = ctx;
    const { perm, channelsLast } = spatialForm(ctx, input);
    const keep = cfgBool(ctx.layer.config, 'keepdims', false);
    const c = channelsOfShape(input, channelsLast);
    const batch = input.shape?.[0] ?? null;
    const pooled = b.op(opType, [b.form(input, perm)], keep ? ctx.hint : `${ctx.hint}/pool`, {}, ctx.hint);
    if (keep) return b.tensor(pooled, perm, spatialShape(batch, c, [1, 1], channelsLast));
    b.info(pooled, 'float32', [batch, c, 1, 1]);
    return b.tensor(b.op('Flatten', [pooled], ctx.hint, { axis: 1 }), [0, 1], [batch, c]);
  };
}

export const globalAveragePooling2d = globalPooling('GlobalAveragePool');
export const globalMaxPooling2d = globalPooling('GlobalMaxPool');

function product(dims: Dim[]): Dim {
  return dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, c) => a * c, 1) : null;
}

/** Keras Flatten flattens the channels-last tensor (channels_first inputs are moved to channels-last first). */
export const flattenLayer: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const rank = b.rankOf(input);
  const channelsFirst = cfgString(ctx.layer.config, 'data_format', 'channels_last') === 'channels_first' && rank > 2;
  const perm = channelsFirst ? [0, ...identityPerm(rank).slice(2), 1] : identityPerm(rank);
  const y = b.op('Flatten', [b.form(input, perm)], ctx.hint, { axis: 1 });
  return b.tensor(y, [0, 1], input.shape ? [input.shape[0], product(input.shape.slice(1))] : null);
};

export const reshapeLayer: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const target = (ctx.layer.config.target_shape as number[]).map(Number);
  const shapeConst = b.constant(`${ctx.hint}/shape`, int64(target.includes(-1) ? [0, ...target] : [-1, ...target]));
  const y = b.op('Reshape', [b.plain(input), shapeConst], ctx.hint);
  let outShape: Dim[] = [input.shape?.[0] ?? null, ...target.map((d) => (d === -1 ? null : d))];
  const total = input.shape ? product(input.shape.slice(1)) : null;
  const known = product(target.filter((d) => d !== -1));
  if (target.includes(-1) && typeof total === 'number' && typeof known === 'number') outShape = outShape.map((d, i) => (i > 0 && target[i - 1] === -1 ? total / known : d));
  return b.tensor(y, identityPerm(outShape.length), outShape);
};

/** Permute moves axes without a node: each held form is re-expressed against the permuted tensor. */
export const permuteLayer: LayerTranslator = (ctx, [input]) => {
  const dims = (ctx.layer.config.dims as number[]).map(Number);
  const q = [0, ...dims];
  const invq = invertPerm(q);
  const rank = q.length;
  const out: SrcTensor = { shape: input.shape ? applyPerm(input.shape, q) : null, dtype: input.dtype, forms: new Map() };
  for (const [key, name] of input.forms) {
    const p = keyPerm(key, rank);
    out.forms.set(permKey(p.map((a) => invq[a])), name);
  }
  return out;
};

export const identityLayer: LayerTranslator = (_ctx, [input]) => input;

export const upSampling2d: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const cfg = ctx.layer.config;
  const [sh, sw] = cfgInts(cfg, 'size', 2, [2, 2]);
  const interpolation = cfgString(cfg, 'interpolation', 'nearest');
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') throw unsupported(ctx, `uses interpolation '${interpolation}'`);
  const { perm, channelsLast } = spatialForm(ctx, input);
  const scales = b.constant(`${ctx.hint}/scales`, float32([1, 1, sh, sw], [4]));
  // tfjs-layers: resizeNearestNeighbor / resizeBilinear with alignCorners = halfPixelCenters = false.
  const y = b.op('Resize', [b.form(input, perm), '', scales], ctx.hint, {
    mode: interpolation === 'nearest' ? 'nearest' : 'linear',
    coordinate_transformation_mode: 'asymmetric',
    nearest_mode: 'floor',
  });
  const [h, w] = spatialDims(input, channelsLast);
  const hw: [Dim, Dim] = [typeof h === 'number' ? h * sh : null, typeof w === 'number' ? w * sw : null];
  return b.tensor(y, perm, spatialShape(input.shape?.[0] ?? null, channelsOfShape(input, channelsLast), hw, channelsLast));
};

function numbersOf(v: unknown): number[] | null {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.flat(8).map(Number);
  return null;
}

/** Rescaling: x * scale + offset (scalars, or per-channel lists along the last axis). */
export const rescalingLayer: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const scale = numbersOf(ctx.layer.config.scale) ?? [1];
  const offset = numbersOf(ctx.layer.config.offset) ?? [0];
  const { name: x, perm } = b.anyForm(input);
  const constOf = (hint: string, v: number[]) => broadcastConstant(b, hint, v.length === 1 ? scalar(v[0]) : float32(v, [v.length]), perm.length, perm);
  let y = b.op('Mul', [x, constOf(`${ctx.hint}/scale`, scale)], offset.every((o) => o === 0) ? ctx.hint : `${ctx.hint}/scaled`);
  if (!offset.every((o) => o === 0)) y = b.op('Add', [y, constOf(`${ctx.hint}/offset`, offset)], ctx.hint);
  return b.tensor(y, perm, input.shape);
};

/** Keras Normalization: (x - mean) / max(sqrt(variance), 1e-7), statistics along `axis` (default -1). */
export const normalizationLayer: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const cfg = ctx.layer.config;
  const rank = b.rankOf(input);
  const mean = ctx.weight('mean', 0, true) ?? (numbersOf(cfg.mean) ? float32(numbersOf(cfg.mean)!, [numbersOf(cfg.mean)!.length]) : undefined);
  const variance = ctx.weight('variance', 1, true) ?? (numbersOf(cfg.variance) ? float32(numbersOf(cfg.variance)!, [numbersOf(cfg.variance)!.length]) : undefined);
  if (!mean || !variance) throw unsupported(ctx, 'has no mean/variance (was it adapted before saving?)');
  if (cfgBool(cfg, 'invert', false)) throw unsupported(ctx, 'is an inverting Normalization');
  const rawAxis = Array.isArray(cfg.axis) ? cfg.axis.map(Number) : [cfg.axis === undefined || cfg.axis === null ? -1 : Number(cfg.axis)];
  if (rawAxis.length !== 1) throw unsupported(ctx, 'normalizes over several axes');
  const axis = normAxis(rawAxis[0], rank);
  const c = mean.data.length;
  // Statistics shaped to broadcast along `axis` of the source tensor.
  const dims = identityPerm(rank).map((a) => (a === axis ? c : 1));
  const inv = Float32Array.from(variance.data, (v) => 1 / Math.max(Math.sqrt(Number(v)), 1e-7));
  const { name: x, perm } = b.anyForm(input);
  const meanC = broadcastConstant(b, `${ctx.hint}/mean`, float32(mean.data, dims), rank, perm);
  const invC = broadcastConstant(b, `${ctx.hint}/inv_std`, float32(inv, dims), rank, perm);
  const y = b.op('Mul', [b.op('Sub', [x, meanC], `${ctx.hint}/centered`), invC], ctx.hint);
  return b.tensor(y, perm, input.shape);
};
