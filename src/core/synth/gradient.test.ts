import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { initBackend } from '../runtime/backends.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { collectBatchNormStats } from './batchNormStats.js';
import { makeBatchNormTargets } from './bnLoss.js';
import { findImageInput } from './graphInput.js';
import { graphSynthesisModel } from './graphModel.js';
import { resolveSynthesisOptions } from './options.js';
import { SeededRandom } from './prng.js';
import { synthesisObjective } from './synthesizer.js';

/**
 * dL/dx of the synthesis objective through the real executor (tfjs cpu, float32) against central finite
 * differences of an independent float64 implementation of the same tiny network:
 * input [2,2,5,5] -> Conv(3, 3x3, pad 1) -> BN -> Relu -> Conv(4, 3x3, pad 1) -> BN.
 */
const N = 2, C0 = 2, H = 5, W = 5, C1 = 3, C2 = 4, EPS = 1e-5;
const rng = new SeededRandom(11);
const arr = (n: number, s = 1, off = 0) => Array.from({ length: n }, () => off + s * rng.normal());
const w1 = arr(C1 * C0 * 9, 0.5);
const w2 = arr(C2 * C1 * 9, 0.4);
const bn = (c: number) => ({ scale: arr(c, 0.3, 1), bias: arr(c, 0.2), mean: arr(c, 0.5), var: arr(c).map((v) => 0.4 + Math.abs(v)) });
const bn1 = bn(C1);
const bn2 = bn(C2);
const opts = resolveSynthesisOptions({ firstBnMultiplier: 3, inputStatsWeight: 0.7, tvWeight: 0.2, l2Weight: 0.05 });

function onnxModel(): Uint8Array {
  const init = (name: string, dims: number[], data: number[]) => ({ name, dims, data });
  const bnInits = (p: string, b: ReturnType<typeof bn>, c: number) => [
    init(`${p}.scale`, [c], b.scale), init(`${p}.bias`, [c], b.bias), init(`${p}.mean`, [c], b.mean), init(`${p}.var`, [c], b.var),
  ];
  const bnNode = (p: string, x: string, y: string) => ({
    opType: 'BatchNormalization', name: p, inputs: [x, `${p}.scale`, `${p}.bias`, `${p}.mean`, `${p}.var`], outputs: [y], attrs: { epsilon: { f: EPS } },
  });
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: ['N', C0, H, W] }],
    outputs: [{ name: 'out', shape: ['N', C2, H, W] }],
    initializers: [init('w1', [C1, C0, 3, 3], w1), init('w2', [C2, C1, 3, 3], w2), ...bnInits('bn1', bn1, C1), ...bnInits('bn2', bn2, C2)],
    nodes: [
      { opType: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      bnNode('bn1', 'c1', 'b1'),
      { opType: 'Relu', inputs: ['b1'], outputs: ['r1'] },
      { opType: 'Conv', inputs: ['r1', 'w2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      bnNode('bn2', 'c2', 'out'),
    ],
  });
}

