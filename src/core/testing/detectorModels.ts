import type { BuilderModel } from './onnxBuilder.js';
import { seeded } from './opCheck.js';

/**
 * Two small ONNX detectors for tests, built like real exports end: a YOLO-style head (Conv backbone with
 * BatchNorm, Resize + Concat neck, Reshape/Transpose/Split of the head, Sigmoid scores, NonMaxSuppression)
 * and an SSD-style one (per-anchor scores, TopK, gathered boxes, ArgMax classes). Weights are seeded.
 */

const conv = (name: string, x: string, w: string, out: string, stride = 1, k = 3) => ({
  opType: 'Conv', name, inputs: [x, w, `${w}_b`], outputs: [out], attrs: { kernel_shape: [k, k], strides: [stride, stride], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] },
});
const bn = (name: string, x: string, c: number, out: string) => ({ opType: 'BatchNormalization', name, inputs: [x, `${name}_s`, `${name}_b`, `${name}_m`, `${name}_v`], outputs: [out] });
const weights = (name: string, dims: number[], seed: number, scale = 1) => [
  { name, dims, data: seeded(dims.reduce((a, b) => a * b, 1), seed, -0.5 * scale, 0.5 * scale) },
  { name: `${name}_b`, dims: [dims[0]], data: seeded(dims[0], seed + 1, -0.1, 0.1) },
];
const bnParams = (name: string, c: number, seed: number) => [
  { name: `${name}_s`, dims: [c], data: seeded(c, seed, 0.8, 1.2) },
  { name: `${name}_b`, dims: [c], data: seeded(c, seed + 1, -0.1, 0.1) },
  { name: `${name}_m`, dims: [c], data: seeded(c, seed + 2, -0.2, 0.2) },
  { name: `${name}_v`, dims: [c], data: seeded(c, seed + 3, 0.5, 1.5) },
];
const i64 = (name: string, data: number[], dims = [data.length]) => ({ name, dtype: 'int64' as const, dims, data });
const f32 = (name: string, data: number[], dims = [data.length]) => ({ name, dims, data });

/** Backbone: [1,3,32,32] -> c1 [1,8,16,16] and neck [1,16,16,16] (c1 ++ upsampled c2). */
function backbone(): { nodes: BuilderModel['nodes']; initializers: NonNullable<BuilderModel['initializers']> } {
  return {
    nodes: [
      conv('conv1', 'images', 'w1', 'c1'),
      bn('bn1', 'c1', 8, 'b1'),
      { opType: 'Relu', name: 'relu1', inputs: ['b1'], outputs: ['r1'] },
      conv('conv2', 'r1', 'w2', 'c2', 2),
      bn('bn2', 'c2', 8, 'b2'),
      { opType: 'Relu', name: 'relu2', inputs: ['b2'], outputs: ['r2'] },
      conv('conv3', 'r2', 'w3', 'c3', 2),
      bn('bn3', 'c3', 8, 'b3'),
      { opType: 'Relu', name: 'relu3', inputs: ['b3'], outputs: ['r3'] },
      { opType: 'Resize', name: 'up', inputs: ['r3', '', 'up_scales'], outputs: ['u3'], attrs: { mode: 'nearest' } },
      { opType: 'Concat', name: 'neck', inputs: ['r2', 'u3'], outputs: ['n'], attrs: { axis: 1 } },
    ],
    initializers: [
      ...weights('w1', [8, 3, 3, 3], 1), ...bnParams('bn1', 8, 3),
      ...weights('w2', [8, 8, 3, 3], 11), ...bnParams('bn2', 8, 13),
      ...weights('w3', [8, 8, 3, 3], 21), ...bnParams('bn3', 8, 23),
      f32('up_scales', [1, 1, 2, 2]),
    ],
  };
}

