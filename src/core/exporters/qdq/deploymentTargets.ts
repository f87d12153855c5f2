/**
 * Deployment target -> QDQ export form, following ONNX Runtime's rules for its integer kernels
 * (measured with onnxruntime-node 1.30; see bench/export.ts):
 * - activation codes: ORT's CPU EP fuses QDQ Conv/MatMul into QLinearConv/QLinearMatMul for int8
 *   activations only where int8 x int8 kernels are native (ARM); on x86-64 an int8-activation export keeps
 *   float Convs, while uint8 activations with int8 weights (U8S8) fuse everywhere. ORT's guidance: U8S8 on
 *   x86-64, S8S8 on ARM. WebAssembly (ort-web) uses the U8S8 kernels.
 * - weight codes: on x86-64 without VNNI (AVX2 or AVX-512BW only: Intel before Ice Lake/Cascade Lake, AMD
 *   before Zen 4) ORT's U8S8 kernels add pairs of u8 x s8 products in int16 (vpmaddubsw) and saturate once
 *   |w0| + |w1| > 128: a full-range int8-weight export then computes up to ~40 output steps off
 *   (qdqOnnxExporter.test.ts; ResNet-20 W8A8 90.5 in onnxruntime-node on an AMD EPYC against 90.8 in
 *   onnxruntime-web on the same images). 'ort-cpu' is exact on every x86-64 CPU: the quantizer gives 8-bit
 *   weights that read 8-bit activations a 7-bit range (quant/config.ts portableWeightBits; ORT's reduce_range),
 *   so U8S8 stays the fast kernel; any layer that still has a code beyond +-64 on an 8-bit input gets uint8
 *   weights with zero point 128 (U8U8 kernels widen to int16 first: exact, but 0.9x float at 2 threads for
 *   ResNet-20 W8A8, so only a guard). 'smallest' uses that uint8 form instead of the 7-bit range (size is its
 *   aim). 'ort-cpu-vnni' keeps full-range int8 (VNNI/AMX accumulate in int32: exact and fastest there);
 *   'ort-web' too (the wasm kernels do not saturate: ortWebInt8.test.ts). The session option
 *   session.x64quantprecision=1 failed a per-axis DequantizeLinear of an A4 export in onnxruntime-node 1.30.
 * - Gemm: written as MatMul + bias Add (gemmAsMatMul.ts), since ORT leaves a QDQ Gemm in float;
 * - a layer whose input stays float runs as a float kernel: its weights are written as float32 (the
 *   dequantized values) for speed, since ORT leaves a weight's DequantizeLinear unfolded (qdqOnnxExporter.ts);
 * - 4-bit weights: for speed, kept as 4-bit codes in int8 (an 8-bit integer kernel runs them; the file is
 *   int8-sized); for 'smallest', packed int4 (opset 21): ORT has no int4 convolution kernel, so it
 *   dequantizes them to float and the gain is size only.
 */
import { consumerMap } from '../../ir/graph.js';
import type { Graph } from '../../ir/types.js';
import { quantizableLayers } from '../../quant/quantPoints.js';
import type { DeploymentTarget } from '../../quant/config.js';
import { floatWeightLayers, U8S8_EXACT_CODE_LIMIT, unsignedWeights, type QdqOptions, type QuantizationPlan } from './qdqOnnxExporter.js';

export type CpuArch = 'x64' | 'arm64' | 'wasm';

/** The CPU this process runs on, as ORT sees it (Node: process.arch; a browser: wasm). */
export function hostCpuArch(): CpuArch {
  const arch = (globalThis as { process?: { arch?: string } }).process?.arch;
  if (!arch) return 'wasm';
  return arch === 'arm64' ? 'arm64' : 'x64';
}

export function qdqOptionsForTarget(target: DeploymentTarget, arch: CpuArch = hostCpuArch()): QdqOptions {
  if (target === 'smallest') return { lowBitWeights: 'int4', int4MatMulBlocks: true, packBelowFourBits: true, weightType: 'avx2-exact' };
  const arm = target === 'ort-cpu' && arch === 'arm64';
  const activationType = arm ? 'int8' : 'uint8';
  const weightType = target === 'ort-cpu' && !arm ? 'avx2-exact' : 'int8';
  return { activationType, weightType, lowBitWeights: 'int8', lowBitActivations: 'clip', gemmAsMatMul: true, floatInputWeights: 'float32' };
}