// ---- float64 reference ----
type T4 = Float64Array; // NCHW
function conv(x: T4, cin: number, w: number[], cout: number): T4 {
  const y = new Float64Array(N * cout * H * W);
  for (let n = 0; n < N; n++) for (let o = 0; o < cout; o++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    let s = 0;
    for (let c = 0; c < cin; c++) for (let ki = 0; ki < 3; ki++) for (let kj = 0; kj < 3; kj++) {
      const ii = i + ki - 1, jj = j + kj - 1;
      if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
      s += x[((n * cin + c) * H + ii) * W + jj] * w[((o * cin + c) * 3 + ki) * 3 + kj];
    }
    y[((n * cout + o) * H + i) * W + j] = s;
  }
  return y;
}
function moments(x: T4, c: number): { mean: number[]; std: number[] } {
  const mean: number[] = [], std: number[] = [];
  const m = N * H * W;
  for (let k = 0; k < c; k++) {
    let s = 0, s2 = 0;
    for (let n = 0; n < N; n++) for (let p = 0; p < H * W; p++) s += x[(n * c + k) * H * W + p];
    const mu = s / m;
    for (let n = 0; n < N; n++) for (let p = 0; p < H * W; p++) s2 += (x[(n * c + k) * H * W + p] - mu) ** 2;
    mean.push(mu);
    std.push(Math.sqrt(s2 / m + EPS));
  }
  return { mean, std };
}
function layerLoss(x: T4, c: number, b: ReturnType<typeof bn>): number {
  const { mean, std } = moments(x, c);
  let s = 0;
  for (let k = 0; k < c; k++) s += (mean[k] - b.mean[k]) ** 2 + (std[k] - Math.sqrt(b.var[k] + EPS)) ** 2;
  return s / c;
}
function referenceLoss(x: T4): number {
  const c1 = conv(x, C0, w1, C1);
  const r1 = new Float64Array(c1.length);
  for (let n = 0; n < N; n++) for (let k = 0; k < C1; k++) for (let p = 0; p < H * W; p++) {
    const i = (n * C1 + k) * H * W + p;
    r1[i] = Math.max(0, ((c1[i] - bn1.mean[k]) / Math.sqrt(bn1.var[k] + EPS)) * bn1.scale[k] + bn1.bias[k]);
  }
  const c2 = conv(r1, C1, w2, C2);
  let loss = opts.firstBnMultiplier * layerLoss(c1, C1, bn1) + layerLoss(c2, C2, bn2);
  // prior: input stats (target mean 0, std 1 per channel, each averaged over channels), TV, L2
  const { mean, std } = moments(x, C0);
  let st = 0, ss = 0;
  for (let k = 0; k < C0; k++) { st += mean[k] ** 2; ss += (std[k] - 1) ** 2; }
  loss += opts.inputStatsWeight * (st / C0 + ss / C0);
  let tvv = 0, tvh = 0, l2 = 0;
  for (let n = 0; n < N; n++) for (let k = 0; k < C0; k++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    const v = x[((n * C0 + k) * H + i) * W + j];
    l2 += v * v;
    if (i + 1 < H) tvv += (x[((n * C0 + k) * H + i + 1) * W + j] - v) ** 2;
    if (j + 1 < W) tvh += (x[((n * C0 + k) * H + i) * W + j + 1] - v) ** 2;
  }
  loss += opts.tvWeight * (tvv / (N * C0 * (H - 1) * W) + tvh / (N * C0 * H * (W - 1)));
  loss += opts.l2Weight * (l2 / (N * C0 * H * W));
  return loss;
}

describe('gradient of the synthesis objective', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  let cleanup: (() => void) | undefined;
  afterAll(() => cleanup?.());

  it('matches float64 central finite differences through the executor', () => {
    const graph = importOnnx(onnxModel());
    const stats = collectBatchNormStats(graph);
    expect(stats.map((s) => s.inputValue)).toEqual(['c1', 'c2']);
    const model = graphSynthesisModel(graph, stats, findImageInput(graph));
    const targets = makeBatchNormTargets(stats, opts.bnWeight, opts.firstBnMultiplier);
    cleanup = () => { model.dispose(); targets.dispose(); };
    const x0 = Float64Array.from(arr(N * C0 * H * W));
    const before = tf.memory().numTensors;
    const [lossTf, grad] = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(x0), [N, C0, H, W]);
      const f = (xi: tf.Tensor) => synthesisObjective(model, targets, opts, xi as tf.Tensor4D).loss;
      const { value, grad: g } = tf.valueAndGrad(f)(x);
      return [value.dataSync()[0], g.dataSync() as Float32Array];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(lossTf).toBeCloseTo(referenceLoss(x0), 4);
    const gmax = Math.max(...Array.from(grad, Math.abs));
    const h = 1e-4;
    // Several coordinates spread over images, channels and the border / interior of the image.
    for (const i of [0, 7, 12, 24, 31, 49, 50, 63, 77, 88, 99]) {
      const xp = Float64Array.from(x0); xp[i] += h;
      const xm = Float64Array.from(x0); xm[i] -= h;
      const fd = (referenceLoss(xp) - referenceLoss(xm)) / (2 * h);
      expect(Math.abs(grad[i] - fd)).toBeLessThan(2e-4 * gmax + 1e-3 * Math.abs(fd));
    }
  });
});
