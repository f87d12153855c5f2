import { LocalQuantError } from '../../errors.js';
import type { AttrValue, Node, TensorData } from '../../ir/types.js';

/**
 * Rewrites one imported node into the normalized form documented in ./supportedOps.ts.
 * Moved attributes become initializers created through `ctx.addConstant`.
 */
export interface NormalizeContext {
  opset: number;
  initializers: Map<string, TensorData>;
  /** Adds an initializer under a fresh name derived from `hint`; returns the name. */
  addConstant(hint: string, t: TensorData): string;
  /** A value name not used anywhere yet. */
  freshName(hint: string): string;
  /** Outputs the importer removed (BN training outputs, Dropout mask): no node may consume them. */
  droppedOutputs: Map<string, string>;
}

const int64 = (values: number[], dims = [values.length]): TensorData => ({ dtype: 'int64', dims, data: Int32Array.from(values) });
const float32Scalar = (v: number): TensorData => ({ dtype: 'float32', dims: [], data: Float32Array.of(v) });

function refuse(node: Node, why: string, hint = 'Re-export the model without it, or file an issue with the model attached.'): LocalQuantError {
  return new LocalQuantError('UNSUPPORTED_OP', `Node '${node.name}' (${node.opType}) ${why}.`, hint);
}

function moveAttrToInput(node: Node, attr: string, index: number, ctx: NormalizeContext, make: (v: AttrValue) => TensorData): void {
  if (!(attr in node.attrs)) return;
  const value = node.attrs[attr];
  delete node.attrs[attr];
  while (node.inputs.length < index) node.inputs.push('');
  node.inputs[index] = ctx.addConstant(`${node.name}_${attr}`, make(value));
}

function trimTrailingEmpty(inputs: string[]): string[] {
  let n = inputs.length;
  while (n > 0 && inputs[n - 1] === '') n--;
  return inputs.slice(0, n);
}

function dropOutputs(node: Node, keep: number, ctx: NormalizeContext): void {
  for (const o of node.outputs.slice(keep)) if (o) ctx.droppedOutputs.set(o, node.name);
  node.outputs = node.outputs.slice(0, keep);
}

/** Normalized nodes replacing `node` (usually just the node itself, edited). */
export function normalizeNode(node: Node, ctx: NormalizeContext): Node[] {
  const { opset } = ctx;
  const ints = (v: AttrValue) => int64(v as number[]);
  switch (node.opType) {
    case 'Clip':
      if (opset < 11) {
        moveAttrToInput(node, 'min', 1, ctx, (v) => float32Scalar(v as number));
        moveAttrToInput(node, 'max', 2, ctx, (v) => float32Scalar(v as number));
      }
      break;
    case 'Slice':
      if (opset < 10) {
        moveAttrToInput(node, 'starts', 1, ctx, ints);
        moveAttrToInput(node, 'ends', 2, ctx, ints);
        moveAttrToInput(node, 'axes', 3, ctx, ints);
      }
      break;
    case 'Pad':
      if (opset < 11) {
        moveAttrToInput(node, 'pads', 1, ctx, ints);
        moveAttrToInput(node, 'value', 2, ctx, (v) => float32Scalar(v as number));
      }
      break;
    case 'Squeeze':
    case 'Unsqueeze':
      if (opset < 13) moveAttrToInput(node, 'axes', 1, ctx, ints);
      break;
    case 'Split':
      if (opset < 13) moveAttrToInput(node, 'split', 1, ctx, ints);
      break;
    case 'ReduceMean':
    case 'ReduceSum': {
      const axesName = node.inputs[1];
      if (axesName) {
        const axes = ctx.initializers.get(axesName);
        if (!axes) throw refuse(node, `takes its reduction axes from a computed value '${axesName}'`, 'Re-export the model with constant axes.');
        node.attrs.axes = Array.from(axes.data);
      }
      node.inputs = node.inputs.slice(0, 1);
      break;
    }
    case 'Upsample':
      return [toResize(node, ctx)];
    case 'Resize':
      if (opset < 11) return [toResize(node, ctx)];
      node.attrs.mode ??= 'nearest';
      node.attrs.coordinate_transformation_mode ??= 'half_pixel';
      node.attrs.nearest_mode ??= 'round_prefer_floor';
      break;
    case 'BatchNormalization':
      if ('spatial' in node.attrs) {
        if (node.attrs.spatial === 0) throw refuse(node, 'uses spatial = 0 (per-activation statistics)');
        delete node.attrs.spatial;
      }
      delete node.attrs.training_mode;
      dropOutputs(node, 1, ctx);
      break;
    case 'Dropout':
      node.inputs = node.inputs.slice(0, 1);
      node.attrs = {};
      dropOutputs(node, 1, ctx);
      break;
    case 'Cast':
      // float16 tensors are widened to float32 at import, so a cast to float16 becomes one to float32.
      if (node.attrs.to === 10 || node.attrs.to === 16) node.attrs.to = 1;
      break;
    case 'Softmax':
      if (opset < 13) return legacySoftmax(node, ctx);
      node.attrs.axis ??= -1;
      break;
  }
  node.inputs = trimTrailingEmpty(node.inputs);
  return [node];
}

