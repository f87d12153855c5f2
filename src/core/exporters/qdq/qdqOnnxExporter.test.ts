import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { prepareGraph } from '../../ir/prepare.js';
import { writeOnnx } from '../onnx/onnxWriter.js';
import { activationQParams, RangeHistogram } from '../../quant/observers.js';
import { dequantize, fakeQuantize } from '../../quant/primitives.js';
import { perChannelWeightScales, quantizeRowsNearest } from '../../quant/weightScale.js';
import { buildOnnxModel } from '../../testing/onnxBuilder.js';
import { buildQdqGraph, floatWeightLayers, quantizeBias, type ActivationPlan, type QdqOptions, type QuantizationPlan } from './qdqOnnxExporter.js';

function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return new Float32Array(n).map(() => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return scale * (s / 2 ** 32 - 0.5);
  });
}

/** NCHW conv, square kernel, symmetric pad, batch 1. */
function conv(x: Float32Array, cin: number, h: number, w: Float32Array, b: Float32Array, cout: number, k: number, pad: number, stride: number): { y: Float32Array; ho: number } {
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
  const y = new Float32Array(cout * ho * ho);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < ho; j++) {
        let s = b[o];
        for (let c = 0; c < cin; c++)
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const yy = i * stride - pad + u;
              const xx = j * stride - pad + v;
              if (yy < 0 || xx < 0 || yy >= h || xx >= h) continue;
              s += x[(c * h + yy) * h + xx] * w[((o * cin + c) * k + u) * k + v];
            }
        y[(o * ho + i) * ho + j] = s;
      }
  return { y, ho };
}

const relu = (a: Float32Array) => a.map((v) => Math.max(0, v));
const fq = (a: Float32Array, p: ActivationPlan) => fakeQuantize(a, { scale: p.scale, zeroPoint: p.zeroPoint, bits: p.bits, signed: p.signed });
function qp(values: Float32Array, bits: number): ActivationPlan {
  const h = new RangeHistogram();
  h.observe(values);
  const p = activationQParams(h, { bits, method: 'minmax' });
  return { scale: p.scale, zeroPoint: p.zeroPoint, bits: p.bits, signed: p.signed };
}

const w1 = rand(4 * 3 * 9, 1);
const b1 = rand(4, 2, 0.5);
const w2 = rand(5 * 4 * 9, 3, 0.6);
const b2 = rand(5, 4, 0.5);
const x = rand(3 * 36, 5, 4);
const model = buildOnnxModel({
  opset: 13,
  inputs: [{ name: 'x', shape: [1, 3, 6, 6] }],
  outputs: [{ name: 'y', shape: [1, 5, 3, 3] }],
  initializers: [
    { name: 'w1', dims: [4, 3, 3, 3], data: w1 },
    { name: 'b1', dims: [4], data: b1 },
    { name: 'w2', dims: [5, 4, 3, 3], data: w2 },
    { name: 'b2', dims: [5], data: b2 },
  ],
  nodes: [
    { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] }, name: 'conv1' },
    { opType: 'Relu', inputs: ['c1'], outputs: ['r1'], name: 'relu1' },
    { opType: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, name: 'conv2' },
  ],
});

/** Plan (ranges from the float run) and the fake-quantized float result the QDQ model must reproduce. */
function planAndReference(actBits: number, w2Bits: number, w1Bits = 8): { plan: QuantizationPlan; ref: Float32Array; yStep: number } {
  const r1f = relu(conv(x, 3, 6, w1, b1, 4, 3, 1, 1).y);
  const yf = conv(r1f, 4, 6, w2, b2, 5, 3, 1, 2).y;
  const ax = qp(x, 8);
  const ar1 = qp(r1f, actBits);
  const ay = qp(yf, 8);
  const s1 = perChannelWeightScales(w1, 4, { bits: w1Bits });
  const s2 = perChannelWeightScales(w2, 5, { bits: w2Bits });
  const q1 = quantizeRowsNearest(w1, s1, w1Bits);
  const q2 = quantizeRowsNearest(w2, s2, w2Bits);
  const plan: QuantizationPlan = {
    layers: [
      { node: 'conv1', weightCodes: q1, weightScales: s1, weightBits: w1Bits, axis: 0 },
      { node: 'conv2', weightCodes: q2, weightScales: s2, weightBits: w2Bits, axis: 0 },
    ],
    activations: { x: ax, r1: ar1, y: ay },
  };
  const dw1 = dequantize(q1, { scale: s1, bits: w1Bits, signed: true, axis: 0, dims: [4, 27] });
  const dw2 = dequantize(q2, { scale: s2, bits: w2Bits, signed: true, axis: 0, dims: [5, 36] });
  const bq1 = quantizeBias(b1, ax.scale, s1);
  const bq2 = quantizeBias(b2, ar1.scale, s2);
  const db1 = bq1.codes.length ? Float32Array.from(bq1.codes, (c, i) => c * bq1.scales[i]) : b1;
  const db2 = Float32Array.from(bq2.codes, (c, i) => c * bq2.scales[i]);
  const r1 = fq(relu(conv(fq(x, ax), 3, 6, dw1, db1, 4, 3, 1, 1).y), ar1);
  const ref = fq(conv(r1, 4, 6, dw2, db2, 5, 3, 1, 2).y, ay);
  return { plan, ref, yStep: ay.scale };
}

