/**
 * Cost of a gradient step relative to a forward pass, on a ResNet-20-shaped network (CIFAR, option-A
 * shortcuts, 19 conv+BN layers) with a BatchNorm-statistics loss, as data-free synthesis uses it.
 *
 *   npx tsx bench/gradStep.ts [--batches 32,64] [--reps 5] [--cpu-batches 32] [--no-cpu] [--no-layers] [--no-onnx] [--no-synthetic]
 *
 * Also times the real pipeline on /work/shared/fixtures/cifar10/resnet20_bn.onnx (importModel + prepareGraph +
 * GraphExecutor via graphSynthesisModel, loss = synth/bnLoss batchNormLoss), unless --no-onnx.
 *
 * Backends: wasm with tfjs's own kernels ("wasm-tfjs"), wasm with our gradient kernels ("wasm-fast"), cpu.
 * Writes bench-results/gradStep.json.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { importModel } from '../src/core/importers/index';
import { prepareGraph } from '../src/core/ir/prepare';
import { collectBatchNormStats } from '../src/core/synth/batchNormStats';
import { batchNormLoss, makeBatchNormTargets } from '../src/core/synth/bnLoss';
import { findImageInput } from '../src/core/synth/graphInput';
import { graphSynthesisModel } from '../src/core/synth/graphModel';
import { cifarFixture } from '../src/core/testing/fixtures';
import { initBackend } from '../src/core/runtime/backends';
import { channelMoments } from '../src/core/runtime/channelMoments';
import { registerWasmGradKernels, unregisterWasmGradKernels } from '../src/core/runtime/wasmGradKernels';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const batches = arg('batches', '32,64').split(',').map(Number);
const cpuBatches = flag('no-cpu') ? [] : arg('cpu-batches', '32').split(',').map(Number);
const reps = Number(arg('reps', '5'));

// ---- model -------------------------------------------------------------------------------------

function seeded(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

interface ConvBn { w: tf.Tensor4D; scale: tf.Tensor1D; shift: tf.Tensor1D; mean: tf.Tensor1D; variance: tf.Tensor1D; stride: number }

interface Model { layers: ConvBn[]; fc: tf.Tensor2D }

function makeModel(): Model {
  const layers: ConvBn[] = [];
  let seed = 10;
  const convBn = (cin: number, cout: number, stride: number): ConvBn => {
    const n = 9 * cin * cout;
    return {
      w: tf.tensor4d(seeded(n, seed++, Math.sqrt(6 / (9 * cin))), [3, 3, cin, cout]),
      scale: tf.tensor1d(seeded(cout, seed++, 0.2).map((v) => 1 + v)),
      shift: tf.tensor1d(seeded(cout, seed++, 0.1)),
      mean: tf.tensor1d(seeded(cout, seed++, 0.3)),
      variance: tf.tensor1d(seeded(cout, seed++, 0.3).map((v) => 1 + v)),
      stride,
    };
  };
  layers.push(convBn(3, 16, 1));
  let cin = 16;
  for (const cout of [16, 32, 64]) {
    for (let b = 0; b < 3; b++) {
      const stride = b === 0 && cout !== cin ? 2 : 1;
      layers.push(convBn(cin, cout, stride), convBn(cout, cout, 1));
      cin = cout;
    }
  }
  return { layers, fc: tf.tensor2d(seeded(64 * 10, 99, 0.1), [64, 10]) };
}

/** Option-A shortcut: subsample by 2 (reshape + slice, since StridedSlice has no gradient) and zero-pad channels. */
function shortcutA(x: tf.Tensor4D, cout: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const r = tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]);
  const s = tf.reshape(tf.slice(r, [0, 0, 0, 0, 0, 0], [n, h / 2, 1, w / 2, 1, c]), [n, h / 2, w / 2, c]);
  const p = (cout - c) / 2;
  return tf.pad(s, [[0, 0], [0, 0], [0, 0], [p, p]]) as tf.Tensor4D;
}

/**
 * Forward pass; returns logits and the BN-statistics loss (sum over BN layers of squared differences between
 * the batch mean/variance of the conv output and the layer's running statistics).
 */
type MomentsFn = (y: tf.Tensor4D) => { mean: tf.Tensor; variance: tf.Tensor };
const tfMoments: MomentsFn = (y) => tf.moments(y, [0, 1, 2]);

