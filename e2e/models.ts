/** Small ONNX files for browser tests (built here so e2e needs no extra fixtures). */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** A valid ONNX model whose only node is an operator LocalQuant does not support. */
export function unsupportedOpModel(opType = 'LSTM'): Uint8Array {
  const f = onnx.TensorProto.DataType.FLOAT;
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: f, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'unsupported', node: [{ name: 'weird', opType, input: ['x'], output: ['y'] }], input: [vi('x')], output: [vi('y')] },
  })).finish();
}
