import { describe, expect, it } from 'vitest';
import { apFloatAsTruth, boxAgreement, decodeDetections, DENSE_NMS_IOU, NEAR_FACTOR, SLIP_FRACTION, describeLayout, detectionLayout, suppressOverlaps, type Detection, type DetectionLayout, type OutputTensor } from './boxAgreement.js';

const det = (x: number, score: number, cls = 0): Detection => ({ box: [x, 0, x + 1, 1], score, cls });

describe('suppressOverlaps', () => {
  it('keeps the best of overlapping same-class boxes and every box of another class', () => {
    // 0 and 0.1 overlap at IoU 0.82; 0.5 overlaps 0 at IoU 0.33 (kept); class 1 at 0 is another object
    const kept = suppressOverlaps([det(0.1, 0.5), det(0, 0.9), det(0.5, 0.4), det(0, 0.3, 1)], DENSE_NMS_IOU);
    expect(kept.map((d) => [d.box[0], d.score, d.cls])).toEqual([[0, 0.9, 0], [0.5, 0.4, 0], [0, 0.3, 1]]);
  });

  it('breaks score ties by input order, so float and quantized runs suppress alike', () => {
    expect(suppressOverlaps([det(0.1, 0.5), det(0, 0.5)], 0.5)[0].box[0]).toBe(0.1);
  });
});

/** One dense level: side x side cells, one class, 4 distance distributions of `bins` bins each. */
function denseLevel(side: number, bins: number, scores: number[], peakBin: number): { layout: DetectionLayout; out: Map<string, OutputTensor> } {
  const n = side * side;
  const dist = new Float32Array(n * 4 * bins);
  for (let i = 0; i < n * 4; i++) dist[i * bins + peakBin] = 20; // softmax ~ one-hot at peakBin
  const layout = detectionLayout({
    nodes: [],
    outputs: [
      { name: 's', dtype: 'float32', shape: [1, n, 1] },
      { name: 'b', dtype: 'float32', shape: [1, n, 4 * bins] },
    ],
  })!;
  return { layout, out: new Map<string, OutputTensor>([['s', { data: scores, dims: [1, n, 1] }], ['b', { data: dist, dims: [1, n, 4 * bins] }]]) };
}

describe('decodeDetections on a dense head', () => {
  // 4x4 cells, every distance 3 cells: neighbouring cells' boxes (6x6, shifted by 1) overlap at IoU 30/42 = 0.71;
  // the far corner cell's box overlaps the first at IoU 0.2
  const scores = [0.9, 0.8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.7];
  const { layout, out } = denseLevel(4, 4, scores, 3);
  const withScores = (t: number[]) => new Map([...out, ['s', { data: t, dims: [1, 16, 1] }]]);

  it('reads the layout and says that it applies NMS', () => {
    expect(layout.kind).toBe('dense-distribution');
    expect(describeLayout(layout)).toMatch(/NMS at IoU 0\.6/);
  });

  it('reports one detection per object after NMS, every cell above the threshold without it', () => {
    expect(decodeDetections(layout, withScores(scores), 0, 0.5, null).map((d) => d.score)).toEqual([0.9, 0.8, 0.7]);
    const merged = decodeDetections(layout, withScores(scores), 0, 0.5);
    expect(merged.map((d) => d.score)).toEqual([0.9, 0.7]);
    expect(merged[0].box.map((v) => Math.round(v * 4 * 100) / 100)).toEqual([-2.5, -2.5, 3.5, 3.5]);
    // above their IoU the neighbours are two detections
    expect(decodeDetections(layout, withScores(scores), 0, 0.5, 0.75)).toHaveLength(3);
  });

  it('counts agreement on the suppressed detections: a duplicate cell slipping under the threshold is no miss', () => {
    // the quantized run scores the duplicate cell 1 below the threshold: after NMS both runs see the same two objects
    const quant = scores.map((v, i) => (i === 1 ? 0.4 : v));
    const a = boxAgreement([decodeDetections(layout, withScores(scores), 0, 0.5)], [decodeDetections(layout, withScores(quant), 0, 0.5)], 0.5, 'test');
    expect([a.floatDetections, a.matched]).toEqual([2, 2]);
    // on raw cells the same change counts as a lost detection
    const r = boxAgreement([decodeDetections(layout, withScores(scores), 0, 0.5, null)], [decodeDetections(layout, withScores(quant), 0, 0.5, null)], 0.5, 'test');
    expect([r.floatDetections, r.matched]).toEqual([3, 2]);
  });
});

