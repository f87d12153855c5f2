import { LocalQuantError } from '../../errors.js';
import type { Graph, Node } from '../types.js';
import { MAX_MACS_PER_IMAGE, MAX_TENSOR_ELEMENTS } from './limits.js';

/**
 * After shape inference (prepareGraph), before the executor allocates anything: every value a node
 * computes has non-negative integer dims and stays within the per-image memory budget, windowed ops
 * (Conv, pools) get inputs of their kernel's rank and channel count and produce non-empty outputs, and
 * the whole forward pass stays within the compute budget. So a huge input is refused at once instead of
 * running for minutes, and a kernel larger than its padded input (an empty output a wasm kernel would
 * abort on) is refused with the node's name.
 */
export function checkPreparedShapes(g: Graph): void {
  let macs = 0;
  for (const n of g.nodes) {
    checkWindowInput(g, n);
    macs += macsPerImage(g, n);
    for (const o of n.outputs) {
      const shape = o ? g.valueInfo.get(o)?.shape : undefined;
      if (!numeric(shape)) continue;
      // Empty windows only arise from a kernel that does not fit; tfjs wasm (XNNPACK) kernels abort on them,
      // while an empty Slice result is legitimate.
      const window = ['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool'].includes(n.opType);
      if (shape.some((d) => !Number.isInteger(d) || d < 0) || (window && shape.includes(0))) {
        throw new LocalQuantError(
          'INVALID_MODEL',
          `Node '${n.name}' (${n.opType}) would produce '${o}' of shape [${shape.join(', ')}]: its attributes or weights do not fit its input (for example a kernel larger than the padded input).`,
          'Check the input shape; if it is the one the model was made for, the file is damaged: export it again.',
        );
      }
      const batch = shape.length > 1 && shape[0] > 0 ? shape[0] : 1;
      const perImage = shape.reduce((a, b) => a * b, 1) / batch;
      if (perImage > MAX_TENSOR_ELEMENTS) {
        throw new LocalQuantError(
          'TOO_LARGE',
          `Node '${n.name}' (${n.opType}) would produce '${o}' of shape [${shape.join(', ')}], ${Math.round(perImage)} values per image: more than LocalQuant's limit of ${MAX_TENSOR_ELEMENTS}.`,
          'Use a smaller input size.',
        );
      }
    }
  }
  if (macs > MAX_MACS_PER_IMAGE) {
    throw new LocalQuantError(
      'TOO_LARGE',
      `The model needs ${(macs / 1e9).toFixed(1)} billion multiply-adds per image at input shape ${g.inputs.map((v) => `[${(g.valueInfo.get(v.name)?.shape ?? v.shape ?? []).join(', ')}]`).join(', ')}: more than LocalQuant's limit of ${(MAX_MACS_PER_IMAGE / 1e9).toFixed(1)} billion.`,
      'Use a smaller input size.',
    );
  }
}

const numeric = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => typeof d === 'number');
const product = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Multiply-adds of one image through a Conv, ConvTranspose, Gemm or MatMul (0 for other ops or unknown shapes). */
function macsPerImage(g: Graph, n: Node): number {
  const shape = (v: string | undefined) => (v ? g.valueInfo.get(v)?.shape : undefined);
  const x = shape(n.inputs[0]);
  const w = shape(n.inputs[1]);
  const y = shape(n.outputs[0]);
  if (!numeric(x) || !numeric(w) || !numeric(y) || x.length === 0 || y.length === 0) return 0;
  const batch = Math.max(1, x[0]);
  switch (n.opType) {
    case 'Conv':
      return (product(y) / batch) * product(w.slice(1));
    case 'ConvTranspose':
      return (product(x) / batch) * product(w.slice(1));
    case 'Gemm':
    case 'MatMul':
      return (product(y) / Math.max(1, y[0])) * (n.attrs.transA ? x[0] : x[x.length - 1]);
    default:
      return 0;
  }
}

/** A window op's input rank fits its kernel; a Conv's input channels are its weight's second dimension times its group. */
function checkWindowInput(g: Graph, n: Node): void {
  if (!['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool'].includes(n.opType)) return;
  const x = g.valueInfo.get(n.inputs[0])?.shape;
  const w = n.opType.endsWith('Pool') ? undefined : g.valueInfo.get(n.inputs[1])?.shape;
  const kernel = Array.isArray(n.attrs.kernel_shape) ? n.attrs.kernel_shape : w?.slice(2);
  // a 3-D input under a 2-D kernel makes the wasm kernels read past their buffers
  if (numeric(x) && kernel && x.length !== kernel.length + 2) {
    throw new LocalQuantError(
      'INVALID_MODEL',
      `Node '${n.name}' (${n.opType}) gets an input of shape [${x.join(', ')}] for a ${kernel.length}-D window: it needs rank ${kernel.length + 2}.`,
      'Check the input shape; if it is the one the model was made for, the file is damaged: export it again.',
    );
  }
  if (n.opType !== 'Conv' || !numeric(x) || !numeric(w) || x.length < 2 || w.length < 2) return;
  const group = typeof n.attrs.group === 'number' ? n.attrs.group : 1;
  if (x[1] !== w[1] * group) {
    throw new LocalQuantError(
      'INVALID_MODEL',
      `Node '${n.name}' (Conv) gets ${x[1]} input channels (shape [${x.join(', ')}]) but its weight [${w.join(', ')}] with group ${group} expects ${w[1] * group}.`,
      'Check the input shape; if it is the one the model was made for, the file is damaged: export it again.',
    );
  }
}
