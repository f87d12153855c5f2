/**
 * GhostNet (Han et al., CVPR 2020) for 32x32 CIFAR-10, after ../shared/docs/ghostnet-cifar.md and the
 * public reference code: stem stride 1 (ImageNet's is 2) and the stage table's stride-2 at 672 -> 160 made
 * stride 1, so the feature maps go 32 -> 16 -> 8 -> 4.
 */
import { NetBuilder, makeDivisible, type NetSpec } from './netSpec.js';

/** k, expansion, out, SE ratio (0 = none), stride: paper Table 1 with the CIFAR strides. */
export const GHOSTNET_STAGES: readonly [number, number, number, number, number][] = [
  [3, 16, 16, 0, 1],
  [3, 48, 24, 0, 2],
  [3, 72, 24, 0, 1],
  [5, 72, 40, 0.25, 2],
  [5, 120, 40, 0.25, 1],
  [3, 240, 80, 0, 2],
  [3, 200, 80, 0, 1],
  [3, 184, 80, 0, 1],
  [3, 184, 80, 0, 1],
  [3, 480, 112, 0.25, 1],
  [3, 672, 112, 0.25, 1],
  [5, 672, 160, 0.25, 1],
  [5, 960, 160, 0, 1],
  [5, 960, 160, 0.25, 1],
  [5, 960, 160, 0, 1],
  [5, 960, 160, 0.25, 1],
];

/**
 * Ghost module: 1x1 conv -> BN (-> ReLU) gives m = ceil(n/2) channels, a 3x3 depthwise conv -> BN (-> ReLU)
 * on them gives m more, concatenated and cut to the first n.
 */
export function ghostModule(b: NetBuilder, x: string, name: string, cin: number, n: number, relu: boolean): string {
  const m = Math.ceil(n / 2);
  let p = b.bn(b.conv(x, `${name}.primary_conv.0`, cin, m, 1, 1), `${name}.primary_conv.1`, m);
  if (relu) p = b.act(p, 'relu');
  let c = b.bn(b.conv(p, `${name}.cheap_operation.0`, m, m, 3, 1, { groups: m }), `${name}.cheap_operation.1`, m);
  if (relu) c = b.act(c, 'relu');
  return b.slice(b.concat([p, c]), n);
}

/** SE: GAP -> 1x1 conv (bias) -> ReLU -> 1x1 conv (bias) -> hard-sigmoid, times the input. */
export function squeezeExcite(b: NetBuilder, x: string, name: string, c: number, ratio: number): string {
  const reduced = makeDivisible(c * ratio, 4);
  let s = b.conv(b.gap(x), `${name}.conv_reduce`, c, reduced, 1, 1, { bias: true });
  s = b.act(s, 'relu');
  s = b.conv(s, `${name}.conv_expand`, reduced, c, 1, 1, { bias: true });
  return b.binary('mul', x, b.act(s, 'hardSigmoid'));
}

export function ghostBottleneck(b: NetBuilder, x: string, name: string, cin: number, mid: number, cout: number, k: number, stride: number, se: number): string {
  let y = ghostModule(b, x, `${name}.ghost1`, cin, mid, true);
  if (stride > 1) y = b.bn(b.conv(y, `${name}.conv_dw`, mid, mid, k, stride, { groups: mid }), `${name}.bn_dw`, mid);
  if (se > 0) y = squeezeExcite(b, y, `${name}.se`, mid, se);
  y = ghostModule(b, y, `${name}.ghost2`, mid, cout, false);
  let shortcut = x;
  if (cin !== cout || stride !== 1) {
    shortcut = b.bn(b.conv(x, `${name}.shortcut.0`, cin, cin, k, stride, { groups: cin }), `${name}.shortcut.1`, cin);
    shortcut = b.bn(b.conv(shortcut, `${name}.shortcut.2`, cin, cout, 1, 1), `${name}.shortcut.3`, cout);
  }
  return b.binary('add', y, shortcut);
}

export function ghostNet(width = 1.0, dropout = 0.2): NetSpec {
  const b = new NetBuilder('input');
  let c = makeDivisible(16 * width, 4);
  let x = b.act(b.bn(b.conv('input', 'conv_stem', 3, c, 3, 1), 'bn1', c), 'relu');
  let last = 0;
  GHOSTNET_STAGES.forEach(([k, exp, out, se, stride], i) => {
    const cout = makeDivisible(out * width, 4);
    const mid = makeDivisible(exp * width, 4);
    x = ghostBottleneck(b, x, `blocks.${i}`, c, mid, cout, k, stride, se);
    c = cout;
    last = exp;
  });
  const headIn = makeDivisible(last * width, 4);
  x = b.act(b.bn(b.conv(x, 'conv_last', c, headIn, 1, 1), 'bn_last', headIn), 'relu');
  x = b.act(b.conv(b.gap(x), 'conv_head', headIn, 1280, 1, 1, { bias: true }), 'relu');
  x = b.dropout(x, dropout);
  return b.finish(`ghostnet_cifar_w${width}`, b.dense(x, 'classifier', 1280, 10));
}