function forward(m: Model, x: tf.Tensor4D, moments: MomentsFn, weights?: tf.Tensor4D[]): { logits: tf.Tensor2D; bnLoss: tf.Scalar } {
  const terms: tf.Scalar[] = [];
  let i = 0;
  const convBn = (h: tf.Tensor4D, relu: boolean): tf.Tensor4D => {
    const L = m.layers[i];
    const w = weights ? weights[i] : L.w;
    i++;
    const y = tf.conv2d(h, w, L.stride, 'same');
    const { mean, variance } = moments(y);
    terms.push(tf.add(tf.sum(tf.squaredDifference(mean, L.mean)), tf.sum(tf.squaredDifference(variance, L.variance))));
    const bn = tf.add(tf.mul(y, L.scale), L.shift) as tf.Tensor4D;
    return relu ? tf.relu(bn) : bn;
  };
  let h = convBn(x, true);
  for (let b = 0; b < 9; b++) {
    const stride = m.layers[i].stride;
    const cout = m.layers[i].w.shape[3];
    const short = stride === 2 ? shortcutA(h, cout) : h;
    const a = convBn(h, true);
    const c = convBn(a, false);
    h = tf.relu(tf.add(c, short)) as tf.Tensor4D;
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  // tf.addN silently returns zeros for 8+ inputs on webgpu; a running sum is safe everywhere.
  const bnLoss = terms.reduce((acc, t) => tf.add(acc, t)) as tf.Scalar;
  return { logits: tf.matMul(pooled, m.fc), bnLoss };
}

// ---- timing ------------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Runs the closures round-robin (one warm-up round) and returns min and median per closure. The min is the
 * figure to compare: this machine is shared, and interference only ever adds time.
 */
function timeInterleaved(fs: Array<() => void>, n: number): Array<{ min: number; median: number }> {
  for (const f of fs) f();
  const ts = fs.map(() => [] as number[]);
  for (let r = 0; r < n; r++) {
    fs.forEach((f, i) => {
      const t0 = performance.now();
      f();
      ts[i].push(performance.now() - t0);
    });
  }
  return ts.map((t) => ({ min: Math.min(...t), median: median(t) }));
}

function time(f: () => void, n: number): number {
  return timeInterleaved([f], n)[0].min;
}

interface StepRow {
  backend: string;
  moments: 'tf.moments' | 'channelMoments';
  batch: number;
  forwardMs: number;
  inputGradMs: number;
  ratio: number;
  inputAndWeightGradMs?: number;
  weightRatio?: number;
  medians: { forwardMs: number; inputGradMs: number; inputAndWeightGradMs?: number };
}

function measureSteps(label: string, batch: number, n: number, withWeights: boolean, useChannelMoments = false): StepRow {
  const model = makeModel();
  const moments: MomentsFn = useChannelMoments ? channelMoments : tfMoments;
  const x = tf.tensor4d(seeded(batch * 32 * 32 * 3, 7, 1), [batch, 32, 32, 3]);
  const before = tf.memory().numTensors;
  const lossOf = (xx: tf.Tensor4D, ws?: tf.Tensor4D[]) => {
    const { logits, bnLoss } = forward(model, xx, moments, ws);
    return tf.add(bnLoss, tf.sum(tf.square(logits))) as tf.Scalar;
  };
  const fwd = () => {
    const loss = tf.tidy(() => lossOf(x));
    loss.dataSync();
    loss.dispose();
  };
  const gradX = tf.valueAndGrad((xx: tf.Tensor) => lossOf(xx as tf.Tensor4D));
  const stepX = () => tf.tidy(() => {
    const { value, grad } = gradX(x);
    grad.dataSync();
    return value;
  }).dispose();
  const ws = model.layers.map((L) => L.w);
  const stepXW = () => tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads((xx: tf.Tensor, ...w: tf.Tensor[]) => lossOf(xx as tf.Tensor4D, w as tf.Tensor4D[]))([x, ...ws]);
    for (const g of grads) g.dataSync();
    return value;
  }).dispose();
  const [f, g, gw] = timeInterleaved(withWeights ? [fwd, stepX, stepXW] : [fwd, stepX], n);
  const row: StepRow = {
    backend: label, moments: useChannelMoments ? 'channelMoments' : 'tf.moments', batch,
    forwardMs: f.min, inputGradMs: g.min, ratio: g.min / f.min,
    medians: { forwardMs: f.median, inputGradMs: g.median, inputAndWeightGradMs: gw?.median },
  };
  if (gw) {
    row.inputAndWeightGradMs = gw.min;
    row.weightRatio = gw.min / f.min;
  }
  if (tf.memory().numTensors !== before) throw new Error(`${label}: tensor leak (${tf.memory().numTensors - before})`);
  x.dispose();
  for (const L of model.layers) for (const t of [L.w, L.scale, L.shift, L.mean, L.variance]) t.dispose();
  model.fc.dispose();
  return row;
}