/** YOLO-style: 256 cells x (4 box + 1 objectness + 2 classes), NMS at the end. Outputs boxes [1,256,4], scores [1,2,256], selected [M,3]. */
export function yoloStyleDetector(): BuilderModel {
  const bb = backbone();
  return {
    opset: 13,
    inputs: [{ name: 'images', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'boxes', shape: [1, 256, 4] }, { name: 'scores', shape: [1, 2, 256] }, { name: 'selected', dtype: 'int64', shape: [null, 3] }],
    initializers: [
      ...bb.initializers, ...weights('wh', [7, 16, 1, 1], 31),
      i64('flat', [1, 7, 256]), i64('split', [4, 1, 2]), f32('size', [32]), i64('max_out', [5]), f32('iou', [0.5]), f32('score_min', [0.4]),
    ],
    nodes: [
      ...bb.nodes,
      conv('head', 'n', 'wh', 'h', 1, 1),
      { opType: 'Reshape', name: 'flatten_cells', inputs: ['h', 'flat'], outputs: ['hf'] },
      { opType: 'Transpose', name: 'cells_first', inputs: ['hf'], outputs: ['ht'], attrs: { perm: [0, 2, 1] } },
      { opType: 'Split', name: 'split_head', inputs: ['ht', 'split'], outputs: ['box_raw', 'obj_raw', 'cls_raw'], attrs: { axis: 2 } },
      { opType: 'Sigmoid', name: 'box_sig', inputs: ['box_raw'], outputs: ['box_s'] },
      { opType: 'Mul', name: 'box_scale', inputs: ['box_s', 'size'], outputs: ['boxes'] },
      { opType: 'Sigmoid', name: 'obj_sig', inputs: ['obj_raw'], outputs: ['obj'] },
      { opType: 'Sigmoid', name: 'cls_sig', inputs: ['cls_raw'], outputs: ['cls'] },
      { opType: 'Mul', name: 'score_mul', inputs: ['obj', 'cls'], outputs: ['score_cells'] },
      { opType: 'Transpose', name: 'classes_first', inputs: ['score_cells'], outputs: ['scores'], attrs: { perm: [0, 2, 1] } },
      { opType: 'NonMaxSuppression', name: 'nms', inputs: ['boxes', 'scores', 'max_out', 'iou', 'score_min'], outputs: ['selected'] },
    ],
  };
}

/** One 6x6 anchor box per cell of the 16x16 grid (corners y1, x1, y2, x2 in input pixels). */
function anchors() {
  const data: number[] = [];
  for (let i = 0; i < 256; i++) {
    const [r, c] = [Math.floor(i / 16) * 2, (i % 16) * 2];
    data.push(r - 2, c - 2, r + 4, c + 4);
  }
  return { name: 'anchors', dims: [1, 256, 4], data };
}

