import type { Graph } from '../ir/types.js';
import { iou } from '../runtime/ops/postprocess.js';

/**
 * Detection fidelity: a float detection (score >= threshold) counts as kept when the quantized model
 * has a detection of the same class, also >= threshold, at IoU >= 0.5 with it (one-to-one, best IoU
 * first). Top-1 agreement means nothing for a detector; this is what a user of the boxes sees.
 *
 * A float box scored just above the threshold is lost to any small downward score error, with the box
 * itself intact. How much of the figure that is depends on the model's score distribution (NanoDet's
 * IoU-quality scores: 54 % of its boxes >= 0.2 on the bench mosaics score below 0.25; CenterNet's 30 %),
 * so the figure comes with two more: float boxes near the threshold, and float boxes matched when
 * quantized boxes down to half the threshold count (a score slip, not a lost or moved box).
 */

/** Quantized detections are decoded down to this fraction of the threshold (BoxAgreement.matchedAtHalfThreshold). */
export const SLIP_FRACTION = 0.5;
/** A float detection below this multiple of the threshold is near it (BoxAgreement.nearThreshold). */
export const NEAR_FACTOR = 1.25;

export interface Detection {
  /** Two opposite corners in the model's own coordinates (order within the pair does not matter). */
  box: [number, number, number, number];
  score: number;
  cls: number;
}

export interface BoxAgreement {
  /** matched / floatDetections (1 when the float model detected nothing: then nothing can disagree). */
  agreement: number;
  floatDetections: number;
  matched: number;
  /** Quantized detections at or above the threshold. */
  quantizedDetections: number;
  /** Float detections scoring below NEAR_FACTOR x the threshold. */
  nearThreshold: number;
  /** Float detections matched when quantized detections down to SLIP_FRACTION x the threshold count. */
  matchedAtHalfThreshold: number;
  /**
   * Threshold-free fidelity: average precision at IoU 0.5 of the quantized detections (every one given, ranked by
   * score, so down to SLIP_FRACTION x the threshold) with the float detections as ground truth (apFloatAsTruth).
   */
  ap50: number;
  images: number;
  scoreThreshold: number;
  iouThreshold: number;
  /** How detections were read from the outputs. */
  decoder: string;
}

export interface OutputTensor {
  data: ArrayLike<number>;
  dims: number[];
}

/** IoU of two boxes given by opposite corners (in either order). */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const ordered = (v: readonly number[]) => [Math.min(v[0], v[2]), Math.min(v[1], v[3]), Math.max(v[0], v[2]), Math.max(v[1], v[3])];
  return iou(ordered(a), ordered(b));
}

/** Matches one image's float detections to quantized ones; returns how many float detections were matched. */
export function matchDetections(float: Detection[], quant: Detection[], iouThreshold = 0.5): number {
  const pairs: { f: number; q: number; iou: number }[] = [];
  float.forEach((f, i) => quant.forEach((q, j) => {
    if (f.cls !== q.cls) return;
    const iou = boxIou(f.box, q.box);
    if (iou >= iouThreshold) pairs.push({ f: i, q: j, iou });
  }));
  pairs.sort((x, y) => y.iou - x.iou);
  const usedF = new Set<number>();
  const usedQ = new Set<number>();
  for (const p of pairs) {
    if (usedF.has(p.f) || usedQ.has(p.q)) continue;
    usedF.add(p.f);
    usedQ.add(p.q);
  }
  return usedF.size;
}

/**
 * Sums per-image matches into the agreement figure. `quant` may hold detections below the threshold
 * (decode it at SLIP_FRACTION x the threshold): the figure counts those >= the threshold,
 * matchedAtHalfThreshold all of them.
 */
