/**
 * One layer's weights to integer codes: layout (which axis is the output channel, groups), scales
 * (symmetric, MSE-chosen clip), then nearest or adaptive rounding per group. The result is in the
 * weight's own ONNX layout, ready for the QDQ exporter (QuantizedLayerPlan) and for fake-quant overrides.
 */
import { LocalQuantError } from '../errors.js';
import type { Node, TensorData } from '../ir/types.js';
import type { AdaroundConfig } from '../quant/config.js';
import { qrange } from '../quant/primitives.js';
import { fromRows, perChannelWeightScales, perTensorWeightScale, quantizeRowsNearest, weightAsRows, type WeightScaleMethod } from '../quant/weightScale.js';
import { outputErrorScales } from './outputErrorScales.js';
import { BACKEND_LOSS_FROM_K, backendQuadraticLoss } from './backendQuadraticLoss.js';
import { adaptiveRounding, quadraticLoss, type AdaRoundOptions, type AdaRoundProgress, type SecondMoments } from './adaptiveRounding.js';

export interface WeightLayout {
  opType: string;
  /** Output-channel axis in the ONNX weight (DequantizeLinear axis). */
  axis: number;
  cOut: number;
  /** Inputs per output channel: C_in/group * kh * kw (conv) or the Gemm inner dimension. */
  k: number;
  groups: number;
  /** kh * kw, 1 for Gemm/MatMul. */
  kernelSize: number;
  /** Input channels seen by one group. */
  cinPerGroup: number;
}

export function weightLayout(node: Node, weight: TensorData): WeightLayout {
  const d = weight.dims;
  if (node.opType === 'Conv') {
    if (d.length < 3) throw new LocalQuantError('BAD_WEIGHTS', `weight of ${node.name} has dims ${JSON.stringify(d)}; a Conv weight is (C_out, C_in/group, k...)`);
    const groups = typeof node.attrs.group === 'number' ? node.attrs.group : 1;
    const kernelSize = d.slice(2).reduce((a, b) => a * b, 1);
    return { opType: 'Conv', axis: 0, cOut: d[0], k: d[1] * kernelSize, groups, kernelSize, cinPerGroup: d[1] };
  }
  if (node.opType === 'Gemm' || node.opType === 'MatMul') {
    if (d.length !== 2) throw new LocalQuantError('BAD_WEIGHTS', `weight of ${node.name} must be 2-D to quantize; dims ${JSON.stringify(d)}`);
    const axis = node.opType === 'Gemm' && node.attrs.transB ? 0 : 1;
    const cOut = d[axis];
    const k = d[1 - axis];
    return { opType: node.opType, axis, cOut, k, groups: 1, kernelSize: 1, cinPerGroup: k };
  }
  throw new LocalQuantError('UNSUPPORTED_OP', `weights of ${node.opType} (${node.name}) are not quantized`, 'Only Conv, Gemm and MatMul weights are quantized; other layers stay float.');
}

export interface LayerWeightOptions {
  bits: number;
  perChannel: boolean;
  rounding: 'adaptive' | 'nearest';
  /**
   * Weight clip choice: 'output' (default when per channel with moments) picks each channel's clip by the
   * layer's output error on the moments (algos/outputErrorScales.ts); 'mse' by the weight error (default
   * otherwise); 'max' is min-max.
   */
  scaleMethod?: LayerScaleMethod;
  /** One per group, K x K with K = cinPerGroup * kernelSize. Required for 'adaptive'. */
  moments?: SecondMoments[];
  adaround?: Partial<AdaroundConfig>;
  engine?: AdaRoundOptions['engine'];
  onProgress?: (p: AdaRoundProgress & { group: number; groups: number }) => void;
  progressEvery?: number;
  signal?: AbortSignal;
}

export type LayerScaleMethod = WeightScaleMethod | 'output';

export interface LayerWeightResult {
  /** The clip choice applied (see LayerWeightOptions.scaleMethod). */
  scaleMethod: LayerScaleMethod;
  /** Integer codes in the weight's ONNX layout and dims. */
  codes: Int8Array;
  /** Per output channel (length C_out), or length 1 for per tensor. */
  scales: Float32Array;
  axis: number;
  bits: number;
  /** Summed over groups; present when moments were given. */
  nearestLoss?: number;
  adaptiveLoss?: number;
  /** Fraction of codes that differ from round-to-nearest. */
  flippedFraction: number;
  /** Groups where adaptive rounding ended worse than nearest (nearest was kept). */
  groupsKeptNearest: number;
  seconds: number;
}

