/**
 * A trained NetSpec as a LocalQuant IR graph (NCHW, ONNX operator forms), BatchNormalization kept; the
 * project's foldBatchNorm pass and ONNX writer then give both exports. Layout changes from tfjs: conv HWIO
 * -> OIHW, depthwise [k,k,C,1] -> [C,1,k,k], dense [in,out] -> Gemm weight [out,in] (transB = 1).
 * Ghost modules write Concat + Slice (keep the first n channels) as the reference model exports them.
 */
import type { Graph, Node, TensorData } from '../../src/core/ir/types.js';
import { CIFAR_MEAN, CIFAR_STD } from '../../src/core/testing/fixtures.js';
import { BN_EPSILON, BN_MOMENTUM, type NetSpec } from './netSpec.js';

export type WeightArrays = Map<string, Float32Array>;

function hwioToOihw(w: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
    out[((o * ci + i) * kh + h) * kw + x] = w[((h * kw + x) * ci + i) * co + o];
  }
  return out;
}

/** [k,k,C,1] -> [C,1,k,k]. */
function depthwiseToOihw(w: Float32Array, [kh, kw, c]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < c; i++) out[(i * kh + h) * kw + x] = w[(h * kw + x) * c + i];
  return out;
}

function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

const f32 = (dims: number[], data: Float32Array): TensorData => ({ dtype: 'float32', dims, data });
const i64 = (values: number[]): TensorData => ({ dtype: 'int64', dims: [values.length], data: Int32Array.from(values) });

export function toGraph(spec: NetSpec, weights: WeightArrays, metadata: Record<string, string> = {}): Graph {
  const w = (name: string): Float32Array => {
    const t = weights.get(name);
    if (!t) throw new Error(`weight ${name} missing`);
    return t;
  };
  const nodes: Node[] = [];
  const inits = new Map<string, TensorData>();
  // dropout is the identity at inference: its output is renamed to its input
  const alias = new Map<string, string>();
  const ref = (v: string) => alias.get(v) ?? v;
  let k = 0;
  const node = (opType: string, inputs: string[], output: string, attrs: Node['attrs'] = {}, name = `${opType}_${k++}`) =>
    nodes.push({ name, opType, inputs: inputs.map(ref), outputs: [output], attrs });
  const constant = (name: string, t: TensorData) => { inits.set(name, t); return name; };

  for (const op of spec.ops) {
    switch (op.kind) {
      case 'conv': {
        const kernel = w(`${op.name}.weight`);
        const dims = op.groups === 1 ? [op.cout, op.cin, op.k, op.k] : [op.cout, 1, op.k, op.k];
        const data = op.groups === 1 ? hwioToOihw(kernel, [op.k, op.k, op.cin, op.cout]) : depthwiseToOihw(kernel, [op.k, op.k, op.cin]);
        const inputs = [op.input, constant(`${op.name}.weight`, f32(dims, data))];
        if (op.bias) inputs.push(constant(`${op.name}.bias`, f32([op.cout], w(`${op.name}.bias`))));
        const p = Math.floor(op.k / 2);
        node('Conv', inputs, op.output, { dilations: [1, 1], group: op.groups, kernel_shape: [op.k, op.k], pads: [p, p, p, p], strides: [op.stride, op.stride] }, op.name);
        break;
      }
      case 'bn': {
        const names = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => constant(`${op.name}.${s}`, f32([op.c], w(`${op.name}.${s}`))));
        node('BatchNormalization', [op.input, ...names], op.output, { epsilon: BN_EPSILON, momentum: 1 - BN_MOMENTUM }, op.name);
        break;
      }
      case 'relu': node('Relu', [op.input], op.output); break;
      case 'relu6':
        node('Clip', [op.input, constant(`${op.output}.min`, f32([], Float32Array.of(0))), constant(`${op.output}.max`, f32([], Float32Array.of(6)))], op.output);
        break;
      case 'hardSigmoid': node('HardSigmoid', [op.input], op.output, { alpha: 1 / 6, beta: 0.5 }); break;
      case 'concat': node('Concat', op.inputs, op.output, { axis: 1 }); break;
      case 'slice':
        node('Slice', [op.input, constant(`${op.output}.starts`, i64([0])), constant(`${op.output}.ends`, i64([op.channels])), constant(`${op.output}.axes`, i64([1]))], op.output);
        break;
      case 'add': node('Add', op.inputs, op.output); break;
      case 'mul': node('Mul', op.inputs, op.output); break;
      case 'gap': node('GlobalAveragePool', [op.input], op.output); break;
      case 'dropout': alias.set(op.output, ref(op.input)); break;
      case 'dense': {
        const flat = `${op.name}.flatten`;
        node('Flatten', [op.input], flat, { axis: 1 });
        const wt = constant(`${op.name}.weight`, f32([op.cout, op.cin], transpose2d(w(`${op.name}.weight`), op.cin, op.cout)));
        node('Gemm', [flat, wt, constant(`${op.name}.bias`, f32([op.cout], w(`${op.name}.bias`)))], op.output, { alpha: 1, beta: 1, transB: 1 }, op.name);
        break;
      }
    }
  }
  return {
    name: spec.name,
    format: 'onnx',
    interfaceLayout: 'NCHW',
    inputs: [{ name: spec.input, dtype: 'float32', shape: ['N', spec.channels, spec.size, spec.size] }],
    outputs: [{ name: spec.output, dtype: 'float32', shape: ['N', spec.classes] }],
    nodes,
    initializers: inits,
    valueInfo: new Map(),
    opset: 13,
    metadata: {
      'normalization.mean': JSON.stringify(CIFAR_MEAN),
      'normalization.std': JSON.stringify(CIFAR_STD),
      'normalization.pixelRange': '255',
      labels: 'airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck',
      ...metadata,
    },
  };
}