/** Ops that ORT folds into the integer kernel of the layer before them (Conv + Relu/Clip -> QLinearConv). */
const FUSED_AFTER = new Set(['Relu', 'Clip']);

/**
 * Layers the plan keeps float although their input and their output (directly or after a Relu/Clip) are
 * quantized: ONNX Runtime 1.21+ (its WeightBiasQuantization optimizer) quantizes such a float weight to
 * int8 itself and fuses DQ -> Conv/Gemm -> Q into an integer kernel, so the layer is not float where the
 * export runs. With a float input there is no DequantizeLinear to match and it stays float.
 */
export function floatLayersOrtQuantizes(plan: QuantizationPlan, graph: Graph): string[] {
  const quantized = new Set(plan.layers.map((l) => l.node));
  const consumers = consumerMap(graph);
  const isQuantized = (v: string) => v in plan.activations;
  const outputQuantized = (v: string): boolean => {
    if (isQuantized(v)) return true;
    const next = consumers.get(v) ?? [];
    return next.length === 1 && FUSED_AFTER.has(next[0].opType) && outputQuantized(next[0].outputs[0]);
  };
  return quantizableLayers(graph)
    .map((l) => l.node)
    .filter((n) => !quantized.has(n.name) && isQuantized(n.inputs[0]) && outputQuantized(n.outputs[0]))
    .map((n) => n.name);
}

/**
 * With `floatInputWeights: 'float32'`: the layers written as float kernels with float32 weights, and the
 * bytes that costs over int8 codes.
 */
export function floatWeightNote(plan: QuantizationPlan, graph: Graph, options: QdqOptions): string[] {
  if (options.floatInputWeights !== 'float32') return [];
  const chosen = floatWeightLayers(graph, plan);
  if (!chosen.size) return [];
  const extra = [...chosen.values()].reduce((a, b) => a + b, 0);
  return [`${chosen.size} quantized conv(s) read a float input and run as float kernels: their weights (rounded to their grids as reported) are stored as float32 values, since ONNX Runtime dequantizes int8 weights of a float layer on every run and misses its fast float kernels (+${Math.round(extra / 1000)} KB over int8 codes; the convs with the most output positions first, within half the int8 weight bytes; the rest, Gemm/MatMul layers and target "smallest" keep int8).`];
}

function requantizedNote(plan: QuantizationPlan, graph?: Graph): string[] {
  const requantized = graph ? floatLayersOrtQuantizes(plan, graph) : [];
  if (!requantized.length) return [];
  const names = requantized.slice(0, 5).join(', ') + (requantized.length > 5 ? `, and ${requantized.length - 5} more` : '');
  return [`${requantized.length} layer(s) kept float sit between quantized activations (${names}): ONNX Runtime 1.21+ quantizes their float weights to int8 itself and runs them as integer kernels, so they are not float where this export runs (agreement measured in ONNX Runtime includes that; with ORT's full-range int8 weights those kernels saturate on x86-64 CPUs without VNNI). A layer whose input activation is float stays float there.`];
}

/** How the target kept ORT's U8S8 kernels from saturating on x86-64 CPUs without VNNI (quant/config.ts portableWeightBits). */
function weightRangeNotes(target: DeploymentTarget, plan: QuantizationPlan, arch: CpuArch, graph?: Graph): string[] {
  const weightType = qdqOptionsForTarget(target, arch).weightType ?? 'int8';
  const inputOf = new Map(graph?.nodes.map((n) => [n.name, n.inputs[0]]));
  // without the graph the input grid is unknown: counted as 8 bit, as the exporter would find it at worst
  const inputBits = (node: string) => (graph ? plan.activations[inputOf.get(node) ?? '']?.bits : 8);
  const unsigned = plan.layers.filter((l) => unsignedWeights(l.weightCodes, weightType, inputBits(l.node))).length;
  const sevenBit = plan.layers.filter((l) => l.weightBits === 7).length;
  const notes: string[] = [];
  if (target === 'ort-cpu' && sevenBit) notes.push(`${sevenBit} layer(s) with 8-bit weights read 8-bit activations and use a 7-bit weight range (codes -64..63): ONNX Runtime's U8S8 kernels add pairs of products in int16 on x86-64 CPUs without VNNI (AVX2 only) and saturate on full-range int8 weights; within +-64 they run exactly, and fast, on every CPU. For CPUs with VNNI or AMX, target "ort-cpu-vnni" keeps the full 8-bit range.`);
  if (unsigned) notes.push(`${unsigned} layer(s) with weight codes beyond +-${U8S8_EXACT_CODE_LIMIT} are written as uint8 weights with zero point 128 (the same values): ONNX Runtime's U8U8 kernels are exact on every CPU, where U8S8 saturates on such weights without VNNI.`);
  if (target === 'ort-cpu-vnni') notes.push('Target "ort-cpu-vnni": full-range int8 weights run exactly only on x86-64 CPUs with VNNI or AMX (Intel Ice Lake / Cascade Lake and later, AMD Zen 4 and later); on AVX2-only CPUs ONNX Runtime\'s U8S8 kernels saturate and the outputs drift. Use "ort-cpu" where the deployment CPU is not known.');
  return notes;
}

