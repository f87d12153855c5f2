/**
 * A MobileNetV2-style CIFAR-sized ONNX net (BN already folded) for QDQ placement, fusion and export-speed
 * checks: stem conv + ReLU6, inverted residual blocks (1x1 expand + ReLU6, 3x3 depthwise + ReLU6,
 * 1x1 linear projection, residual Add when shapes allow), optionally a squeeze-excite gate
 * (GlobalAveragePool -> 1x1 conv -> ReLU -> 1x1 conv -> HardSigmoid -> Mul) and a Ghost-style Concat
 * (conv half + cheap depthwise half, concatenated, then a Slice), then 1x1 head conv + ReLU6 ->
 * GlobalAveragePool -> Flatten -> Gemm. Weights are seeded random (He-scaled), so the net computes
 * nothing meaningful: it serves speed, fusion and float-vs-quantized agreement, not accuracy.
 */
import { buildOnnxModel, type BuilderInitializer, type BuilderNode } from './onnxBuilder.js';

export interface MobileNetV2LikeOptions {
  seed?: number;
  /** Add a squeeze-excite gate in every block with an expansion. */
  squeezeExcite?: boolean;
  /** Add a Ghost-style Concat + Slice block before the head. */
  concat?: boolean;
  /**
   * 'relu6' (default): ReLU6 everywhere, as MobileNetV2. 'mixed': HardSwish after the expansion convs and
   * x*sigmoid(x) (SiLU) after the depthwise convs, as MobileNetV3/EfficientNet blocks.
   */
  activations?: 'relu6' | 'mixed';
  /** Channel multiplier (default 1: 16..96 channels). */
  width?: number;
  classes?: number;
}

export function mobileNetV2Like(o: MobileNetV2LikeOptions = {}): Uint8Array {
  let s = (o.seed ?? 1) >>> 0 || 1;
  const normal = (): number => {
    // Box-Muller on a 32-bit LCG: deterministic across platforms
    s = (s * 1664525 + 1013904223) >>> 0;
    const u = (s + 1) / 2 ** 32;
    s = (s * 1664525 + 1013904223) >>> 0;
    const v = s / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const width = o.width ?? 1;
  const ch = (c: number) => Math.max(4, Math.round(c * width));
  const classes = o.classes ?? 10;
  const nodes: BuilderNode[] = [];
  const inits: BuilderInitializer[] = [
    { name: 'relu6_min', dims: [], data: [0] },
    { name: 'relu6_max', dims: [], data: [6] },
  ];
  let id = 0;
  const name = (p: string) => `${p}${id++}`;
  const conv = (x: string, cin: number, cout: number, k: number, stride = 1, group = 1): string => {
    const n = name('conv');
    const fanIn = (cin / group) * k * k;
    const std = Math.sqrt(2 / fanIn);
    inits.push({ name: `${n}.w`, dims: [cout, cin / group, k, k], data: Float32Array.from({ length: cout * fanIn }, () => std * normal()) });
    inits.push({ name: `${n}.b`, dims: [cout], data: Float32Array.from({ length: cout }, () => 0.1 * normal()) });
    const pad = (k - 1) >> 1;
    nodes.push({ name: n, opType: 'Conv', inputs: [x, `${n}.w`, `${n}.b`], outputs: [`${n}.y`], attrs: { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride], group } });
    return `${n}.y`;
  };
  const relu6 = (x: string): string => {
    const n = name('relu6_');
    nodes.push({ name: n, opType: 'Clip', inputs: [x, 'relu6_min', 'relu6_max'], outputs: [`${n}.y`] });
    return `${n}.y`;
  };
  const op = (opType: string, inputs: string[], attrs?: BuilderNode['attrs']): string => {
    const n = name(opType);
    nodes.push({ name: n, opType, inputs, outputs: [`${n}.y`], ...(attrs ? { attrs } : {}) });
    return `${n}.y`;
  };
  const squeezeExcite = (x: string, c: number): string => {
    const pooled = op('GlobalAveragePool', [x]);
    const r = op('Relu', [conv(pooled, c, Math.max(4, c >> 2), 1)]);
    const gate = op('HardSigmoid', [conv(r, Math.max(4, c >> 2), c, 1)], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
    return op('Mul', [x, gate]);
  };
  const mixed = o.activations === 'mixed';
  const silu = (x: string): string => op('Mul', [x, op('Sigmoid', [x])]);
  const block = (x: string, cin: number, cout: number, expand: number, stride: number): string => {
    const hidden = cin * expand;
    let h = expand === 1 ? x : (mixed ? (v: string) => op('HardSwish', [v]) : relu6)(conv(x, cin, hidden, 1));
    h = (mixed ? silu : relu6)(conv(h, hidden, hidden, 3, stride, hidden));
    if (o.squeezeExcite && expand > 1) h = squeezeExcite(h, hidden);
    h = conv(h, hidden, cout, 1);
    return stride === 1 && cin === cout ? op('Add', [x, h]) : h;
  };

  let x = relu6(conv('input', 3, ch(16), 3));
  const stages: [number, number, number, number][] = [
    // expand, out channels, repeats, first stride
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 2, 2],
    [6, 64, 2, 2],
    [6, 96, 1, 1],
  ];
  let c = ch(16);
  for (const [t, outC, n, stride] of stages) {
    for (let i = 0; i < n; i++) {
      x = block(x, c, ch(outC), t, i === 0 ? stride : 1);
      c = ch(outC);
    }
  }
  if (o.concat) {
    // Ghost module: half the channels from a 1x1 conv, half from a cheap depthwise conv of those
    const primary = op('Relu', [conv(x, c, c / 2, 1)]);
    const cheap = op('Relu', [conv(primary, c / 2, c / 2, 3, 1, c / 2)]);
    const cat = op('Concat', [primary, cheap], { axis: 1 });
    inits.push({ name: 'ghost.starts', dtype: 'int64', dims: [1], data: [0] }, { name: 'ghost.ends', dtype: 'int64', dims: [1], data: [c] }, { name: 'ghost.axes', dtype: 'int64', dims: [1], data: [1] });
    x = op('Slice', [cat, 'ghost.starts', 'ghost.ends', 'ghost.axes']);
  }
  const head = ch(256);
  x = relu6(conv(x, c, head, 1));
  x = op('Flatten', [op('GlobalAveragePool', [x])]);
  inits.push({ name: 'fc.w', dims: [classes, head], data: Float32Array.from({ length: classes * head }, () => Math.sqrt(1 / head) * normal()) });
  inits.push({ name: 'fc.b', dims: [classes], data: new Float32Array(classes) });
  nodes.push({ name: 'fc', opType: 'Gemm', inputs: [x, 'fc.w', 'fc.b'], outputs: ['logits'], attrs: { transB: 1 } });
  return buildOnnxModel({ opset: mixed ? 14 : 13, inputs: [{ name: 'input', shape: ['N', 3, 32, 32] }], outputs: [{ name: 'logits', shape: ['N', classes] }], initializers: inits, nodes });
}