export function boxAgreement(float: Detection[][], quant: Detection[][], scoreThreshold: number, decoder: string, iouThreshold = 0.5): BoxAgreement {
  let floatDetections = 0;
  let matched = 0;
  let quantizedDetections = 0;
  let nearThreshold = 0;
  let matchedAtHalfThreshold = 0;
  float.forEach((f, i) => {
    const above = quant[i].filter((d) => d.score >= scoreThreshold);
    floatDetections += f.length;
    quantizedDetections += above.length;
    nearThreshold += f.filter((d) => d.score < NEAR_FACTOR * scoreThreshold).length;
    matched += matchDetections(f, above, iouThreshold);
    matchedAtHalfThreshold += matchDetections(f, quant[i].filter((d) => d.score >= SLIP_FRACTION * scoreThreshold), iouThreshold);
  });
  return { agreement: floatDetections ? matched / floatDetections : 1, floatDetections, matched, quantizedDetections, nearThreshold, matchedAtHalfThreshold, ap50: apFloatAsTruth(float, quant, iouThreshold), images: float.length, scoreThreshold, iouThreshold, decoder };
}

/**
 * Average precision of `quant` against `float` as ground truth (detector quantization is usually reported as mAP
 * of the quantized model vs the float one): every quantized detection, highest score first over all images and
 * classes pooled, is a hit when it takes a not yet taken float detection of its image and class at IoU >= the
 * threshold (the best such), else a false positive; AP = area under the precision-recall curve with precision
 * made non-increasing (all-point interpolation, PASCAL VOC 2010+). Pooled, not a mean over classes: with a few
 * boxes per class a per-class mean would be noise. No score threshold enters, so a box that slips a little under
 * the user's threshold still counts where it ranks. 1 when there is no float detection.
 */
export function apFloatAsTruth(float: Detection[][], quant: Detection[][], iouThreshold = 0.5): number {
  const truths = float.reduce((a, f) => a + f.length, 0);
  if (truths === 0) return 1;
  const ranked = quant.flatMap((ds, img) => ds.map((d) => ({ d, img }))).sort((x, y) => y.d.score - x.d.score);
  const taken = float.map((f) => new Array<boolean>(f.length).fill(false));
  const precision: number[] = [];
  const recall: number[] = [];
  let tp = 0;
  ranked.forEach(({ d, img }, k) => {
    let best = -1;
    let bestIou = iouThreshold;
    float[img].forEach((f, j) => {
      if (taken[img][j] || f.cls !== d.cls) return;
      const o = boxIou(f.box, d.box);
      if (o >= bestIou) [best, bestIou] = [j, o];
    });
    if (best >= 0) {
      taken[img][best] = true;
      tp++;
    }
    precision.push(tp / (k + 1));
    recall.push(tp / truths);
  });
  for (let k = precision.length - 2; k >= 0; k--) precision[k] = Math.max(precision[k], precision[k + 1]);
  let ap = 0;
  let prev = 0;
  recall.forEach((r, k) => {
    ap += (r - prev) * precision[k];
    prev = r;
  });
  return ap;
}

/**
 * How a detector's outputs hold detections, recognized from the output shapes:
 *  - 'nms': an ONNX NonMaxSuppression output [M, 3] (batch, class, box) whose boxes [B, N, 4] and scores
 *    [B, C, N] inputs are outputs too (YOLO exports);
 *  - 'boxes-score-class': one output [B, K, 6] = 4 box corners, score, class (CenterNet, TF OD API style);
 *  - 'dense-distribution': pairs [B, N, C] class scores + [B, N, 4*R] distance distributions on a square
 *    grid of N cells (NanoDet / GFL heads), decoded as softmax-expected distances from the cell centre;
 *  - 'boxes-scores-classes': [B, K, 4] boxes + [B, K] scores + [B, K] classes (SSD with TopK).
 * Undefined when the outputs look like none of these (a classifier).
 */
export type DetectionLayout =
  | { kind: 'nms'; selected: string; boxes: string; scores: string; centerPointBox: boolean }
  | { kind: 'boxes-score-class'; output: string }
  | { kind: 'dense-distribution'; levels: { scores: string; boxes: string; cells: number; bins: number }[] }
  | { kind: 'boxes-scores-classes'; boxes: string; scores: string; classes: string };

