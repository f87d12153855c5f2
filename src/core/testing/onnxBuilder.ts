/**
 * Builds tiny ONNX ModelProto bytes for tests (per-op tests, importer tests), with onnx-proto.
 *
 * Attribute values:
 *  - explicit (preferred where it matters): {i: 2} INT, {f: 0.5} FLOAT, {ints: [..]} INTS, {floats: [..]} FLOATS,
 *    {s: 'x'} STRING, {strings: [..]} STRINGS, {t: TensorData} TENSOR;
 *  - bare shorthand: a string -> STRING; a number -> INT when Number.isInteger, else FLOAT;
 *    a number[] -> INTS when every element is an integer, else FLOATS; a string[] -> STRINGS.
 *    So write alpha: {f: 1} (not alpha: 1) for a float attribute whose value happens to be whole.
 *
 * Initializer data may be a plain number array or a typed array; it is encoded as raw_data for its dtype
 * (int64 as 8-byte little-endian, float16 as half bits, int4/uint4 packed two per byte, low nibble first),
 * or, with encoding 'typed', in the TensorProto typed fields (float_data / int32_data / int64_data /
 * double_data), or with `external` in a separate file (see `external` below).
 */
import onnxProto from 'onnx-proto';
import type { DType, Dim, TensorData, TypedArray } from '../ir/types.js';
import { ONNX_DTYPE, irVersionForOpset } from '../ir/onnxDataTypes.js';

export { irVersionForOpset };
import { encodeRawData, floatToHalfBits, tensorToProto } from '../exporters/onnx/tensorEncoding.js';

const { onnx } = onnxProto;

export interface BuilderValue {
  name: string;
  /** Default float32. */
  dtype?: DType;
  /** Numbers, symbolic names ('N') or null for unknown; omit for unknown rank. */
  shape?: Dim[];
}

export interface BuilderInitializer {
  name: string;
  /** Default float32. */
  dtype?: DType;
  dims: number[];
  data: ArrayLike<number> | TypedArray;
  /** Where the bytes go: raw_data (default) or the typed repeated fields. */
  encoding?: 'raw' | 'typed';
  /**
   * Store the data outside the model (data_location EXTERNAL, external_data location/offset/length).
   * The builder appends the bytes to `externalFiles[location]` in the result of buildOnnxModelWithExternal.
   */
  external?: { location: string };
}

export type BuilderAttr =
  | number
  | string
  | number[]
  | string[]
  | { i: number }
  | { f: number }
  | { ints: number[] }
  | { floats: number[] }
  | { s: string }
  | { strings: string[] }
  | { t: TensorData };

export interface BuilderNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, BuilderAttr>;
  /** Default `${opType}_${index}`. */
  name?: string;
  domain?: string;
}

export interface BuilderModel {
  /** Default-domain opset, default 13. */
  opset?: number;
  /** Default: the IR version that goes with the opset. */
  irVersion?: number;
  inputs: BuilderValue[];
  outputs: BuilderValue[];
  initializers?: BuilderInitializer[];
  nodes: BuilderNode[];
  /** Optional intermediate value_info entries. */
  valueInfo?: BuilderValue[];
  /** Extra opset imports, e.g. [{domain: 'com.microsoft', version: 1}]. */
  extraOpsets?: { domain: string; version: number }[];
  graphName?: string;
}

/** Serialized ModelProto bytes. Initializers with `external` need buildOnnxModelWithExternal. */
export function buildOnnxModel(spec: BuilderModel): Uint8Array {
  const r = buildOnnxModelWithExternal(spec);
  if (r.externalFiles.size) throw new Error('buildOnnxModel: initializers with external data need buildOnnxModelWithExternal');
  return r.model;
}

/** Model bytes plus the external data files its initializers point to (name -> bytes). */
export function buildOnnxModelWithExternal(spec: BuilderModel): { model: Uint8Array; externalFiles: Map<string, Uint8Array> } {
  const opset = spec.opset ?? 13;
  const external = new Map<string, Uint8Array>();
  const initializers = (spec.initializers ?? []).map((init) => encodeInitializer(init, external));
  const graph = onnx.GraphProto.create({
    name: spec.graphName ?? 'test_graph',
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({
        name: n.name ?? `${n.opType}_${i}`,
        opType: n.opType,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => encodeAttr(k, v)),
      }),
    ),
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer: initializers,
    valueInfo: (spec.valueInfo ?? []).map(valueInfo),
  });
  const model = onnx.ModelProto.create({
    irVersion: spec.irVersion ?? irVersionForOpset(opset),
    producerName: 'localquant-test-builder',
    opsetImport: [{ domain: '', version: opset }, ...(spec.extraOpsets ?? [])],
    graph,
  });
  return { model: onnx.ModelProto.encode(model).finish(), externalFiles: external };
}

function valueInfo(v: BuilderValue): onnxProto.onnx.IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ONNX_DTYPE[v.dtype ?? 'float32'] };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return onnx.ValueInfoProto.create({ name: v.name, type: { tensorType } });
}

function encodeInitializer(init: BuilderInitializer, external: Map<string, Uint8Array>): onnxProto.onnx.ITensorProto {
  const dtype = init.dtype ?? 'float32';
  const dataType = ONNX_DTYPE[dtype];
  if (init.external) {
    const bytes = encodeRawData(dtype, init.data);
    const prev = external.get(init.external.location) ?? new Uint8Array(0);
    const merged = new Uint8Array(prev.length + bytes.length);
    merged.set(prev);
    merged.set(bytes, prev.length);
    external.set(init.external.location, merged);
    return onnx.TensorProto.create({
      name: init.name,
      dims: init.dims,
      dataType,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: init.external.location },
        { key: 'offset', value: String(prev.length) },
        { key: 'length', value: String(bytes.length) },
      ],
    });
  }
  if (init.encoding === 'typed') {
    const values = Array.from(init.data as ArrayLike<number>);
    const t = onnx.TensorProto.create({ name: init.name, dims: init.dims, dataType });
    switch (dtype) {
      case 'float32':
        t.floatData = values;
        break;
      case 'float64':
        t.doubleData = values;
        break;
      case 'int64':
        t.int64Data = values;
        break;
      case 'float16':
        // ONNX keeps float16 bits in int32_data.
        t.int32Data = values.map(floatToHalfBits);
        break;
      default:
        t.int32Data = values;
    }
    return t;
  }
  return tensorToProto(init.name, { dtype, dims: init.dims, data: init.data as TypedArray });
}

function isTensorData(v: unknown): v is TensorData {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'dims' in v && 'data' in v;
}

function encodeAttr(name: string, v: BuilderAttr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const enc = (s: string) => new TextEncoder().encode(s);
  if (typeof v === 'string') return { name, type: T.STRING, s: enc(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: T.STRINGS, strings: (v as string[]).map(enc) };
    const nums = v as number[];
    return nums.every(Number.isInteger) ? { name, type: T.INTS, ints: nums } : { name, type: T.FLOATS, floats: nums };
  }
  if ('i' in v) return { name, type: T.INT, i: v.i };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('s' in v) return { name, type: T.STRING, s: enc(v.s) };
  if ('strings' in v) return { name, type: T.STRINGS, strings: v.strings.map(enc) };
  if ('t' in v && isTensorData(v.t)) return { name, type: T.TENSOR, t: tensorToProto('', v.t) };
  throw new Error(`onnxBuilder: cannot encode attribute '${name}'`);
}
