import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelFile } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { makeCase, runCampaign, seedModels, tabulate, type SeedName } from './campaign.js';
import { outcomeClass, runFuzzCase } from './runCase.js';

/**
 * The mutation fuzz test: a few hundred seeded malformed models (ONNX byte flips, truncations and
 * protobuf edits of ResNet-20 and the sample; TF.js manifest, topology and shard edits) through import,
 * prepare and a 1-image forward pass. Every one must end in a typed LocalQuantError or a finite output,
 * without leaking tensors. `npm run fuzz` runs the long campaign with a hard per-case timeout.
 */

let seeds: Record<SeedName, ModelFile[]>;

beforeAll(async () => {
  await initBackend('wasm');
  seeds = await seedModels();
});

describe('mutation fuzz (seeded)', () => {
  it('the unmutated seeds import, prepare and run to finite outputs', async () => {
    for (const [name, files] of Object.entries(seeds)) expect([name, (await runFuzzCase(files, 10_000)).kind]).toEqual([name, 'accepted']);
  });

  it('cases are reproducible from (seed, index)', () => {
    const a = makeCase(seeds, 3, 17);
    const b = makeCase(seeds, 3, 17);
    expect(a.mutation).toBe(b.mutation);
    expect(a.files.map((f) => Buffer.from(f.bytes).toString('base64'))).toEqual(b.files.map((f) => Buffer.from(f.bytes).toString('base64')));
  });

  it('300 malformed models: only typed errors or finite outputs, no generic error, hang, NaN or leak', async () => {
    const before = tf.memory().numTensors;
    const cases = await runCampaign(seeds, { seed: 11, cases: 300, timeoutMs: 10_000 });
    const failures = cases.filter((c) => !outcomeClass(c.outcome).startsWith('typed:') && c.outcome.kind !== 'accepted');
    expect(failures.map((c) => `${c.index} ${c.seedModel} ${c.mutation}: ${JSON.stringify(c.outcome)}`)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    // the campaign exercises the validation, not only the decoder: many codes, and some files still run
    const table = Object.fromEntries(tabulate(cases).map((r) => [r.outcome, r.cases]));
    expect(table.accepted).toBeGreaterThan(10);
    for (const code of ['INVALID_MODEL', 'BAD_WEIGHTS', 'NOT_A_MODEL', 'MISSING_FILE', 'TOO_LARGE']) expect(table[`typed:${code}`] ?? 0).toBeGreaterThan(0);
    expect(new Set(cases.map((c) => c.seedModel)).size).toBe(5);
  }, 120_000);
});
