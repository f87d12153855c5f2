import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the shared fixtures live: $LOCALQUANT_FIXTURES, else ../shared/fixtures beside the repo.
 * Node-only (tests, CLI, benchmarks); never bundled into the app.
 */
export function fixturesDir(): string {
  if (process.env.LOCALQUANT_FIXTURES) return resolve(process.env.LOCALQUANT_FIXTURES);
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  return join(repoRoot, '..', 'shared', 'fixtures');
}

export function cifarFixture(file: 'resnet20_bn.onnx' | 'resnet20_folded.onnx' | 'test_batch.bin' | 'data_batch.bin'): string {
  const p = join(fixturesDir(), 'cifar10', file);
  if (!existsSync(p)) throw new Error(`fixture ${p} not found: set LOCALQUANT_FIXTURES or place shared/ beside the repo`);
  return p;
}

/** CIFAR-10 normalisation of the shared ResNet-20 fixtures (see their README). */
export const CIFAR_MEAN = [0.485, 0.456, 0.406] as const;
export const CIFAR_STD = [0.229, 0.224, 0.225] as const;
