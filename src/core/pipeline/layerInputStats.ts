/**
 * What layer-by-layer quantization needs to know about one layer's inputs, gathered batch by batch:
 * second moments of sampled input columns (float x and quantized-network x~, one set per group) for
 * rounding, and exact column means of x~ over every position for bias correction (which corrects each
 * layer's own weight error on the input it sees in the quantized network: algos/biasCorrection.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { columnSumsNHWC, convGeometry, convOutputRows, sampledColumnsNHWC, sampleRowIndices, SecondMomentAccumulator, type ConvGeometry } from '../algos/secondMoments.js';
import type { SecondMoments } from '../algos/adaptiveRounding.js';
import type { Node } from '../ir/types.js';
import type { CapturedTensor } from '../runtime/types.js';

export interface LayerInputSummary {
  /** One set per group; present when moments were gathered. */
  moments?: (SecondMoments & { meanX: Float32Array; meanXq: Float32Array })[];
  /** Exact column means of the quantized network's input over all positions (length groups * K); present when asked for. */
  meanXq?: Float32Array;
}

export class LayerInputStats {
  private readonly acc?: SecondMomentAccumulator;
  private readonly geometry?: ConvGeometry;
  private sumXq?: tf.Tensor1D;
  private count = 0;

  /**
   * k: columns per group; samplesPerBatch: columns drawn per batch for the moments (0: no moments);
   * means: also keep exact column means of x~.
   */
  constructor(
    private readonly node: Node,
    weightDims: number[],
    private readonly k: number,
    private readonly groups: number,
    private readonly samplesPerBatch: number,
    private readonly means: boolean,
  ) {
    if (node.opType === 'Conv') this.geometry = convGeometry(node.attrs, weightDims);
    if (samplesPerBatch > 0) this.acc = new SecondMomentAccumulator(k, groups);
  }

  /**
   * Adds one batch: the layer's input in the float network and in the quantized one (same images);
   * `moments: false` adds it to the means only.
   */
  add(xf: CapturedTensor, xq: CapturedTensor, seed: number, moments = true): void {
    const g = this.geometry;
    const width = this.k * this.groups;
    const asNhwc = (c: CapturedTensor) => (c.layout === 'NHWC' ? c.tensor : c.tensor.transpose([0, 2, 3, 1])) as tf.Tensor4D;
    const [f, q] = tf.tidy(() => (g ? [asNhwc(xf), asNhwc(xq)] : [xf.tensor.reshape([-1, width]), xq.tensor.reshape([-1, width])]));
    try {
      const total = g ? convOutputRows(f.shape, g) : f.shape[0];
      if (this.acc && moments) {
        const idx = sampleRowIndices(total, this.samplesPerBatch, seed);
        const pick = (t: tf.Tensor) => (g ? sampledColumnsNHWC(t as tf.Tensor4D, g, idx) : tf.tidy(() => tf.gather(t, tf.tensor1d(idx, 'int32')) as tf.Tensor2D));
        const [sf, sq] = [pick(f), pick(q)];
        this.acc.add(sq, sf);
        tf.dispose([sf, sq]);
      }
      if (this.means) {
        tf.tidy(() => {
          const sq = g ? columnSumsNHWC(q as tf.Tensor4D, g).sums : (q.sum(0) as tf.Tensor1D);
          const nq = this.sumXq ? this.sumXq.add(sq) : sq;
          tf.dispose(this.sumXq);
          this.sumXq = tf.keep(nq as tf.Tensor1D);
        });
        this.count += total;
      }
    } finally {
      // the views made here (transposes, reshapes) are ours; the captured tensors are the caller's
      for (const [t, c] of [[f, xf], [q, xq]] as const) if (t !== c.tensor) t.dispose();
    }
  }

  async result(): Promise<LayerInputSummary> {
    const out: LayerInputSummary = {};
    if (this.acc && this.acc.count > 0) out.moments = await this.acc.results();
    if (this.sumXq) {
      const n = this.count;
      out.meanXq = ((await this.sumXq.data()) as Float32Array).map((v) => v / n);
    }
    return out;
  }

  dispose(): void {
    this.acc?.dispose();
    tf.dispose(this.sumXq);
  }
}
