import { describe, expect, it } from 'vitest';
import type { Graph } from '../ir/types.js';
import { evaluationImages } from './evaluationImages.js';

function graph(layout: 'NCHW' | 'NHWC'): Graph {
  return {
    name: 'g', format: layout === 'NHWC' ? 'tfjs-graph' : 'onnx', interfaceLayout: layout, opset: 13, metadata: {}, valueInfo: new Map(), nodes: [], initializers: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', shape: layout === 'NCHW' ? ['N', 3, 2, 2] : ['N', 2, 2, 3] }],
    outputs: [],
  };
}

// One 2x2 image: pixel p has R = 10p, G = 100, B = 255.
const rgba = new Uint8Array(16);
for (let p = 0; p < 4; p++) rgba.set([10 * p, 100, 255, 255], p * 4);
const norm = { mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255 };

describe('evaluationImages', () => {
  it('normalizes own images into NCHW for an NCHW model', () => {
    const r = evaluationImages(graph('NCHW'), [{ width: 2, height: 2, rgba }], norm);
    expect(r.shape).toEqual([1, 3, 2, 2]);
    expect(Array.from(r.images.subarray(0, 4)).map((v) => Math.round(v * 255))).toEqual([0, 10, 20, 30]);
    expect(r.images[4]).toBeCloseTo(100 / 255);
  });

  it('gives NHWC to a channels-last model, and applies the pixel range', () => {
    const r = evaluationImages(graph('NHWC'), [{ width: 2, height: 2, rgba }], { ...norm, pixelRange: 1 });
    expect(r.shape).toEqual([1, 2, 2, 3]);
    expect(Array.from(r.images.subarray(0, 6))).toEqual([0, 100, 255, 10, 100, 255]);
  });
});
