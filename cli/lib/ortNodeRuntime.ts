/** onnxruntime-node behind the core's OrtLike interface (CLI and tests; the page uses onnxruntime-web). */
import * as ort from 'onnxruntime-node';
import { createOrtSession } from './ort.js';
import type { OrtLike, OrtSessionLike } from '../../src/core/verify/ortLike.js';

export function ortNodeRuntime(opts: { threads?: number } = {}): OrtLike {
  const threads = opts.threads ?? 1;
  return {
    name: `onnxruntime-node ${ort.env.versions?.common ?? ''} (cpu, ${threads} thread${threads === 1 ? '' : 's'})`.replace('  ', ' '),
    createSession: async (bytes) => (await createOrtSession(bytes, { threads })) as unknown as OrtSessionLike,
    tensor: (data, dims) => new ort.Tensor('float32', data, [...dims]),
  };
}
