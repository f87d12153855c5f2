/**
 * Experiment (issue 14, not in the product): Genie-style calibration images for the shared ResNet-20 (Jeon et al.
 * 2023): a small generator (linear -> 8x8 -> two upsample+conv+BN+LeakyReLU stages -> conv -> BN without affine)
 * and one latent per image, both learned per batch with Adam on the pipeline's synthesis objective (BN statistics
 * plus image prior, same jitter and flips). Measured 2026-12-01 (docs/benchmarks/block-w4a4-synthesis-steps-2026-12-01.json):
 * 256 images x 120 steps, BN loss 0.34-0.38, ~4x the CPU of pixel synthesis per step; W4A4 block reconstruction
 * 90.61 mean over seeds 0,1,2, against 90.46 for 80-step and 90.69 for 40-step pixel synthesis.
 *
 * Run: npx tsx bench/generatorSynthesis.ts [--images 256] [--steps 120] [--lr-g 0.01] [--lr-z 0.1] [--ngf 64] [--tag genie]
 * then: cp ../shared/fixtures/cifar10/resnet20_bn.onnx /tmp/resnet20_genie.onnx &&
 *       npx tsx bench/quant.ts --model /tmp/resnet20_genie.onnx --cache --images 256 --steps 80 --rows w4a4-adaptive-block200 --seeds 0,1,2
 * (the images are written as bench-results/synth-cache-resnet20_<tag>-<images>-80.f32, the cache that --model reads).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { importModel } from '../src/core/importers/index.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { collectBatchNormStats } from '../src/core/synth/batchNormStats.js';
import { makeBatchNormTargets } from '../src/core/synth/bnLoss.js';
import { findImageInput } from '../src/core/synth/graphInput.js';
import { graphSynthesisModel } from '../src/core/synth/graphModel.js';
import { resolveSynthesisOptions } from '../src/core/synth/options.js';
import { synthesisObjective } from '../src/core/synth/synthesizer.js';
import { augment, clampToPixelRange } from '../src/core/synth/imagePrior.js';
import { SeededRandom } from '../src/core/synth/prng.js';
import { CIFAR_MEAN, CIFAR_STD } from '../src/core/testing/fixtures.js';
import { arg, resnet20Setup } from './lib/resnet20Bench.js';

await initBackend('wasm');
const nImages = Number(arg('images', '256'));
const steps = Number(arg('steps', '120'));
const batch = Number(arg('batch', '64'));
const lrG = Number(arg('lr-g', '0.01'));
const lrZ = Number(arg('lr-z', '0.1'));
const ngf = Number(arg('ngf', '64'));
const tag = arg('tag', 'genie');
const { files } = await resnet20Setup(100);
const graph = importModel(files);
const stats = collectBatchNormStats(graph);
const model = graphSynthesisModel(graph, stats, findImageInput(graph));
const norm = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] };
const o = resolveSynthesisOptions({ normalization: norm });
const targets = makeBatchNormTargets(stats, o.bnWeight, o.firstBnMultiplier);
const rng = new SeededRandom(7);
const he = (shape: number[], fanIn: number) => tf.variable(tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)).map((v) => v * Math.sqrt(2 / fanIn)), shape));
const bn = (x: tf.Tensor4D, g?: tf.Variable, b?: tf.Variable) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  return (g ? tf.add(tf.mul(y, g), b!) : y) as tf.Tensor4D;
};
const up = (x: tf.Tensor4D) => tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);
const all = new Float32Array(nImages * 3 * 32 * 32);
const t0 = performance.now();
for (let s = 0; s < nImages; s += batch) {
  const n = Math.min(batch, nImages - s);
  const z = tf.variable(tf.tensor(rng.normalArray(n * 128), [n, 128]));
  const p = {
    w0: he([128, 8 * 8 * ngf], 128), g0: tf.variable(tf.ones([ngf])), b0: tf.variable(tf.zeros([ngf])),
    w1: he([3, 3, ngf, ngf], 9 * ngf), g1: tf.variable(tf.ones([ngf])), b1: tf.variable(tf.zeros([ngf])),
    w2: he([3, 3, ngf, ngf / 2], 9 * ngf), g2: tf.variable(tf.ones([ngf / 2])), b2: tf.variable(tf.zeros([ngf / 2])),
    w3: he([3, 3, ngf / 2, 3], 9 * ngf / 2),
  };
  const G = () => {
    let h = bn(tf.reshape(tf.matMul(z, p.w0), [n, 8, 8, ngf]) as tf.Tensor4D, p.g0, p.b0);
    h = tf.leakyRelu(bn(tf.conv2d(up(h), p.w1 as tf.Tensor4D, 1, 'same'), p.g1, p.b1), 0.2);
    h = tf.leakyRelu(bn(tf.conv2d(up(h), p.w2 as tf.Tensor4D, 1, 'same'), p.g2, p.b2), 0.2);
    const img = bn(tf.conv2d(h, p.w3 as tf.Tensor4D, 1, 'same')); // GDFQ: BatchNorm without affine at the output
    return tf.transpose(img, [0, 3, 1, 2]) as tf.Tensor4D;
  };
  const optG = tf.train.adam(lrG, 0.5, 0.999);
  const optZ = tf.train.adam(lrZ, 0.5, 0.999);
  const aug = new SeededRandom(100 + s);
  let last = 0;
  for (let step = 0; step < steps; step++) {
    const cos = 0.5 * (1 + Math.cos((Math.PI * step) / steps));
    (optG as unknown as { learningRate: number }).learningRate = lrG * cos;
    (optZ as unknown as { learningRate: number }).learningRate = lrZ * cos;
    const a = { dy: aug.int(-2, 2), dx: aug.int(-2, 2), flip: aug.next() < 0.5 };
    const gvars = Object.values(p);
    const { value, grads } = tf.variableGrads(() => {
      const x = G();
      const { loss, parts } = synthesisObjective(model, targets, o, augment(x, a));
      parts.dispose();
      return loss;
    }, [...gvars, z]);
    const gz = { [z.name]: grads[z.name] };
    delete grads[z.name];
    optG.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optG.applyGradients>[0]);
    optZ.applyGradients(gz as Parameters<typeof optZ.applyGradients>[0]);
    last = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads), gz[z.name]]);
    if (step % 25 === 0 || step === steps - 1) console.log(`batch ${s / batch} step ${step} loss ${last.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const bnEnd = tf.tidy(() => synthesisObjective(model, targets, o, G()).parts.dataSync()[0]);
  const x = tf.tidy(() => clampToPixelRange(G(), norm));
  all.set(await x.data(), s * 3 * 32 * 32);
  console.log(`batch ${s / batch}: BN loss ${bnEnd.toFixed(3)}`);
  tf.dispose([x, z, ...Object.values(p)]);
  optG.dispose();
  optZ.dispose();
}
targets.dispose();
model.dispose();
mkdirSync('bench-results', { recursive: true });
const path = `bench-results/synth-cache-resnet20_${tag}-${nImages}-80.f32`;
writeFileSync(path, new Uint8Array(all.buffer));
console.log(`${path}: ${((performance.now() - t0) / 1000).toFixed(0)} s, tensors ${tf.memory().numTensors}`);
