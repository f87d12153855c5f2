import onnxProto from 'onnx-proto';
import { isLocalQuantError, LocalQuantError } from '../../errors.js';
import type { Dim, Graph, ModelFile, Node, TensorData, ValueInfo } from '../../ir/types.js';
import { ONNX_DTYPE_NAMES, dtypeFromOnnx } from '../../ir/onnxDataTypes.js';
import { decodeAttribute } from './attributes.js';
import { decodeModelProto } from './decodeModel.js';
import { constantValue, normalizeNode, type NormalizeContext } from './normalize.js';
import { MAX_ONNX_OPSET, MIN_ONNX_OPSET, SUPPORTED_ONNX_OPS, isSupportedOnnxOp } from './supportedOps.js';
import { decodeTensor, longToNumber } from './tensorDecoding.js';
import { validateGraph } from '../../ir/validate/validateGraph.js';

export interface ImportOnnxOptions {
  /** For messages ("resnet.onnx is not an ONNX model: ..."). */
  fileName?: string;
}

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

/**
 * An ONNX model as an IR graph, in the normalized operator forms of ./supportedOps.ts. `externalFiles`
 * are the other files the user supplied; external tensor data is looked up among them by basename.
 */
export function importOnnx(bytes: Uint8Array, externalFiles: ModelFile[] = [], opts: ImportOnnxOptions = {}): Graph {
  const fileName = opts.fileName ?? 'The file';
  const model = decodeModelProto(bytes, fileName);
  const g = model.graph!;
  const opset = defaultOpset(model);

  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) {
    if (initializers.has(t.name ?? '')) {
      throw new LocalQuantError('INVALID_MODEL', `The model has two initializers named '${t.name}'; ONNX names are unique.`, 'The file is damaged or hand-edited: export the model again.');
    }
    initializers.set(t.name ?? '', decodeTensor(t, { externalFiles, what: `initializer '${t.name}'` }));
  }

  const rawNodes = (g.node ?? []).map((n, i) => ({ proto: n, name: n.name || `${n.opType}_${i}` }));
  refuseUnsupported(rawNodes.map(({ proto, name }) => ({ opType: proto.opType ?? '', domain: proto.domain ?? '', name })));

  const usedNames = new Set<string>();
  for (const n of g.node ?? []) for (const v of [...(n.input ?? []), ...(n.output ?? [])]) usedNames.add(v);
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) usedNames.add(v.name ?? '');
  for (const k of initializers.keys()) usedNames.add(k);
  const freshName = (hint: string) => {
    let name = hint;
    for (let k = 1; usedNames.has(name); k++) name = `${hint}_${k}`;
    usedNames.add(name);
    return name;
  };
  const ctx: NormalizeContext = {
    opset,
    initializers,
    addConstant: (hint, t) => {
      const name = freshName(hint);
      initializers.set(name, t);
      return name;
    },
    freshName,
    droppedOutputs: new Map(),
  };

  const nodeNames = new Set<string>();
  const nodes: Node[] = [];
  const decoded: Node[] = rawNodes.map(({ proto, name: rawName }) => {
    let name = rawName;
    for (let k = 1; nodeNames.has(name); k++) name = `${rawName}_${k}`;
    nodeNames.add(name);
    const attrs: Node['attrs'] = {};
    for (const a of proto.attribute ?? []) attrs[a.name ?? ''] = asNodeError(name, proto.opType ?? '', () => decodeAttribute(a, name, externalFiles));
    return { name, opType: proto.opType ?? '', inputs: [...(proto.input ?? [])], outputs: [...(proto.output ?? [])], attrs };
  });
  // Constants first, so that normalization can read constant operands even in a file whose nodes are not
  // in topological order.
  for (const node of decoded) if (node.opType === 'Constant') initializers.set(node.outputs[0], constantValue(node));
  for (const node of decoded) if (node.opType !== 'Constant') nodes.push(...asNodeError(node.name, node.opType, () => normalizeNode(node, ctx)));

  const graphInputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  for (const v of graphInputs) checkInputType(v);
  const inputs = graphInputs.map(valueInfoFromProto);
  const outputs = (g.output ?? []).map(valueInfoFromProto);
  checkReferences(nodes, inputs, outputs, initializers, ctx.droppedOutputs);

  const valueInfo = new Map<string, ValueInfo>();
  for (const v of [...(g.valueInfo ?? []).map(valueInfoFromProto), ...inputs, ...outputs]) if (v.name) valueInfo.set(v.name, v);

  const metadata: Record<string, string> = {
    fileSizeBytes: String(bytes.length),
    irVersion: String(longToNumber(model.irVersion as number)),
  };
  if (model.producerName) metadata.producerName = model.producerName;
  if (model.producerVersion) metadata.producerVersion = model.producerVersion;
  if (model.docString) metadata.docString = model.docString;
  for (const p of model.metadataProps ?? []) if (p.key) metadata[`prop:${p.key}`] = p.value ?? '';

  const graph: Graph = {
    name: g.name || 'model',
    format: 'onnx',
    interfaceLayout: 'NCHW',
    inputs,
    outputs,
    nodes,
    initializers,
    valueInfo,
    opset,
    metadata,
  };
  validateGraph(graph);
  return graph;
}

