/**
 * The worst case for int16 pair sums in ORT's U8S8 kernels (u8s8Saturation.test.ts, ortWebInt8.test.ts): a 1x1
 * conv whose every input code is 255 and whose weights sit at the ends of their range, exported with the
 * given options, and the output it must give.
 */
import { importOnnx } from '../importers/onnx/importOnnx.js';
import type { Graph } from '../ir/types.js';
import { qrange } from '../quant/primitives.js';
import { buildOnnxModel } from './onnxBuilder.js';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { buildQdqGraph, type QdqOptions, type QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';

export const CIN = 64;
export const COUT = 4;
export const HW = 4;
const X_SCALE = 1 / 255;

/** Output channels: all +max, all -max, alternating, and +max/-max in pairs (what saturates first). */
function extremeCodes(bits: number): Int8Array {
  const { qmin, qmax } = qrange(bits, true);
  const codes = new Int8Array(COUT * CIN);
  for (let i = 0; i < CIN; i++) {
    codes[i] = qmax;
    codes[CIN + i] = qmin;
    codes[2 * CIN + i] = i % 2 ? qmax : qmin;
    codes[3 * CIN + i] = i % 4 < 2 ? qmax : qmin;
  }
  return codes;
}

export interface U8S8WorstCase {
  qdq: Graph;
  bytes: Uint8Array;
  plan: QuantizationPlan;
  /** The input that puts every code at 255 (x = 1), NCHW. */
  input: { data: Float32Array; dims: number[] };
  /** The largest distance of an output `y` from the exact result, in output steps. */
  stepsOff: (y: Float32Array) => number;
}

export function u8s8WorstCase(bits: number, options: QdqOptions): U8S8WorstCase {
  const wScale = 0.01;
  const codes = extremeCodes(bits);
  const model = buildOnnxModel({
    opset: 13,
    inputs: [{ name: 'x', shape: [1, CIN, HW, HW] }],
    outputs: [{ name: 'y', shape: [1, COUT, HW, HW] }],
    initializers: [{ name: 'w', dims: [COUT, CIN, 1, 1], data: Float32Array.from(codes, (c) => c * wScale) }],
    nodes: [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: {}, name: 'conv' }],
  });
  // every input code 255 (x = 1): each output is wScale x the sum of its channel's codes
  const sums = Array.from({ length: COUT }, (_, o) => codes.subarray(o * CIN, (o + 1) * CIN).reduce((a, c) => a + c, 0) * wScale);
  const yScale = (2.5 * Math.max(...sums.map(Math.abs))) / 255; // no output at the clamp
  const plan: QuantizationPlan = {
    layers: [{ node: 'conv', weightCodes: codes, weightScales: new Float32Array(COUT).fill(wScale), weightBits: bits, axis: 0 }],
    activations: { x: { scale: X_SCALE, zeroPoint: 0, bits: 8, signed: false }, y: { scale: yScale, zeroPoint: 128, bits: 8, signed: false } },
  };
  const expected = new Float32Array(COUT * HW * HW).map((_, i) => yScale * Math.round(sums[Math.floor(i / (HW * HW))] / yScale));
  const qdq = buildQdqGraph(importOnnx(model), plan, options);
  const stepsOff = (y: Float32Array) => Math.max(...Array.from(y, (v, i) => Math.abs(v - expected[i]) / yScale));
  return { qdq, bytes: writeOnnx(qdq), plan, input: { data: new Float32Array(CIN * HW * HW).fill(1), dims: [1, CIN, HW, HW] }, stepsOff };
}
