/**
 * A CIFAR ResNet of depth 6n+2 (He et al. 2016, option A shortcuts: stride-2 Slice + zero channel Pad,
 * as in the shared ResNet-20 fixture) with BatchNorm after every conv. Weights are seeded random
 * (He-scaled) and BN statistics random: the net computes nothing meaningful; it serves timing (n = 3:
 * ResNet-20-like, n = 9: ResNet-56-like) and structure tests.
 */
import { buildOnnxModel, type BuilderInitializer, type BuilderNode } from './onnxBuilder.js';

export function cifarResNet(blocksPerStage: number, seed = 1, classes = 10): Uint8Array {
  let s = seed >>> 0 || 1;
  const uniform = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const nodes: BuilderNode[] = [];
  const inits: BuilderInitializer[] = [];
  let id = 0;
  const convBn = (x: string, cin: number, cout: number, stride: number, relu: boolean): string => {
    const n = `conv${id++}`;
    const std = Math.sqrt(2 / (cin * 9));
    inits.push({ name: `${n}.w`, dims: [cout, cin, 3, 3], data: Float32Array.from({ length: cout * cin * 9 }, () => std * normal()) });
    const bn = ['scale', 'bias', 'mean', 'var'].map((p) => `${n}.bn.${p}`);
    inits.push({ name: bn[0], dims: [cout], data: Float32Array.from({ length: cout }, () => 1 + 0.1 * normal()) });
    inits.push({ name: bn[1], dims: [cout], data: Float32Array.from({ length: cout }, () => 0.1 * normal()) });
    inits.push({ name: bn[2], dims: [cout], data: Float32Array.from({ length: cout }, () => 0.1 * normal()) });
    inits.push({ name: bn[3], dims: [cout], data: Float32Array.from({ length: cout }, () => 0.5 + uniform()) });
    nodes.push({ name: n, opType: 'Conv', inputs: [x, `${n}.w`], outputs: [`${n}.y`], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [stride, stride] } });
    nodes.push({ name: `${n}.bn`, opType: 'BatchNormalization', inputs: [`${n}.y`, ...bn], outputs: [`${n}.bn.y`] });
    if (!relu) return `${n}.bn.y`;
    nodes.push({ name: `${n}.relu`, opType: 'Relu', inputs: [`${n}.bn.y`], outputs: [`${n}.relu.y`] });
    return `${n}.relu.y`;
  };
  const i64 = (name: string, data: number[]) => inits.push({ name, dtype: 'int64', dims: [data.length], data });
  i64('sc.starts', [0, 0]);
  i64('sc.ends', [1 << 30, 1 << 30]);
  i64('sc.axes', [2, 3]);
  i64('sc.steps', [2, 2]);
  let x = convBn('input', 3, 16, 1, true);
  let c = 16;
  for (const [stage, width] of [16, 32, 64].entries()) {
    for (let b = 0; b < blocksPerStage; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const h = convBn(convBn(x, c, width, stride, true), width, width, 1, false);
      let short = x;
      if (stride === 2) {
        const n = `short${stage}`;
        nodes.push({ name: `${n}.slice`, opType: 'Slice', inputs: [x, 'sc.starts', 'sc.ends', 'sc.axes', 'sc.steps'], outputs: [`${n}.s`] });
        const extra = (width - c) / 2;
        i64(`${n}.pads`, [0, extra, 0, 0, 0, extra, 0, 0]);
        nodes.push({ name: `${n}.pad`, opType: 'Pad', inputs: [`${n}.s`, `${n}.pads`], outputs: [`${n}.p`] });
        short = `${n}.p`;
      }
      nodes.push({ name: `add${id}`, opType: 'Add', inputs: [h, short], outputs: [`add${id}.y`] });
      nodes.push({ name: `add${id}.relu`, opType: 'Relu', inputs: [`add${id}.y`], outputs: [`add${id}.relu.y`] });
      x = `add${id}.relu.y`;
      c = width;
    }
  }
  nodes.push({ name: 'gap', opType: 'GlobalAveragePool', inputs: [x], outputs: ['gap.y'] });
  nodes.push({ name: 'flatten', opType: 'Flatten', inputs: ['gap.y'], outputs: ['flat'] });
  inits.push({ name: 'fc.w', dims: [classes, 64], data: Float32Array.from({ length: classes * 64 }, () => normal() / 8) });
  inits.push({ name: 'fc.b', dims: [classes], data: new Float32Array(classes) });
  nodes.push({ name: 'fc', opType: 'Gemm', inputs: ['flat', 'fc.w', 'fc.b'], outputs: ['logits'], attrs: { transB: 1 } });
  return buildOnnxModel({ opset: 13, inputs: [{ name: 'input', shape: ['N', 3, 32, 32] }], outputs: [{ name: 'logits', shape: ['N', classes] }], initializers: inits, nodes });
}
