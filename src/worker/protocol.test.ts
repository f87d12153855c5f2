import { describe, expect, it } from 'vitest';
import { transferablesOf } from './protocol.js';
import { adaptResult } from './resultAdapter.js';

describe('transferablesOf', () => {
  it('finds each whole ArrayBuffer once, and skips views of part of a buffer', () => {
    const whole = new Uint8Array(8);
    const shared = new ArrayBuffer(16);
    const part = new Uint8Array(shared, 4, 4);
    const found = transferablesOf({ a: whole, b: [whole.buffer, { c: part }], d: 'x', e: null });
    expect(found).toEqual([whole.buffer]);
  });
});

describe('adaptResult', () => {
  it('turns bytes into downloadable files and picks known numbers', () => {
    const onnx = new Uint8Array([1, 2, 3]);
    const r = adaptResult({ onnx, report: { layers: [{ name: 'conv1', sqnrDb: 31.5 }, { name: 'fc' }] }, agreement: 0.98, sizeBefore: 100 });
    expect(r.files.map((f) => f.name)).toEqual(['model.quant.onnx', 'report.json']);
    expect(new Uint8Array(r.files[0].bytes)).toEqual(onnx);
    expect(r.sizeAfter).toBe(3);
    expect(r.layerSqnr).toEqual([{ name: 'conv1', sqnrDb: 31.5 }]);
    expect(r.agreement).toBe(0.98);
    expect(r.agreementOn).toBeUndefined();
    const on = { images: 64, method: 'bn-statistics', runtime: 'LocalQuant executor (tfjs wasm)' };
    expect(adaptResult({ onnx, agreement: 0.9, agreementOn: on }).agreementOn).toEqual(on);
    const calibration = { method: 'user-images', images: 12, from: 'folder cats', seconds: 0.2 };
    expect(adaptResult({ onnx, report: { calibration } }).calibration).toEqual({ method: 'user-images', images: 12, from: 'folder cats', batch: undefined, steps: undefined });
    expect(JSON.parse(new TextDecoder().decode(r.files[1].bytes)).layers).toHaveLength(2);
  });

  it("says where a detector's float tail begins", () => {
    const floatTail = { startsAt: [{ node: 'tower_0/Equal', opType: 'Equal', reason: 'computes indices' }], cutValues: ['k'], nodes: [{ name: 'tower_0/Equal', opType: 'Equal' }, { name: 'c', opType: 'Cast' }], byUser: false };
    expect(adaptResult({ report: { floatTail } }).floatTail).toBe('Float tail: 2 node(s) stay float from tower_0/Equal (Equal): computes indices.');
    expect(adaptResult({ report: {} }).floatTail).toBeUndefined();
  });

  it('carries the report notes to the page', () => {
    expect(adaptResult({ report: { notes: ['4-bit weights: size only'], layers: [] } }).notes).toEqual(['4-bit weights: size only']);
  });

  it('accepts an empty result without throwing', () => {
    expect(adaptResult(undefined)).toEqual({ files: [], sizeBefore: undefined, sizeAfter: undefined, layerSqnr: undefined, agreement: undefined, notes: [], config: undefined });
  });
});
