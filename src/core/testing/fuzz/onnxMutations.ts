import onnxProto from 'onnx-proto';
import type { SeededRandom } from '../../synth/prng.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Tensor = onnxProto.onnx.ITensorProto;

/**
 * Protobuf-level edits of an ONNX model, one idea each, as a hostile or damaged file would carry them.
 * Each takes the decoded model and a seeded generator and edits in place; the name goes into the table.
 */

const pick = <T>(rng: SeededRandom, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)];

const floatInits = (m: Model): Tensor[] => (m.graph?.initializer ?? []).filter((t) => t.dataType === 1 && (t.rawData?.length ?? 0) > 0);

/** Float32 view of a raw_data copy (the decoded buffer may be a view into the file). */
function rawFloats(t: Tensor): Float32Array {
  const copy = new Uint8Array(t.rawData!.length);
  copy.set(t.rawData!);
  t.rawData = copy;
  return new Float32Array(copy.buffer, 0, copy.length >> 2);
}

/** Initializer that feeds input `k` of a node with op `op` (BN scale 1 / bias 2 / mean 3 / var 4). */
function inputInit(m: Model, rng: SeededRandom, op: string, k: number): { node: onnxProto.onnx.INodeProto; t: Tensor } | undefined {
  const nodes = (m.graph?.node ?? []).filter((n) => n.opType === op && n.input && n.input.length > k);
  if (!nodes.length) return undefined;
  const node = pick(rng, nodes);
  const t = (m.graph?.initializer ?? []).find((i) => i.name === node.input![k]);
  return t ? { node, t } : undefined;
}

const ABSURD_DIMS = [0, -1, -7, 1, 3, 1e6, 2 ** 31, 2 ** 40];

function setAttr(node: onnxProto.onnx.INodeProto, name: string, value: Partial<onnxProto.onnx.IAttributeProto>): void {
  const attrs = (node.attribute ??= []);
  const existing = attrs.find((a) => a.name === name);
  const a = existing ?? onnx.AttributeProto.create({ name });
  Object.assign(a, value);
  if (!existing) attrs.push(a);
}