/** The synthesis objective's BN part on the real ResNet-20 through the project's executor. */
function measureOnnx(label: string, batch: number, n: number): StepRow {
  const bytes = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
  const imported = importModel([{ name: 'resnet20_bn.onnx', bytes }]);
  const input = findImageInput(imported);
  const graph = prepareGraph(imported, { [input.name]: [batch, ...input.imageShape] });
  const stats = collectBatchNormStats(graph);
  const model = graphSynthesisModel(graph, stats, input);
  const targets = makeBatchNormTargets(stats, 1, 1);
  const x = tf.tensor4d(seeded(batch * 3 * 32 * 32, 7, 1), [batch, 3, 32, 32]);
  const before = tf.memory().numTensors;
  const lossOf = (xx: tf.Tensor4D) => batchNormLoss(model.captureBatchNormInputs(xx), targets).weighted;
  const fwd = () => {
    const loss = tf.tidy(() => lossOf(x));
    loss.dataSync();
    loss.dispose();
  };
  const gradX = tf.valueAndGrad((xx: tf.Tensor) => lossOf(xx as tf.Tensor4D));
  const stepX = () => tf.tidy(() => {
    const { value, grad } = gradX(x);
    grad.dataSync();
    return value;
  }).dispose();
  const [f, g] = timeInterleaved([fwd, stepX], n);
  if (tf.memory().numTensors !== before) throw new Error(`${label}: tensor leak (${tf.memory().numTensors - before})`);
  x.dispose();
  targets.dispose();
  model.dispose();
  return {
    backend: label, moments: 'tf.moments', batch, forwardMs: f.min, inputGradMs: g.min, ratio: g.min / f.min,
    medians: { forwardMs: f.median, inputGradMs: g.median },
  };
}

// ---- per-layer kernels: forward conv vs input and filter gradients -------------------------------

interface LayerRow { layer: string; forwardMs: number; dxTfjsMs: number; dxFastMs: number; dwConvMs: number; dwIm2colMs: number }

/** Filter gradient by im2col (one strided window per tap, concatenated) and a matmul: the alternative we measured. */
function filterGradIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const [, ho, wo, cout] = dy.shape;
    const total = (ho - 1) * stride + k;
    const padBefore = Math.max(0, Math.floor((total - h) / 2));
    const xp = tf.pad(x, [[0, 0], [padBefore, Math.max(0, total - h - padBefore)], [padBefore, Math.max(0, total - w - padBefore)], [0, 0]]);
    const cols: tf.Tensor[] = [];
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++) {
        cols.push(tf.stridedSlice(xp, [0, ky, kx, 0], [n, ky + (ho - 1) * stride + 1, kx + (wo - 1) * stride + 1, c], [1, stride, stride, 1]));
      }
    }
    const patches = tf.reshape(tf.concat(cols, 3), [n * ho * wo, k * k * c]);
    return tf.reshape(tf.matMul(patches, tf.reshape(dy, [n * ho * wo, cout]), true, false), [k, k, c, cout]);
  });
}

