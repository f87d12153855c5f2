/**
 * The bias inputs the pipeline writes to: bias correction (layer-wise) and bias learning (block
 * reconstruction) both need one float bias per output channel on every Conv/Gemm they touch.
 */
import type { Graph } from '../ir/types.js';
import type { QuantLayer } from '../quant/quantPoints.js';

/**
 * Gives every Conv/Gemm in `layers` a bias initializer (zeros where it had none) so that a bias can be
 * written; returns the bias name per layer. MatMul has no bias input and gets none; a computed bias is left.
 */
export function addBiasInputs(g: Graph, layers: QuantLayer[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const { node, weightName } of layers) {
    if (node.opType !== 'Conv' && node.opType !== 'Gemm') continue;
    const dims = g.initializers.get(weightName)!.dims;
    const cOut = node.opType === 'Conv' ? dims[0] : node.attrs.transB ? dims[0] : dims[1];
    const b = node.inputs[2];
    if (b && g.initializers.has(b)) {
      const t = g.initializers.get(b)!;
      if (t.dtype !== 'float32' || (t.data.length !== cOut && t.data.length !== 1)) continue;
      names.set(node.name, b);
      continue;
    }
    if (b) continue; // a computed bias: nothing to write
    let name = `${node.name}_bias`;
    for (let i = 1; g.initializers.has(name); i++) name = `${node.name}_bias_${i}`;
    g.initializers.set(name, { dtype: 'float32', dims: [cOut], data: new Float32Array(cOut) });
    node.inputs = [node.inputs[0], node.inputs[1], name];
    names.set(node.name, name);
  }
  return names;
}

/** The bias `name` (from addBiasInputs) as one value per output channel (a single value broadcast). */
export function biasPerChannel(g: Graph, name: string, cOut: number): Float32Array {
  const d = g.initializers.get(name)!.data as Float32Array;
  return d.length === cOut ? d : new Float32Array(cOut).fill(d[0]);
}
