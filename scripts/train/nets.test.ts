import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/runtime/backends';
import { forward } from './forward';
import { ghostNet } from './ghostnet';
import { mobileNetV2 } from './mobileNetV2';
import { countParameters, type NetSpec } from './netSpec';
import { disposeParams, initParams } from './params';

function logitsShape(spec: NetSpec, training: boolean): number[] {
  const params = initParams(spec, 1);
  const shape = tf.tidy(() => forward(spec, params, tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D, { training }).shape);
  disposeParams(params);
  return shape;
}

describe('GhostNet and MobileNetV2-style CIFAR definitions', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('GhostNet has the parameter counts of the reference definition (1.0: 3.90 M, 0.5: 1.32 M)', () => {
    expect(countParameters(ghostNet(1)) / 3.90e6).toBeCloseTo(1, 2);
    expect(Math.abs(countParameters(ghostNet(0.5)) / 1.32e6 - 1)).toBeLessThan(0.01);
  });

  it('GhostNet has 16 bottlenecks, SE with hard-sigmoid in 7, and a Concat + Slice per Ghost module', () => {
    const spec = ghostNet(1);
    const count = (kind: string) => spec.ops.filter((o) => o.kind === kind).length;
    expect(count('hardSigmoid')).toBe(7);
    expect(count('concat')).toBe(32);
    expect(count('slice')).toBe(32);
    // stem stride 1, then three stride-2 stages: 32 -> 16 -> 8 -> 4
    const strided = spec.ops.flatMap((o) => (o.kind === 'conv' && o.stride === 2 && o.name.endsWith('conv_dw') ? [o.name] : []));
    expect(strided).toEqual(['blocks.1.conv_dw', 'blocks.3.conv_dw', 'blocks.5.conv_dw']);
    expect(spec.ops.find((o) => o.kind === 'conv' && o.name === 'conv_stem')).toMatchObject({ stride: 1, cout: 16 });
    expect(spec.ops.find((o) => o.kind === 'conv' && o.name === 'conv_last')).toMatchObject({ cout: 960 });
    expect(spec.ops.find((o) => o.kind === 'conv' && o.name === 'conv_head')).toMatchObject({ cout: 1280, bias: true });
  });

  it('GhostNet 0.5 and MobileNetV2 0.5 give [N, 10] logits in training and inference mode', () => {
    for (const spec of [ghostNet(0.5), mobileNetV2(0.5)]) {
      expect(logitsShape(spec, false)).toEqual([2, 10]);
      expect(logitsShape(spec, true)).toEqual([2, 10]);
    }
  });

  it('MobileNetV2-style net: inverted residuals with ReLU6 and depthwise 3x3, stem stride 1, width scales channels', () => {
    const spec = mobileNetV2(1);
    const dw = spec.ops.filter((o) => o.kind === 'conv' && o.groups > 1);
    expect(dw.length).toBe(17);
    expect(dw.every((o) => o.kind === 'conv' && o.k === 3)).toBe(true);
    expect(spec.ops.filter((o) => o.kind === 'add').length).toBe(10);
    expect(spec.ops.filter((o) => o.kind === 'relu').length).toBe(0);
    expect(countParameters(mobileNetV2(0.5))).toBeLessThan(countParameters(spec) / 2);
  });

  it('inference leaves no tensors behind', () => {
    const spec = ghostNet(0.5);
    const params = initParams(spec, 1);
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([1, 32, 32, 3]) as tf.Tensor4D;
    tf.tidy(() => forward(spec, params, x, { training: false })).dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
  });
});
