/**
 * Per-channel signal and quantization noise of one activation on its per-tensor grid, accumulated over
 * calibration batches. A per-tensor grid is sized by the widest channel; in a network with folded
 * BatchNorm and depthwise convolutions (MobileNet-style backbones) some channels span 1/50 of the
 * widest, so the grid drowns them, and the depthwise conv after them (one input channel per output
 * channel, scaled back up by its folded BN) passes that noise on undiluted. The tensor's SQNR does not
 * show this; the channels' SQNR does.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorLayout } from '../runtime/types.js';
import { fakeQuantTensor } from './fakeQuant.js';
import type { ActivationQParams } from './observers.js';

/** The value as rows x channels (channels last); undefined when it has no channel axis (rank < 2). */
export function channelsLast(x: tf.Tensor, layout: TensorLayout): tf.Tensor2D | undefined {
  if (x.rank < 2) return undefined;
  const moved = layout === 'NCHW' || (layout === 'plain' && x.rank > 2) ? tf.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]) : x;
  return tf.reshape(moved, [-1, x.shape[layout === 'NHWC' ? x.rank - 1 : 1]]) as tf.Tensor2D;
}

export class ChannelNoise {
  channels = 0;
  private rows = 0;
  private sum = new Float64Array(0);
  private sumSq = new Float64Array(0);
  private noiseSq = new Float64Array(0);

  /** Adds one batch of the float value `x` quantized on `grid`. Reads back asynchronously: a synchronous read fails on WebGPU. */
  async add(x: tf.Tensor, layout: TensorLayout, grid: Pick<ActivationQParams, 'scale' | 'zeroPoint' | 'bits' | 'signed'>): Promise<void> {
    const parts = tf.tidy(() => {
      const m = channelsLast(x, layout);
      if (!m) return undefined;
      const err = tf.sub(fakeQuantTensor(m, grid), m);
      return [tf.sum(m, 0), tf.sum(tf.square(m), 0), tf.sum(tf.square(err), 0), m.shape[0]] as const;
    });
    if (!parts) return;
    const [s, s2, n2, rows] = parts;
    const data = (await Promise.all([s, s2, n2].map((t) => t.data()))) as Float32Array[];
    tf.dispose([s, s2, n2]);
    if (this.channels === 0) {
      this.channels = data[0].length;
      this.sum = new Float64Array(this.channels);
      this.sumSq = new Float64Array(this.channels);
      this.noiseSq = new Float64Array(this.channels);
    }
    if (data[0].length !== this.channels) throw new RangeError(`channel count changed from ${this.channels} to ${data[0].length}`);
    for (let c = 0; c < this.channels; c++) {
      this.sum[c] += data[0][c];
      this.sumSq[c] += data[1][c];
      this.noiseSq[c] += data[2][c];
    }
    this.rows += rows;
  }

  /** Variance of each channel over every position and image. */
  variance(): Float64Array {
    const v = new Float64Array(this.channels);
    for (let c = 0; c < this.channels; c++) {
      const mean = this.sum[c] / Math.max(1, this.rows);
      v[c] = Math.max(0, this.sumSq[c] / Math.max(1, this.rows) - mean * mean);
    }
    return v;
  }

  /** Mean squared quantization error of each channel. */
  noise(): Float64Array {
    return this.noiseSq.map((n) => n / Math.max(1, this.rows));
  }
}
