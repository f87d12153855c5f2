import * as tf from '@tensorflow/tfjs';
import { channelMoments } from '../runtime/channelMoments.js';
import type { CapturedTensor } from '../runtime/types.js';
import type { BatchNormStats } from './batchNormStats.js';
import { LocalQuantError } from '../errors.js';

/** Axes over which a BN input's per-channel batch statistics are taken. */
export function statisticAxes(t: CapturedTensor): number[] {
  const rank = t.tensor.rank;
  if (t.layout === 'NHWC') return [0, 1, 2];
  // NCHW and plain ([N, C], [N, C, L], [N, C, H, W]): every axis but the channel axis 1.
  const axes: number[] = [0];
  for (let a = 2; a < rank; a++) axes.push(a);
  return axes;
}

/** Target mean and std of each BN layer, as tensors (create once per synthesis, dispose at the end). */
export interface BatchNormTargets {
  stats: BatchNormStats[];
  mean: tf.Tensor1D[];
  std: tf.Tensor1D[];
  /** Per-layer weights w_l (bnWeight, times firstBnMultiplier on the first). */
  weights: number[];
  dispose(): void;
}

export function makeBatchNormTargets(stats: BatchNormStats[], bnWeight: number, firstBnMultiplier: number): BatchNormTargets {
  const mean = stats.map((s) => tf.tensor1d(s.mean));
  // sigma = sqrt(running_var + eps), matched against sqrt(batch_var + eps): smooth at var = 0.
  const std = stats.map((s) => tf.tensor1d(Float32Array.from(s.variance, (v) => Math.sqrt(Math.max(v, 0) + s.epsilon))));
  const weights = stats.map((_, i) => bnWeight * (i === 0 ? firstBnMultiplier : 1));
  return {
    stats,
    mean,
    std,
    weights,
    dispose() {
      tf.dispose([...mean, ...std]);
    },
  };
}

export interface BatchNormLoss {
  /** sum_l w_l * L_l (scalar). */
  weighted: tf.Scalar;
  /** L_l per layer, unweighted: (||mean - mu||^2 + ||std - sigma||^2) / channels. Shape [layers]. */
  perLayer: tf.Tensor1D;
}

/**
 * BN-statistics loss of one forward pass, from the captured BN inputs. Differentiable; call inside a
 * gradient scope. The caller disposes the captured tensors (or runs in a tidy).
 */
export function batchNormLoss(captured: Map<string, CapturedTensor>, targets: BatchNormTargets): BatchNormLoss {
  return tf.tidy(() => {
    const layer: tf.Scalar[] = targets.stats.map((s, i) => {
      const t = captured.get(s.inputValue);
      if (!t) throw new LocalQuantError('INTERNAL', `BatchNorm input '${s.inputValue}' was not captured.`);
      const axes = statisticAxes(t);
      // channelMoments: same values as tf.moments, with a one-pass fused gradient.
      const { mean, variance } = channelMoments(t.tensor, axes);
      if (mean.size !== s.channels) {
        throw new LocalQuantError(
          'BAD_WEIGHTS',
          `BatchNormalization '${s.nodeName}' stores ${s.channels} channels but its input has ${mean.size}.`,
        );
      }
      const std = tf.sqrt(tf.add(variance, s.epsilon));
      const dm = tf.sum(tf.square(tf.sub(mean, targets.mean[i])));
      const ds = tf.sum(tf.square(tf.sub(std, targets.std[i])));
      return tf.div(tf.add(dm, ds), s.channels) as tf.Scalar;
    });
    const perLayer = tf.stack(layer) as tf.Tensor1D;
    const w = tf.tensor1d(targets.weights);
    // A dot product rather than addN: addN of many tensors is unreliable on webgpu.
    const weighted = tf.sum(tf.mul(perLayer, w)) as tf.Scalar;
    return { weighted, perLayer };
  });
}
