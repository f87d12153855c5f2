/**
 * End-to-end check of the quantization algorithms on the shared ResNet-20 (real CIFAR-10 calibration
 * images): BN folding -> activation ranges -> layer-by-layer weight rounding (nearest or adaptive, on
 * the inputs of the already-quantized network) -> QDQ ONNX -> top-1 in onnxruntime-node on held-out
 * test images. Compare with the reference table in docs/method.md ("real" calibration column).
 *
 * Run: npx tsx bench/quantResnet20.ts --wbits 4 --abits 8 --rounding adaptive [--calib 256] [--iters 1000]
 *      [--eval 10000] [--samples 8192] [--observer mse] [--out /tmp/q.onnx]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { quantizeLayerWeights, weightLayout } from '../src/core/algos/layerWeights.js';
import { convGeometry, im2colNHWC, sampleRowIndices, SecondMomentAccumulator } from '../src/core/algos/secondMoments.js';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../src/core/data/cifar10.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { buildQdqGraph, type QuantizationPlan } from '../src/core/exporters/qdq/qdqOnnxExporter.js';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import { foldBatchNorm } from '../src/core/ir/passes/foldBatchNorm.js';
import type { Node, TensorData } from '../src/core/ir/types.js';
import { dequantizedWeight, fakeQuantTensor } from '../src/core/quant/fakeQuant.js';
import { activationQParams, RangeHistogram, type ActivationQParams, type ObserverMethod } from '../src/core/quant/observers.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { GraphExecutor } from '../src/core/runtime/executor.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const wbits = Number(arg('wbits', '4'));
const abits = Number(arg('abits', '8'));
const rounding = arg('rounding', 'adaptive') as 'adaptive' | 'nearest';
const nCalib = Number(arg('calib', '256'));
const iters = Number(arg('iters', '1000'));
const nEval = Number(arg('eval', '10000'));
const maxSamples = Number(arg('samples', '8192'));
const observer = arg('observer', 'mse') as ObserverMethod;
const outPath = arg('out', '');
const BATCH = 64;

function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function top1(model: Uint8Array, images: Float32Array, labels: Uint8Array): Promise<number> {
  const session = await ort.InferenceSession.create(model);
  const per = 3 * 32 * 32;
  let correct = 0;
  for (let s = 0; s < labels.length; s += 500) {
    const m = Math.min(500, labels.length - s);
    const out = await session.run({ input: new ort.Tensor('float32', images.subarray(s * per, (s + m) * per), [m, 3, 32, 32]) });
    const pred = argmaxRows(out.logits.data as Float32Array, m, 10);
    for (let i = 0; i < m; i++) if (pred[i] === labels[s + i]) correct++;
  }
  return (100 * correct) / labels.length;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const info = await initBackend('wasm');
  console.log(`backend ${info.name}: ${info.reason}`);
  const modelBytes = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
  const { graph } = foldBatchNorm(importOnnx(modelBytes));
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const order = shuffled(set.count, 1);
  const calib = cifar10Batch(set, order.slice(0, nCalib), CIFAR_MEAN, CIFAR_STD);
  const evalSet = cifar10Batch(set, order.slice(nCalib, nCalib + nEval), CIFAR_MEAN, CIFAR_STD);
  const per = 3 * 32 * 32;
  const batches: tf.Tensor4D[] = [];
  for (let s = 0; s < nCalib; s += BATCH) batches.push(tf.tensor4d(calib.images.subarray(s * per, Math.min(nCalib, s + BATCH) * per), [Math.min(BATCH, nCalib - s), 3, 32, 32]));

  const exec = new GraphExecutor(graph);
  const inputName = graph.inputs[0].name;
  const layers = graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm');
  const actNames = abits < 32 ? [inputName, ...graph.nodes.filter((n) => n.opType === 'Relu').map((n) => n.outputs[0])] : [];

  // 1. activation ranges on the float network (the network input always 8 bit)
  const hists = new Map(actNames.map((n) => [n, new RangeHistogram()]));
  for (const b of batches) {
    const r = exec.execute({ [inputName]: b }, { capture: actNames });
    for (const [n, c] of r.captured) {
      hists.get(n)!.observe(await c.tensor.data());
      c.tensor.dispose();
    }
    tf.dispose([...r.outputs.values()]);
  }
  const actQ = new Map<string, ActivationQParams>();
  for (const [n, h] of hists) actQ.set(n, activationQParams(h, { bits: n === inputName ? 8 : abits, method: observer }));
  const hook = actQ.size ? (name: string, v: { tensor: tf.Tensor }) => (actQ.has(name) ? fakeQuantTensor(v.tensor, actQ.get(name)!) : undefined) : undefined;
  const tRanges = performance.now();

  // 2. weights, layer by layer, on inputs from the already-quantized network
  const overrides = new Map<string, tf.Tensor>();
  const plan: QuantizationPlan = { layers: [], activations: Object.fromEntries(actQ) };
  let nearSum = 0;
  let adaSum = 0;
  for (const [li, node] of layers.entries()) {
    const weight = graph.initializers.get(node.inputs[1]) as TensorData;
    const lay = weightLayout(node, weight);
    const bits = li === 0 || li === layers.length - 1 ? 8 : wbits;
    const inp = node.inputs[0];
    const acc = new SecondMomentAccumulator(lay.k);
    for (const [bi, b] of batches.entries()) {
      const xf = exec.execute({ [inputName]: b }, { capture: [inp], stopAfterCaptures: true }).captured.get(inp)!;
      const xq = exec.execute({ [inputName]: b }, { capture: [inp], stopAfterCaptures: true, hook, overrides }).captured.get(inp)!;
      const cols = (c: { tensor: tf.Tensor; layout: string }): tf.Tensor2D => tf.tidy(() => {
        if (node.opType === 'Gemm') return c.tensor.reshape([c.tensor.shape[0], -1]) as tf.Tensor2D;
        const nhwc = (c.layout === 'NHWC' ? c.tensor : c.tensor.transpose([0, 2, 3, 1])) as tf.Tensor4D;
        return im2colNHWC(nhwc, convGeometry(node.attrs, weight.dims));
      });
      const cf = cols(xf);
      const cq = cols(xq);
      const want = Math.ceil(maxSamples / batches.length);
      const idx = sampleRowIndices(cf.shape[0], want, 1000 * li + bi);
      const [sf, sq] = tf.tidy(() => [tf.gather(cf, idx), tf.gather(cq, idx)] as tf.Tensor2D[]);
      acc.add(sq, sf);
      tf.dispose([xf.tensor, xq.tensor, cf, cq, sf, sq]);
    }
    const moments = await acc.result();
    acc.dispose();
    const res = await quantizeLayerWeights(node, weight, { bits, perChannel: true, rounding, moments: [moments], adaround: { iterations: iters } });
    nearSum += res.nearestLoss!;
    adaSum += res.adaptiveLoss!;
    console.log(`${node.name.padEnd(28)} W${bits} K=${String(lay.k).padStart(3)} Cout=${String(lay.cOut).padStart(2)} nearest ${res.nearestLoss!.toExponential(3)} -> ${res.adaptiveLoss!.toExponential(3)} flipped ${(100 * res.flippedFraction).toFixed(1)}% ${res.seconds.toFixed(1)}s`);
    overrides.set(node.inputs[1], tf.tensor(dequantizedWeight(res.codes, res.scales, weight.dims, res.axis), weight.dims));
    plan.layers.push({ node: node.name, weightCodes: res.codes, weightScales: res.scales, weightBits: bits, axis: res.axis });
  }
  const tRound = performance.now();

  // 3. QDQ export and evaluation in onnxruntime-node
  const qdq = writeOnnx(buildQdqGraph(graph, plan));
  if (outPath) writeFileSync(outPath, qdq);
  const floatTop1 = await top1(modelBytes, evalSet.images, evalSet.labels);
  const quantTop1 = await top1(qdq, evalSet.images, evalSet.labels);
  // agreement of the tfjs fake-quant network with the ORT QDQ model on one batch
  const fq = exec.execute({ [inputName]: batches[0] }, { hook, overrides });
  const fqLogits = (await fq.outputs.get('logits')!.data()) as Float32Array;
  tf.dispose([...fq.outputs.values()]);
  const session = await ort.InferenceSession.create(qdq);
  const ortOut = await session.run({ input: new ort.Tensor('float32', calib.images.subarray(0, batches[0].shape[0] * per), batches[0].shape) });
  const a = argmaxRows(fqLogits, batches[0].shape[0], 10);
  const b = argmaxRows(ortOut.logits.data as Float32Array, batches[0].shape[0], 10);
  const agree = a.filter((v, i) => v === b[i]).length / a.length;
  console.log(`W${wbits}A${abits} ${rounding} (${observer} ranges, ${nCalib} real calibration images, ${iters} iterations, ${maxSamples} columns/layer)`);
  console.log(`float top-1 ${floatTop1.toFixed(2)}  quantized (ORT QDQ) top-1 ${quantTop1.toFixed(2)}  on ${evalSet.labels.length} held-out test images`);
  console.log(`sum of layer losses: nearest ${nearSum.toExponential(3)}  chosen ${adaSum.toExponential(3)};  tfjs fake-quant vs ORT argmax agreement ${(100 * agree).toFixed(1)}%`);
  console.log(`time: ranges ${((tRanges - t0) / 1000).toFixed(1)} s, rounding ${((tRound - tRanges) / 1000).toFixed(1)} s, total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  exec.dispose();
  tf.dispose([...batches, ...overrides.values()]);
}

void main();