function measureLayers(batch: number, n: number): LayerRow[] {
  const shapes: Array<[string, number, number, number, number]> = [
    ['32x32 16->16', 32, 16, 16, 1],
    ['32x32 16->32 s2', 32, 16, 32, 2],
    ['16x16 32->32', 16, 32, 32, 1],
    ['16x16 32->64 s2', 16, 32, 64, 2],
    ['8x8 64->64', 8, 64, 64, 1],
  ];
  const rows: LayerRow[] = [];
  for (const [name, hw, cin, cout, stride] of shapes) {
    const x = tf.tensor4d(seeded(batch * hw * hw * cin, 3, 1), [batch, hw, hw, cin]);
    const w = tf.tensor4d(seeded(9 * cin * cout, 4, 0.1), [3, 3, cin, cout]);
    const ho = hw / stride;
    const dy = tf.tensor4d(seeded(batch * ho * ho * cout, 5, 1), [batch, ho, ho, cout]);
    const run = (f: () => tf.Tensor) => time(() => {
      const t = f();
      t.dataSync();
      t.dispose();
    }, n);
    const forwardMs = run(() => tf.conv2d(x, w, stride, 'same'));
    unregisterWasmGradKernels();
    const dxTfjsMs = run(() => tf.conv2dTranspose(dy, w, x.shape, stride, 'same'));
    registerWasmGradKernels();
    const dxFastMs = run(() => tf.conv2dTranspose(dy, w, x.shape, stride, 'same'));
    const dwConvMs = run(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', filterShape: w.shape } as unknown as tf.NamedAttrMap) as tf.Tensor);
    const dwIm2colMs = run(() => filterGradIm2col(x, dy, 3, stride));
    rows.push({ layer: name, forwardMs, dxTfjsMs, dxFastMs, dwConvMs, dwIm2colMs });
    tf.dispose([x, w, dy]);
  }
  return rows;
}

// ---- main --------------------------------------------------------------------------------------

const fmt = (v: number | undefined, d = 1) => (v == null ? '-' : v.toFixed(d));

async function main(): Promise<void> {
  const info = await initBackend('wasm');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  console.log(`backend: ${info.reason}`);
  const steps: StepRow[] = [];
  for (const batch of flag('no-synthetic') ? [] : batches) {
    unregisterWasmGradKernels();
    steps.push(measureSteps('wasm-tfjs', batch, reps, false));
    registerWasmGradKernels();
    steps.push(measureSteps('wasm-fast', batch, reps, true));
    steps.push(measureSteps('wasm-fast', batch, reps, true, true));
    console.log(`batch ${batch} done`);
  }
  const onnx: StepRow[] = [];
  if (!flag('no-onnx')) {
    for (const batch of batches) {
      unregisterWasmGradKernels();
      try {
        onnx.push(measureOnnx('wasm-tfjs', batch, reps));
      } catch (e) {
        console.log(`wasm-tfjs on the ONNX model failed: ${(e as Error).message}`);
      }
      registerWasmGradKernels();
      onnx.push(measureOnnx('wasm-fast', batch, reps));
      console.log(`onnx batch ${batch} done`);
    }
  }
  let layers: LayerRow[] = [];
  if (!flag('no-layers')) layers = measureLayers(32, reps);
  if (cpuBatches.length) {
    await initBackend('cpu');
    for (const batch of cpuBatches) steps.push(measureSteps('cpu', batch, Math.min(reps, 2), false));
  }

  console.log('\nGradient step vs forward (ResNet-20 shape, BN-statistics loss; min ms over interleaved reps)');
  console.log('backend    moments         batch  forward  grad(x)  ratio  grad(x,W)  ratio');
  for (const r of steps) {
    console.log(`${r.backend.padEnd(10)} ${r.moments.padEnd(15)} ${String(r.batch).padStart(5)} ${fmt(r.forwardMs).padStart(8)} ${fmt(r.inputGradMs).padStart(8)} ${fmt(r.ratio, 2).padStart(6)} ${fmt(r.inputAndWeightGradMs).padStart(10)} ${fmt(r.weightRatio, 2).padStart(6)}`);
  }
  if (onnx.length) {
    console.log('\nReal resnet20_bn.onnx through GraphExecutor, loss = batchNormLoss (min ms)');
    console.log('backend    batch  forward  grad(x)  ratio');
    for (const r of onnx) {
      console.log(`${r.backend.padEnd(10)} ${String(r.batch).padStart(5)} ${fmt(r.forwardMs).padStart(8)} ${fmt(r.inputGradMs).padStart(8)} ${fmt(r.ratio, 2).padStart(6)}`);
    }
  }
  if (layers.length) {
    console.log('\nPer layer, batch 32, wasm (min ms): forward conv, input grad (tfjs kernel / ours), filter grad (conv trick / im2col+matmul)');
    console.log('layer              forward  dx-tfjs  dx-fast  dw-conv  dw-im2col');
    for (const r of layers) {
      console.log(`${r.layer.padEnd(18)} ${fmt(r.forwardMs).padStart(7)} ${fmt(r.dxTfjsMs).padStart(8)} ${fmt(r.dxFastMs).padStart(8)} ${fmt(r.dwConvMs).padStart(8)} ${fmt(r.dwIm2colMs).padStart(10)}`);
    }
  }
  mkdirSync('bench-results', { recursive: true });
  const out = { date: new Date().toISOString(), node: process.version, wasm: { simd, threads }, reps, steps, onnx, layers };
  writeFileSync('bench-results/gradStep.json', JSON.stringify(out, null, 2));
  console.log('\nwrote bench-results/gradStep.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
