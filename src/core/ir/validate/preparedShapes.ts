import { LocalQuantError } from '../../errors.js';
import type { Graph, Node } from '../types.js';
import { MAX_MACS_PER_IMAGE, MAX_TENSOR_ELEMENTS } from './limits.js';

/**
 * After shape inference (prepareGraph): every value a node computes has a non-empty shape within the
 * memory budget. Checked before the executor allocates anything, so an input declared 10^6 pixels high
 * is refused at once instead of running for minutes, and a kernel larger than its padded input (an empty
 * output a wasm kernel would abort on) is refused with the node's name.
 */
export function checkPreparedShapes(g: Graph): void {
  let macs = 0;
  for (const n of g.nodes) {
    macs += macsPerImage(g, n);
    for (const o of n.outputs) {
      const shape = o ? g.valueInfo.get(o)?.shape : undefined;
      if (!shape || !shape.every((d): d is number => typeof d === 'number')) continue;
      const dtype = g.valueInfo.get(o)?.dtype ?? 'float32';
      // Empty float tensors only arise from a window or slice that does not fit; tfjs wasm kernels abort on them.
      if (shape.some((d) => !Number.isInteger(d) || d < 0) || (shape.includes(0) && dtype.startsWith('float'))) {
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
