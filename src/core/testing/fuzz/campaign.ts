import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convNetGraph, SIGNATURE } from '../../importers/tfjs/graph/graphDefBuilder.js';
import { randomizeBatchNorms, sequentialConvNet } from '../../importers/tfjs/layers/testModels.js';
import { saveLayersModel } from '../../importers/tfjs/testSupport.js';
import type { ModelFile } from '../../ir/types.js';
import { SeededRandom } from '../../synth/prng.js';
import { cifarFixture } from '../fixtures.js';
import { mutateOnnx } from './onnxMutations.js';
import { outcomeClass, runFuzzCase, type Outcome } from './runCase.js';
import { mutateTfjs } from './tfjsMutations.js';

/**
 * A seeded mutation-fuzz campaign over five seed models: the ResNet-20 fixtures (with BN, BN folded), the sample digits CNN,
 * a small TF.js layers model and a small TF.js graph model. Case i of seed s is always the same file.
 */

export type SeedName = 'resnet20' | 'resnet20-folded' | 'digits' | 'tfjs-layers' | 'tfjs-graph';

export interface FuzzCase {
  index: number;
  seedModel: SeedName;
  mutation: string;
  outcome: Outcome;
  seconds: number;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The unmutated models (tfjs ones built and saved in memory; needs a tfjs backend). */
export async function seedModels(): Promise<Record<SeedName, ModelFile[]>> {
  const layers = sequentialConvNet();
  randomizeBatchNorms(layers);
  const layersFiles = await saveLayersModel(layers);
  layers.dispose();
  return {
    resnet20: [{ name: 'resnet20_bn.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }],
    'resnet20-folded': [{ name: 'resnet20_folded.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_folded.onnx'))) }],
    digits: [{ name: 'digits-cnn.onnx', bytes: new Uint8Array(readFileSync(join(repoRoot, 'public/sample/digits-cnn.onnx'))) }],
    'tfjs-layers': layersFiles,
    'tfjs-graph': convNetGraph().files(SIGNATURE).files,
  };
}

const SEED_MIX: SeedName[] = ['resnet20', 'digits', 'digits', 'tfjs-layers', 'tfjs-graph', 'resnet20-folded', 'digits', 'tfjs-layers', 'tfjs-graph', 'resnet20'];

/** The mutated files of case `index` (deterministic in `seed` and `index`). */
export function makeCase(seeds: Record<SeedName, ModelFile[]>, seed: number, index: number): { seedModel: SeedName; mutation: string; files: ModelFile[] } {
  const rng = new SeededRandom(seed * 1000003 + index);
  const seedModel = SEED_MIX[rng.int(0, SEED_MIX.length - 1)];
  const files = seeds[seedModel];
  if (files[0].name.endsWith('.onnx')) {
    const m = mutateOnnx(files[0].bytes, rng);
    return { seedModel, mutation: m.kind, files: [{ name: files[0].name, bytes: m.bytes }, ...m.extra] };
  }
  const m = mutateTfjs(files, rng);
  return { seedModel, mutation: m.kind, files: m.files };
}

export interface CampaignOptions {
  seed: number;
  cases: number;
  first?: number;
  timeoutMs: number;
  /** Before case `index` runs (a watchdog in another process starts its clock here). */
  onStart?: (index: number, seedModel: SeedName, mutation: string) => void;
  onCase?: (c: FuzzCase) => void;
}

export async function runCampaign(seeds: Record<SeedName, ModelFile[]>, opts: CampaignOptions): Promise<FuzzCase[]> {
  const out: FuzzCase[] = [];
  for (let i = opts.first ?? 0; i < (opts.first ?? 0) + opts.cases; i++) {
    const c = makeCase(seeds, opts.seed, i);
    opts.onStart?.(i, c.seedModel, c.mutation);
    const t0 = performance.now();
    const outcome = await runFuzzCase(c.files, opts.timeoutMs);
    const r: FuzzCase = { index: i, seedModel: c.seedModel, mutation: c.mutation, outcome, seconds: (performance.now() - t0) / 1000 };
    out.push(r);
    opts.onCase?.(r);
  }
  return out;
}

/** Outcome class -> count, classes sorted with the failures the issue counts first. */
export function tabulate(cases: FuzzCase[]): { outcome: string; cases: number; share: string }[] {
  const counts = new Map<string, number>();
  for (const k of ['generic', 'hang', 'nan', 'leak', 'accepted']) counts.set(k, 0);
  for (const c of cases) counts.set(outcomeClass(c.outcome), (counts.get(outcomeClass(c.outcome)) ?? 0) + 1);
  return [...counts].map(([outcome, n]) => ({ outcome, cases: n, share: `${((100 * n) / Math.max(1, cases.length)).toFixed(1)} %` }));
}