export function detectionLayout(graph: Pick<Graph, 'outputs' | 'nodes'>): DetectionLayout | undefined {
  const outputs = graph.outputs;
  const isOut = (v: string) => outputs.some((o) => o.name === v);
  const nms = graph.nodes.find((n) => n.opType === 'NonMaxSuppression' && isOut(n.outputs[0]) && isOut(n.inputs[0]) && isOut(n.inputs[1]));
  if (nms) return { kind: 'nms', selected: nms.outputs[0], boxes: nms.inputs[0], scores: nms.inputs[1], centerPointBox: nms.attrs.center_point_box === 1 };
  const fixed = outputs.filter((o) => o.shape && o.shape.slice(1).every((d) => typeof d === 'number'));
  const six = fixed.find((o) => o.shape!.length === 3 && o.shape![2] === 6);
  if (six) return { kind: 'boxes-score-class', output: six.name };
  const three = fixed.filter((o) => o.shape!.length === 3);
  const levels: { scores: string; boxes: string; cells: number; bins: number }[] = [];
  for (const s of three) {
    const n = s.shape![1] as number;
    const side = Math.round(Math.sqrt(n));
    if (side * side !== n) continue;
    const box = three.find((b) => b !== s && b.shape![1] === n && (b.shape![2] as number) % 4 === 0 && (b.shape![2] as number) > 4 && (b.shape![2] as number) !== (s.shape![2] as number));
    if (box && (s.shape![2] as number) !== (box.shape![2] as number) && !levels.some((l) => l.boxes === s.name)) levels.push({ scores: s.name, boxes: box.name, cells: n, bins: (box.shape![2] as number) / 4 });
  }
  // a level's score output is the one whose partner is a distribution; drop pairs where the roles were swapped
  const valid = levels.filter((l) => !levels.some((m) => m.scores === l.boxes));
  if (valid.length) return { kind: 'dense-distribution', levels: valid };
  const boxes = fixed.find((o) => o.shape!.length === 3 && o.shape![2] === 4);
  if (boxes) {
    const k = boxes.shape![1];
    const pair = fixed.filter((o) => o.shape!.length === 2 && o.shape![1] === k);
    if (pair.length === 2) {
      const [scores, classes] = pair[0].dtype.startsWith('float') ? [pair[0], pair[1]] : [pair[1], pair[0]];
      return { kind: 'boxes-scores-classes', boxes: boxes.name, scores: scores.name, classes: classes.name };
    }
  }
  return undefined;
}

export function describeLayout(l: DetectionLayout): string {
  if (l.kind === 'nms') return `NonMaxSuppression '${l.selected}' over '${l.boxes}' / '${l.scores}'`;
  if (l.kind === 'boxes-score-class') return `boxes+score+class in '${l.output}'`;
  if (l.kind === 'boxes-scores-classes') return `boxes '${l.boxes}', scores '${l.scores}', classes '${l.classes}'`;
  return `dense score/distance-distribution heads (${l.levels.map((v) => `${v.scores}+${v.boxes}`).join(', ')}), class-wise NMS at IoU ${DENSE_NMS_IOU}`;
}

/**
 * IoU above which a dense head's overlapping same-class cells are one detection: NanoDet's own
 * post-processing (multiclass_nms, iou_threshold 0.6; GFL and FCOS use the same). A dense head reports
 * every cell above the threshold, 5-150 cells per object; its users see what survives NMS.
 */
export const DENSE_NMS_IOU = 0.6;

/** Greedy class-wise non-maximum suppression: highest score first, a box overlapping a kept one of its class by IoU > `iouThreshold` is dropped. */
export function suppressOverlaps(dets: Detection[], iouThreshold: number): Detection[] {
  const order = dets.map((d, i) => [d, i] as const).sort((x, y) => y[0].score - x[0].score || x[1] - y[1]);
  const kept: Detection[] = [];
  for (const [d] of order) if (!kept.some((k) => k.cls === d.cls && boxIou(k.box, d.box) > iouThreshold)) kept.push(d);
  return kept;
}

