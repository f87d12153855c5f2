import { isLocalQuantError, LocalQuantError } from '../../../errors.js';
import type { Graph, Node, TensorData, ValueInfo } from '../../../ir/types.js';
import { GraphBuilder, type SrcTensor } from '../builder.js';
import type { ModelJson } from '../modelJson.js';
import { newAttrs, type OpContext, type OpTranslator } from './context.js';
import { biasAdd, conv, conv2dBackpropInput, fusedBatchNorm, matMul, pool, depthToSpace } from './convOps.js';
import { activationOp, addN, binaryOp, softmax, squaredDifference, unaryOp } from './elementwiseOps.js';
import { POSTPROCESS_TF_OPS } from './postprocessOps.js';
import * as S from './shapeOps.js';
import { inlineTensor, tfDtype, type TfNode } from './tfNode.js';
import { readingMalformed } from '../malformed.js';

/** TF.js graph model (GraphDef JSON, NHWC) -> IR. */

/** Add with a 1-D constant right after a biasless Conv/Gemm is a bias (joins the node), else a plain Add. */
const addOrBias: OpTranslator = (ctx, inputs) => {
  const [x, c] = inputs;
  if (c?.constValue && c.constValue.dims.length === 1 && !x.constValue && ctx.biasFusable.has(ctx.b.anyForm(x).name)) return biasAdd(ctx, inputs);
  return binaryOp('Add')(ctx, inputs);
};

const OPS: Record<string, OpTranslator> = {
  Conv2D: conv,
  _FusedConv2D: conv,
  DepthwiseConv2dNative: conv,
  DepthwiseConv2D: conv,
  FusedDepthwiseConv2dNative: conv,
  Conv2DBackpropInput: conv2dBackpropInput,
  MatMul: matMul,
  _FusedMatMul: matMul,
  BiasAdd: biasAdd,
  FusedBatchNorm: fusedBatchNorm,
  FusedBatchNormV2: fusedBatchNorm,
  FusedBatchNormV3: fusedBatchNorm,
  Add: addOrBias,
  AddV2: addOrBias,
  AddN: addN,
  Sub: binaryOp('Sub'),
  Mul: binaryOp('Mul'),
  RealDiv: binaryOp('Div'),
  Div: binaryOp('Div'),
  Maximum: binaryOp('Maximum'),
  Minimum: binaryOp('Minimum'),
  Relu: activationOp('relu'),
  Relu6: activationOp('relu6'),
  Elu: activationOp('elu'),
  Selu: activationOp('selu'),
  Sigmoid: activationOp('sigmoid'),
  Tanh: activationOp('tanh'),
  LeakyRelu: activationOp('leakyrelu'),
  Prelu: activationOp('prelu'),
  Softmax: softmax,
  Neg: unaryOp('Neg'),
  Sqrt: unaryOp('Sqrt'),
  Abs: unaryOp('Abs'),
  SquaredDifference: squaredDifference,
  Rsqrt: unaryOp('Rsqrt'),
  Exp: unaryOp('Exp'),
  Square: unaryOp('Square'),
  Reciprocal: unaryOp('Reciprocal'),
  MaxPool: pool,
  AvgPool: pool,
  DepthToSpace: depthToSpace,
  Mean: S.reduceOp,
  Sum: S.reduceOp,
  Max: S.reduceOp,
  Pad: S.padOp,
  PadV2: S.padOp,
  MirrorPad: S.padOp,
  ConcatV2: S.concatOp,
  Concat: S.concatOp,
  Reshape: S.reshapeOp,
  Squeeze: S.squeezeOp,
  ExpandDims: S.expandDimsOp,
  Transpose: S.transposeOp,
  StridedSlice: S.stridedSliceOp,
  Slice: S.sliceOp,
  Pack: S.packOp,
  Split: S.splitOp,
  SplitV: S.splitOp,
  Unpack: S.splitOp,
  Identity: S.identityOp,
  StopGradient: S.identityOp,
  Snapshot: S.identityOp,
  Cast: S.castOp,
  Shape: S.shapeOp,
  ResizeBilinear: S.resizeOp,
  ResizeNearestNeighbor: S.resizeOp,
  ...POSTPROCESS_TF_OPS,
};

export const SUPPORTED_TF_OPS = ['Placeholder', 'PlaceholderWithDefault', 'Const', 'NoOp', ...Object.keys(OPS)];

/**
 * Shape vectors known only in part (the batch, or the size of an input of free size) are followed through
 * Reshape, Pack, Concat, Cast and slicing; an op that cannot take one (arithmetic on an image size, as
 * padding-to-a-multiple code does) is refused by name, not reported as a malformed file.
 */