export const ONNX_MUTATIONS: Record<string, (m: Model, rng: SeededRandom) => void> = {
  initializerDims(m, rng) {
    const t = pick(rng, m.graph!.initializer!);
    const dims = (t.dims ??= []);
    if (dims.length === 0 || rng.next() < 0.2) dims.push(pick(rng, ABSURD_DIMS));
    else dims[rng.int(0, dims.length - 1)] = rng.next() < 0.5 ? pick(rng, ABSURD_DIMS) : Number(dims[rng.int(0, dims.length - 1)]) + rng.int(-1, 1);
  },
  dropDim(m, rng) {
    const t = pick(rng, m.graph!.initializer!.filter((i) => (i.dims?.length ?? 0) > 0));
    t.dims!.splice(rng.int(0, t.dims!.length - 1), 1);
  },
  dataType(m, rng) {
    const t = pick(rng, m.graph!.initializer!);
    t.dataType = pick(rng, [0, 2, 3, 6, 7, 9, 10, 11, 16, 21, 99]);
  },
  float32AsFloat16(m, rng) {
    pick(rng, floatInits(m)).dataType = 10;
  },
  rawDataLength(m, rng) {
    const t = pick(rng, floatInits(m));
    const raw = t.rawData!;
    const by = pick(rng, [1, 3, 4, 8, raw.length >> 1]);
    if (rng.next() < 0.5) t.rawData = raw.slice(0, Math.max(0, raw.length - by));
    else {
      const longer = new Uint8Array(raw.length + by);
      longer.set(raw);
      t.rawData = longer;
    }
  },
  typedFieldCount(m, rng) {
    const t = pick(rng, floatInits(m));
    const values = Array.from(rawFloats(t));
    t.rawData = new Uint8Array(0);
    t.floatData = rng.next() < 0.5 ? values.slice(0, values.length - 1) : [...values, 1];
  },
  nonFiniteWeight(m, rng) {
    const f = rawFloats(pick(rng, floatInits(m)));
    f[rng.int(0, f.length - 1)] = pick(rng, [NaN, Infinity, -Infinity]);
  },
  hugeWeight(m, rng) {
    const f = rawFloats(pick(rng, floatInits(m)));
    f[rng.int(0, f.length - 1)] = pick(rng, [1e30, -3e38, 1e20]);
  },
  negativeBnVariance(m, rng) {
    const hit = inputInit(m, rng, 'BatchNormalization', 4);
    if (!hit) return;
    const f = rawFloats(hit.t);
    f[rng.int(0, f.length - 1)] = -0.5 - rng.next();
  },
  bnEpsilon(m, rng) {
    const node = pick(rng, (m.graph!.node ?? []).filter((n) => n.opType === 'BatchNormalization'));
    if (node) setAttr(node, 'epsilon', { type: onnx.AttributeProto.AttributeType.FLOAT, f: pick(rng, [NaN, -1, Infinity, -1e-5]) });
  },
  convAttribute(m, rng) {
    const node = pick(rng, (m.graph!.node ?? []).filter((n) => ['Conv', 'MaxPool', 'AveragePool'].includes(n.opType ?? '')));
    if (!node) return;
    const name = pick(rng, ['strides', 'dilations', 'pads', 'kernel_shape', 'group', 'auto_pad']);
    const ints = (v: number[]) => ({ type: onnx.AttributeProto.AttributeType.INTS, ints: v });
    if (name === 'group') setAttr(node, 'group', { type: onnx.AttributeProto.AttributeType.INT, i: pick(rng, [0, -1, 3, 5, 1e6]) });
    else if (name === 'auto_pad') setAttr(node, 'auto_pad', { type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(pick(rng, ['SAME_UPPER', 'BOGUS', 'VALID'])) });
    else if (name === 'pads') setAttr(node, 'pads', ints(pick(rng, [[-1, 0, 0, 0], [1, 1, 1], [100, 100, 100, 100], [0, 0, 0, 0, 0, 0], [1e9, 0, 0, 0]])));
    else if (name === 'kernel_shape') setAttr(node, 'kernel_shape', ints(pick(rng, [[0, 3], [3], [3, 3, 3], [64, 64], [-3, 3], [5, 5]])));
    else setAttr(node, name, ints(pick(rng, [[0, 1], [-1, -1], [1, 1, 1], [2], [1e6, 1], [3, 3]])));
  },
  otherAttribute(m, rng) {
    const node = pick(rng, m.graph!.node!);
    const attrs = node.attribute ?? [];
    if (!attrs.length) return;
    const a = pick(rng, attrs);
    if (a.ints && a.ints.length) a.ints = a.ints.map((v) => (rng.next() < 0.5 ? pick(rng, [-5, 0, 99, 1e9]) : v));
    else if (a.type === onnx.AttributeProto.AttributeType.INT) a.i = pick(rng, [-5, 0, 99, 1e9]);
    else if (a.type === onnx.AttributeProto.AttributeType.FLOAT) a.f = pick(rng, [NaN, -1, 1e30, Infinity]);
    else a.type = pick(rng, [1, 2, 3, 6, 7]);
  },
  duplicateOutput(m) {
    m.graph!.output!.push(m.graph!.output![0]);
  },
  duplicateProducer(m, rng) {
    const nodes = m.graph!.node!;
    const a = pick(rng, nodes);
    const b = pick(rng, nodes);
    if (a !== b && a.output?.length && b.output?.length) b.output[0] = a.output[0];
  },
  cycle(m, rng) {
    const nodes = m.graph!.node!;
    const i = rng.int(0, nodes.length - 1);
    const j = rng.int(i, nodes.length - 1);
    if (nodes[i].input?.length && nodes[j].output?.length) nodes[i].input[0] = nodes[j].output[0];
  },
  inputDims(m, rng) {
    const shape = m.graph!.input![0].type?.tensorType?.shape;
    if (!shape?.dim?.length) return;
    const k = rng.int(0, shape.dim.length - 1);
    const d = shape.dim[k];
    if (rng.next() < 0.2) {
      d.dimParam = 'H';
      delete (d as { dimValue?: unknown }).dimValue;
    } else {
      d.dimValue = pick(rng, [0, -1, 1e6, 1e9, 1, 2, 4096, 100000]);
      (d as { value?: string }).value = 'dimValue';
    }
    if (rng.next() < 0.2) shape.dim.splice(rng.int(0, shape.dim.length - 1), 1);
  },
  dropInitializer(m, rng) {
    m.graph!.initializer!.splice(rng.int(0, m.graph!.initializer!.length - 1), 1);
  },
  danglingInput(m, rng) {
    const n = pick(rng, m.graph!.node!);
    if (n.input?.length) n.input[rng.int(0, n.input.length - 1)] = pick(rng, ['nowhere', '', n.output?.[0] ?? 'x']);
  },
  opType(m, rng) {
    pick(rng, m.graph!.node!).opType = pick(rng, ['Relu', 'Conv', 'Add', 'Gemm', 'MaxPool', 'BatchNormalization', 'Flatten', 'Softmax', 'Reshape', 'Concat', 'Slice', 'Pad', 'Transpose', 'GlobalAveragePool', 'Mul', 'MatMul']);
  },
  dropNodeInput(m, rng) {
    const n = pick(rng, m.graph!.node!);
    if (n.input?.length) n.input.splice(rng.int(0, n.input.length - 1), 1);
  },
  extraNodeInput(m, rng) {
    const n = pick(rng, m.graph!.node!);
    (n.input ??= []).push(pick(rng, m.graph!.initializer!).name ?? '');
  },
  intInitializerValues(m, rng) {
    const ints = (m.graph!.initializer ?? []).filter((t) => t.dataType === 7 && (t.rawData?.length ?? 0) >= 8);
    if (!ints.length) return ONNX_MUTATIONS.otherAttribute(m, rng);
    const t = pick(rng, ints);
    const copy = new Uint8Array(t.rawData!.length);
    copy.set(t.rawData!);
    const v = new BigInt64Array(copy.buffer);
    v[rng.int(0, v.length - 1)] = BigInt(pick(rng, [-5, -1, 0, 1, 7, 1e9, 2 ** 40]));
    t.rawData = copy;
  },
  inputRank(m, rng) {
    const shape = m.graph!.input![0].type?.tensorType?.shape;
    if (!shape?.dim) return;
    const d = onnx.TensorShapeProto.Dimension.create({ dimValue: pick(rng, [1, 2, 3]) });
    (d as { value?: string }).value = 'dimValue';
    shape.dim.splice(rng.int(0, shape.dim.length), 0, d);
  },
  inputElemType(m, rng) {
    const tt = m.graph!.input![0].type?.tensorType;
    if (tt) tt.elemType = pick(rng, [0, 2, 6, 7, 8, 9, 10, 11, 99]);
  },
  duplicateInitializerName(m, rng) {
    const inits = m.graph!.initializer!;
    const a = pick(rng, inits);
    const b = pick(rng, inits);
    if (a !== b) b.name = a.name;
  },
  customDomain(m, rng) {
    pick(rng, m.graph!.node!).domain = pick(rng, ['com.microsoft', 'ai.onnx.ml', 'x']);
  },
  opset(m, rng) {
    const o = m.opsetImport?.[0];
    if (o) o.version = pick(rng, [1, 6, 7, 11, 22, 99, -1]);
  },
};