/**
 * Detections of image `b` (batch index) above `threshold`. A dense head's cells go through
 * suppressOverlaps at `denseNmsIou` (default DENSE_NMS_IOU; null: every cell, as the raw outputs hold them).
 */
export function decodeDetections(layout: DetectionLayout, out: Map<string, OutputTensor>, b: number, threshold: number, denseNmsIou: number | null = DENSE_NMS_IOU): Detection[] {
  const dets: Detection[] = [];
  if (layout.kind === 'nms') {
    const [sel, bx, sc] = [out.get(layout.selected)!, out.get(layout.boxes)!, out.get(layout.scores)!];
    const [n, nc] = [bx.dims[1], sc.dims[1]];
    for (let k = 0; k < sel.dims[0]; k++) {
      const [bi, c, i] = [0, 1, 2].map((j) => Number(sel.data[k * 3 + j]));
      if (bi !== b) continue;
      const score = Number(sc.data[(bi * nc + c) * n + i]);
      const v = [0, 1, 2, 3].map((j) => Number(bx.data[(bi * n + i) * 4 + j]));
      // center_point_box = 1: [cx, cy, w, h]
      const box = (layout.centerPointBox ? [v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2] : v) as Detection['box'];
      if (score >= threshold) dets.push({ box, score, cls: c });
    }
    return dets;
  }
  if (layout.kind === 'boxes-score-class') {
    const t = out.get(layout.output)!;
    const k = t.dims[1];
    for (let i = 0; i < k; i++) {
      const o = (b * k + i) * 6;
      const score = Number(t.data[o + 4]);
      if (score >= threshold) dets.push({ box: [0, 1, 2, 3].map((j) => Number(t.data[o + j])) as Detection['box'], score, cls: Math.round(Number(t.data[o + 5])) });
    }
    return dets;
  }
  if (layout.kind === 'boxes-scores-classes') {
    const [bx, sc, cl] = [out.get(layout.boxes)!, out.get(layout.scores)!, out.get(layout.classes)!];
    const k = sc.dims[1];
    for (let i = 0; i < k; i++) {
      const score = Number(sc.data[b * k + i]);
      if (score >= threshold) dets.push({ box: [0, 1, 2, 3].map((j) => Number(bx.data[(b * k + i) * 4 + j])) as Detection['box'], score, cls: Math.round(Number(cl.data[b * k + i])) });
    }
    return dets;
  }
  // dense: cells on a side x side grid; distances in cell units (the stride cancels in IoU within a level)
  for (const level of layout.levels) {
    const sc = out.get(level.scores)!;
    const bx = out.get(level.boxes)!;
    const nc = sc.dims[2];
    const side = Math.round(Math.sqrt(level.cells));
    const scale = 1 / side; // boxes in input-relative units, so levels compare
    for (let i = 0; i < level.cells; i++) {
      let best = 0;
      let cls = -1;
      const so = (b * level.cells + i) * nc;
      for (let c = 0; c < nc; c++) if (Number(sc.data[so + c]) > best) [best, cls] = [Number(sc.data[so + c]), c];
      if (best < threshold) continue;
      const cx = (i % side) + 0.5;
      const cy = Math.floor(i / side) + 0.5;
      const d = [0, 1, 2, 3].map((s) => expectedBin(bx.data, (b * level.cells + i) * 4 * level.bins + s * level.bins, level.bins));
      dets.push({ box: [(cx - d[0]) * scale, (cy - d[1]) * scale, (cx + d[2]) * scale, (cy + d[3]) * scale], score: best, cls });
    }
  }
  return denseNmsIou === null ? dets : suppressOverlaps(dets, denseNmsIou);
}

/** Softmax-expected bin index of one distance distribution. */
function expectedBin(data: ArrayLike<number>, offset: number, bins: number): number {
  let max = -Infinity;
  for (let j = 0; j < bins; j++) max = Math.max(max, Number(data[offset + j]));
  let sum = 0;
  let acc = 0;
  for (let j = 0; j < bins; j++) {
    const e = Math.exp(Number(data[offset + j]) - max);
    sum += e;
    acc += e * j;
  }
  return acc / sum;
}
