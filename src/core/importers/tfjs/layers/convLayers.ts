import { LocalQuantError } from '../../../errors.js';
import type { Dim, TensorData } from '../../../ir/types.js';
import { identityPerm, transposeData, type SrcTensor } from '../builder.js';
import { spatialPadding } from '../emit.js';
import { applyActivation, spatialDims, spatialForm, spatialShape } from './common.js';
import { cfgActivation, cfgBool, cfgInts, cfgNumber, cfgString, unsupported, type LayerContext, type LayerTranslator } from './context.js';

/**
 * Convolution and dense layers. Weights go to ONNX layouts: Conv2D HWIO -> OIHW; depthwise
 * [kh, kw, C, M] -> [C*M, 1, kh, kw] with group C; Conv2DTranspose [kh, kw, F, C] -> [C, F, kh, kw];
 * Dense [in, out] -> Gemm B = [out, in] with transB = 1.
 */

/** HWIO -> OIHW. */
export function hwioToOihw(k: TensorData): TensorData {
  return transposeData(k, [3, 2, 0, 1]);
}

/** Depthwise [kh, kw, C, M] -> [C*M, 1, kh, kw] (output channel c*M + m, as TF orders them). */
export function depthwiseToOihw(k: TensorData): TensorData {
  const [kh, kw, c, m] = k.dims;
  const t = transposeData({ ...k, dims: [kh, kw, c * m] }, [2, 0, 1]);
  return { ...t, dims: [c * m, 1, kh, kw] };
}

function padding(ctx: LayerContext): 'same' | 'valid' {
  const p = cfgString(ctx.layer.config, 'padding', 'valid');
  if (p !== 'same' && p !== 'valid') throw unsupported(ctx, `uses padding '${p}'`, "Supported paddings: 'same' and 'valid'.");
  return p;
}

interface ConvPlan {
  x: string;
  perm: number[];
  channelsLast: boolean;
  attrs: Record<string, number | number[] | string>;
  outHW: [Dim, Dim];
}

function planConv(ctx: LayerContext, input: SrcTensor, kernel: number[], strides: number[], dilations: number[], pad = padding(ctx)): ConvPlan {
  const { perm, channelsLast } = spatialForm(ctx, input);
  const { attrs, outHW } = spatialPadding(pad, spatialDims(input, channelsLast), kernel, strides, dilations);
  return { x: ctx.b.form(input, perm), perm, channelsLast, attrs: { kernel_shape: kernel, strides, dilations, ...attrs }, outHW };
}

function finishConv(ctx: LayerContext, input: SrcTensor, plan: ConvPlan, y: string, channels: number): SrcTensor {
  const batch = input.shape?.[0] ?? null;
  const out = ctx.b.tensor(y, plan.perm, spatialShape(batch, channels, plan.outHW, plan.channelsLast));
  return applyActivation(ctx, out, cfgActivation(ctx.layer.config));
}

function biasInput(ctx: LayerContext, index: number): string[] {
  if (!cfgBool(ctx.layer.config, 'use_bias', true)) return [];
  return [ctx.weightConst('bias', () => ctx.weight('bias', index)!)];
}

/**
 * The config's kernel_size / filters / units must describe the stored weight, which the translation uses:
 * a mismatch means a damaged or hand-edited model.json, refused rather than silently resolved either way.
 */
function expectConfig(ctx: LayerContext, key: string, expected: number[], weight: TensorData): void {
  const v = ctx.layer.config[key];
  if (v === undefined || v === null) return;
  const got = typeof v === 'number' ? expected.map(() => v) : v;
  if (Array.isArray(got) && got.length === expected.length && got.every((x, i) => x === expected[i])) return;
  throw new LocalQuantError(
    'INVALID_MODEL',
    `Layer '${ctx.layer.name}' (${ctx.layer.className}) has ${key} ${JSON.stringify(v)}, but its weight has shape [${weight.dims.join(', ')}] (${key} ${expected.join('x')}).`,
    'The model.json does not describe its weights (damaged or edited): convert the model again.',
  );
}

const convHint = (ctx: LayerContext) => (cfgActivation(ctx.layer.config) === 'linear' ? ctx.hint : `${ctx.hint}/conv`);

export const conv2d: LayerTranslator = (ctx, [input]) => {
  const cfg = ctx.layer.config;
  const kernel = ctx.weight('kernel', 0)!;
  const ks = kernel.dims.slice(0, 2);
  expectConfig(ctx, 'kernel_size', ks, kernel);
  expectConfig(ctx, 'filters', [kernel.dims[3]], kernel);
  const plan = planConv(ctx, input, ks, cfgInts(cfg, 'strides', 2, [1, 1]), cfgInts(cfg, 'dilation_rate', 2, [1, 1]));
  const w = ctx.weightConst('kernel', () => hwioToOihw(kernel));
  const group = cfgNumber(cfg, 'groups', 1);
  const y = ctx.b.op('Conv', [plan.x, w, ...biasInput(ctx, 1)], convHint(ctx), { ...plan.attrs, group }, ctx.hint);
  return finishConv(ctx, input, plan, y, kernel.dims[3]);
};

