/**
 * Per-layer sensitivity to weight bit width (ZeroQ): the network's output divergence from the float
 * network when only that layer's weights are quantized at b bits (round to nearest, the run's weight
 * grid: per-channel or per-tensor MSE scales), everything else float, on the calibration images.
 * Classifiers (one [N, C] output): mean KL(softmax(float) || softmax(quantized)) per image; anything else:
 * mean squared output error relative to the float output's mean square (a detector's maps, features).
 */
import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../../errors.js';
import type { Graph } from '../../ir/types.js';
import { dequantizedWeight } from '../../quant/fakeQuant.js';
import type { QuantLayer } from '../../quant/quantPoints.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { quantizeLayerWeights } from '../layerWeights.js';

export type SensitivityMetric = 'kl' | 'relative-mse';

export interface LayerSensitivity {
  metric: SensitivityMetric;
  images: number;
  /** Layer name -> bits -> divergence. */
  values: Map<string, Map<number, number>>;
}

export interface SensitivityOptions {
  perChannel: boolean;
  /** Most calibration images used (default 64: one executor batch). */
  images?: number;
  signal?: AbortSignal;
}

export async function layerSensitivity(
  folded: Graph,
  layers: { layer: QuantLayer; bits: number[] }[],
  calibration: { images: Float32Array; shape: number[] },
  o: SensitivityOptions,
): Promise<LayerSensitivity> {
  const n = Math.min(o.images ?? 64, calibration.shape[0]);
  const per = calibration.shape.slice(1).reduce((a, b) => a * b, 1);
  const exec = new GraphExecutor(folded);
  const input = folded.inputs[0].name;
  const output = folded.outputs[0].name;
  const x = tf.tensor(calibration.images.subarray(0, n * per), [n, ...calibration.shape.slice(1)]);
  const forward = async (overrides?: Map<string, tf.Tensor>): Promise<Float32Array> => {
    const r = exec.execute({ [input]: x }, overrides ? { overrides } : {});
    try {
      return Float32Array.from(await r.outputs.get(output)!.data());
    } finally {
      tf.dispose([...r.outputs.values()]);
    }
  };
  try {
    const ref = await forward();
    const classes = ref.length / n;
    const metric: SensitivityMetric = folded.outputs.length === 1 && classes > 1 && (folded.outputs[0].shape?.length ?? 2) === 2 ? 'kl' : 'relative-mse';
    // float64 on the host: a confident classifier's softmax is one-hot in float32, and its KL would read 0
    const logP = metric === 'kl' ? logSoftmaxRows(ref, classes) : undefined;
    const refPower = ref.reduce((a, v) => a + v * v, 0) / ref.length || 1;
    const values = new Map<string, Map<number, number>>();
    for (const { layer, bits } of layers) {
      const w = folded.initializers.get(layer.weightName)!;
      const byBits = new Map<number, number>();
      for (const b of bits) {
        if (o.signal?.aborted) throw new LocalQuantError('CANCELLED', 'The run was cancelled.');
        const q = await quantizeLayerWeights(layer.node, w, { bits: b, perChannel: o.perChannel, rounding: 'nearest' });
        const wq = tf.tensor(dequantizedWeight(q.codes, q.scales, w.dims, q.axis), w.dims);
        let y: Float32Array;
        try {
          y = await forward(new Map([[layer.weightName, wq]]));
        } finally {
          wq.dispose();
        }
        byBits.set(b, logP ? meanKl(logP, logSoftmaxRows(y, classes), classes) : y.reduce((a, v, i) => a + (v - ref[i]) ** 2, 0) / y.length / refPower);
      }
      values.set(layer.node.name, byBits);
    }
    return { metric, images: n, values };
  } finally {
    x.dispose();
    exec.dispose();
  }
}

function logSoftmaxRows(logits: Float32Array, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length; r += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[r + c] - max);
    const lse = max + Math.log(sum);
    for (let c = 0; c < classes; c++) out[r + c] = logits[r + c] - lse;
  }
  return out;
}

/** Mean over rows of KL(p || q) from log-probabilities. */
function meanKl(logP: Float64Array, logQ: Float64Array, classes: number): number {
  let total = 0;
  for (let i = 0; i < logP.length; i++) total += Math.exp(logP[i]) * (logP[i] - logQ[i]);
  return Math.max(0, total / (logP.length / classes));
}
