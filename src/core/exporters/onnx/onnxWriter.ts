import onnxProto from 'onnx-proto';
import { LocalQuantError } from '../../errors.js';
import type { AttrValue, Graph, Node, TensorData, ValueInfo } from '../../ir/types.js';
import { attrKind } from './attributeSchema.js';
import { ONNX_DTYPE, irVersionForOpset } from '../../ir/onnxDataTypes.js';
import { tensorToProto } from './tensorEncoding.js';

const { onnx } = onnxProto;
const T = onnx.AttributeProto.AttributeType;

export interface WriteOnnxOptions {
  /** Default-domain opset to declare; default max(13, graph.opset), 21 when the graph holds int4/uint4. */
  opset?: number;
  /** Default: the IR version that goes with the opset. */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
}

/**
 * Serializes an IR graph (normalized operator forms, see importers/onnx/supportedOps.ts) as ONNX
 * ModelProto bytes. Initializers are written as little-endian raw_data (int64 widened from the IR's
 * Int32Array, int4/uint4 packed two per byte, low nibble first). Forms that changed after opset 13 are
 * converted for the target opset (Reduce* axes become an input, Split gets num_outputs from opset 18).
 */
export function writeOnnx(graph: Graph, opts: WriteOnnxOptions = {}): Uint8Array {
  const has4bit = [...graph.initializers.values()].some((t) => t.dtype === 'int4' || t.dtype === 'uint4');
  const opset = opts.opset ?? Math.max(13, graph.opset, has4bit ? 21 : 0);
  if (opset < 13 || opset > 21) {
    throw new LocalQuantError('BAD_CONFIG', `ONNX export supports opsets 13 to 21, not ${opset}.`, 'Choose an opset between 13 and 21.');
  }
  if (has4bit && opset < 21) {
    throw new LocalQuantError('BAD_CONFIG', `4-bit initializers need ONNX opset 21 or later; export asked for opset ${opset}.`, 'Export with opset 21, or quantize weights to 8 bits.');
  }
  const initializers = new Map(graph.initializers);
  const used = new Set<string>([...initializers.keys(), ...graph.inputs.map((v) => v.name)]);
  for (const n of graph.nodes) for (const v of [...n.inputs, ...n.outputs]) used.add(v);
  const addConst = (hint: string, t: TensorData): string => {
    let name = hint;
    for (let k = 1; used.has(name); k++) name = `${hint}_${k}`;
    used.add(name);
    initializers.set(name, t);
    return name;
  };

  const nodes = graph.nodes.map((n) => nodeToProto(forOpset(n, opset, addConst)));
  const g = onnx.GraphProto.create({
    name: graph.name || 'graph',
    node: nodes,
    input: graph.inputs.map(valueInfoToProto),
    output: graph.outputs.map(valueInfoToProto),
    initializer: [...initializers].map(([name, t]) => tensorToProto(name, t)),
  });
  const metadataProps = Object.entries(graph.metadata)
    .filter(([k]) => k.startsWith('prop:'))
    .map(([k, value]) => ({ key: k.slice(5), value }));
  const model = onnx.ModelProto.create({
    irVersion: opts.irVersion ?? irVersionForOpset(opset),
    producerName: opts.producerName ?? 'localquant',
    producerVersion: opts.producerVersion ?? '0.1.0',
    docString: opts.docString ?? '',
    opsetImport: [{ domain: '', version: opset }],
    metadataProps,
    graph: g,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A node in the form ONNX wants at `opset` (the IR form is opset 13 with Reduce* axes as attribute). */
function forOpset(n: Node, opset: number, addConst: (hint: string, t: TensorData) => string): Node {
  const axesIsInput = (n.opType === 'ReduceSum' && opset >= 13) || (n.opType === 'ReduceMean' && opset >= 18);
  if (axesIsInput && Array.isArray(n.attrs.axes)) {
    const { axes, ...attrs } = n.attrs;
    const values = axes as number[];
    const name = values.length ? addConst(`${n.name}_axes`, { dtype: 'int64', dims: [values.length], data: Int32Array.from(values) }) : '';
    return { ...n, inputs: name ? [n.inputs[0], name] : [n.inputs[0]], attrs };
  }
  if (n.opType === 'Split' && opset >= 18 && !n.inputs[1] && n.attrs.num_outputs === undefined) {
    return { ...n, attrs: { ...n.attrs, num_outputs: n.outputs.length } };
  }
  return n;
}

function nodeToProto(n: Node): onnxProto.onnx.INodeProto {
  return onnx.NodeProto.create({
    name: n.name,
    opType: n.opType,
    domain: n.domain ?? '',
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attrs).map(([k, v]) => attrToProto(k, v, n)),
  });
}

function attrToProto(name: string, v: AttrValue, n: Node): onnxProto.onnx.IAttributeProto {
  const enc = (s: string) => new TextEncoder().encode(s);
  switch (attrKind(name, v)) {
    case 'STRING':
      return { name, type: T.STRING, s: enc(v as string) };
    case 'STRINGS':
      return { name, type: T.STRINGS, strings: (v as string[]).map(enc) };
    case 'INT':
      return { name, type: T.INT, i: v as number };
    case 'FLOAT':
      return { name, type: T.FLOAT, f: v as number };
    case 'INTS':
      return { name, type: T.INTS, ints: v as number[] };
    case 'FLOATS':
      return { name, type: T.FLOATS, floats: v as number[] };
    case 'TENSOR':
      return { name, type: T.TENSOR, t: tensorToProto('', v as TensorData) };
    case 'GRAPH':
      throw new LocalQuantError('INTERNAL', `Node '${n.name}' has a subgraph attribute '${name}', which the ONNX writer does not write.`);
  }
}

function valueInfoToProto(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ONNX_DTYPE[v.dtype] };
  if (v.shape) {
    tensorType.shape = { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) };
  }
  return onnx.ValueInfoProto.create({ name: v.name, type: { tensorType } });
}
