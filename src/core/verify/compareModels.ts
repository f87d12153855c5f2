/**
 * Float vs quantized model, both run in a real ONNX runtime (the one users deploy with), on the same images:
 * top-1 agreement, top-1 accuracy when labels are given (overall and per class), the images where the two
 * disagree, and images/s of each measured in the same session. Classification outputs only: the first
 * output is read as [N, classes] scores.
 */
import { LocalQuantError, throwIfCancelled } from '../errors.js';
import { outputAsFloat, type OrtLike, type OrtSessionLike } from './ortLike.js';

export interface CompareInput {
  /** Images in the models' input layout, batch first. */
  images: Float32Array;
  shape: readonly number[];
  /** Optional ground-truth class per image. */
  labels?: readonly number[];
  batch?: number;
  signal?: AbortSignal;
  /** Outputs that are not class scores (a detector's boxes): measure speed only. */
  speedOnly?: boolean;
}

export interface Disagreement {
  index: number;
  floatClass: number;
  quantClass: number;
  label?: number;
}

export interface CompareResult {
  runtime: string;
  images: number;
  /** Top-1 agreement; absent with speedOnly. */
  agreement?: number;
  floatTop1?: number;
  quantTop1?: number;
  perClass?: { label: number; count: number; floatTop1: number; quantTop1: number }[];
  disagreements: Disagreement[];
  floatImagesPerSecond: number;
  quantImagesPerSecond: number;
  /** quantized images/s / float images/s. */
  speedup: number;
}

function argmaxRows(scores: Float32Array, rows: number): number[] {
  const cols = scores.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (scores[r * cols + c] > scores[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}

/** Top-1 classes of all images, and the seconds spent inside session.run. */
async function classify(ort: OrtLike, session: OrtSessionLike, input: CompareInput): Promise<{ classes: number[]; seconds: number }> {
  const n = input.shape[0];
  const per = input.shape.slice(1).reduce((a, b) => a * b, 1);
  const batch = Math.max(1, input.batch ?? 32);
  const classes: number[] = [];
  let seconds = 0;
  for (let s = 0; s < n; s += batch) {
    throwIfCancelled(input.signal);
    const m = Math.min(batch, n - s);
    const feed = ort.tensor(input.images.subarray(s * per, (s + m) * per), [m, ...input.shape.slice(1)]);
    const t0 = performance.now();
    const res = await session.run({ [session.inputNames[0]]: feed });
    seconds += (performance.now() - t0) / 1000;
    if (!input.speedOnly) classes.push(...argmaxRows(outputAsFloat(res[session.outputNames[0]]), m));
    for (const t of Object.values(res)) t.dispose?.();
    feed.dispose?.();
  }
  return { classes, seconds };
}

function perClassAccuracy(labels: readonly number[], a: number[], b: number[]): CompareResult['perClass'] {
  const by = new Map<number, { count: number; fa: number; qa: number }>();
  labels.forEach((l, i) => {
    const e = by.get(l) ?? { count: 0, fa: 0, qa: 0 };
    e.count++;
    if (a[i] === l) e.fa++;
    if (b[i] === l) e.qa++;
    by.set(l, e);
  });
  return [...by.entries()].sort(([x], [y]) => x - y).map(([label, e]) => ({ label, count: e.count, floatTop1: e.fa / e.count, quantTop1: e.qa / e.count }));
}

export async function compareModels(ort: OrtLike, floatOnnx: Uint8Array, quantOnnx: Uint8Array, input: CompareInput): Promise<CompareResult> {
  const n = input.shape[0];
  if (!n) throw new LocalQuantError('BAD_INPUT', 'There are no images to compare the models on.');
  if (input.labels && input.labels.length !== n) throw new LocalQuantError('BAD_INPUT', `${input.labels.length} labels for ${n} images.`, 'Give one label per image.');
  const fs = await ort.createSession(floatOnnx);
  const qs = await ort.createSession(quantOnnx);
  try {
    // One untimed warm-up batch each (the batch shape of the timed runs), so that session initialization
    // and per-shape kernel preparation are not counted as speed.
    const m = Math.min(n, Math.max(1, input.batch ?? 32));
    const warm = { ...input, images: input.images.subarray(0, (input.images.length / n) * m), shape: [m, ...input.shape.slice(1)], labels: undefined, speedOnly: true };
    await classify(ort, fs, warm);
    await classify(ort, qs, warm);
    const f = await classify(ort, fs, input);
    const q = await classify(ort, qs, input);
    const floatIps = n / Math.max(f.seconds, 1e-9);
    const quantIps = n / Math.max(q.seconds, 1e-9);
    const speed = { floatImagesPerSecond: floatIps, quantImagesPerSecond: quantIps, speedup: quantIps / floatIps };
    if (input.speedOnly) return { runtime: ort.name, images: n, disagreements: [], ...speed };
    const disagreements: Disagreement[] = [];
    f.classes.forEach((c, i) => {
      if (c !== q.classes[i]) disagreements.push({ index: i, floatClass: c, quantClass: q.classes[i], ...(input.labels ? { label: input.labels[i] } : {}) });
    });
    const top1 = (cls: number[]) => (input.labels ? cls.filter((c, i) => c === input.labels![i]).length / n : undefined);
    return {
      runtime: ort.name,
      images: n,
      agreement: 1 - disagreements.length / n,
      floatTop1: top1(f.classes),
      quantTop1: top1(q.classes),
      perClass: input.labels ? perClassAccuracy(input.labels, f.classes, q.classes) : undefined,
      disagreements,
      ...speed,
    };
  } finally {
    await fs.release?.();
    await qs.release?.();
  }
}
