import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../../exporters/onnx/onnxWriter.js';
import { isLocalQuantError } from '../../../errors.js';
import { initBackend } from '../../../runtime/backends.js';
import { importTfjs } from '../index.js';
import { GraphDefBuilder } from './graphDefBuilder.js';

/**
 * NonMaxSuppressionV4/V5 of a graph model translated to ONNX NonMaxSuppression (+ padding, valid count,
 * selected scores), run in onnxruntime-node against tfjs running the graph model itself.
 */

beforeAll(async () => {
  await initBackend('wasm');
});

// 6 boxes (y1, x1, y2, x2): 0/1 and 3/4 overlap strongly, 5 is under the score threshold
const BOXES = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 40, 40, 50, 50, 41, 41, 51, 51, 60, 60, 70, 70];
const SCORES = [0.9, 0.8, 0.7, 0.6, 0.95, 0.05];

function nmsGraph(op: 'NonMaxSuppressionV4' | 'NonMaxSuppressionV5', pad: boolean, sigma = 0): GraphDefBuilder {
  const g = new GraphDefBuilder();
  const boxes = g.input('boxes', [6, 4]);
  const scores = g.input('scores', [6]);
  const inputs = [boxes, scores, g.ints('max', [5], []), g.constant('iou', [], [0.5]), g.constant('thr', [], [0.1])];
  if (op === 'NonMaxSuppressionV5') inputs.push(g.constant('sigma', [], [sigma]));
  g.nodes.push({ name: 'nms', op, input: inputs, attr: { T: { type: 'DT_FLOAT' }, T_threshold: { type: 'DT_FLOAT' }, pad_to_max_output_size: { b: pad } } } as never);
  // (tfjs runs V5 with two outputs, indices and scores; its valid_outputs is the V4 test's)
  const outs = ['nms', 'nms:1'];
  outs.forEach((o, i) => g.nodes.push({ name: `out${i}`, op: 'Identity', input: [o], attr: { T: { type: i === 1 && op === 'NonMaxSuppressionV5' ? 'DT_FLOAT' : 'DT_INT32' } } } as never));
  return g;
}

async function both(g: GraphDefBuilder): Promise<{ ref: number[][]; ours: number[][] }> {
  const { files, artifacts } = g.files();
  const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const inputs = { boxes: tf.tensor2d(BOXES, [6, 4]), scores: tf.tensor1d(SCORES) };
  const names = model.outputs.map((o) => o.name);
  const refT = (await model.executeAsync(inputs, names)) as tf.Tensor[];
  const ref = refT.map((t) => Array.from(t.dataSync()));
  tf.dispose([...refT, inputs.boxes, inputs.scores]);
  model.dispose();
  const graph = importTfjs(files);
  const session = await ort.InferenceSession.create(writeOnnx(graph));
  const r = await session.run({ boxes: new ort.Tensor('float32', Float32Array.from(BOXES), [6, 4]), scores: new ort.Tensor('float32', Float32Array.from(SCORES), [6]) });
  const ours = graph.outputs.map((o) => Array.from(r[o.name].data as ArrayLike<number>, Number));
  await session.release();
  return { ref, ours };
}

describe('NonMaxSuppressionV4/V5 from graph models', () => {
  it('V4 padded and unpadded: the same indices and valid count as tfjs', async () => {
    for (const pad of [true, false]) {
      const { ref, ours } = await both(nmsGraph('NonMaxSuppressionV4', pad));
      expect(ours).toEqual(ref);
      expect(ours[1]).toEqual([3]); // boxes 4, 0, 2 survive
      expect(ours[0]).toEqual(pad ? [4, 0, 2, 0, 0] : [4, 0, 2]);
    }
  });

  it('V5 with soft_nms_sigma 0 (hard NMS): indices and selected scores as tfjs', async () => {
    // tfjs ignores pad_to_max_output_size in V5 (TF pads); compared unpadded
    const { ref, ours } = await both(nmsGraph('NonMaxSuppressionV5', false));
    expect(ours[0]).toEqual(ref[0]);
    expect(ours[1].map((v) => Number(v.toFixed(5)))).toEqual(ref[1].map((v) => Number(v.toFixed(5))));
    expect(ours[1].map((v) => Number(v.toFixed(2)))).toEqual([0.95, 0.9, 0.7]);
  });

  it('V5 soft NMS (sigma > 0) is refused with the reason', () => {
    const { files } = nmsGraph('NonMaxSuppressionV5', false, 0.5).files();
    let err: unknown;
    try {
      importTfjs(files);
    } catch (e) {
      err = e;
    }
    expect(isLocalQuantError(err) && err.code).toBe('UNSUPPORTED_OP');
    expect(String((err as Error).message)).toMatch(/soft NMS/);
  });
});
