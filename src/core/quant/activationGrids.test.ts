import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import { cifarFixture } from '../testing/fixtures.js';
import { activationGridSpec, activationGrids } from './activationGrids.js';
import { RangeHistogram } from './observers.js';
import { quantizableLayers } from './quantPoints.js';

const graph = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))).graph;
const layers = quantizableLayers(graph);
const bitsFor = (over: Record<string, number | null> = {}, act = 8) =>
  new Map(layers.map((l) => [l.node.name, l.node.name in over ? (over[l.node.name] === null ? null : { activationBits: over[l.node.name]! }) : { activationBits: act }]));

describe('activation grids', () => {
  it('per-layer activationBits set the bits of that layer input; the network input stays 8 bit', () => {
    const target = layers[5].node;
    const base = activationGridSpec(graph, { activationBits: 8, activationBitsAt: 'every-activation' }, bitsFor());
    expect([...base.bits.values()].every((b) => b === 8)).toBe(true);
    const spec = activationGridSpec(graph, { activationBits: 8, activationBitsAt: 'every-activation' }, bitsFor({ [target.name]: 4, [layers[0].node.name]: 4 }));
    expect(spec.bits.get(target.inputs[0])).toBe(4);
    expect(spec.bits.get('input')).toBe(8);
    expect([...spec.bits.values()].filter((b) => b === 4).length).toBe(1);
  });
  it('a float default with one 8-bit override quantizes only that layer input; float layers drop their points', () => {
    const target = layers[7].node;
    const spec = activationGridSpec(graph, { activationBits: 32, activationBitsAt: 'every-activation' }, bitsFor({ [target.name]: 8 }, 32));
    // only that input owns a grid; the shortcut's Slice/Pad values reuse it (exact, no new rounding)
    expect(spec.owners).toEqual([target.inputs[0]]);
    for (const p of spec.points.slice(1)) expect(spec.shareWith.get(p)).toBe(target.inputs[0]);
    const fc = layers[19].node;
    const withFloatFc = activationGridSpec(graph, { activationBits: 8, activationBitsAt: 'every-activation' }, bitsFor({ [fc.name]: null }));
    expect(withFloatFc.points).not.toContain('logits');
  });
  it('shared points copy their owner grid; owners need histograms', () => {
    const spec = activationGridSpec(graph, { activationBits: 8, activationBitsAt: 'every-activation' }, bitsFor());
    expect(spec.shareWith.size).toBeGreaterThan(0);
    const hists = new Map(spec.owners.map((p, i) => {
      const h = new RangeHistogram();
      h.observe(Float32Array.from({ length: 100 }, (_, j) => (j - 20) * (i + 1) * 0.01));
      return [p, h] as const;
    }));
    const grids = activationGrids(spec, hists, { activationObserver: 'minmax', percentile: 99.99 });
    for (const [p, owner] of spec.shareWith) expect(grids.get(p)).toEqual(grids.get(owner));
    expect(grids.size).toBe(spec.points.length);
    hists.delete(spec.owners[3]);
    expect(() => activationGrids(spec, hists, { activationObserver: 'minmax', percentile: 99.99 })).toThrow(/no calibration statistics/);
  });
});
