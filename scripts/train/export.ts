/**
 * Exports a training checkpoint: ONNX with BatchNormalization kept, ONNX with BN folded, and a TF.js
 * layers model; then checks all three on the CIFAR-10 test images against the tfjs training forward
 * (onnxruntime-node for ONNX) and with LocalQuant's importer, and writes the figures to export.json.
 *
 *   npx tsx scripts/train/export.ts --checkpoint .train/ghostnet-w1/final.ckpt --out models/ghostnet-cifar [--limit 10000]
 *
 * Files: <out>/<name>_bn.onnx, <out>/<name>_folded.onnx, <out>/tfjs/model.json + weights.bin, <out>/export.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../../src/core/runtime/backends.js';
import { loadCheckpoint } from './checkpoint.js';
import { loadCifar } from './cifarData.js';
import { predictLogits } from './evaluate.js';
import { checkpointWeights, exportModel } from './exportModel.js';
import { buildNet } from './models.js';
import { countParameters } from './netSpec.js';
import type { RunMeta } from './train.js';
import { verifyExport } from './verifyExport.js';
import * as tf from '@tensorflow/tfjs';

function parseArgs(argv: string[]): { checkpoint: string; out: string; limit: number } {
  const a = { checkpoint: '', out: '', limit: 10000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--checkpoint') a.checkpoint = resolve(v);
    else if (k === '--out') a.out = resolve(v);
    else if (k === '--limit') a.limit = Number(v);
    else throw new Error(`unknown flag ${k}`);
  }
  if (!a.checkpoint || !a.out) throw new Error('usage: export.ts --checkpoint FILE --out DIR [--limit N]');
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await initBackend('wasm');
  const ckpt = loadCheckpoint<RunMeta>(args.checkpoint);
  const { config, epoch, history } = ckpt.meta;
  const spec = buildNet(config.model, config.width, config.dropout);
  const weights = checkpointWeights(ckpt.tensors);
  const last = history[history.length - 1];
  const exported = await exportModel(spec, weights, {
    training: JSON.stringify({ ...config, epochsDone: epoch, testTop1: last?.testTop1, data: 'CIFAR-10 data_batch.bin (50,000 images)' }),
  });
  mkdirSync(join(args.out, 'tfjs'), { recursive: true });
  const files = {
    onnxBn: join(args.out, `${spec.name}_bn.onnx`),
    onnxFolded: join(args.out, `${spec.name}_folded.onnx`),
    modelJson: join(args.out, 'tfjs', 'model.json'),
  };
  writeFileSync(files.onnxBn, exported.onnxBn);
  writeFileSync(files.onnxFolded, exported.onnxFolded);
  writeFileSync(files.modelJson, exported.layers.modelJson);
  writeFileSync(join(args.out, 'tfjs', 'weights.bin'), exported.layers.shard);

  const test = loadCifar('test_batch.bin');
  const tensors = new Map([...weights].map(([k, v]) => [k, tf.tensor(v, spec.params.find((p) => p.name === k)!.shape)]));
  const reference = predictLogits(spec, tensors, test, args.limit);
  tf.dispose([...tensors.values()]);
  const check = await verifyExport(spec, exported, reference, test);
  const report = {
    model: spec.name, parameters: countParameters(spec), checkpoint: args.checkpoint, epochsDone: epoch, config,
    foldedBatchNorms: exported.foldedCount, files, bytes: { onnxBn: exported.onnxBn.length, onnxFolded: exported.onnxFolded.length, tfjsShard: exported.layers.shard.length },
    check, history,
  };
  writeFileSync(join(args.out, 'export.json'), `${JSON.stringify(report, null, 2)}\n`);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  console.log(`${spec.name}: ${check.images} test images, tfjs forward top-1 ${pct(check.tfjsTop1)}, ${check.expectedBatchNorms} BatchNorms`);
  console.log('form            top-1     agreement  max|dlogit|  BNs found by importer');
  for (const [name, c] of [['onnx (BN kept)', check.onnxBn], ['onnx (folded)', check.onnxFolded], ['tfjs layers', check.tfjsLayers]] as const) {
    console.log(`${name.padEnd(15)} ${pct(c.top1).padStart(7)}   ${pct(c.agreement).padStart(8)}   ${c.maxAbsDiff.toExponential(2).padStart(9)}    ${c.batchNorms}`);
  }
  const ok = [check.onnxBn, check.onnxFolded, check.tfjsLayers].every((c) => c.agreement >= 0.999 && c.maxAbsDiff < 1e-2)
    && check.onnxBn.batchNorms === check.expectedBatchNorms && check.onnxFolded.batchNorms === 0;
  console.log(ok ? `exports agree; written to ${args.out}` : 'EXPORT MISMATCH (see export.json)');
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