/**
 * Reading a node's attributes and normalizing it walk protobuf fields a damaged file may have of the wrong
 * kind (a TypeError deep inside); that is a malformed node, reported as such with its name.
 */
function asNodeError<T>(name: string, opType: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isLocalQuantError(e)) throw e;
    throw new LocalQuantError('INVALID_MODEL', `The model's node '${name}' (${opType}) is malformed: ${e instanceof Error ? e.message : String(e)}.`, 'The file is damaged or hand-edited: export the model again.');
  }
}

function defaultOpset(model: onnxProto.onnx.ModelProto): number {
  if ((model.opsetImport ?? []).length === 0) {
    // Exporters write opset_import after the graph, so a file cut right after the graph lacks it.
    throw new LocalQuantError('TRUNCATED', 'The model declares no ONNX opset: the file is probably truncated, or was not written completely.', 'Export or download the model again.');
  }
  const entry = (model.opsetImport ?? []).find((o) => DEFAULT_DOMAINS.has(o.domain ?? ''));
  const opset = entry ? longToNumber(entry.version as number) : 0;
  if (opset < MIN_ONNX_OPSET || opset > MAX_ONNX_OPSET) {
    throw new LocalQuantError(
      'UNSUPPORTED_OP',
      entry ? `The model uses ONNX opset ${opset}; LocalQuant reads opsets ${MIN_ONNX_OPSET} to ${MAX_ONNX_OPSET}.` : 'The model declares no default-domain ONNX opset.',
      'Convert it with onnx.version_converter.convert_version(model, 13) or re-export it with opset 13.',
    );
  }
  return opset;
}

function refuseUnsupported(nodes: { opType: string; domain: string; name: string }[]): void {
  const bad = nodes.filter((n) => !DEFAULT_DOMAINS.has(n.domain) || !isSupportedOnnxOp(n.opType));
  if (bad.length === 0) return;
  const first = bad[0];
  const others = [...new Set(bad.slice(1).map((n) => (n.domain && !DEFAULT_DOMAINS.has(n.domain) ? `${n.domain}:${n.opType}` : n.opType)))].filter(
    (t) => t !== first.opType,
  );
  const domain = first.domain ? `domain '${first.domain}'` : "default domain 'ai.onnx'";
  const more = others.length ? ` The model also uses: ${others.join(', ')}.` : '';
  throw new LocalQuantError(
    'UNSUPPORTED_OP',
    `Unsupported operator '${first.opType}' (node '${first.name}', ${domain}).${more} LocalQuant supports: ${SUPPORTED_ONNX_OPS.join(', ')}.`,
    first.domain && !DEFAULT_DOMAINS.has(first.domain)
      ? 'Custom-domain operators come from runtime-specific optimizations: re-export the plain model (e.g. torch.onnx.export without ORT fusions), or file an issue.'
      : 'Re-export the model without this operator (e.g. replace it in the source framework), or file an issue with the model attached.',
  );
}

