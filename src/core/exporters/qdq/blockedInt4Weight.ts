/**
 * The int4 weight of a Gemm/MatMul in the form ONNX Runtime turns into MatMulNBits (its weight-only int4
 * kernel, DQMatMulToMatMulNBits): weight [K, N] int4, DequantizeLinear blocked along axis 0 (opset 21
 * `block_size`, a power of two >= 16) with scales [ceil(K / block), N]. Our per-output-channel scales are
 * one block spanning all of K, so the block is the smallest power of two >= max(16, K). A Gemm with
 * transB = 1 gets its codes transposed and transB cleared (the rule wants transB = 0).
 * ORT matches the form only when the layer's input is not a DequantizeLinear output and no Q follows it,
 * so such layers run weight-only (float input and output). Pitfall: at ORT's default QDQ accuracy level
 * (4) MatMulNBits quantizes its input to int8 blocks internally, so it is close to, not exactly, the
 * DequantizeLinear + Gemm it replaces (~1e-4 relative in our test).
 */
import type { Node } from '../../ir/types.js';
import { transpose } from '../../quant/weightScale.js';
import type { QuantizedLayerPlan } from './qdqOnnxExporter.js';

export interface BlockedInt4Weight {
  dims: [number, number];
  codes: Int8Array;
  scaleDims: [number, number];
  scales: Float32Array;
  attrs: { axis: number; block_size: number };
}

/** null when the layer is not a plain 2-D Gemm/MatMul weight (ORT's rule would not match). */
export function blockedInt4Weight(node: Node, dims: number[], l: QuantizedLayerPlan): BlockedInt4Weight | null {
  if (dims.length !== 2 || l.weightBits > 4) return null;
  const gemm = node.opType === 'Gemm';
  if (!gemm && node.opType !== 'MatMul') return null;
  if (gemm && (Number(node.attrs.alpha ?? 1) !== 1 || Number(node.attrs.beta ?? 1) !== 1 || Number(node.attrs.transA ?? 0) !== 0)) return null;
  const transB = gemm && Number(node.attrs.transB ?? 0) === 1;
  const [k, n] = transB ? [dims[1], dims[0]] : [dims[0], dims[1]];
  const codes = transB ? transpose(l.weightCodes, n, k) : l.weightCodes;
  const scales = l.weightScales.length === 1 ? new Float32Array(n).fill(l.weightScales[0]) : Float32Array.from(l.weightScales);
  let block = 16;
  while (block < k) block *= 2;
  return { dims: [k, n], codes, scaleDims: [1, n], scales, attrs: { axis: 0, block_size: block } };
}
