/**
 * Counter-based randomness: every random stream is a pure function of (seed, epoch, step, purpose), so a
 * run resumed from a checkpoint at (epoch, step) draws exactly what the uninterrupted run would have drawn,
 * and the RNG "state" saved in a checkpoint is just those counters.
 */

/** mulberry32: small, fast, good enough for shuffles, crops and dropout masks. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes integers into one 32-bit seed (murmur3's finalizer after each word). */
export function mixSeed(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = Math.imul(h ^ (w >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

export const STREAM = { shuffle: 1, augment: 2, dropout: 3, init: 4 } as const;

export function stream(seed: number, purpose: number, ...counters: number[]): () => number {
  return mulberry32(mixSeed(seed, purpose, ...counters));
}

/** Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, random: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Standard normal by Box-Muller. */
export function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
