/**
 * A few-thousand-parameter net with every op kind the real models use (conv, depthwise stride 2, BN,
 * ReLU, ReLU6, a Ghost bottleneck with SE and hard-sigmoid, concat/slice, residual add, GAP, dropout,
 * dense), for fast tests of training, checkpoints and exports.
 */
import { ghostBottleneck } from './ghostnet.js';
import { NetBuilder, type NetSpec } from './netSpec.js';

export function tinyNet(): NetSpec {
  const b = new NetBuilder('input');
  let x = b.act(b.bn(b.conv('input', 'stem', 3, 8, 3, 1), 'stem_bn', 8), 'relu6');
  x = ghostBottleneck(b, x, 'block0', 8, 16, 12, 5, 2, 0.25);
  x = ghostBottleneck(b, x, 'block1', 12, 24, 12, 3, 1, 0.25);
  x = b.act(b.bn(b.conv(x, 'last', 12, 16, 1, 1), 'last_bn', 16), 'relu');
  x = b.dropout(b.gap(x), 0.2);
  return b.finish('tiny', b.dense(x, 'classifier', 16, 10));
}
