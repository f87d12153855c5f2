import * as ort from 'onnxruntime-node';
import { writeOnnx } from '../../src/core/exporters/onnx/onnxWriter.js';
import type { Graph } from '../../src/core/ir/types.js';
import { createOrtSession } from './ort.js';

/**
 * After quantizing a detector: the export and the float model (the imported graph, post-processing
 * included) both run in onnxruntime-node on one image, and must give the same output names, types and
 * shapes (data-dependent sizes, e.g. an NMS's count of boxes, are compared by rank).
 */
export async function detectorExportCheck(original: Graph, exported: Uint8Array): Promise<string> {
  const input = original.inputs[0];
  const shape = (input.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  const x = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape);
  const run = async (bytes: Uint8Array) => {
    const s = await createOrtSession(bytes);
    try {
      return await s.run({ [input.name]: x });
    } finally {
      await s.release();
    }
  };
  try {
    const [f, q] = [await run(writeOnnx(original)), await run(exported)];
    const fixed = (o: string) => original.outputs.find((v) => v.name === o)?.shape?.every((d) => typeof d === 'number') ?? false;
    const bad = Object.keys(f).filter((o) => !q[o] || q[o].type !== f[o].type || (fixed(o) ? q[o].dims.join() !== f[o].dims.join() : q[o].dims.length !== f[o].dims.length));
    const extra = Object.keys(q).filter((o) => !f[o]);
    if (bad.length || extra.length) return `warning: the export's outputs differ from the float model's in onnxruntime-node: ${[...bad, ...extra].join(', ')}`;
    return `onnxruntime-node: the export runs with the float model's outputs (${Object.keys(f).map((o) => `${o} ${f[o].type}[${f[o].dims.join(',')}]`).join(', ')})`;
  } catch (e) {
    return `warning: onnxruntime-node could not run the float model or the export: ${(e as Error).message}`;
  }
}