function onRuntimeShape<T>(n: TfNode, translate: () => T): T {
  try {
    return translate();
  } catch (e) {
    if (isLocalQuantError(e)) throw e;
    throw new LocalQuantError('UNSUPPORTED_OP', `Node '${n.name}' (${n.op}) computes with the input's size, known only at run time, which LocalQuant does not translate.`, 'Give the model input a fixed height and width (re-export it with a static input shape).');
  }
}

/** "node", "node:1", "^node" -> node name and output index (control inputs give index -1). */
function parseInput(s: string): { node: string; index: number } {
  if (s.startsWith('^')) return { node: s.slice(1), index: -1 };
  const m = /^(.*):(\d+)$/.exec(s);
  return m ? { node: m[1], index: Number(m[2]) } : { node: s, index: 0 };
}

const tensorKey = (node: string, index: number) => (index === 0 ? node : `${node}:${index}`);

function signatureOf(model: ModelJson): { inputs?: Record<string, { name?: string }>; outputs?: Record<string, { name?: string }> } | undefined {
  const sig = (model.signature ?? (model.userDefinedMetadata as { signature?: unknown } | undefined)?.signature) as
    | { inputs?: Record<string, { name?: string }>; outputs?: Record<string, { name?: string }> }
    | undefined;
  return sig && typeof sig === 'object' ? sig : undefined;
}

type Signature = ReturnType<typeof signatureOf>;

/** An input's shape from the signature (for placeholders without a shape attribute). */
function signatureShape(sig: Signature, node: string): (number | null)[] | null {
  const entry = Object.values(sig?.inputs ?? {}).find((e) => e.name !== undefined && parseInput(e.name).node === node) as { tensorShape?: { dim?: { size?: string | number }[] } } | undefined;
  const dims = entry?.tensorShape?.dim;
  return dims ? dims.map((d) => (Number(d.size ?? -1) < 0 ? null : Number(d.size))) : null;
}

