import { readFileSync } from 'node:fs';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import { createOrtSession, runOrtBatched } from '../lib/ort.js';
import { UsageError, parseArgs } from '../lib/usage.js';
import { positiveInt, triple } from './eval.js';
import { CIFAR_MEAN, CIFAR_STD } from '../../src/core/testing/fixtures.js';

export const help = `localquant compare A B --cifar10 FILE [--limit N] [--mean r,g,b --std r,g,b] [--json]

Runs two ONNX models (e.g. float and quantized) in onnxruntime-node on the same CIFAR-10 images and reports
how often their top-1 predictions agree and the SQNR of B's logits against A's. Needs no labels' meaning:
for users who have images but no trusted labels (the labels in FILE are ignored).`;

export interface CompareResult {
  count: number;
  agreement: number;
  logitSqnrDb: number;
}

export function compareLogits(a: Float32Array, b: Float32Array, n: number, classes: number): CompareResult {
  const pa = argmaxRows(a, n, classes);
  const pb = argmaxRows(b, n, classes);
  let same = 0;
  for (let i = 0; i < n; i++) if (pa[i] === pb[i]) same++;
  let sig = 0;
  let err = 0;
  for (let i = 0; i < n * classes; i++) {
    sig += a[i] * a[i];
    err += (a[i] - b[i]) ** 2;
  }
  return { count: n, agreement: same / n, logitSqnrDb: err === 0 ? Infinity : 10 * Math.log10(sig / err) };
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { cifar10: 'string', limit: 'string', mean: 'string', std: 'string', json: 'boolean' });
  if (positional.length !== 2) throw new UsageError('needs two model paths A and B');
  if (!flags.cifar10) throw new UsageError('needs --cifar10 FILE');
  const set = parseCifar10(new Uint8Array(readFileSync(String(flags.cifar10))));
  const n = Math.min(positiveInt(flags.limit, set.count, 'limit'), set.count);
  const idx = Array.from({ length: n }, (_, i) => Math.floor((i * set.count) / n));
  const batch = cifar10Batch(set, idx, triple(flags.mean, CIFAR_MEAN, 'mean'), triple(flags.std, CIFAR_STD, 'std'));
  const logits: Float32Array[] = [];
  let classes = 0;
  for (const p of positional) {
    const session = await createOrtSession(readFileSync(p));
    const out = await runOrtBatched(session, batch.images, [n, 3, 32, 32], { batch: 500 });
    classes = out.data.length / n;
    logits.push(out.data);
  }
  const r = compareLogits(logits[0], logits[1], n, classes);
  if (flags.json) console.log(JSON.stringify(r));
  else console.log(`${n} images: top-1 agreement ${(100 * r.agreement).toFixed(2)}%, logit SQNR ${r.logitSqnrDb.toFixed(1)} dB`);
  return 0;
}
