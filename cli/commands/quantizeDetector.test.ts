import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { yoloStyleDetector } from '../../src/core/testing/detectorModels.js';
import { buildOnnxModel } from '../../src/core/testing/onnxBuilder.js';
import { run } from './quantize.js';
import { captureLog } from '../lib/captureLog.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-qdet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'yolo.onnx');
writeFileSync(model, buildOnnxModel(yoloStyleDetector()));

const capture = (argv: string[]) => captureLog(run, argv);

describe('localquant quantize on a detector', () => {
  const quick = ['--calibration', 'noise', '--images', '8', '--rounding', 'nearest', '--quiet'];

  it('keeps the NMS float, prints box agreement and checks the export in onnxruntime-node', async () => {
    const out = join(tmp, 'q.onnx');
    const r = await capture([model, '-o', out, ...quick]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Float tail: 1 node\(s\) stay float from nms \(NonMaxSuppression\)/);
    expect(r.out).toMatch(/box agreement float vs quantized .*: \d+\.\d% on 8 noise calibration images/);
    expect(r.out).toMatch(/onnxruntime-node: the export runs with the float model's outputs \(boxes float32\[1,256,4\], scores float32\[1,2,256\], selected int64\[\d+,3\]\)/);
    const report = JSON.parse(readFileSync(join(tmp, 'q.report.json'), 'utf8'));
    expect(report.floatTail.startsAt[0].node).toBe('nms');
    expect(report.config.floatTail).toBeUndefined();
  });

  it('--until sets the cut and is recorded; an unknown node is refused', async () => {
    const r = await capture([model, '-o', join(tmp, 'u.onnx'), ...quick, '--until', 'score_mul,box_scale']);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(tmp, 'u.report.json'), 'utf8'));
    expect(report.config.floatTail).toEqual({ until: ['score_mul', 'box_scale'] });
    expect(report.floatTail.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['box_scale', 'classes_first', 'nms', 'score_mul']);
    await expect(run([model, '-o', join(tmp, 'x.onnx'), ...quick, '--until', 'nowhere'])).rejects.toThrow(/nowhere/);
  });
});
