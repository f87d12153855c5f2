import { LocalQuantError } from '../../../errors.js';
import type { DType, Dim, TensorData } from '../../../ir/types.js';
import { checkedElementCount } from '../../../ir/validate/tensorChecks.js';

/** A GraphDef node as TF.js model.json stores it (JSON form of tensorflow.NodeDef). */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
  device?: string;
}

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number | string;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: TfTensorProto;
  list?: { s?: string[]; i?: (string | number)[]; f?: (number | string)[]; type?: string[]; shape?: unknown[] };
}

export interface TfTensorProto {
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[] };
  floatVal?: (number | string)[];
  intVal?: (number | string)[];
  int64Val?: (number | string)[];
  boolVal?: boolean[];
  tensorContent?: string;
}

function base64Bytes(s: string): Uint8Array {
  if (typeof atob !== 'function') throw new LocalQuantError('INTERNAL', 'This JavaScript environment has no base64 decoder (atob).');
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    // atob throws a DOMException (InvalidCharacterError) on anything that is not base64
    throw new LocalQuantError('INVALID_MODEL', `The model.json holds a value that should be base64 but is not: '${String(s).slice(0, 40)}'.`, 'Convert the model again with tensorflowjs_converter.');
  }
}

/** Attribute readers; `s` values are base64 in the JSON form. */
export class Attrs {
  constructor(private readonly node: TfNode) {}
  private get(name: string): TfAttr | undefined {
    const a = this.node.attr?.[name];
    // an AttrValue is an object with one member set; anything else is a damaged model.json
    if (a !== undefined && (typeof a !== 'object' || a === null || Array.isArray(a))) throw this.malformed(name, a);
    return a;
  }
  private malformed(name: string, value: unknown): LocalQuantError {
    return new LocalQuantError('INVALID_MODEL', `Node '${this.node.name}' (${this.node.op}) has a malformed attribute '${name}': ${JSON.stringify(value)?.slice(0, 60)}.`, 'Convert the model again with tensorflowjs_converter.');
  }
  private number(name: string, v: unknown): number {
    const n = Number(v);
    if (typeof v === 'object' || typeof v === 'boolean' || Number.isNaN(n)) throw this.malformed(name, v);
    return n;
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  str(name: string, dflt = ''): string {
    const a = this.get(name);
    return a?.s !== undefined ? new TextDecoder().decode(base64Bytes(a.s)) : dflt;
  }
  int(name: string, dflt = 0): number {
    const a = this.get(name);
    return a?.i !== undefined ? this.number(name, a.i) : dflt;
  }
  float(name: string, dflt = 0): number {
    const a = this.get(name);
    // JSON cannot hold NaN/Infinity, so protobuf JSON writes them as strings: Number() reads them back
    return a?.f !== undefined ? Number(a.f) : dflt;
  }
  bool(name: string, dflt = false): boolean {
    const a = this.get(name);
    return a?.b !== undefined ? Boolean(a.b) : dflt;
  }
  ints(name: string, dflt: number[] = []): number[] {
    const a = this.get(name);
    if (a?.list?.i === undefined) return dflt;
    if (!Array.isArray(a.list.i)) throw this.malformed(name, a.list.i);
    return a.list.i.map((v) => this.number(name, v));
  }
  strs(name: string): string[] {
    const a = this.get(name);
    return (a?.list?.s ?? []).map((s) => new TextDecoder().decode(base64Bytes(s)));
  }
  type(name: string): string | undefined {
    return this.get(name)?.type;
  }
  shape(name: string): Dim[] | null {
    const a = this.get(name)?.shape;
    if (!a || a.unknownRank) return null;
    return (a.dim ?? []).map((d) => {
      const n = Number(d.size ?? -1);
      return n < 0 ? null : n;
    });
  }
  tensor(name: string): TfTensorProto | undefined {
    return this.get(name)?.tensor;
  }
}

export function tfDtype(t: string | undefined): DType {
  switch (t) {
    case 'DT_INT32':
      return 'int32';
    case 'DT_INT64':
      return 'int64';
    case 'DT_BOOL':
      return 'bool';
    case 'DT_HALF':
      return 'float16';
    default:
      return 'float32';
  }
}

/** ONNX TensorProto data type numbers for Cast. */
export function onnxTypeNumber(t: DType): number {
  return { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 }[t as string] ?? 1;
}

/** A Const node's inline value (small constants the converter left in the graph). */
export function inlineTensor(proto: TfTensorProto, nodeName: string): TensorData {
  const dtype = tfDtype(proto.dtype);
  const dims = (proto.tensorShape?.dim ?? []).map((d) => Number(d.size ?? 0));
  const n = checkedElementCount(dims, `constant '${nodeName}'`);
  const fill = (vals: number[]): number[] => (vals.length === n ? vals : Array.from({ length: n }, (_, i) => vals[Math.min(i, vals.length - 1)] ?? 0));
  if (proto.tensorContent) {
    const bytes = base64Bytes(proto.tensorContent).slice();
    const per = dtype === 'int64' ? 8 : dtype === 'bool' ? 1 : 4;
    if (bytes.length !== n * per) {
      throw new LocalQuantError('INVALID_MODEL', `Const node '${nodeName}' has shape [${dims.join(', ')}] (${n * per} bytes of ${proto.dtype}) but ${bytes.length} bytes of content.`, 'Convert the model again with tensorflowjs_converter.');
    }
    if (dtype === 'float32') return { dtype, dims, data: new Float32Array(bytes.buffer, 0, n) };
    if (dtype === 'int32') return { dtype, dims, data: new Int32Array(bytes.buffer, 0, n) };
    if (dtype === 'int64') {
      const big = new BigInt64Array(bytes.buffer, 0, n);
      return { dtype, dims, data: Int32Array.from(big, (v) => Number(v > 2147483647n ? 2147483647n : v < -2147483648n ? -2147483648n : v)) };
    }
    if (dtype === 'bool') return { dtype, dims, data: new Uint8Array(bytes.buffer, 0, n) };
  }
  if (dtype === 'float32') return { dtype, dims, data: Float32Array.from(fill((proto.floatVal ?? []).map(Number))) };
  if (dtype === 'int32') return { dtype, dims, data: Int32Array.from(fill((proto.intVal ?? []).map(Number))) };
  if (dtype === 'int64') return { dtype, dims, data: Int32Array.from(fill((proto.int64Val ?? []).map(Number))) };
  if (dtype === 'bool') return { dtype, dims, data: Uint8Array.from(fill((proto.boolVal ?? []).map(Number))) };
  throw new LocalQuantError('BAD_WEIGHTS', `Const node '${nodeName}' holds an inline ${proto.dtype} value LocalQuant does not read.`);
}
