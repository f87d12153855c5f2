import { readFileSync } from 'node:fs';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import { createOrtSession, runOrtBatched } from '../lib/ort.js';
import { kernelSummary, optimizedOpCounts } from '../lib/ortKernels.js';
import { imagesPerSecond } from '../lib/ortSpeed.js';
import { UsageError, parseArgs } from '../lib/usage.js';
import { positiveInt, triple } from './eval.js';
import { CIFAR_MEAN, CIFAR_STD } from '../../src/core/testing/fixtures.js';

export const help = `localquant compare A B --cifar10 FILE [--limit N] [--mean r,g,b --std r,g,b] [--speed [--threads 1,2] [--rounds N]] [--json]

Runs two ONNX models (e.g. float and quantized) in onnxruntime-node on the same CIFAR-10 images and reports
how often their top-1 predictions agree and the SQNR of B's logits against A's. Needs no labels' meaning:
for users who have images but no trusted labels (the labels in FILE are ignored).

  --speed          also time both (images/s, batch 256, alternating rounds, best round) at each thread
                   count, and count the integer kernels ORT chose for each after its graph optimizer
  --threads LIST   intra-op thread counts for --speed (default 1,2)
  --rounds N       timing rounds per model and thread count, each at least 1 s (default 3)`;

export interface CompareResult {
  count: number;
  agreement: number;
  logitSqnrDb: number;
  speed?: SpeedRow[];
  /** With --speed: kernels ORT chose for A and B after its graph optimizer. */
  kernels?: { integer: number; floatCompute: number; transposes: number }[];
}

export interface SpeedRow {
  threads: number;
  imagesPerSecondA: number;
  imagesPerSecondB: number;
  /** B's images/s over A's. */
  ratio: number;
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
  const { flags, positional } = parseArgs(argv, { cifar10: 'string', limit: 'string', mean: 'string', std: 'string', json: 'boolean', speed: 'boolean', threads: 'string', rounds: 'string' });
  for (const f of ['threads', 'rounds']) if (flags[f] !== undefined && !flags.speed) throw new UsageError(`--${f} sets how --speed times: add --speed`);
  const rounds = positiveInt(flags.rounds, 3, 'rounds');
  const threads = String(flags.threads ?? '1,2').split(',').map((t) => positiveInt(t, 1, 'threads'));
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
  const r: CompareResult = compareLogits(logits[0], logits[1], n, classes);
  const kernelLines: string[] = [];
  if (flags.speed) {
    const models = positional.map((p) => new Uint8Array(readFileSync(p)));
    r.speed = [];
    for (const t of threads) {
      const [a, b] = await imagesPerSecond(models, batch.images, [3, 32, 32], { threads: t, rounds });
      r.speed.push({ threads: t, imagesPerSecondA: a.imagesPerSecond, imagesPerSecondB: b.imagesPerSecond, ratio: b.imagesPerSecond / a.imagesPerSecond });
    }
    r.kernels = [];
    for (const [i, m] of models.entries()) {
      const k = kernelSummary(await optimizedOpCounts(m));
      r.kernels.push(k);
      kernelLines.push(`${'AB'[i]}: ${k.integer} integer kernels, ${k.floatCompute} float Conv/Gemm/MatMul, ${k.transposes} Transposes after ORT's optimizer`);
    }
  }
  if (flags.json) console.log(JSON.stringify(r));
  else {
    console.log(`${n} images: top-1 agreement ${(100 * r.agreement).toFixed(2)}%, logit SQNR ${r.logitSqnrDb.toFixed(1)} dB`);
    for (const s of r.speed ?? []) console.log(`${s.threads} thread${s.threads > 1 ? 's' : ''}: A ${s.imagesPerSecondA.toFixed(0)} images/s, B ${s.imagesPerSecondB.toFixed(0)} images/s (B/A ${s.ratio.toFixed(2)}x)`);
    for (const k of kernelLines) console.log(k);
  }
  return 0;
}
