import { describe, expect, it } from 'vitest';
import { decodeNpyFloat32, encodeNpyFloat32 } from './npy.js';

describe('npy float32', () => {
  it('writes a format-1.0 header aligned to 64 bytes and round-trips values and shape', () => {
    const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i * 0.5 - 3);
    const bytes = encodeNpyFloat32(data, [2, 3, 2, 2]);
    const headerLen = bytes[8] | (bytes[9] << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
    expect(header).toContain("'shape': (2, 3, 2, 2)");
    expect(header.endsWith('\n')).toBe(true);
    const back = decodeNpyFloat32(bytes);
    expect(back.shape).toEqual([2, 3, 2, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });
  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpyFloat32(new Float32Array(5), [2, 3])).toThrow(/holds 6 values/);
  });
});
