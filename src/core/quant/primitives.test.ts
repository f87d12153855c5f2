import { describe, expect, it } from 'vitest';
import { dequantize, fakeQuantize, packInt4, qrange, quantize, roundHalfEven, unpackInt4 } from './primitives';

describe('qrange', () => {
  it('gives two\'s complement and unsigned ranges', () => {
    expect(qrange(8, true)).toEqual({ qmin: -128, qmax: 127 });
    expect(qrange(8, false)).toEqual({ qmin: 0, qmax: 255 });
    expect(qrange(4, true)).toEqual({ qmin: -8, qmax: 7 });
    expect(qrange(2, true)).toEqual({ qmin: -2, qmax: 1 });
    expect(qrange(3, false)).toEqual({ qmin: 0, qmax: 7 });
    expect(() => qrange(1, true)).toThrow(/bits/);
    expect(() => qrange(9, true)).toThrow(/bits/);
  });
});

describe('roundHalfEven', () => {
  it('rounds ties to even like ONNX', () => {
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(-2.5)).toBe(-2);
    expect(roundHalfEven(-3.5)).toBe(-4);
    expect(roundHalfEven(0.5)).toBe(0);
    expect(roundHalfEven(1.5)).toBe(2);
    expect(roundHalfEven(2.4999)).toBe(2);
    expect(roundHalfEven(-0.6)).toBe(-1);
  });
});

describe('quantize / dequantize', () => {
  it('per tensor, signed, with saturation', () => {
    const x = new Float32Array([0.25, 0.75, -0.25, 100, -100, 0.3]);
    const q = quantize(x, { scale: 0.5, bits: 8, signed: true });
    expect(Array.from(q)).toEqual([0, 2, 0, 127, -128, 1]); // 0.5->0, 1.5->2, -0.5->0 (even)
    expect(Array.from(dequantize(q, { scale: 0.5, bits: 8, signed: true }))).toEqual([0, 1, 0, 63.5, -64, 0.5]);
  });
  it('unsigned with zero point saturates at 0 and 2^bits-1', () => {
    const x = new Float32Array([-1, 0, 0.1, 10]);
    const p = { scale: 0.1, zeroPoint: 3, bits: 4, signed: false };
    expect(Array.from(quantize(x, p))).toEqual([0, 3, 4, 15]);
    expect(Array.from(dequantize(quantize(x, p), p)).map((v) => +v.toFixed(5))).toEqual([-0.3, 0, 0.1, 1.2]);
  });
  it('per axis 0 and per axis 1 use the right scale', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]); // dims [2,3]
    const q0 = quantize(x, { scale: [1, 2], bits: 8, signed: true, axis: 0, dims: [2, 3] });
    expect(Array.from(q0)).toEqual([1, 2, 3, 2, 2, 3]); // 4/2=2, 5/2=2.5->2, 6/2=3
    const q1 = quantize(x, { scale: [1, 2, 4], bits: 8, signed: true, axis: 1, dims: [2, 3] });
    expect(Array.from(q1)).toEqual([1, 1, 1, 4, 2, 2]); // 2/2=1, 3/4=.75->1, 5/2=2.5->2, 6/4=1.5->2
    expect(() => quantize(x, { scale: [1, 2, 3], bits: 8, signed: true, axis: 0, dims: [2, 3] })).toThrow(/per-axis/);
  });
  it('fakeQuantize error is at most half a step inside the range', () => {
    const x = new Float32Array(1000).map((_, i) => Math.sin(i) * 0.9);
    const y = fakeQuantize(x, { scale: 1 / 127, bits: 8, signed: true });
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(0.5 / 127 + 1e-7);
  });
});

describe('int4 packing', () => {
  it('packs low nibble first', () => {
    const p = packInt4(new Int8Array([1, -1, 7, -8]), true);
    expect(Array.from(p)).toEqual([0xf1, 0x87]);
    expect(Array.from(packInt4(new Int8Array([3]), true))).toEqual([0x03]);
    expect(Array.from(packInt4(new Uint8Array([15, 0, 9]), false))).toEqual([0x0f, 0x09]);
  });
  it('round-trips and sign-extends', () => {
    const v = new Int8Array([-8, -7, -1, 0, 1, 6, 7]);
    expect(Array.from(unpackInt4(packInt4(v, true), v.length, true))).toEqual(Array.from(v));
    const u = new Uint8Array([0, 15, 8, 3]);
    expect(Array.from(unpackInt4(packInt4(u, false), u.length, false))).toEqual(Array.from(u));
  });
  it('rejects out-of-range codes', () => {
    expect(() => packInt4(new Int8Array([8]), true)).toThrow(/range/);
    expect(() => packInt4(new Uint8Array([16]), false)).toThrow(/range/);
  });
});
