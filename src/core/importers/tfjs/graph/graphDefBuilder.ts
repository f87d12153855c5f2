import * as tf from '@tensorflow/tfjs';
import type { ModelFile } from '../../../ir/types.js';
import { jsonFile } from '../testSupport.js';
import type { TfNode } from './tfNode.js';

/** Test helper: writes a TF GraphDef model.json + weights shard by hand (tfjs cannot save graph models). */

const b64 = (s: string) => btoa(s);
export const str = (s: string) => ({ s: b64(s) });
export const ints = (v: number[]) => ({ list: { i: v.map(String) } });
export const strs = (v: string[]) => ({ list: { s: v.map(b64) } });
const FLOAT = { type: 'DT_FLOAT' };

export class GraphDefBuilder {
  readonly nodes: TfNode[] = [];
  private readonly weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; values: number[] }[] = [];
  private seed = 1;

  private rand(n: number, scale: number, offset = 0): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
      out.push(offset + scale * ((this.seed / 2 ** 32) * 2 - 1));
    }
    return out;
  }

  input(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } } });
    return name;
  }

  constant(name: string, shape: number[], values: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    this.weights.push({ name, shape, dtype, values });
    const type = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } as TfNode['attr'] });
    return name;
  }

  random(name: string, shape: number[], scale = 0.5, offset = 0): string {
    return this.constant(name, shape, this.rand(shape.reduce((a, b) => a * b, 1), scale, offset));
  }

  ints(name: string, values: number[], shape = [values.length]): string {
    return this.constant(name, shape, values, 'int32');
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: FLOAT, ...attr } as TfNode['attr'] });
    return name;
  }

  files(extra: Record<string, unknown> = {}): { files: ModelFile[]; artifacts: tf.io.ModelArtifacts } {
    const specs = this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype }));
    const total = this.weights.reduce((a, w) => a + w.values.length * 4, 0);
    const buf = new ArrayBuffer(total);
    let at = 0;
    for (const w of this.weights) {
      if (w.dtype === 'float32') new Float32Array(buf, at, w.values.length).set(w.values);
      else new Int32Array(buf, at, w.values.length).set(w.values);
      at += w.values.length * 4;
    }
    const modelTopology = { node: this.nodes, library: {}, versions: { producer: 1 } };
    const modelJson = { format: 'graph-model', generatedBy: 'hand', convertedBy: 'test', modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }], ...extra };
    return {
      files: [jsonFile('model.json', modelJson), { name: 'group1-shard1of1.bin', bytes: new Uint8Array(buf) }],
      artifacts: { modelTopology, weightSpecs: specs, weightData: buf, format: 'graph-model', ...extra },
    };
  }
}


