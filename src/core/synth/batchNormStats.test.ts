import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { cifarFixture } from '../testing/fixtures.js';
import { collectBatchNormStats } from './batchNormStats.js';
import { NO_BATCHNORM_MESSAGE, planCalibration } from './fallback.js';

const load = (f: 'resnet20_bn.onnx' | 'resnet20_folded.onnx') => importOnnx(new Uint8Array(readFileSync(cifarFixture(f))), [], { fileName: f });

describe('collectBatchNormStats', () => {
  it('finds the 19 BatchNorms of ResNet-20 with their inputs and statistics', () => {
    const g = load('resnet20_bn.onnx');
    const stats = collectBatchNormStats(g);
    expect(stats.length).toBe(19);
    expect(stats.map((s) => s.channels)).toEqual([16, ...Array(6).fill(16), ...Array(6).fill(32), ...Array(6).fill(64)]);
    for (const s of stats) {
      expect(s.epsilon).toBeCloseTo(1e-5, 10);
      expect(s.mean.length).toBe(s.channels);
      expect(s.variance.every((v) => v > 0)).toBe(true);
      // The BN input is produced by a Conv (convs have no bias in this model).
      const producer = g.nodes.find((n) => n.outputs.includes(s.inputValue));
      expect(producer?.opType).toBe('Conv');
    }
    // The first BN's running mean equals the initializer named in the README convention.
    const bn1 = g.nodes.find((n) => n.opType === 'BatchNormalization')!;
    expect(Array.from(stats[0].mean)).toEqual(Array.from(g.initializers.get(bn1.inputs[3])!.data));
  });

  it('returns [] for the folded model, and planCalibration falls back with the message', () => {
    const g = load('resnet20_folded.onnx');
    expect(collectBatchNormStats(g)).toEqual([]);
    const plan = planCalibration(g, 'auto');
    expect(plan).toMatchObject({ method: 'prior-only', fellBack: true, batchNormCount: 0, message: NO_BATCHNORM_MESSAGE });
    expect(plan.message).toMatch(/no BatchNormalization layers/);
    expect(planCalibration(g, 'noise')).toMatchObject({ method: 'noise', fellBack: false });
    expect(planCalibration(load('resnet20_bn.onnx'), 'auto')).toMatchObject({ method: 'bn-statistics', batchNormCount: 19, fellBack: false });
  });
});
