import { broadcastShapes } from './shapeInference.js';
import type { DType, Node, TensorData } from './types.js';

/**
 * Shapes of the detection post-processing ops (runtime/ops/postprocess.ts). Data-dependent sizes
 * (NonMaxSuppression's and NonZero's number of hits) stay unknown (null dims are not allowed, so the
 * whole shape is null), which the float tail tolerates: nothing downstream of it is prepared for
 * quantization.
 */
interface Known {
  dtype: DType;
  shape: number[] | null;
}

const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);
const COMPARE = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'And', 'Or']);

function ints(inits: Map<string, TensorData>, name: string | undefined): number[] | undefined {
  const t = name ? inits.get(name) : undefined;
  return t ? Array.from(t.data as ArrayLike<number>, Number) : undefined;
}

export function inferPostprocessShapes(node: Node, ins: (Known | undefined)[], inits: Map<string, TensorData>): Known[] | undefined {
  const a = node.attrs;
  const x = ins[0];
  const xs = x?.shape ?? null;
  const dtype = x?.dtype ?? 'float32';
  const both = (p?: number[] | null, q?: number[] | null) => (p && q ? broadcastShapes(p, q) : null);
  if (COMPARE.has(node.opType)) return [{ dtype: 'bool', shape: both(xs, ins[1]?.shape) }];
  switch (node.opType) {
    case 'Not':
    case 'Floor':
      return [{ dtype, shape: xs }];
    case 'Mod':
      return [{ dtype, shape: both(xs, ins[1]?.shape) }];
    case 'Where':
      return [{ dtype: ins[1]?.dtype ?? 'float32', shape: xs && ins[1]?.shape && ins[2]?.shape ? broadcastShapes(broadcastShapes(xs, ins[1].shape), ins[2].shape) : null }];
    case 'TopK': {
      const k = ints(inits, node.inputs[1])?.[0] ?? (a.k as number | undefined);
      const axis = xs ? norm((a.axis as number | undefined) ?? -1, xs.length) : 0;
      const shape = xs && k !== undefined ? xs.map((d, i) => (i === axis ? k : d)) : null;
      return [{ dtype, shape }, { dtype: 'int64', shape }];
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (!xs) return [{ dtype: 'int64', shape: null }];
      const axis = norm((a.axis as number | undefined) ?? 0, xs.length);
      const keep = (a.keepdims as number | undefined) ?? 1;
      return [{ dtype: 'int64', shape: keep ? xs.map((d, i) => (i === axis ? 1 : d)) : xs.filter((_, i) => i !== axis) }];
    }
    case 'Tile': {
      const reps = ints(inits, node.inputs[1]);
      return [{ dtype, shape: xs && reps ? xs.map((d, i) => d * reps[i]) : null }];
    }
    case 'Range': {
      const [s, l, d] = [0, 1, 2].map((i) => ints(inits, node.inputs[i])?.[0]);
      return [{ dtype, shape: s !== undefined && l !== undefined && d !== undefined ? [Math.max(0, Math.ceil((l - s) / d))] : null }];
    }
    case 'GatherND': {
      const idx = ins[1]?.shape;
      return [{ dtype, shape: xs && idx ? [...idx.slice(0, -1), ...xs.slice(idx[idx.length - 1])] : null }];
    }
    case 'NonMaxSuppression':
    case 'NonZero':
      return [{ dtype: 'int64', shape: null }];
    default:
      return undefined;
  }
}
