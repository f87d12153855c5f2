import onnxProto from 'onnx-proto';
import { LocalQuantError } from '../../errors.js';
import { describeBytes } from '../sniff.js';

const { onnx } = onnxProto;

const NOT_ONNX_HINT = 'Choose an ONNX model (.onnx) or a TF.js model.json with its weight files.';

/**
 * Decodes ModelProto bytes. Any failure becomes a LocalQuantError that says what the file looks like:
 * TRUNCATED when protobuf decoding ran past the end of the data, NOT_A_MODEL otherwise.
 */
export function decodeModelProto(bytes: Uint8Array, fileName = 'the file'): onnxProto.onnx.ModelProto {
  if (bytes.length === 0) throw new LocalQuantError('NOT_A_MODEL', `${fileName} is empty (0 bytes).`, NOT_ONNX_HINT);
  const what = describeBytes(bytes);
  // Every exporter writes ir_version (field 1, tag 0x08) first. Such a file is decoded whatever its text
  // content suggests (node names make a model's first bytes look like text); any other start is only
  // decoded when it does not look like a known non-model format.
  const startsWithIrVersion = bytes[0] === 0x08;
  if (!startsWithIrVersion && !what.startsWith(`is ${bytes.length} bytes of binary`)) {
    throw new LocalQuantError('NOT_A_MODEL', `${fileName} is not an ONNX model: it ${what}.`, NOT_ONNX_HINT);
  }
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw decodeError(e, bytes, fileName);
  }
  const graph = model.graph;
  const irVersion = Number(model.irVersion ?? 0);
  if (!graph || (graph.node?.length ?? 0) === 0 || irVersion < 1 || irVersion > 100) {
    throw new LocalQuantError(
      'NOT_A_MODEL',
      `${fileName} is not an ONNX model: it ${what} and decodes as protobuf, but ${!graph || !graph.node?.length ? 'holds no ONNX graph' : `its IR version ${irVersion} is not an ONNX one`}.`,
      NOT_ONNX_HINT,
    );
  }
  return model;
}

function decodeError(e: unknown, bytes: Uint8Array, fileName: string): LocalQuantError {
  const msg = e instanceof Error ? e.message : String(e);
  // protobufjs: "index out of range: POS + NEED > LEN" when a field runs past the end of the buffer.
  const range = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(msg);
  if (range) {
    const [pos, need, len] = range.slice(1).map(Number);
    const detail = pos >= len ? 'the data ends in the middle of a field' : `a field there needs ${need} bytes but only ${len - pos} remain`;
    return new LocalQuantError(
      'TRUNCATED',
      `${fileName} looks like an ONNX model, but protobuf decoding stopped at byte ${pos} of ${len}: ${detail}, so the file is probably truncated (incomplete download or copy).`,
      'Download or copy the model again and check its size.',
    );
  }
  const wire = /invalid wire type (\d+) at offset (\d+)/.exec(msg);
  const where = wire ? ` (invalid protobuf wire type ${wire[1]} at byte ${wire[2]} of ${bytes.length})` : ` (${msg.split('\n')[0]})`;
  return new LocalQuantError('NOT_A_MODEL', `${fileName} is not an ONNX model: it ${describeBytes(bytes)} and is not valid protobuf${where}.`, NOT_ONNX_HINT);
}
