import { describe, expect, it } from 'vitest';
import type { Graph } from '../ir/types.js';
import { findImageInput } from './graphInput.js';

const graphWith = (dtype: 'float32' | 'int32', shape: (number | string | null)[]): Graph =>
  ({ inputs: [{ name: 'image', dtype, shape }], outputs: [], nodes: [], initializers: new Map(), valueInfo: new Map(), opset: 13, interfaceLayout: 'NHWC' }) as unknown as Graph;

describe('findImageInput', () => {
  it('reads layout and one image\'s NCHW shape; the size of a free input comes from imageSize', () => {
    expect(findImageInput(graphWith('float32', ['N', 192, 160, 3]))).toEqual({ name: 'image', layout: 'NHWC', imageShape: [3, 192, 160] });
    expect(findImageInput(graphWith('float32', [null, null, null, 3]), [64, 48]).imageShape).toEqual([3, 64, 48]);
  });

  it('refuses an integer image input with a typed error naming it', () => {
    expect(() => findImageInput(graphWith('int32', [1, 192, 192, 3]))).toThrow(/Input 'image' takes int32 values \(integer pixels\)/);
  });
});