export const depthwiseConv2d: LayerTranslator = (ctx, [input]) => {
  const cfg = ctx.layer.config;
  const kernel = ctx.weight('depthwise_kernel', 0)!;
  const [kh, kw, c, m] = kernel.dims;
  expectConfig(ctx, 'kernel_size', [kh, kw], kernel);
  expectConfig(ctx, 'depth_multiplier', [m], kernel);
  const plan = planConv(ctx, input, [kh, kw], cfgInts(cfg, 'strides', 2, [1, 1]), cfgInts(cfg, 'dilation_rate', 2, [1, 1]));
  const w = ctx.weightConst('depthwise_kernel', () => depthwiseToOihw(kernel));
  const y = ctx.b.op('Conv', [plan.x, w, ...biasInput(ctx, 1)], convHint(ctx), { ...plan.attrs, group: c }, ctx.hint);
  return finishConv(ctx, input, plan, y, c * m);
};

export const separableConv2d: LayerTranslator = (ctx, [input]) => {
  const cfg = ctx.layer.config;
  const dk = ctx.weight('depthwise_kernel', 0)!;
  const pk = ctx.weight('pointwise_kernel', 1)!;
  const [kh, kw, c, m] = dk.dims;
  expectConfig(ctx, 'kernel_size', [kh, kw], dk);
  expectConfig(ctx, 'filters', [pk.dims[3]], pk);
  const plan = planConv(ctx, input, [kh, kw], cfgInts(cfg, 'strides', 2, [1, 1]), cfgInts(cfg, 'dilation_rate', 2, [1, 1]));
  const dw = ctx.weightConst('depthwise_kernel', () => depthwiseToOihw(dk));
  const mid = ctx.b.op('Conv', [plan.x, dw], `${ctx.hint}/depthwise`, { ...plan.attrs, group: c }, `${ctx.hint}/depthwise`);
  const pw = ctx.weightConst('pointwise_kernel', () => hwioToOihw(pk));
  const y = ctx.b.op('Conv', [mid, pw, ...biasInput(ctx, 2)], convHint(ctx), { kernel_shape: [1, 1], strides: [1, 1], dilations: [1, 1], group: 1 }, ctx.hint);
  if (input.shape) ctx.b.info(mid, 'float32', [input.shape[0], c * m, ...plan.outHW]);
  return finishConv(ctx, input, plan, y, pk.dims[3]);
};

export const conv2dTranspose: LayerTranslator = (ctx, [input]) => {
  const cfg = ctx.layer.config;
  if (cfg.output_padding !== undefined && cfg.output_padding !== null) throw unsupported(ctx, 'sets output_padding');
  const kernel = ctx.weight('kernel', 0)!; // [kh, kw, F, C]
  const [kh, kw, f] = kernel.dims;
  expectConfig(ctx, 'kernel_size', [kh, kw], kernel);
  expectConfig(ctx, 'filters', [f], kernel);
  const strides = cfgInts(cfg, 'strides', 2, [1, 1]);
  const dilations = cfgInts(cfg, 'dilation_rate', 2, [1, 1]);
  const pad = padding(ctx);
  const { perm, channelsLast } = spatialForm(ctx, input);
  const pads = [0, 0, 0, 0];
  const outputPadding = [0, 0];
  const hw = spatialDims(input, channelsLast);
  const outHW: [Dim, Dim] = [null, null];
  [kh, kw].forEach((k, i) => {
    const effK = (k - 1) * dilations[i] + 1;
    const s = strides[i];
    // Keras: out = in * s (same) or in * s + max(effK - s, 0) (valid); TF crops floor(total / 2) first.
    const total = pad === 'same' ? Math.max(effK - s, 0) : 0;
    pads[i] = Math.floor(total / 2);
    pads[i + 2] = total - pads[i];
    outputPadding[i] = Math.max(s - effK, 0);
    const d = hw[i];
    if (typeof d === 'number') outHW[i] = pad === 'same' ? d * s : d * s + Math.max(effK - s, 0);
  });
  const w = ctx.weightConst('kernel', () => transposeData(kernel, [3, 2, 0, 1]));
  const attrs: Record<string, number | number[]> = { kernel_shape: [kh, kw], strides, dilations, pads, group: 1 };
  if (outputPadding.some((p) => p > 0)) attrs.output_padding = outputPadding;
  const y = ctx.b.op('ConvTranspose', [ctx.b.form(input, perm), w, ...biasInput(ctx, 1)], convHint(ctx), attrs, ctx.hint);
  const out = ctx.b.tensor(y, perm, spatialShape(input.shape?.[0] ?? null, f, outHW, channelsLast));
  return applyActivation(ctx, out, cfgActivation(cfg));
};

export const dense: LayerTranslator = (ctx, [input]) => {
  const { b } = ctx;
  const kernel = ctx.weight('kernel', 0)!; // [in, out]
  const units = kernel.dims[1];
  expectConfig(ctx, 'units', [units], kernel);
  const rank = b.rankOf(input);
  const hint = cfgActivation(ctx.layer.config) === 'linear' ? ctx.hint : `${ctx.hint}/dense`;
  const shape = input.shape ? [...input.shape.slice(0, -1), units] : null;
  let y: string;
  if (rank === 2) {
    const w = ctx.weightConst('kernel', () => transposeData(kernel, [1, 0]));
    y = b.op('Gemm', [b.plain(input), w, ...biasInput(ctx, 1)], hint, { transB: 1 }, ctx.hint);
  } else {
    const w = ctx.weightConst('kernel', () => kernel, 'matmul');
    const bias = biasInput(ctx, 1);
    const mm = b.op('MatMul', [b.plain(input), w], bias.length ? `${ctx.hint}/matmul` : hint, {}, ctx.hint);
    y = bias.length ? b.op('Add', [mm, bias[0]], hint) : mm;
  }
  const out = b.tensor(y, identityPerm(rank), shape);
  return applyActivation(ctx, out, cfgActivation(ctx.layer.config));
};