/** Output-error scales group by group (each group's rows see that group's inputs). */
async function groupOutputErrorScales(rows: Float32Array, lay: WeightLayout, moments: SecondMoments[], bits: number): Promise<Float32Array> {
  if (moments.length !== lay.groups) throw new LocalQuantError('INTERNAL', `${moments.length} second-moment sets for ${lay.groups} groups`);
  const per = lay.cOut / lay.groups;
  const out = new Float32Array(lay.cOut);
  for (let g = 0; g < lay.groups; g++) out.set(await outputErrorScales(rows.subarray(g * per * lay.k, (g + 1) * per * lay.k), per, moments[g], { bits }), g * per);
  return out;
}

export async function quantizeLayerWeights(node: Node, weight: TensorData, o: LayerWeightOptions): Promise<LayerWeightResult> {
  const t0 = performance.now();
  if (weight.dtype !== 'float32') throw new LocalQuantError('BAD_WEIGHTS', `weight of ${node.name} is ${weight.dtype}, expected float32`);
  const lay = weightLayout(node, weight);
  const { rows } = weightAsRows(weight.data as Float32Array, weight.dims, lay.axis);
  const scaleMethod: LayerScaleMethod = o.scaleMethod ?? (o.perChannel && o.moments ? 'output' : 'mse');
  if (scaleMethod === 'output' && !(o.perChannel && o.moments)) throw new LocalQuantError('INTERNAL', `${node.name}: output-error scales need per-channel scales and the input second moments`);
  const scalesPerRow = scaleMethod === 'output' ? await groupOutputErrorScales(rows, lay, o.moments!, o.bits)
    : o.perChannel ? perChannelWeightScales(rows, lay.cOut, { bits: o.bits, method: scaleMethod })
      : new Float32Array(lay.cOut).fill(perTensorWeightScale(rows, { bits: o.bits, method: scaleMethod }));
  const nearest = quantizeRowsNearest(rows, scalesPerRow, o.bits);
  let codesRows = nearest;
  let nearestLoss: number | undefined;
  let adaptiveLoss: number | undefined;
  let groupsKeptNearest = 0;

  if (o.moments) {
    if (o.moments.length !== lay.groups) throw new LocalQuantError('INTERNAL', `${node.name}: ${o.moments.length} second-moment sets for ${lay.groups} groups`);
    for (const m of o.moments) if (m.k !== lay.k) throw new LocalQuantError('INTERNAL', `${node.name}: second moments are ${m.k}x${m.k}, layer has K = ${lay.k}`);
  } else if (o.rounding === 'adaptive') {
    throw new LocalQuantError('INTERNAL', `${node.name}: adaptive rounding needs the input second moments`);
  }

  if (o.moments) {
    const { qmin, qmax } = qrange(o.bits, true);
    const outPerGroup = lay.cOut / lay.groups;
    codesRows = new Int8Array(nearest.length);
    nearestLoss = 0;
    adaptiveLoss = 0;
    for (let gi = 0; gi < lay.groups; gi++) {
      const r0 = gi * outPerGroup;
      const problem = {
        weights: rows.subarray(r0 * lay.k, (r0 + outPerGroup) * lay.k),
        cOut: outPerGroup,
        scales: scalesPerRow.subarray(r0, r0 + outPerGroup),
        qmin,
        qmax,
        moments: o.moments[gi],
      };
      if (o.rounding === 'adaptive') {
        const a = o.adaround ?? {};
        const res = await adaptiveRounding(problem, {
          iterations: a.iterations,
          lr: a.lr,
          lambda: a.lambda,
          betaStart: a.betaStart,
          betaEnd: a.betaEnd,
          warmup: a.warmup,
          engine: o.engine,
          progressEvery: o.progressEvery,
          signal: o.signal,
          onProgress: o.onProgress ? (p) => o.onProgress!({ ...p, group: gi, groups: lay.groups }) : undefined,
        });
        codesRows.set(res.codes, r0 * lay.k);
        nearestLoss += res.nearestLoss;
        adaptiveLoss += res.loss;
        if (res.usedNearest) groupsKeptNearest++;
      } else {
        const nq = nearest.subarray(r0 * lay.k, (r0 + outPerGroup) * lay.k);
        codesRows.set(nq, r0 * lay.k);
        // reported only: on the backend for wide layers (backendQuadraticLoss.ts)
        const l = lay.k >= BACKEND_LOSS_FROM_K ? await backendQuadraticLoss(nq, problem) : quadraticLoss(nq, problem);
        nearestLoss += l;
        adaptiveLoss += l;
      }
    }
  }

  let flipped = 0;
  for (let i = 0; i < nearest.length; i++) if (codesRows[i] !== nearest[i]) flipped++;
  return {
    scaleMethod,
    codes: fromRows(codesRows, weight.dims, lay.axis),
    scales: o.perChannel ? scalesPerRow : Float32Array.of(scalesPerRow[0]),
    axis: lay.axis,
    bits: o.bits,
    nearestLoss,
    adaptiveLoss,
    flippedFraction: flipped / nearest.length,
    groupsKeptNearest,
    seconds: (performance.now() - t0) / 1000,
  };
}
