/** Inference-mode logits of a NetSpec on CIFAR-10 records, and top-1 accuracy. */
import * as tf from '@tensorflow/tfjs';
import type { Cifar10Set } from '../../src/core/data/cifar10.js';
import { argmaxRows } from '../../src/core/data/cifar10.js';
import { SIZE, cifarBatch } from './cifarData.js';
import { forward, type Weights } from './forward.js';
import type { NetSpec } from './netSpec.js';

/**
 * `limit` records spread evenly over the file (the shared fixtures are sorted by class, so the first N
 * would be one or two classes); all of them when limit >= count.
 */
export function spreadRecords(count: number, limit: number): number[] {
  const n = Math.min(limit, count);
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n));
}

export function predictLogits(spec: NetSpec, weights: Weights, set: Cifar10Set, limit = set.count, batch = 250): { logits: Float32Array; labels: Int32Array } {
  const records = spreadRecords(set.count, limit);
  const n = records.length;
  const logits = new Float32Array(n * spec.classes);
  const labels = new Int32Array(n);
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const b = cifarBatch(set, records.slice(s, s + m));
    const out = tf.tidy(() => forward(spec, weights, tf.tensor4d(b.x, [m, SIZE, SIZE, 3]), { training: false }));
    logits.set(out.dataSync(), s * spec.classes);
    labels.set(b.labels, s);
    out.dispose();
  }
  return { logits, labels };
}

export function top1(logits: Float32Array, labels: Int32Array, classes = 10): { correct: number; accuracy: number } {
  const pred = argmaxRows(logits, labels.length, classes);
  const correct = pred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0);
  return { correct, accuracy: correct / labels.length };
}
