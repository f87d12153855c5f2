import { LocalQuantError } from '../../../errors.js';
import type { TensorData } from '../../../ir/types.js';
import type { GraphBuilder, SrcTensor } from '../builder.js';
import type { KerasLayer } from './topology.js';

/** What a layer translator gets: the builder, the layer, its weights, and a naming hint for this call. */
export interface LayerContext {
  b: GraphBuilder;
  layer: KerasLayer;
  /** Value/node name base: the layer name (suffixed with the call index for shared layers). */
  hint: string;
  /** A weight of this layer by Keras name ('kernel', 'gamma', ...) and position; undefined only when optional. */
  weight(name: string, index: number, optional?: boolean): TensorData | undefined;
  /**
   * The initializer "<layer>/<name>" made from a layer weight by `make`, once per layer: a shared layer's
   * calls read the same initializer. `variant` tells apart different layouts of one weight.
   */
  weightConst(name: string, make: () => TensorData, variant?: string): string;
}

export type LayerTranslator = (ctx: LayerContext, inputs: SrcTensor[]) => SrcTensor;

export function cfgNumber(cfg: Record<string, unknown>, key: string, dflt: number): number {
  const v = cfg[key];
  return typeof v === 'number' ? v : dflt;
}

export function cfgString(cfg: Record<string, unknown>, key: string, dflt: string): string {
  const v = cfg[key];
  return typeof v === 'string' ? v : dflt;
}

export function cfgBool(cfg: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = cfg[key];
  return typeof v === 'boolean' ? v : dflt;
}

/** An int or a list of n ints (kernel_size, strides, ...). */
export function cfgInts(cfg: Record<string, unknown>, key: string, n: number, dflt: number[]): number[] {
  const v = cfg[key];
  if (typeof v === 'number') return new Array<number>(n).fill(v);
  if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number')) return v as number[];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return new Array<number>(n).fill(v[0]);
  return dflt;
}

/** ((top, bottom), (left, right)) from an int, a pair of ints or a pair of pairs. */
export function cfgPadPairs(cfg: Record<string, unknown>, key: string, dflt: number): [[number, number], [number, number]] {
  const v = cfg[key];
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    const pair = (x: unknown): [number, number] => (typeof x === 'number' ? [x, x] : Array.isArray(x) ? [Number(x[0]), Number(x[1])] : [dflt, dflt]);
    return [pair(v[0]), pair(v[1])];
  }
  return [[dflt, dflt], [dflt, dflt]];
}

/** The activation name of a config: a string, or a Keras 3 serialized function/object. */
export function cfgActivation(cfg: Record<string, unknown>, key = 'activation'): string {
  const v = cfg[key];
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const o = v as { config?: unknown; class_name?: unknown };
    if (typeof o.config === 'string') return o.config;
    if (typeof o.class_name === 'string') return o.class_name.toLowerCase();
  }
  return String(v);
}

export function unsupported(ctx: LayerContext, what: string, hint = 'Re-export the model without it, or file an issue with the model attached.'): LocalQuantError {
  return new LocalQuantError('UNSUPPORTED_OP', `Layer '${ctx.layer.name}' (${ctx.layer.className}) ${what}.`, hint);
}
