import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { cifarFixture } from '../testing/fixtures.js';
import { formatShape, summarizeGraph } from './summary.js';

describe('summarizeGraph', () => {
  it('summarizes resnet20_bn.onnx as its README describes it', () => {
    const bytes = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
    const s = summarizeGraph(importOnnx(bytes), bytes.length);
    expect(s.format).toBe('onnx');
    expect(s.opset).toBe(13);
    expect(s.sizeBytes).toBe(1_104_162);
    expect(s.parameterCount).toBe(269_722);
    expect(s.batchNormCount).toBe(19);
    expect(s.opCounts).toEqual({ BatchNormalization: 19, Conv: 19, Relu: 19, Add: 9, Slice: 4, Pad: 2, Flatten: 1, Gemm: 1, GlobalAveragePool: 1 });
    expect(Object.keys(s.opCounts)[0]).toBe('BatchNormalization');
    expect(s.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['N', 3, 32, 32] }]);
    expect(s.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['N', 10] }]);
    expect(s.producer).toBe('pytorch 1.13.0');
    expect(formatShape(s.inputs[0].shape)).toBe('[N, 3, 32, 32]');
  });

  it('counts the folded model without BatchNorm (BN scale folded into Conv weights)', () => {
    const bytes = new Uint8Array(readFileSync(cifarFixture('resnet20_folded.onnx')));
    const s = summarizeGraph(importOnnx(bytes), bytes.length);
    expect(s.batchNormCount).toBe(0);
    // Folding removes the 19 BN gammas (16*7 + 32*6 + 64*6 channels = 688) and keeps the betas as Conv biases.
    expect(s.parameterCount).toBe(269_722 - 688);
  });
});
