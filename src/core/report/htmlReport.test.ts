import { describe, expect, it } from 'vitest';
import { defaultPipelineConfig } from '../pipeline/defaults.js';
import type { QuantizationReport } from '../pipeline/types.js';
import { renderHtmlReport } from './htmlReport.js';

function sampleReport(): QuantizationReport {
  return {
    version: 1,
    tool: 'localquant',
    createdAt: '2026-11-30T00:00:00.000Z',
    model: { name: 'net<script>alert(1)</script>.onnx', format: 'onnx', sizeBytes: 1000, batchNormCount: 2 },
    config: defaultPipelineConfig(),
    backend: { name: 'cpu', reason: 'test' },
    calibration: { method: 'bn-statistics', images: 2, startBnLoss: 30, endBnLoss: 0.5, seconds: 1 },
    layers: [
      { name: 'conv</script><b>1', opType: 'Conv', weightBits: 4, activationBits: 8, rounding: 'adaptive', scales: [0.1], nearestError: 2, adaptiveError: 1, flippedFraction: 0.1, sqnrDb: 21.5, seconds: 0.2 },
      { name: 'fc', opType: 'Gemm', weightBits: null, activationBits: 32, rounding: 'float', scales: [], seconds: 0 },
    ],
    activations: {},
    sizes: { floatBytes: 1000, quantizedBytes: 260, ratio: 0.26 },
    agreement: 0.97,
    seconds: { import: 0.1, synthesis: 1 },
    notes: ['a note & more'],
  };
}

const img = (v: number) => ({ width: 2, height: 2, rgba: new Uint8ClampedArray(16).fill(v) });

describe('renderHtmlReport', () => {
  const report = sampleReport();
  const html = renderHtmlReport(report, { images: [img(10), img(200), img(90)], synthesisLoss: [30, 10, 3, 1, 0.5] });

  it('references nothing outside the file', () => {
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]);
    expect(refs.length).toBe(3);
    for (const r of refs) expect(r.startsWith('data:image/png;base64,')).toBe(true);
    expect(html).not.toMatch(/<link|@import|url\(/i);
    expect(html).toContain("default-src 'none'");
  });

  it('escapes names so a hostile model cannot inject markup', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>1');
    expect(html).toContain('net&lt;script&gt;');
    expect(html.match(/<\/script>/g)?.length).toBe(1);
  });

  it('embeds the report JSON unchanged and shows the figures', () => {
    const json = /<script type="application\/json" id="report-json">(.*?)<\/script>/s.exec(html)![1];
    expect(JSON.parse(json)).toEqual(report);
    expect(html).toContain('26.0 % of float');
    expect(html).toContain('97.0 %');
    expect(html).toContain('a note &amp; more');
    expect(html).toContain('aria-label="Per-layer SQNR in dB"');
    expect(html).toContain('aria-label="Synthesis loss per step"');
    expect(html).toContain('>4/8<');
    expect(html).toContain('>float/32<');
  });

  it('works without images or a loss curve', () => {
    const bare = renderHtmlReport(sampleReport());
    expect(bare).not.toContain('<img');
    expect(bare).not.toContain('Synthesis loss');
  });

  it('captions class-conditional images with their target class and states what the class term reached', () => {
    const cc = { weight: 0.1, classes: 3, names: ['cat', 'dog', 'ship<'], targets: [0, 1, 2], startClassLoss: 12, endClassLoss: 0.2, targetHitRate: 2 / 3 };
    const withCc = renderHtmlReport({ ...report, calibration: { ...report.calibration, classConditional: cc } }, { images: [img(10), img(200), img(90)] });
    expect(withCc).toContain('alt="calibration image 1, dog" title="dog"');
    expect(withCc).toContain('title="ship&lt;"');
    expect(withCc).toMatch(/3 classes round robin, cross-entropy weight 0.1.*66.7 % of the images in their target class/);
    expect(html).not.toContain('class-conditional');
  });
});
