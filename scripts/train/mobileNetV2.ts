/**
 * A MobileNetV2-style CIFAR-10 net (Sandler et al. 2018): inverted residuals (1x1 expand -> BN -> ReLU6,
 * 3x3 depthwise -> BN -> ReLU6, 1x1 project -> BN, identity shortcut when shape allows), stem stride 1 and
 * the first two stride-2 stages of the ImageNet table made stride 1 for 32x32 inputs (32 -> 16 -> 8 -> 4),
 * as the usual CIFAR adaptations do.
 */
import { NetBuilder, makeDivisible, type NetSpec } from './netSpec.js';

/** t (expansion), c (out), n (repeats), s (first stride): ImageNet table with CIFAR strides. */
export const MOBILENETV2_STAGES: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 1],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function invertedResidual(b: NetBuilder, x: string, name: string, cin: number, cout: number, stride: number, t: number): string {
  const hidden = cin * t;
  let y = x;
  if (t !== 1) y = b.act(b.bn(b.conv(y, `${name}.expand`, cin, hidden, 1, 1), `${name}.expand_bn`, hidden), 'relu6');
  y = b.act(b.bn(b.conv(y, `${name}.dw`, hidden, hidden, 3, stride, { groups: hidden }), `${name}.dw_bn`, hidden), 'relu6');
  y = b.bn(b.conv(y, `${name}.project`, hidden, cout, 1, 1), `${name}.project_bn`, cout);
  return stride === 1 && cin === cout ? b.binary('add', y, x) : y;
}

export function mobileNetV2(width = 1.0, dropout = 0.2): NetSpec {
  const b = new NetBuilder('input');
  let c = makeDivisible(32 * width, 8);
  let x = b.act(b.bn(b.conv('input', 'stem', 3, c, 3, 1), 'stem_bn', c), 'relu6');
  let block = 0;
  for (const [t, out, n, s] of MOBILENETV2_STAGES) {
    const cout = makeDivisible(out * width, 8);
    for (let i = 0; i < n; i++) {
      x = invertedResidual(b, x, `blocks.${block++}`, c, cout, i === 0 ? s : 1, t);
      c = cout;
    }
  }
  const head = makeDivisible(1280 * Math.max(1, width), 8);
  x = b.act(b.bn(b.conv(x, 'head', c, head, 1, 1), 'head_bn', head), 'relu6');
  x = b.dropout(b.gap(x), dropout);
  return b.finish(`mobilenetv2_cifar_w${width}`, b.dense(x, 'classifier', head, 10));
}
