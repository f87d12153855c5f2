import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cifarFixture } from '../testing/fixtures.js';
import { buildOnnxModelWithExternal } from '../testing/onnxBuilder.js';
import { detectModel, importModel } from './index.js';

const resnet = () => ({ name: 'resnet20_bn.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) });

describe('importModel', () => {
  it('finds the ONNX model by content even without the .onnx name', () => {
    const f = { ...resnet(), name: 'download' };
    expect(detectModel([f]).kind).toBe('onnx');
    expect(importModel([f]).nodes.length).toBe(75);
  });

  it('passes the other files as external data', () => {
    const { model, externalFiles } = buildOnnxModelWithExternal({
      inputs: [{ name: 'x', shape: [2] }],
      outputs: [{ name: 'y', shape: [2] }],
      initializers: [{ name: 'w', dims: [2], data: [3, 4], external: { location: 'model.onnx.data' } }],
      nodes: [{ opType: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const g = importModel([
      { name: 'model.onnx.data', bytes: externalFiles.get('model.onnx.data')! },
      { name: 'model.onnx', bytes: model },
    ]);
    expect(Array.from(g.initializers.get('w')!.data)).toEqual([3, 4]);
  });

  it('routes a model.json to the TF.js importer (by content)', () => {
    const json = { name: 'weird-name.txt', bytes: new TextEncoder().encode(JSON.stringify({ format: 'layers-model', modelTopology: {} })) };
    expect(detectModel([json]).kind).toBe('tfjs');
  });

  it('refuses other files, saying what they are', () => {
    expect(() => importModel([])).toThrow(/No model file/);
    const text = { name: 'notes.txt', bytes: new TextEncoder().encode('hello world, these are notes') };
    const json = { name: 'config.json', bytes: new TextEncoder().encode('{"epochs": 3}') };
    expect(() => importModel([text, json])).toThrow(/'notes.txt' is text, starting with "hello world.*'config.json' is JSON text/);
    const e = (() => {
      try {
        importModel([{ name: 'model.onnx', bytes: new TextEncoder().encode('{"epochs": 3}') }]);
      } catch (err) {
        return err as { code: string; message: string };
      }
    })();
    expect(e?.code).toBe('NOT_A_MODEL');
    expect(e?.message).toContain("'model.onnx' is not an ONNX model: it is JSON text");
  });

  it('refuses two ONNX models at once', () => {
    expect(() => importModel([resnet(), { ...resnet(), name: 'b.onnx' }])).toThrow(/Several ONNX models/);
  });
});
