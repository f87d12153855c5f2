import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/runtime/backends';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { cifarBatch, loadCifar } from './cifarData';
import { STREAM, permutation, stream } from './rng';
import { tinyNet } from './tinyNet';
import { Trainer } from './trainer';

const SGD = { momentum: 0.9, weightDecay: 5e-4 };
const dir = mkdtempSync(join(tmpdir(), 'lq-ckpt-'));

/** Steps [from, to) of a fixed little schedule: the batches, crops and masks depend only on the step. */
function run(trainer: Trainer, from: number, to: number): void {
  const data = loadCifar('test_batch.bin');
  const order = permutation(data.count, stream(7, STREAM.shuffle, 0));
  for (let s = from; s < to; s++) {
    const batch = cifarBatch(data, order.subarray(s * 16, (s + 1) * 16), stream(7, STREAM.augment, 0, s));
    trainer.step(batch, 0.05, stream(7, STREAM.dropout, 0, s));
  }
}

function snapshot(trainer: Trainer): Map<string, Float32Array> {
  return new Map([...trainer.toTensors()].map(([k, t]) => [k, Float32Array.from(t.data)]));
}

describe('training checkpoints', () => {
  beforeAll(async () => { await initBackend('wasm'); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a run resumed from a checkpoint ends with exactly the weights, BN statistics and velocity of an uninterrupted run', () => {
    const straight = new Trainer(tinyNet(), 3, SGD, 0.1);
    run(straight, 0, 4);
    const expected = snapshot(straight);
    straight.dispose();

    const first = new Trainer(tinyNet(), 3, SGD, 0.1);
    run(first, 0, 2);
    const file = join(dir, 'latest.ckpt');
    saveCheckpoint(file, { meta: { step: 2 }, tensors: first.toTensors() });
    first.dispose();
    expect(existsSync(`${file}.tmp`)).toBe(false);

    const ckpt = loadCheckpoint<{ step: number }>(file);
    expect(ckpt.meta.step).toBe(2);
    const resumed = new Trainer(tinyNet(), 99, SGD, 0.1); // another init seed: everything must come from the file
    resumed.loadTensors(ckpt.tensors);
    run(resumed, 2, 4);
    const got = snapshot(resumed);
    resumed.dispose();

    expect([...got.keys()]).toEqual([...expected.keys()]);
    expect([...got.keys()].some((k) => k.startsWith('velocity/'))).toBe(true);
    expect([...got.keys()].some((k) => k.endsWith('running_var'))).toBe(true);
    for (const [k, v] of expected) expect(Array.from(got.get(k)!), k).toEqual(Array.from(v));
    // and training moved the weights (the comparison is not between two untouched inits)
    const init = new Trainer(tinyNet(), 3, SGD, 0.1);
    const untouched = snapshot(init);
    init.dispose();
    expect(Array.from(untouched.get('param/stem.weight')!)).not.toEqual(Array.from(expected.get('param/stem.weight')!));
  });

  it('refuses a truncated or foreign file, and the trainer refuses a checkpoint of another shape', () => {
    const t = new Trainer(tinyNet(), 3, SGD, 0.1);
    const file = join(dir, 'a.ckpt');
    saveCheckpoint(file, { meta: {}, tensors: t.toTensors() });
    const bytes = readFileSync(file);
    writeFileSync(join(dir, 'cut.ckpt'), bytes.subarray(0, bytes.length - 101));
    expect(() => loadCheckpoint(join(dir, 'cut.ckpt'))).toThrow(/truncated/);
    writeFileSync(join(dir, 'foreign.ckpt'), 'hello');
    expect(() => loadCheckpoint(join(dir, 'foreign.ckpt'))).toThrow(/not a LocalQuant training checkpoint/);
    const tensors = loadCheckpoint(file).tensors;
    tensors.set('param/stem.weight', { shape: [1, 1, 3, 8], data: new Float32Array(24) });
    expect(() => t.loadTensors(tensors)).toThrow(/shape/);
    t.dispose();
  });

  it('a training step leaves no tensors behind', () => {
    const t = new Trainer(tinyNet(), 3, SGD, 0.1);
    run(t, 0, 1);
    const before = tf.memory().numTensors;
    run(t, 1, 3);
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });
});