/** Upsample (7-9) and Resize-10 have asymmetric coordinates and floor rounding; opset 7 Upsample has scales as an attribute. */
function toResize(node: Node, ctx: NormalizeContext): Node {
  const mode = (node.attrs.mode as string | undefined) ?? 'nearest';
  let scales = node.inputs[1] ?? '';
  if ('scales' in node.attrs) {
    const s = node.attrs.scales as number[];
    scales = ctx.addConstant(`${node.name}_scales`, { dtype: 'float32', dims: [s.length], data: Float32Array.from(s) });
  }
  if (!scales) throw refuse(node, 'has no scales');
  return {
    name: node.name,
    opType: 'Resize',
    inputs: [node.inputs[0], '', scales],
    outputs: node.outputs,
    attrs: { mode: mode === 'bilinear' ? 'linear' : mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
  };
}

/** Softmax before opset 13 flattens the input to 2-D at `axis`; an exact rewrite with opset-13 ops. */
function legacySoftmax(node: Node, ctx: NormalizeContext): Node[] {
  const axis = (node.attrs.axis as number | undefined) ?? 1;
  if (axis === -1) return [{ ...node, attrs: { axis: -1 } }];
  const [x] = node.inputs;
  const [y] = node.outputs;
  const shape = ctx.freshName(`${node.name}_shape`);
  const flat = ctx.freshName(`${node.name}_flat`);
  const soft = ctx.freshName(`${node.name}_soft`);
  return [
    { name: `${node.name}_Shape`, opType: 'Shape', inputs: [x], outputs: [shape], attrs: {} },
    { name: `${node.name}_Flatten`, opType: 'Flatten', inputs: [x], outputs: [flat], attrs: { axis } },
    { name: node.name, opType: 'Softmax', inputs: [flat], outputs: [soft], attrs: { axis: 1 } },
    { name: `${node.name}_Reshape`, opType: 'Reshape', inputs: [soft, shape], outputs: [y], attrs: {} },
  ];
}

/** The value of a Constant node as a tensor. */
export function constantValue(node: Node): TensorData {
  const a = node.attrs;
  if (a.value !== undefined && typeof a.value === 'object' && !Array.isArray(a.value)) return a.value as TensorData;
  if (typeof a.value_float === 'number') return float32Scalar(a.value_float);
  if (Array.isArray(a.value_floats)) return { dtype: 'float32', dims: [a.value_floats.length], data: Float32Array.from(a.value_floats as number[]) };
  if (typeof a.value_int === 'number') return int64([a.value_int], []);
  if (Array.isArray(a.value_ints)) return int64(a.value_ints as number[]);
  throw refuse(node, `holds a kind of constant LocalQuant does not read (${Object.keys(a).join(', ') || 'no value'})`);
}
