import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { splitFloatTail } from '../pipeline/floatTail.js';
import { centerNetStyleDetector, yoloStyleDetector } from '../testing/detectorModels.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { outputChainValues } from './outputChains.js';

describe('outputChainValues', () => {
  it('CenterNet-style head: the heatmap the peak test reads back to its conv output, and the size head; not the backbone', () => {
    const { head } = splitFloatTail(importOnnx(buildOnnxModel(centerNetStyleDetector())));
    const chain = outputChainValues(head);
    expect([...chain].sort()).toEqual(['heat', 'heat_logits', 'wh', 'wh_logits']);
  });
  it('YOLO-style head: back through Sigmoid, Split, Transpose and Reshape to the head conv; a product of two activations ends it', () => {
    const { head } = splitFloatTail(importOnnx(buildOnnxModel(yoloStyleDetector())));
    const chain = outputChainValues(head);
    // boxes = Sigmoid(Split(Transpose(Reshape(conv)))) * constant
    for (const v of ['boxes', 'box_s', 'box_raw', 'ht', 'hf', 'h']) expect(chain.has(v), v).toBe(true);
    // scores = obj * cls mixes two activations: the Mul's inputs stay out (their grids stay)
    expect(chain.has('scores') && chain.has('score_cells')).toBe(true);
    for (const v of ['obj', 'cls', 'obj_raw', 'cls_raw', 'n', 'r2']) expect(chain.has(v), v).toBe(false);
  });
  it('a value the network reads elsewhere too stays out', () => {
    const { head } = splitFloatTail(importOnnx(buildOnnxModel(centerNetStyleDetector())));
    // the heat logits also feed a second, inner reader: they are no longer only the way to an output
    head.nodes.push({ name: 'extra', opType: 'Relu', inputs: ['heat_logits'], outputs: ['inner'], attrs: {} });
    const chain = outputChainValues(head);
    expect(chain.has('heat')).toBe(true);
    expect(chain.has('heat_logits')).toBe(false);
  });
});