export function importGraphModel(model: ModelJson, weights: Map<string, TensorData>): Graph {
  const topo = model.modelTopology as { node: TfNode[]; library?: { function?: unknown[] } };
  const nodes = topo.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const children = new Map<string, number>();
  const consumers = new Map<string, number>();
  for (const n of nodes) {
    for (const i of n.input ?? []) {
      const { node, index } = parseInput(i);
      children.set(node, (children.get(node) ?? 0) + 1);
      if (index >= 0) consumers.set(tensorKey(node, index), (consumers.get(tensorKey(node, index)) ?? 0) + 1);
    }
  }
  const sig = signatureOf(model);
  const sigOutputs = Object.values(sig?.outputs ?? {}).map((o) => o.name).filter((n): n is string => typeof n === 'string');
  const outputRefs = sigOutputs.length
    ? sigOutputs.map(parseInput)
    : nodes.filter((n) => !children.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => ({ node: n.name, index: 0 }));
  const sigInputs = Object.values(sig?.inputs ?? {}).map((o) => o.name).filter((n): n is string => typeof n === 'string');
  const placeholders = sigInputs.length ? sigInputs.map((n) => parseInput(n).node) : nodes.filter((n) => n.op.startsWith('Placeholder')).map((n) => n.name);

  const b = new GraphBuilder();
  const inputNames = new Set(placeholders);
  for (const p of placeholders) b.reserve(p);
  const outNames = outputRefs.map((r) => tensorKey(r.node, r.index));
  for (const o of outNames) b.reserve(o);
  const values = new Map<string, SrcTensor>();
  const graphInputs: ValueInfo[] = [];
  const biasFusable = new Map<string, Node>();

  const translate = (tfNode: TfNode, inputs: SrcTensor[]): SrcTensor[] => {
    const attrs = newAttrs(tfNode);
    if (tfNode.op === 'Const') {
      const w = weights.get(tfNode.name);
      const inline = attrs.tensor('value');
      const value = w ?? (inline && (inline.tensorContent || inline.floatVal || inline.intVal || inline.int64Val || inline.boolVal) ? inlineTensor(inline, tfNode.name) : undefined);
      if (!value) throw new LocalQuantError('MISSING_INITIALIZER', `Constant '${tfNode.name}' has no value in the weights manifest.`, 'The weight files may belong to another model: export model.json and weights together.');
      return [b.constTensor(tfNode.name, value)];
    }
    if (tfNode.op.startsWith('Placeholder')) {
      if (!inputNames.has(tfNode.name)) {
        if (tfNode.op === 'PlaceholderWithDefault' && inputs[0]) return [inputs[0]];
        throw new LocalQuantError('UNSUPPORTED_OP', `Placeholder '${tfNode.name}' is not a model input.`);
      }
      const shape = attrs.shape('shape') ?? signatureShape(sig, tfNode.name);
      if (!shape) throw new LocalQuantError('UNSUPPORTED_OP', `Input '${tfNode.name}' has an unknown rank.`, 'Convert the model with a fixed input rank.');
      const dtype = tfDtype(attrs.type('dtype'));
      graphInputs.push({ name: tfNode.name, dtype, shape: shape.map((d, i) => (d === null && i === 0 ? 'N' : d)) });
      return [b.tensor(tfNode.name, null, shape, dtype)];
    }
    const op = OPS[tfNode.op];
    if (!op) {
      throw new LocalQuantError(
        'UNSUPPORTED_OP',
        `Node '${tfNode.name}' has op ${tfNode.op}, which LocalQuant does not translate.`,
        `Supported TensorFlow ops: ${SUPPORTED_TF_OPS.join(', ')}.`,
      );
    }
    const ctx: OpContext = { b, node: tfNode, attrs, hint: tfNode.name, biasFusable, consumers };
    return op(ctx, inputs);
  };

  // Depth-first from the outputs, iteratively (graphs can be deep), so only needed nodes are translated.
  const visit = (root: string): void => {
    const stack: { name: string; expanded: boolean }[] = [{ name: root, expanded: false }];
    const onStack = new Set<string>();
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (values.has(top.name)) {
        stack.pop();
        continue;
      }
      const n = byName.get(top.name);
      if (!n) throw new LocalQuantError('NOT_A_MODEL', `The graph refers to a node '${top.name}' that does not exist.`);
      const deps = (n.input ?? []).map(parseInput).filter((d) => d.index >= 0);
      if (!top.expanded) {
        top.expanded = true;
        onStack.add(top.name);
        if (n.op.startsWith('Placeholder') && inputNames.has(n.name)) continue;
        for (const d of deps) if (!values.has(d.node)) {
          if (onStack.has(d.node)) throw new LocalQuantError('UNSUPPORTED_OP', `The graph has a cycle through '${d.node}' (control flow), which LocalQuant does not translate.`);
          stack.push({ name: d.node, expanded: false });
        }
        continue;
      }
      stack.pop();
      onStack.delete(top.name);
      const useDeps = n.op.startsWith('Placeholder') && inputNames.has(n.name) ? [] : deps;
      const inputs = useDeps.map((d) => {
        const t = values.get(tensorKey(d.node, d.index));
        if (!t) throw new LocalQuantError('UNSUPPORTED_OP', `Node '${n.name}' reads output ${d.index} of '${d.node}' (${byName.get(d.node)?.op}), which LocalQuant does not translate.`);
        return t;
      });
      const outs = inputs.some((t) => t.partial) ? onRuntimeShape(n, () => translate(n, inputs)) : readingMalformed(`Node '${n.name}' (${n.op}) of the model.json`, () => translate(n, inputs));
      outs.forEach((t, i) => values.set(tensorKey(n.name, i), t));
    }
  };
  // Inputs first so their order follows the signature / placeholder order.
  for (const p of placeholders) visit(p);
  for (const r of outputRefs) visit(r.node);

  const outputs: ValueInfo[] = outputRefs.map((r, i) => {
    const t = values.get(tensorKey(r.node, r.index));
    if (!t) throw new LocalQuantError('UNSUPPORTED_OP', `Output '${outNames[i]}' is not produced by a translated op.`);
    if (t.partial || (t.constValue && t.forms.size === 0)) throw new LocalQuantError('UNSUPPORTED_OP', `Output '${outNames[i]}' is a shape computation, not a tensor the model computes.`);
    b.bindOutput(t, outNames[i], inputNames);
    return { name: outNames[i], dtype: t.dtype, shape: t.shape ? t.shape.map((d, j) => (d === null && j === 0 ? 'N' : d)) : null };
  });
  return b.finish({
    name: 'tfjs_graph_model',
    format: 'tfjs-graph',
    interfaceLayout: 'NHWC',
    inputs: graphInputs,
    outputs,
    opset: 13,
    metadata: {
      producer: [model.generatedBy, model.convertedBy].filter(Boolean).join(', ') || 'tfjs graph model',
      sourceFormat: 'tfjs-graph',
    },
  });
}