/** What the target did to this export, for the report's notes. */
export function deploymentTargetNotes(target: DeploymentTarget, plan: QuantizationPlan, graph?: Graph, arch: CpuArch = hostCpuArch()): string[] {
  const lowBitWeights = plan.layers.filter((l) => l.weightBits <= 4).length;
  const lowBitActs = Object.values(plan.activations).some((a) => a.bits < 8);
  const notes: string[] = [];
  if (target === 'smallest') {
    notes.push('Deployment target "smallest": weights below 8 bit are packed as int4 (opset 21).');
    if (lowBitWeights) notes.push(`${lowBitWeights} layer(s) have 4-bit (or narrower) weights: ONNX Runtime has no integer kernel for int4 convolutions and dequantizes them to float, so the gain is size only (expect float speed or slower).`);
    const ops = new Map(graph?.nodes.map((n) => [n.name, n.opType]));
    const nbits = plan.layers.filter((l) => l.weightBits <= 4 && ['Gemm', 'MatMul'].includes(ops.get(l.node) ?? ''));
    if (nbits.length) notes.push('Gemm/MatMul layers with 4-bit weights are written for ONNX Runtime\'s weight-only int4 kernel (MatMulNBits): their input and output stay float (ORT matches that form only so).');
    notes.push(...weightRangeNotes(target, plan, arch, graph), ...requantizedNote(plan, graph));
    return notes;
  }
  const act = qdqOptionsForTarget(target, arch).activationType;
  const cpu = target === 'ort-web' ? 'WebAssembly' : target === 'ort-cpu-vnni' ? 'x86-64 with VNNI or AMX' : arch === 'arm64' ? 'ARM64' : 'x86-64';
  notes.push(`Deployment target "${target}": activations written as ${act} with int8 weights (${act === 'uint8' ? 'U8S8' : 'S8S8'}, ONNX Runtime's integer kernels for ${cpu}); Gemm written as MatMul + bias Add so that it runs as QLinearMatMul.`);
  notes.push(...weightRangeNotes(target, plan, arch, graph));
  if (lowBitWeights) notes.push(`${lowBitWeights} layer(s) have 4-bit (or narrower) weights, stored as int8 codes so that they run as 8-bit integer kernels: 4-bit accuracy at int8 speed and int8 file size. Choose target "smallest" for the packed 4-bit file.`);
  if (lowBitActs) notes.push('Activations below 8 bit are a Clip before an 8-bit Q/DQ pair: ONNX Runtime keeps that Clip in float, so the layers before it do not fuse into integer kernels.');
  if (target === 'ort-web' && graph) {
    const quantized = new Set(plan.layers.map((l) => l.node));
    const dwFloatIn = quantizableLayers(graph).filter((l) => l.depthwise && quantized.has(l.node.name) && !(l.node.inputs[0] in plan.activations)).length;
    if (dwFloatIn) notes.push(`${dwFloatIn} depthwise layer(s) read float inputs: onnxruntime-web's int8 depthwise kernels run slower than float (MobileNetV2-CIFAR W8A8: 0.62x float all-int8, 1.02x this way with their weights behind DequantizeLinear, same top-1). A per-layer activationBits override quantizes them.`);
  }
  notes.push(...requantizedNote(plan, graph));
  return notes;
}