/** A small conv net: fused conv/depthwise (BiasAdd, Relu, Relu6, Prelu), Conv2D + BiasAdd + FusedBatchNormV3, LeakyRelu, AddV2, MaxPool, Mean, MatMuls, Softmax. Input 'image' [N, 8, 8, 3]. */
export function convNetGraph(): GraphDefBuilder {
  const g = new GraphDefBuilder();
  const x = g.input('image', [-1, 8, 8, 3]);
  const c1 = g.op('conv1/Relu', '_FusedConv2D', [x, g.random('conv1/w', [3, 3, 3, 4]), g.random('conv1/b', [4])], {
    strides: ints([1, 1, 1, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', 'Relu']), num_args: { i: '1' }, epsilon: { f: 0 },
  });
  const dw = g.op('dw/Relu6', 'FusedDepthwiseConv2dNative', [c1, g.random('dw/w', [3, 3, 4, 2]), g.random('dw/b', [8])], {
    strides: ints([1, 2, 2, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', 'Relu6']), num_args: { i: '1' },
  });
  const c2 = g.op('conv2/Conv2D', 'Conv2D', [dw, g.random('conv2/w', [1, 1, 8, 6])], { strides: ints([1, 1, 1, 1]), padding: str('VALID'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) });
  const ba = g.op('conv2/BiasAdd', 'BiasAdd', [c2, g.random('conv2/b', [6])], { data_format: str('NHWC') });
  const bn = g.op('bn/FusedBatchNormV3', 'FusedBatchNormV3', [ba, g.random('bn/scale', [6], 0.3, 1), g.random('bn/offset', [6]), g.random('bn/mean', [6]), g.random('bn/var', [6], 0.4, 1)], {
    epsilon: { f: 0.001 }, data_format: str('NHWC'), is_training: { b: false },
  });
  const lr = g.op('leaky', 'LeakyRelu', [bn], { alpha: { f: 0.1 } });
  const c3 = g.op('conv3/prelu', '_FusedConv2D', [lr, g.random('conv3/w', [3, 3, 6, 6]), g.random('conv3/b', [6]), g.random('conv3/alpha', [6], 0.2, 0.25)], {
    strides: ints([1, 1, 1, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', 'Prelu']), num_args: { i: '2' },
  });
  const add = g.op('add', 'AddV2', [c3, lr]);
  const mp = g.op('pool', 'MaxPool', [add], { ksize: ints([1, 2, 2, 1]), strides: ints([1, 2, 2, 1]), padding: str('VALID'), data_format: str('NHWC') });
  const mean = g.op('gap', 'Mean', [mp, g.ints('gap/axes', [1, 2])], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const fc = g.op('fc/Relu', '_FusedMatMul', [mean, g.random('fc/w', [6, 5]), g.random('fc/b', [5])], { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: strs(['BiasAdd', 'Relu']), num_args: { i: '1' } });
  const fc2 = g.op('fc2/MatMul', 'MatMul', [fc, g.random('fc2/w', [3, 5])], { transpose_a: { b: false }, transpose_b: { b: true } });
  const logits = g.op('fc2/BiasAdd', 'BiasAdd', [fc2, g.random('fc2/b', [3])]);
  const sm = g.op('softmax', 'Softmax', [logits]);
  g.op('Identity', 'Identity', [sm]);
  return g;
}

export const SIGNATURE = { userDefinedMetadata: { signature: { inputs: { 'image:0': { name: 'image:0' } }, outputs: { 'Identity:0': { name: 'Identity:0' } } } } };

/** Shape and elementwise ops, five outputs. Input 'x' [N, 6, 6, 2]. */
export function shapeOpsGraph(): GraphDefBuilder {
  const g = new GraphDefBuilder();
  const x = g.input('x', [-1, 6, 6, 2]);
  const sub = g.op('sub', 'Sub', [x, g.random('sub/y', [2])]);
  const mul = g.op('mul', 'Mul', [g.random('mul/x', [], 0.5, 1.2), sub]);
  const div = g.op('div', 'RealDiv', [mul, g.random('div/y', [2], 0.3, 1)]);
  const pad = g.op('pad', 'Pad', [div, g.ints('pad/p', [0, 0, 1, 1, 2, 0, 0, 0], [4, 2])]);
  const mpad = g.op('mpad', 'MirrorPad', [pad, g.ints('mpad/p', [0, 0, 1, 1, 1, 1, 0, 0], [4, 2])], { mode: str('REFLECT') });
  const conv = g.op('conv', 'Conv2D', [mpad, g.random('conv/w', [3, 2, 2, 4])], {
    strides: ints([1, 2, 1, 1]), padding: str('EXPLICIT'), explicit_paddings: ints([0, 0, 1, 0, 0, 1, 0, 0]), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]),
  });
  const elu = g.op('elu', 'Elu', [conv]);
  const sig = g.op('sig', 'Sigmoid', [elu]);
  const tanh = g.op('tanh', 'Tanh', [conv]);
  const mx = g.op('max', 'Maximum', [sig, tanh]);
  const mn = g.op('min', 'Minimum', [mx, g.random('min/y', [], 0.01, 0.4)]);
  const r6 = g.op('relu6', 'Relu6', [conv]);
  const cat = g.op('cat', 'ConcatV2', [mn, r6, g.ints('cat/axis', [3], [])], { N: { i: '2' } });
  const avg = g.op('avg', 'AvgPool', [cat], { ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: str('SAME'), data_format: str('NHWC') });
  // avg: [N, 3, 4, 8] (conv out 5 x 7 -> SAME stride 2 -> 3 x 4)
  const rb = g.op('resize_bilinear', 'ResizeBilinear', [avg, g.ints('rb/size', [6, 8])], { align_corners: { b: false }, half_pixel_centers: { b: true } });
  const rn = g.op('resize_nn', 'ResizeNearestNeighbor', [rb, g.ints('rn/size', [12, 8])], { align_corners: { b: false }, half_pixel_centers: { b: false } });
  const tr = g.op('to_nchw', 'Transpose', [rn, g.ints('tr/perm', [0, 3, 1, 2])], { Tperm: { type: 'DT_INT32' } });
  const relu = g.op('relu_nchw', 'Relu', [tr]);
  const back = g.op('to_nhwc', 'Transpose', [relu, g.ints('back/perm', [0, 2, 3, 1])]);
  const shape = g.op('shape', 'Shape', [back], { out_type: { type: 'DT_INT32' } });
  const batch = g.op('batch', 'StridedSlice', [shape, g.ints('bs/b', [0]), g.ints('bs/e', [1]), g.ints('bs/s', [1])], { shrink_axis_mask: { i: '1' }, Index: { type: 'DT_INT32' }, T: { type: 'DT_INT32' } });
  const packed = g.op('packed', 'Pack', [batch, g.ints('minus1', [-1], [])], { axis: { i: '0' }, N: { i: '2' }, T: { type: 'DT_INT32' } });
  const flat = g.op('flat', 'Reshape', [back, packed]);
  g.op('sum', 'Sum', [flat, g.ints('sum/axes', [1])], { keep_dims: { b: true } });
  const gmax = g.op('gmax', 'Max', [back, g.ints('gmax/axes', [1, 2])], { keep_dims: { b: false } });
  const ex = g.op('expand', 'ExpandDims', [gmax, g.ints('expand/axis', [1], [])]);
  g.op('squeeze', 'Squeeze', [ex], { squeeze_dims: ints([1]) });
  g.op('slice', 'Slice', [flat, g.ints('slice/b', [0, 2]), g.ints('slice/s', [-1, 5])]);
  g.op('sslice', 'StridedSlice', [back, g.ints('ss/b', [0, 1, 0, 0]), g.ints('ss/e', [0, -1, 0, 2]), g.ints('ss/s', [1, 1, 2, 1])], {
    begin_mask: { i: String(0b1101) }, end_mask: { i: String(0b0101) }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' }, shrink_axis_mask: { i: '0' }, Index: { type: 'DT_INT32' },
  });
  g.op('addn', 'AddN', [gmax, g.op('shifted', 'Sub', [gmax, g.random('shift', [8])]), gmax], { N: { i: '3' } });
  return g;
}
