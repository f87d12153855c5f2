import { describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../../errors.js';
import { allocateBits, paretoFrontier, paretoFrontierWithShared, type LayerOptions } from './bitAllocation.js';

/** Every assignment, for the exact optimum to compare with. */
function bruteForce(base: number, layers: LayerOptions[]): { bytes: number; cost: number; bits: number[] }[] {
  let all = [{ bytes: base, cost: 0, bits: [] as number[] }];
  for (const l of layers) all = all.flatMap((a) => l.options.map((o) => ({ bytes: a.bytes + o.bytes, cost: a.cost + o.cost, bits: [...a.bits, o.bits] })));
  return all;
}

function randomTable(seed: number, nLayers: number): LayerOptions[] {
  let s = seed;
  const r = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  return Array.from({ length: nLayers }, (_, i) => {
    const n = 20 + Math.floor(r() * 200);
    // more bits: more bytes, less cost (with noise, so that some options are dominated)
    return { name: `l${i}`, options: [2, 3, 4, 8].map((b) => ({ bits: b, bytes: Math.ceil((n * b) / 8) + Math.floor(r() * 4), cost: r() * 2 ** -b * 10 })) };
  });
}

describe('bit allocation by dynamic programming', () => {
  it('a hand-made table: the optimum is not the greedy choice', () => {
    // budget 10: a=8 (cost 1) + b=2 (cost 5) = 6; a=2 (cost 2) + b=8 (cost 0) = 2 wins; both 8 = 16 bytes
    const layers: LayerOptions[] = [
      { name: 'a', options: [{ bits: 2, bytes: 2, cost: 2 }, { bits: 8, bytes: 8, cost: 1 }] },
      { name: 'b', options: [{ bits: 2, bytes: 2, cost: 5 }, { bits: 8, bytes: 8, cost: 0 }] },
    ];
    const f = paretoFrontier(0, layers);
    expect(f.map((p) => [p.bytes, p.cost])).toEqual([[4, 7], [10, 2], [16, 1]]);
    expect(allocateBits(f, 10).bits).toEqual([2, 8]);
    expect(allocateBits(f, 15).bits).toEqual([2, 8]);
    expect(allocateBits(f, 16).bits).toEqual([8, 8]);
  });

  it('matches brute force on random tables, for every budget, and the frontier is exactly the Pareto set', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const layers = randomTable(seed, 3 + (seed % 4));
      const base = 100 + seed;
      const all = bruteForce(base, layers);
      const f = paretoFrontier(base, layers);
      const pareto = all.filter((a) => !all.some((b) => b.bytes <= a.bytes && b.cost < a.cost - 1e-12 || (b.bytes < a.bytes && b.cost <= a.cost)));
      expect(f.length).toBe(new Set(pareto.map((p) => p.bytes)).size);
      const sizes = [...new Set(all.map((a) => a.bytes))].sort((x, y) => x - y);
      for (const budget of sizes) {
        const best = Math.min(...all.filter((a) => a.bytes <= budget).map((a) => a.cost));
        const got = allocateBits(f, budget);
        expect(got.cost).toBeCloseTo(best, 12);
        expect(got.bytes).toBeLessThanOrEqual(budget);
        // the bits given reproduce the point's bytes and cost
        const bytes = base + got.bits.reduce((a, b, i) => a + layers[i].options.find((o) => o.bits === b)!.bytes, 0);
        const cost = got.bits.reduce((a, b, i) => a + layers[i].options.find((o) => o.bits === b)!.cost, 0);
        expect(bytes).toBe(got.bytes);
        expect(cost).toBeCloseTo(got.cost, 12);
      }
    }
  });

  it('with costs paid once per width in use (shared unpacking): matches brute force', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const layers = randomTable(seed + 100, 3 + (seed % 3));
      const shared = new Map([[2, 7 + seed], [3, 13]]);
      // per-layer bytes as measured: each includes the shared part once
      // (the last layer stores every width its own way: it shares nothing, like a MatMulNBits Gemm)
      const shares = (li: number, b: number) => li < layers.length - 1 && shared.has(b);
      const measured = layers.map((l, li) => ({ ...l, options: l.options.map((o) => (shares(li, o.bits) ? { ...o, shared: o.bits, bytes: o.bytes + shared.get(o.bits)! } : o)) }));
      const all = bruteForce(40, layers).map((a) => ({ ...a, bytes: a.bytes + [...shared].reduce((s, [b, c]) => s + (a.bits.some((x, li) => x === b && shares(li, b)) ? c : 0), 0) }));
      const f = paretoFrontierWithShared(40, measured, shared);
      for (const budget of [...new Set(all.map((a) => a.bytes))]) {
        const best = Math.min(...all.filter((a) => a.bytes <= budget).map((a) => a.cost));
        expect(allocateBits(f, budget).cost).toBeCloseTo(best, 12);
      }
    }
  });

  it('an infeasible budget is BAD_CONFIG naming the smallest reachable size', () => {
    const layers = randomTable(5, 4);
    const f = paretoFrontier(50, layers);
    const min = Math.min(...bruteForce(50, layers).map((a) => a.bytes));
    expect(f[0].bytes).toBe(min);
    try {
      allocateBits(f, min - 1, (b) => `${b} B`);
      expect.unreachable();
    } catch (e) {
      expect(isLocalQuantError(e) && e.code).toBe('BAD_CONFIG');
      expect((e as Error).message).toContain(`${min} B`);
    }
  });
});
