import type { AttrValue, Node, TensorData } from '../../ir/types.js';
import { LocalQuantError } from '../../errors.js';

/** Typed attribute readers (importers store ONNX attributes as numbers, number[], string or TensorData). */
export function attrInt(node: Node, name: string, def: number): number {
  const v = node.attrs[name];
  if (v === undefined) return def;
  if (typeof v === 'number') return v;
  throw bad(node, name, v);
}

export function attrFloat(node: Node, name: string, def: number): number {
  return attrInt(node, name, def);
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  throw bad(node, name, v);
}

export function attrString(node: Node, name: string, def: string): string {
  const v = node.attrs[name];
  if (v === undefined) return def;
  if (typeof v === 'string') return v;
  throw bad(node, name, v);
}

export function attrTensor(node: Node, name: string): TensorData | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (typeof v === 'object' && !Array.isArray(v) && 'dims' in v) return v as TensorData;
  throw bad(node, name, v);
}

function bad(node: Node, name: string, v: AttrValue): LocalQuantError {
  return new LocalQuantError('BAD_WEIGHTS', `${node.opType} node '${node.name}': attribute '${name}' has an unexpected value (${typeof v})`);
}

/** Normalizes a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function unsupported(node: Node, what: string): LocalQuantError {
  return new LocalQuantError('UNSUPPORTED_OP', `${node.opType} node '${node.name}': ${what} is not supported`, 'Export the model without this feature, or simplify it (onnx-simplifier) first.');
}

export function numbers(t: TensorData | undefined): number[] | undefined {
  return t ? Array.from(t.data as ArrayLike<number>) : undefined;
}
