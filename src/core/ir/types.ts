/**
 * The graph IR every importer produces and every algorithm and exporter consumes.
 *
 * Semantics follow ONNX operators (opset-agnostic: importers normalize attribute/input forms to the
 * latest opset form, e.g. Clip min/max, Slice starts/ends, Squeeze axes as inputs where ONNX moved them).
 * Tensors are NCHW as in ONNX. A model that came in another layout (TF.js: NHWC) records its original
 * interface layout in `Graph.interfaceLayout`; the importer inserts the Transposes needed so that the
 * graph body is NCHW, and exporters use the recorded layout to keep the user's interface.
 */

export type DType = 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'bool' | 'int4' | 'uint4';

export type TypedArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

/**
 * A constant tensor. float16 is widened to float32 at import (dtype 'float32').
 * int64 is stored in an Int32Array, clamped to the int32 range (ONNX uses INT64_MAX as "to the end" in
 * Slice, which clamps to the same effect); exporters write it back as int64.
 * bool is stored as Uint8Array.
 * int4/uint4 are stored unpacked, one code per element (Int8Array / Uint8Array); exporters pack them.
 */
export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

/** A dimension: a number when known, a string (symbolic, e.g. "N") or null when unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[] | null; // null = rank unknown
}

export type AttrValue = number | string | number[] | string[] | TensorData | Graph;

export interface Node {
  /** Unique within the graph; importers invent one ("Conv_3") when the source has none. */
  name: string;
  opType: string;
  domain?: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export type ModelFormat = 'onnx' | 'tfjs-layers' | 'tfjs-graph';

export interface Graph {
  name: string;
  format: ModelFormat;
  /** Layout of the model's 4-D inputs/outputs as the user sees them. The graph body is always NCHW. */
  interfaceLayout: 'NCHW' | 'NHWC';
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: Node[];
  initializers: Map<string, TensorData>;
  /** Known types/shapes of intermediate values (from the file or from shape inference). */
  valueInfo: Map<string, ValueInfo>;
  /** Default-domain opset the source declared (ONNX) or 13 for models we translated. */
  opset: number;
  /** Free-form metadata kept for the report and export (producer, doc string, original file size). */
  metadata: Record<string, string>;
}

/** One file as the user supplied it (a dropped File, or a path read by the CLI). */
export interface ModelFile {
  name: string;
  bytes: Uint8Array;
}
