import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { ssdStyleDetector, yoloStyleDetector } from '../testing/detectorModels.js';
import { cutFloatTail, spliceTail, TAIL_START_OPS } from './cut.js';
import { topologicalOrder } from './graph.js';

const yolo = () => importOnnx(buildOnnxModel(yoloStyleDetector()));
const ssd = () => importOnnx(buildOnnxModel(ssdStyleDetector()));

describe('cutFloatTail', () => {
  it('YOLO-style: the tail is the NonMaxSuppression; boxes and scores end the head', () => {
    const cut = cutFloatTail(yolo())!;
    expect(cut.starts).toEqual([expect.objectContaining({ node: 'nms', opType: 'NonMaxSuppression' })]);
    expect(cut.tail.map((n) => n.opType)).toEqual(['NonMaxSuppression']);
    expect(cut.cutValues.sort()).toEqual(['boxes', 'scores']);
    expect(cut.head.outputs.map((o) => o.name).sort()).toEqual(['boxes', 'scores']);
    expect(cut.head.nodes.some((n) => TAIL_START_OPS.has(n.opType))).toBe(false);
    // NMS thresholds are tail constants, not head initializers
    expect([...cut.tailInitializers.keys()].sort()).toEqual(['iou', 'max_out', 'score_min']);
    expect(cut.head.initializers.has('iou')).toBe(false);
  });

  it('SSD-style: ArgMax and TopK start the tail; the re-layouts feeding only the tail go with it', () => {
    const cut = cutFloatTail(ssd())!;
    expect(cut.starts.map((s) => s.opType).sort()).toEqual(['ArgMax', 'TopK']);
    // the head ends at float network values; Squeeze/Gather/Unsqueeze of boxes run in the tail
    expect(cut.head.outputs.every((o) => o.dtype === 'float32')).toBe(true);
    expect(cut.tail.map((n) => n.name)).toEqual(expect.arrayContaining(['sq_boxes', 'gather_boxes', 'unsq_boxes', 'gather_classes']));
    expect(cut.head.nodes.map((n) => n.opType)).not.toContain('Squeeze');
  });

  it('spliceTail gives back the original outputs, a valid order and every node once', () => {
    for (const g of [yolo(), ssd()]) {
      const cut = cutFloatTail(g)!;
      const back = spliceTail(cut.head, cut);
      expect(back.outputs).toEqual(g.outputs);
      expect(back.nodes.map((n) => n.name).sort()).toEqual(g.nodes.map((n) => n.name).sort());
      expect(topologicalOrder(back)).toHaveLength(g.nodes.length);
      for (const n of back.nodes) for (const i of n.inputs) if (i && !back.initializers.has(i) && !back.inputs.some((v) => v.name === i)) expect(back.nodes.some((p) => p.outputs.includes(i))).toBe(true);
    }
  });

  it('spliceTail renames tail values that the quantized head reuses for something else', () => {
    const g = yolo();
    const cut = cutFloatTail(g)!;
    // a head that (as compactNames may) calls an internal value like a tail constant
    const head = { ...cut.head, nodes: cut.head.nodes.map((n) => (n.name === 'relu1' ? { ...n, outputs: ['iou'] } : n.inputs.includes('r1') ? { ...n, inputs: n.inputs.map((i) => (i === 'r1' ? 'iou' : i)) } : n)) };
    const back = spliceTail(head, cut);
    const nms = back.nodes.find((n) => n.opType === 'NonMaxSuppression')!;
    expect(nms.inputs[3]).not.toBe('iou');
    expect(back.initializers.get(nms.inputs[3])!.data[0]).toBeCloseTo(0.5);
  });

  it('--until moves the cut earlier and refuses unknown names', () => {
    const cut = cutFloatTail(yolo(), { until: ['score_mul'] })!;
    expect(cut.starts).toEqual([expect.objectContaining({ node: 'score_mul', reason: 'named by --until' })]);
    expect(cut.tail.map((n) => n.name)).toEqual(['score_mul', 'classes_first', 'nms']);
    expect(cut.cutValues.sort()).toEqual(['boxes', 'cls', 'obj']);
    // a value name works as well as a node name
    expect(cutFloatTail(yolo(), { until: ['score_cells'] })!.starts[0].node).toBe('score_mul');
    expect(() => cutFloatTail(yolo(), { until: ['no_such_node'] })).toThrow(/no_such_node/);
  });

  it('an op the executor cannot run starts the tail; a classifier has none', () => {
    const cut = cutFloatTail(yolo(), { runnable: (op) => op !== 'Transpose' })!;
    expect(cut.starts.map((s) => s.reason)).toContain('not run by the executor');
    const head = cutFloatTail(yolo())!.head;
    expect(cutFloatTail(head)).toBeUndefined();
  });
});
