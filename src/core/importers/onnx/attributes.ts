import onnxProto from 'onnx-proto';
import { LocalQuantError } from '../../errors.js';
import type { AttrValue, ModelFile } from '../../ir/types.js';
import { decodeTensor, longToNumber } from './tensorDecoding.js';

const T = onnxProto.onnx.AttributeProto.AttributeType;
const utf8 = new TextDecoder('utf-8');

/**
 * An ONNX attribute as an IR attribute value. INT and FLOAT both become numbers (the ONNX writer restores
 * the type from its attribute schema); graphs (If/Loop bodies) are refused, as those ops are.
 */
export function decodeAttribute(a: onnxProto.onnx.IAttributeProto, nodeName: string, externalFiles?: ModelFile[]): AttrValue {
  let type = a.type ?? T.UNDEFINED;
  if (type === T.UNDEFINED) type = guessType(a);
  switch (type) {
    case T.FLOAT:
      return a.f ?? 0;
    case T.INT:
      return longToNumber(a.i as number);
    case T.STRING:
      return utf8.decode(a.s ?? new Uint8Array(0));
    case T.TENSOR:
      return decodeTensor(a.t ?? {}, { externalFiles, what: `attribute '${a.name}' of node '${nodeName}'` });
    case T.FLOATS:
      return Array.from(a.floats ?? []);
    case T.INTS:
      return (a.ints ?? []).map((v) => longToNumber(v as number));
    case T.STRINGS:
      return (a.strings ?? []).map((s) => utf8.decode(s));
    default:
      throw new LocalQuantError(
        'UNSUPPORTED_OP',
        `Node '${nodeName}' has attribute '${a.name}' of a kind LocalQuant does not read (${T[type] ?? type}).`,
        'Re-export the model without subgraphs or sparse tensors.',
      );
  }
}

/** IR versions before 2 did not always set `type`: infer it from the populated field. */
function guessType(a: onnxProto.onnx.IAttributeProto): number {
  if (a.floats?.length) return T.FLOATS;
  if (a.ints?.length) return T.INTS;
  if (a.strings?.length) return T.STRINGS;
  if (a.t) return T.TENSOR;
  if (a.g) return T.GRAPH;
  if (a.s?.length) return T.STRING;
  if (a.i !== undefined && a.i !== null && longToNumber(a.i as number) !== 0) return T.INT;
  return T.FLOAT;
}