async function runOrt(bytes: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes); // default: all graph optimizations
  const out = await session.run({ x: new ort.Tensor('float32', x, [1, 3, 6, 6]) });
  expect(out.y.dims).toEqual([1, 5, 3, 3]);
  return out.y.data as Float32Array;
}

describe('buildQdqGraph', () => {
  // Layers that ORT fuses into U8S8 integer kernels have 7-bit codes or uint8 weights: full-range int8
  // codes saturate there on x86-64 CPUs without VNNI (u8s8Saturation.test.ts).
  const cases: [string, number, number, QdqOptions, number, number, string][] = [
    ['W7A8 (ort-cpu\'s weight range) opset 13', 8, 7, {}, 13, 7, 'int8'],
    ['W8A8 uint8 weights (U8U8) opset 13', 8, 8, { weightType: 'uint8' }, 13, 8, 'uint8'],
    ['W4 (int8 container) A4 (Clip + uint8) opset 13', 4, 4, { opset: 13 }, 13, 8, 'int8'],
    ['W4 int4 weights, A8 (8-bit conv1 as uint8), opset 21', 8, 4, { weightType: 'avx2-exact' }, 21, 8, 'int4'],
    ['W4 int4 weights, A4 uint4 activations, opset 21', 4, 4, { lowBitActivations: 'int4' }, 21, 8, 'int4'],
  ];
  for (const [label, actBits, wBits, opts, opset, w1Bits, w2Type] of cases) {
    it(`${label}: ORT output equals the fake-quantized computation within one step`, async () => {
      const { plan, ref, yStep } = planAndReference(actBits, wBits, w1Bits);
      const graph = importOnnx(model);
      const q = buildQdqGraph(graph, plan, opts);
      expect(q.opset).toBe(opset);
      expect(q.inputs).toEqual(graph.inputs);
      expect(q.outputs).toEqual(graph.outputs);
      expect(q.initializers.has('w1')).toBe(false); // float weights gone
      const wq = q.initializers.get('w2_quantized')!;
      expect(wq.dtype).toBe(w2Type);
      if (opts.weightType === 'avx2-exact') expect(q.initializers.get('w1_quantized')!.dtype).toBe('uint8');
      expect(q.initializers.get('conv1_bias_quantized')!.dtype).toBe('int32');
      expect(q.nodes.filter((n) => n.opType === 'QuantizeLinear').length).toBe(3);
      expect(q.nodes.filter((n) => n.opType === 'Clip').length).toBe(actBits < 8 && opts.lowBitActivations !== 'int4' ? 1 : 0);
      const got = await runOrt(writeOnnx(q));
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
      expect(maxDiff).toBeLessThanOrEqual(yStep * 1.001);
      // and it is really quantized: the output sits on the y grid, and at 4 bit it is far from float
      const ay = plan.activations.y;
      for (const v of got) expect(Math.abs(v / ay.scale - Math.round(v / ay.scale))).toBeLessThan(1e-3);
      if (wBits === 4 && actBits === 4) {
        const yf = conv(relu(conv(x, 3, 6, w1, b1, 4, 3, 1, 1).y), 4, 6, w2, b2, 5, 3, 1, 2).y;
        let floatDiff = 0;
        for (let i = 0; i < yf.length; i++) floatDiff = Math.max(floatDiff, Math.abs(got[i] - yf[i]));
        expect(floatDiff).toBeGreaterThan(2 * yStep);
      }
    });
  }

  it('Gemm with transB=0: per-channel weight scales on axis 1, int32 bias, signed input', async () => {
    const B = rand(6 * 4, 11); // K=6 x N=4
    const C = rand(4, 12);
    const xin = rand(2 * 6, 13, 3);
    const gemm = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'a', shape: [2, 6] }],
      outputs: [{ name: 'y', shape: [2, 4] }],
      initializers: [
        { name: 'B', dims: [6, 4], data: B },
        { name: 'C', dims: [4], data: C },
      ],
      nodes: [{ opType: 'Gemm', inputs: ['a', 'B', 'C'], outputs: ['y'], name: 'fc' }],
    });
    const aq = qp(xin, 8);
    expect(aq.signed).toBe(true);
    // rows = output channels: transpose B to N x K for the scales and codes, then back
    const rows = new Float32Array(24);
    for (let kk = 0; kk < 6; kk++) for (let n = 0; n < 4; n++) rows[n * 6 + kk] = B[kk * 4 + n];
    const s = perChannelWeightScales(rows, 4, { bits: 8 });
    const qRows = quantizeRowsNearest(rows, s, 8);
    const codes = new Int8Array(24);
    for (let kk = 0; kk < 6; kk++) for (let n = 0; n < 4; n++) codes[kk * 4 + n] = qRows[n * 6 + kk];
    const q = buildQdqGraph(importOnnx(gemm), { layers: [{ node: 'fc', weightCodes: codes, weightScales: s, weightBits: 8, axis: 1 }], activations: { a: aq } });
    expect(q.nodes.find((n) => n.opType === 'DequantizeLinear' && n.inputs[0] === 'B_quantized')!.attrs.axis).toBe(1);
    const session = await ort.InferenceSession.create(writeOnnx(q));
    const out = (await session.run({ a: new ort.Tensor('float32', xin, [2, 6]) })).y.data as Float32Array;
    const xq = fq(xin, aq);
    const bq = quantizeBias(C, aq.scale, s);
    for (let i = 0; i < 2; i++)
      for (let n = 0; n < 4; n++) {
        let acc = bq.codes[n] * bq.scales[n];
        for (let kk = 0; kk < 6; kk++) acc += xq[i * 6 + kk] * codes[kk * 4 + n] * s[n];
        expect(out[i * 4 + n]).toBeCloseTo(acc, 4);
      }
  });

  it("floatInputWeights 'float32': a float conv gets its dequantized weights as float32 within the growth cap (same ORT output); a large one keeps int8", async () => {
    // x [1,3,10,10] -> conv1 3x3 -> relu -> conv2 1x1 (its input r1 kept float; 20 weights against conv1's 108) -> y
    const w2s = rand(5 * 4, 21, 0.6);
    const big = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 3, 10, 10] }],
      outputs: [{ name: 'y', shape: [1, 5, 10, 10] }],
      initializers: [{ name: 'w1', dims: [4, 3, 3, 3], data: w1 }, { name: 'b1', dims: [4], data: b1 }, { name: 'w2', dims: [5, 4, 1, 1], data: w2s }, { name: 'b2', dims: [5], data: b2 }],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] }, name: 'conv1' },
        { opType: 'Relu', inputs: ['c1'], outputs: ['r1'], name: 'relu1' },
        { opType: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['y'], name: 'conv2' },
      ],
    });
    const { plan } = planAndReference(8, 8);
    const s2 = perChannelWeightScales(w2s, 5, { bits: 8 });
    const floatR1: QuantizationPlan = {
      layers: [plan.layers[0], { node: 'conv2', weightCodes: quantizeRowsNearest(w2s, s2, 8), weightScales: s2, weightBits: 8, axis: 0 }],
      activations: { x: plan.activations.x, y: plan.activations.y }, // conv2's input r1 kept float
    };
    const graph = prepareGraph(importOnnx(big));
    const asInt8 = buildQdqGraph(graph, floatR1);
    const asFloat = buildQdqGraph(graph, floatR1, { floatInputWeights: 'float32' });
    const conv2 = asFloat.nodes.find((n) => n.name === 'conv2')!;
    const w = asFloat.initializers.get(conv2.inputs[1])!;
    expect(w.dtype).toBe('float32');
    expect(Array.from(w.data)).toEqual(Array.from(floatR1.layers[1].weightCodes, (c, i) => Math.fround(c * s2[Math.floor(i / 4)])));
    expect(asFloat.initializers.get(conv2.inputs[2])!.dtype).toBe('float32'); // bias stays float
    expect(asFloat.nodes.filter((n) => n.opType === 'DequantizeLinear').length).toBe(asInt8.nodes.filter((n) => n.opType === 'DequantizeLinear').length - 1);
    expect(asFloat.initializers.get('w1_quantized')!.dtype).toBe('int8'); // conv1 reads a quantized input
    const feeds = { x: new ort.Tensor('float32', rand(300, 8, 4), [1, 3, 10, 10]) };
    const outputs = async (g: typeof graph) => {
      const session = await ort.InferenceSession.create(writeOnnx(g));
      const y = (await session.run(feeds)).y.data as Float32Array;
      await session.release();
      return Array.from(y);
    };
    expect(await outputs(asFloat)).toEqual(await outputs(asInt8));
    // a float conv holding most of the weights (180 of 288) would add more than half the int8 bytes: int8
    const large = { ...plan, activations: { x: plan.activations.x, y: plan.activations.y } };
    expect(floatWeightLayers(prepareGraph(importOnnx(model)), large).size).toBe(0);
    expect(buildQdqGraph(prepareGraph(importOnnx(model)), large, { floatInputWeights: 'float32' }).initializers.get('w2_quantized')!.dtype).toBe('int8');
  });

  it('rejects a plan naming an unknown layer or value', () => {
    const graph = importOnnx(model);
    const { plan } = planAndReference(8, 8);
    expect(() => buildQdqGraph(graph, { ...plan, layers: [{ ...plan.layers[0], node: 'nope' }] })).toThrow(/nope/);
    expect(() => buildQdqGraph(graph, { layers: [], activations: { ghost: plan.activations.x } })).toThrow(/ghost/);
  });

  it('quantizeBias uses input scale x weight scale and rounds half to even', () => {
    const { codes, scales } = quantizeBias(new Float32Array([0.25, -0.75, 1]), 0.5, new Float32Array([1, 1, 0.5]));
    expect(Array.from(scales)).toEqual([0.5, 0.5, 0.25]);
    expect(Array.from(codes)).toEqual([0, -2, 4]); // 0.5 -> 0, -1.5 -> -2, 4
  });
});
