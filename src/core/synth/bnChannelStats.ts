/**
 * The thing synthesis optimizes, made visible: per BatchNorm layer, the current batch's channel means and
 * stds next to the stored running statistics. Computed without gradients at preview time.
 */
import * as tf from '@tensorflow/tfjs';
import { channelMoments } from '../runtime/channelMoments.js';
import { statisticAxes } from './bnLoss.js';
import type { BnChannelStats } from './progress.js';
import type { SynthesisModel } from './synthesizer.js';

export async function bnChannelStats(model: SynthesisModel, x: tf.Tensor4D): Promise<BnChannelStats[]> {
  const present: number[] = [];
  const packed = tf.tidy(() => {
    const captured = model.captureBatchNormInputs(x);
    const rows: tf.Tensor2D[] = [];
    model.batchNorms.forEach((s, i) => {
      const t = captured.get(s.inputValue);
      if (!t) return;
      const { mean, variance } = channelMoments(t.tensor, statisticAxes(t));
      rows.push(tf.stack([mean.reshape([-1]), tf.sqrt(tf.add(variance.reshape([-1]), s.epsilon))]) as tf.Tensor2D);
      present.push(i);
    });
    return rows;
  });
  const out: BnChannelStats[] = [];
  for (const [k, p] of packed.entries()) {
    const s = model.batchNorms[present[k]];
    const d = (await p.data()) as Float32Array;
    const c = d.length / 2;
    out.push({
      name: s.nodeName,
      mean: d.slice(0, c),
      std: d.slice(c),
      targetMean: s.mean.slice(),
      targetStd: Float32Array.from(s.variance, (v) => Math.sqrt(Math.max(v, 0) + s.epsilon)),
    });
  }
  tf.dispose(packed);
  return out;
}