/** SSD-style: 256 anchors, TopK 10 by objectness, boxes and ArgMax classes gathered. Outputs det_boxes [1,10,4], det_scores [1,10], det_classes [1,10]. */
export function ssdStyleDetector(): BuilderModel {
  const bb = backbone();
  return {
    opset: 13,
    inputs: [{ name: 'images', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'det_boxes', shape: [1, 10, 4] }, { name: 'det_scores', shape: [1, 10] }, { name: 'det_classes', dtype: 'int64', shape: [1, 10] }],
    initializers: [
      ...bb.initializers, ...weights('wbox', [4, 16, 3, 3], 41), ...weights('wcls', [3, 16, 3, 3], 51, 2), ...weights('wobj', [1, 16, 3, 3], 61, 0.1), anchors(),
      i64('flat_box', [1, 4, 256]), i64('flat_cls', [1, 3, 256]), i64('flat_obj', [1, 256]), i64('k', [10]), i64('ax0', [0]), f32('size', [32]),
    ],
    nodes: [
      ...bb.nodes,
      conv('box_head', 'n', 'wbox', 'bh'),
      conv('cls_head', 'n', 'wcls', 'ch'),
      conv('obj_head', 'n', 'wobj', 'oh'),
      { opType: 'Reshape', name: 'box_flat', inputs: ['bh', 'flat_box'], outputs: ['bf'] },
      { opType: 'Transpose', name: 'box_t', inputs: ['bf'], outputs: ['bt'], attrs: { perm: [0, 2, 1] } },
      { opType: 'Tanh', name: 'box_offset', inputs: ['bt'], outputs: ['bo'] },
      { opType: 'Add', name: 'box_decode', inputs: ['bo', 'anchors'], outputs: ['anchor_boxes'] },
      { opType: 'Reshape', name: 'cls_flat', inputs: ['ch', 'flat_cls'], outputs: ['cf'] },
      { opType: 'Transpose', name: 'cls_t', inputs: ['cf'], outputs: ['ct'], attrs: { perm: [0, 2, 1] } },
      { opType: 'ArgMax', name: 'best_class', inputs: ['ct'], outputs: ['cls_idx'], attrs: { axis: 2, keepdims: 0 } },
      { opType: 'Reshape', name: 'obj_flat', inputs: ['oh', 'flat_obj'], outputs: ['of'] },
      { opType: 'Sigmoid', name: 'obj_sig', inputs: ['of'], outputs: ['anchor_scores'] },
      { opType: 'TopK', name: 'topk', inputs: ['anchor_scores', 'k'], outputs: ['det_scores', 'top_idx'], attrs: { axis: 1 } },
      { opType: 'Squeeze', name: 'sq_boxes', inputs: ['anchor_boxes', 'ax0'], outputs: ['boxes2'] },
      { opType: 'Squeeze', name: 'sq_idx', inputs: ['top_idx', 'ax0'], outputs: ['idx1'] },
      { opType: 'Gather', name: 'gather_boxes', inputs: ['boxes2', 'idx1'], outputs: ['gb'], attrs: { axis: 0 } },
      { opType: 'Unsqueeze', name: 'unsq_boxes', inputs: ['gb', 'ax0'], outputs: ['det_boxes'] },
      { opType: 'Squeeze', name: 'sq_cls', inputs: ['cls_idx', 'ax0'], outputs: ['cls1'] },
      { opType: 'Gather', name: 'gather_classes', inputs: ['cls1', 'idx1'], outputs: ['gc'], attrs: { axis: 0 } },
      { opType: 'Unsqueeze', name: 'unsq_classes', inputs: ['gc', 'ax0'], outputs: ['det_classes'] },
    ],
  };
}

/**
 * CenterNet-style: a 2-class heatmap (1x1 conv, Sigmoid) whose peaks are picked in the graph as CenterNet's
 * TF export does, heat == MaxPool3x3(heat) (a cell equal to its neighbourhood's maximum), and a box-size
 * head. Outputs peaks [1,2,16,16] (heat where it is a peak, else 0) and wh [1,2,16,16].
 */
export function centerNetStyleDetector(): BuilderModel {
  const bb = backbone();
  return {
    opset: 13,
    inputs: [{ name: 'images', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'peaks', shape: [1, 2, 16, 16] }, { name: 'wh', shape: [1, 2, 16, 16] }],
    initializers: [...bb.initializers, ...weights('wheat', [2, 16, 1, 1], 71, 2), ...weights('wwh', [2, 16, 1, 1], 81), f32('wh_scale', [4])],
    nodes: [
      ...bb.nodes,
      conv('heat_head', 'n', 'wheat', 'heat_logits', 1, 1),
      { opType: 'Sigmoid', name: 'heat_sig', inputs: ['heat_logits'], outputs: ['heat'] },
      { opType: 'MaxPool', name: 'peak_pool', inputs: ['heat'], outputs: ['heat_max'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] } },
      { opType: 'Equal', name: 'is_peak', inputs: ['heat', 'heat_max'], outputs: ['peak_mask'] },
      { opType: 'Cast', name: 'peak_float', inputs: ['peak_mask'], outputs: ['peak_f'], attrs: { to: 1 } },
      { opType: 'Mul', name: 'keep_peaks', inputs: ['heat', 'peak_f'], outputs: ['peaks'] },
      conv('wh_head', 'n', 'wwh', 'wh_logits', 1, 1),
      { opType: 'Mul', name: 'wh_scale', inputs: ['wh_logits', 'wh_scale'], outputs: ['wh'] },
    ],
  };
}
