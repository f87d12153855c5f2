/**
 * Data-dependent initialization of a random-weight net (LSUV-style: what BatchNorm does at the start of
 * training): layer by layer, each Conv/Gemm output channel is shifted and scaled to mean 0, variance 1
 * on the given images. Without it, a random MobileNet puts every image in the same class (a common
 * component swamps the input-dependent part of every feature), and agreement with float says nothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { Graph } from '../ir/types.js';
import { topologicalOrder } from '../ir/graph.js';
import { GraphExecutor } from '../runtime/executor.js';

/** Returns a copy of `graph` whose Conv/Gemm weights and biases (initializers) are rescaled in place of the originals. */
export async function normalizeRandomNet(graph: Graph, images: Float32Array, shape: number[]): Promise<Graph> {
  const g: Graph = { ...graph, initializers: new Map(graph.initializers) };
  const x = tf.tensor(images, shape);
  try {
    for (const n of topologicalOrder(g)) {
      if ((n.opType !== 'Conv' && n.opType !== 'Gemm') || !n.inputs[2]) continue;
      const exec = new GraphExecutor(g);
      const r = exec.execute({ [g.inputs[0].name]: x }, { capture: [n.outputs[0]], stopAfterCaptures: true });
      const c = r.captured.get(n.outputs[0])!;
      const [mean, variance] = tf.tidy(() => {
        const t = c.tensor;
        const axes = t.rank === 4 ? (c.layout === 'NHWC' ? [0, 1, 2] : [0, 2, 3]) : [0];
        const m = tf.moments(t, axes);
        return [m.mean, m.variance];
      });
      const mu = (await mean.data()) as Float32Array;
      const va = (await variance.data()) as Float32Array;
      tf.dispose([c.tensor, mean, variance, ...r.outputs.values()]);
      exec.dispose();
      const w = g.initializers.get(n.inputs[1])!;
      const b = g.initializers.get(n.inputs[2])!;
      const cOut = mu.length;
      const transposed = n.opType === 'Gemm' && !n.attrs.transB;
      const wd = Float32Array.from(w.data as Float32Array);
      const per = wd.length / cOut;
      for (let i = 0; i < wd.length; i++) {
        const o = transposed ? i % cOut : Math.floor(i / per);
        wd[i] /= Math.sqrt(va[o] + 1e-5);
      }
      const bd = Float32Array.from(b.data as Float32Array, (v, o) => (v - mu[o]) / Math.sqrt(va[o] + 1e-5));
      g.initializers.set(n.inputs[1], { ...w, data: wd });
      g.initializers.set(n.inputs[2], { ...b, data: bd });
    }
  } finally {
    x.dispose();
  }
  return g;
}