export const BYTE_MUTATIONS: Record<string, (bytes: Uint8Array, rng: SeededRandom) => Uint8Array> = {
  byteFlips(bytes, rng) {
    const out = bytes.slice();
    const n = rng.int(1, 8);
    for (let k = 0; k < n; k++) out[rng.int(0, out.length - 1)] ^= rng.int(1, 255);
    return out;
  },
  truncate(bytes, rng) {
    return bytes.slice(0, rng.int(0, bytes.length - 1));
  },
};

/**
 * Moves an initializer's data to an external file 'weights.bin' (supplied beside the model) with an
 * offset/length that is right, off by some bytes, negative or not a number.
 */
function externalData(m: Model, rng: SeededRandom): Uint8Array {
  const t = pick(rng, floatInits(m));
  const raw = t.rawData!;
  const pad = rng.int(0, 16);
  const file = new Uint8Array(pad + raw.length + rng.int(0, 8));
  file.set(raw, pad);
  t.rawData = new Uint8Array(0);
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  const offset = pick(rng, [String(pad), String(pad + 3), '-4', 'x', '1e9', String(pad)]);
  const length = pick(rng, [String(raw.length), String(raw.length - 4), String(raw.length + 4), '-1', 'NaN', '']);
  t.externalData = [
    onnx.StringStringEntryProto.create({ key: 'location', value: pick(rng, ['weights.bin', '../weights.bin', 'missing.bin']) }),
    onnx.StringStringEntryProto.create({ key: 'offset', value: offset }),
    ...(length ? [onnx.StringStringEntryProto.create({ key: 'length', value: length })] : []),
  ];
  return file;
}

/** One mutated ONNX model: a protobuf-level edit (re-encoded) or a byte-level one; extra files beside it. */
export function mutateOnnx(bytes: Uint8Array, rng: SeededRandom): { kind: string; bytes: Uint8Array; extra: { name: string; bytes: Uint8Array }[] } {
  const names = [...Object.keys(ONNX_MUTATIONS), ...Object.keys(BYTE_MUTATIONS), 'externalData'];
  const kind = pick(rng, names);
  if (BYTE_MUTATIONS[kind]) return { kind, bytes: BYTE_MUTATIONS[kind](bytes, rng), extra: [] };
  const m = onnx.ModelProto.decode(bytes);
  if (kind === 'externalData') {
    const file = externalData(m, rng);
    return { kind, bytes: onnx.ModelProto.encode(m).finish(), extra: [{ name: 'weights.bin', bytes: file }] };
  }
  ONNX_MUTATIONS[kind](m, rng);
  return { kind, bytes: onnx.ModelProto.encode(m).finish(), extra: [] };
}
