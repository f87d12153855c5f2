import * as ort from 'onnxruntime-node';
import { createOrtSession } from '../../cli/lib/ort.js';

/** The named outputs of `model` in onnxruntime-node (1 thread) on `n` images (batch first, `dims` each), `batch` images per run, concatenated. */
export async function ortOutputs(model: Uint8Array, images: Float32Array, dims: number[], n: number, names: string[], batch: number): Promise<Float32Array[]> {
  const s = await createOrtSession(model, { threads: 1 });
  const per = dims.reduce((a, b) => a * b, 1);
  const parts: Float32Array[][] = names.map(() => []);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', images.subarray(i * per, (i + m) * per), [m, ...dims]) });
    names.forEach((name, j) => parts[j].push(Float32Array.from(r[name].data as Float32Array)));
  }
  await s.release();
  return parts.map((p) => {
    const out = new Float32Array(p.reduce((a, x) => a + x.length, 0));
    p.reduce((at, x) => (out.set(x, at), at + x.length), 0);
    return out;
  });
}
