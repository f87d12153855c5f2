import { describe, expect, it } from 'vitest';
import { nchwToNhwc, nhwcToNchw } from './layout.js';

describe('layout conversions', () => {
  it('move channels last and back', () => {
    const nchw = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
    const nhwc = nchwToNhwc(nchw, [2, 3, 2, 2]);
    // image 0, pixel (0,0): channels 0, 4, 8
    expect(Array.from(nhwc.subarray(0, 3))).toEqual([0, 4, 8]);
    expect(Array.from(nhwcToNchw(nhwc, [2, 2, 2, 3]))).toEqual(Array.from(nchw));
  });
});
