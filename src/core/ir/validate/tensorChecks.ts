import { LocalQuantError } from '../../errors.js';
import type { TensorData } from '../types.js';
import { MAX_TENSOR_ELEMENTS, MAX_WEIGHT_MAGNITUDE } from './limits.js';

/**
 * Checks dims read from a file before anything is allocated for them: non-negative integers whose product
 * stays within the memory budget. Returns the element count. `what` names the tensor in the message.
 */
export function checkedElementCount(dims: unknown, what: string): number {
  if (!Array.isArray(dims)) throw new LocalQuantError('INVALID_MODEL', `The model's ${what} has no valid shape (got ${JSON.stringify(dims)?.slice(0, 60)}).`, 'The file is damaged: export it again.');
  let count = 1;
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new LocalQuantError('INVALID_MODEL', `The model's ${what} has shape [${dims.map((x) => JSON.stringify(x)).join(', ')}]: dimension ${JSON.stringify(d)} is not a non-negative integer.`, 'The file is damaged: export it again.');
    }
    count *= d;
  }
  if (count > MAX_TENSOR_ELEMENTS) {
    throw new LocalQuantError('TOO_LARGE', `The model's ${what} has shape [${dims.join(', ')}] (${count} elements), more than LocalQuant's limit of ${MAX_TENSOR_ELEMENTS} elements per tensor.`, 'Check the file: such a tensor does not belong in a conv net LocalQuant can quantize in a browser.');
  }
  return count;
}

/** Index of the first NaN, or of the first value beyond MAX_WEIGHT_MAGNITUDE (±Inf included) unless `allowInfinity`; -1 when all are fine. */
function firstImplausible(data: ArrayLike<number>, allowInfinity: boolean): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v || (!allowInfinity && (v > MAX_WEIGHT_MAGNITUDE || v < -MAX_WEIGHT_MAGNITUDE))) return i;
  }
  return -1;
}

/**
 * Refuses NaN, ±Inf (unless allowed: Clip bounds) and magnitudes beyond MAX_WEIGHT_MAGNITUDE in a float
 * tensor, naming it and the first bad position.
 */
export function checkFinite(t: TensorData, what: string, allowInfinity = false): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16') return;
  const i = firstImplausible(t.data, allowInfinity);
  if (i < 0) return;
  const v = t.data[i];
  const why = Number.isFinite(v) ? `, beyond ${MAX_WEIGHT_MAGNITUDE.toExponential(1)} (its square overflows float32; trained weights are far smaller)` : ": a trained model's weights are finite";
  throw new LocalQuantError('BAD_WEIGHTS', `The model's ${what} holds ${v} at element ${i} (shape [${t.dims.join(', ')}])${why}.`, 'The file is damaged (or the model diverged in training): export it again.');
}