describe('boxAgreement', () => {
  it('counts matches at the threshold, and apart the float boxes that a quantized box below it still finds', () => {
    const float = [[det(0, 0.22), det(2, 0.9), det(4, 0.3)]];
    // same boxes: the first slips to 0.15 (>= half the threshold), the third to 0.05 (below it)
    const quant = [[det(0, 0.15), det(2, 0.85), det(4, 0.05)]];
    const a = boxAgreement(float, quant, 0.2, 'test');
    expect([a.floatDetections, a.matched, a.quantizedDetections]).toEqual([3, 1, 1]);
    expect(a.agreement).toBeCloseTo(1 / 3);
    expect(a.matchedAtHalfThreshold).toBe(2);
    // 0.22 < 1.25 x 0.2; 0.3 and 0.9 are not near
    expect(a.nearThreshold).toBe(1);
    expect([SLIP_FRACTION, NEAR_FACTOR]).toEqual([0.5, 1.25]);
  });

  it('does not let a slipped box stand in for another class or a moved box', () => {
    const a = boxAgreement([[det(0, 0.3)]], [[det(0, 0.15, 1), det(0.8, 0.15)]], 0.2, 'test');
    expect([a.matched, a.matchedAtHalfThreshold]).toEqual([0, 0]);
  });
});

describe('apFloatAsTruth (AP50 of the quantized boxes, float boxes as ground truth)', () => {
  it('is 1 when every float box is found first, whatever the scores (no threshold enters)', () => {
    expect(apFloatAsTruth([[det(0, 0.3), det(2, 0.9)]], [[det(0, 0.11), det(2, 0.12)]])).toBe(1);
    expect(apFloatAsTruth([[]], [[det(0, 0.5)]])).toBe(1);
  });
  it('hand-computed: a false positive ranked first, a missed box, another class, a second image', () => {
    // truths: 3 (two in image 0, one in image 1). Ranked: FP (moved box, 0.9), hit (0.8), hit in image 1 (0.7),
    // wrong class on a truth's box (0.6, FP); the float box at x=4 is never found.
    const float = [[det(0, 0.5), det(4, 0.5)], [det(0, 0.5)]];
    const quant = [[det(0.8, 0.9), det(0, 0.8), det(4, 0.6, 1)], [det(0, 0.7)]];
    // precision 0, 1/2, 2/3, 2/4 at recall 0, 1/3, 2/3, 2/3; envelope 2/3 from the first: AP = 2/3 x 2/3
    expect(apFloatAsTruth(float, quant)).toBeCloseTo(4 / 9, 10);
  });
  it('one quantized box takes one float box: a duplicate is a false positive', () => {
    // truths 1; ranked hit (1), duplicate (FP): recall reaches 1 at precision 1 -> AP 1; the duplicate ranked first costs nothing either
    expect(apFloatAsTruth([[det(0, 0.5)]], [[det(0, 0.9), det(0.05, 0.8)]])).toBe(1);
    // two truths, the quantized model finds the first twice and the second not at all: AP 1/2
    expect(apFloatAsTruth([[det(0, 0.5), det(3, 0.5)]], [[det(0, 0.9), det(0.05, 0.8)]])).toBeCloseTo(0.5, 10);
  });
  it('boxAgreement reports it over the quantized boxes it was given', () => {
    const a = boxAgreement([[det(0, 0.22), det(2, 0.9)]], [[det(0, 0.15), det(2, 0.85)]], 0.2, 'test');
    expect(a.matched).toBe(1);
    expect(a.ap50).toBe(1);
  });
});
