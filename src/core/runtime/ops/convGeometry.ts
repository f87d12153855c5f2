import type { Node } from '../../ir/types.js';
import { attrInt, attrInts, attrString, unsupported } from './attrs.js';

/** Begin/end padding of each spatial axis of a Conv or pool, resolved from pads / auto_pad (ONNX rules). */
export interface SpatialPads {
  begin: number[];
  end: number[];
}

export function convPads(node: Node, inSpatial: number[], kernel: number[], strides: number[], dilations: number[]): SpatialPads {
  const n = inSpatial.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = attrInts(node, 'pads') ?? new Array(2 * n).fill(0);
    return { begin: pads.slice(0, n), end: pads.slice(n, 2 * n) };
  }
  if (autoPad === 'VALID') return { begin: new Array(n).fill(0), end: new Array(n).fill(0) };
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw unsupported(node, `auto_pad '${autoPad}'`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < n; i++) {
    const out = Math.ceil(inSpatial[i] / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSpatial[i]);
    const small = Math.floor(total / 2);
    // SAME_UPPER puts the odd extra at the end, SAME_LOWER at the beginning.
    begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
    end.push(autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return { begin, end };
}

export function spatialAttrs(node: Node, kernelFromWeight: number[] | undefined) {
  const kernel = attrInts(node, 'kernel_shape') ?? kernelFromWeight;
  if (!kernel) throw unsupported(node, 'a missing kernel_shape');
  const n = kernel.length;
  const strides = attrInts(node, 'strides') ?? new Array(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array(n).fill(1);
  return { kernel, strides, dilations, group: attrInt(node, 'group', 1) };
}