function checkReferences(
  nodes: Node[],
  inputs: ValueInfo[],
  outputs: ValueInfo[],
  initializers: Map<string, TensorData>,
  dropped: Map<string, string>,
): void {
  const available = new Set<string>([...inputs.map((v) => v.name), ...initializers.keys()]);
  for (const n of nodes) for (const o of n.outputs) if (o) available.add(o);
  const missing = (value: string, user: string): LocalQuantError => {
    const by = dropped.get(value);
    if (by) {
      return new LocalQuantError(
        'UNSUPPORTED_OP',
        `${user} uses '${value}', a training-only output of node '${by}', which LocalQuant does not compute.`,
        'Export the model in inference (eval) mode.',
      );
    }
    return new LocalQuantError(
      'MISSING_INITIALIZER',
      `${user} reads '${value}', which no node, graph input or initializer provides.`,
      'The model is incomplete: if it keeps weights in separate files, select them together with the .onnx file; otherwise export it again.',
    );
  };
  for (const n of nodes) for (const i of n.inputs) if (i && !available.has(i)) throw missing(i, `Node '${n.name}' (${n.opType})`);
  for (const o of outputs) if (!available.has(o.name)) throw missing(o.name, `Graph output '${o.name}'`);
}

/** A graph input is a tensor of a numeric type LocalQuant has in its IR (not undefined, string or a sequence). */
function checkInputType(v: onnxProto.onnx.IValueInfoProto): void {
  const elemType = v.type?.tensorType?.elemType ?? 0;
  if (elemType === 10 || elemType === 16 || dtypeFromOnnx(elemType)) return;
  throw new LocalQuantError(
    'INVALID_MODEL',
    `The model's input '${v.name}' ${v.type?.tensorType ? `has element type ${ONNX_DTYPE_NAMES[elemType] ?? elemType}` : 'is not a tensor'}; LocalQuant feeds numeric tensors (float32 images).`,
    'The file is damaged or the model is not an image model: export it again.',
  );
}

/** float16/bfloat16 values are float32 in the IR, like their initializers. */
export function valueInfoFromProto(v: onnxProto.onnx.IValueInfoProto): ValueInfo {
  const tt = v.type?.tensorType;
  const elemType = tt?.elemType ?? 0;
  const dtype = elemType === 10 || elemType === 16 ? 'float32' : (dtypeFromOnnx(elemType) ?? 'float32');
  let shape: Dim[] | null = null;
  if (tt?.shape) {
    shape = (tt.shape.dim ?? []).map((d): Dim => {
      if (d.dimParam) return d.dimParam;
      // Decoded messages tell which oneof member is set; dimValue's default 0 sits on the prototype.
      const which = (d as { value?: string }).value;
      if (which === 'dimValue' || (which === undefined && Object.prototype.hasOwnProperty.call(d, 'dimValue'))) return longToNumber(d.dimValue as number);
      return null;
    });
  }
  return { name: v.name ?? '', dtype, shape };
}

/**
 * The external data files an ONNX model refers to (its initializers' `location`s), so that a caller
 * reading from disk can fetch just those. Empty when the bytes do not decode as a model.
 */
export function onnxExternalDataLocations(bytes: Uint8Array): string[] {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch {
    return [];
  }
  const locations = new Set<string>();
  const visit = (tensors: onnxProto.onnx.ITensorProto[] | null | undefined) => {
    for (const t of tensors ?? []) {
      if (t.dataLocation !== onnxProto.onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const loc = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
      if (loc) locations.add(loc);
    }
  };
  visit(model.graph?.initializer);
  for (const n of model.graph?.node ?? []) for (const a of n.attribute ?? []) if (a.t) visit([a.t]);
  return [...locations];
}
