/**
 * What ONNX Runtime actually runs: the op counts of a model after ORT's graph optimizer (level 'all', CPU
 * EP), read back from the optimized model ORT writes (sessionOptions.optimizedModelFilePath). Node-only.
 * Contrib ops are counted as 'com.microsoft.QLinearAdd' etc.; default-domain ops by bare name.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { createOrtSession } from './ort.js';

export type OpCounts = Record<string, number>;

export function countOps(modelBytes: Uint8Array): OpCounts {
  const model = onnxProto.onnx.ModelProto.decode(modelBytes);
  const counts: OpCounts = {};
  for (const n of model.graph?.node ?? []) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : String(n.opType);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export async function optimizedOpCounts(model: Uint8Array, threads = 1): Promise<OpCounts> {
  const dir = mkdtempSync(join(tmpdir(), 'localquant-ort-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await createOrtSession(model, { threads, optimizedModelPath: path });
    await session.release();
    return countOps(new Uint8Array(readFileSync(path)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const INTEGER_KERNELS = /^(com\.microsoft\.)?(QLinear\w+|QGemm|MatMulInteger|ConvInteger|DynamicQuantize\w*|MatMulNBits)$/;
const FLOAT_COMPUTE = /^(com\.microsoft\.(nchwc\.)?)?(Conv|FusedConv|NhwcFusedConv|Gemm|FusedGemm|MatMul|FusedMatMul)$/;

/** Integer kernels vs float Conv/Gemm/MatMul left after optimization (what the issue counts). */
export function kernelSummary(counts: OpCounts): { integer: number; floatCompute: number; transposes: number } {
  let integer = 0;
  let floatCompute = 0;
  for (const [k, n] of Object.entries(counts)) {
    if (INTEGER_KERNELS.test(k)) integer += n;
    else if (FLOAT_COMPUTE.test(k)) floatCompute += n;
  }
  return { integer, floatCompute, transposes: counts.Transpose ?? 0 };
}
