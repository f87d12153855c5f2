/**
 * What the detector benchmarks share: the images (real photographs from @vladmandic/human's assets,
 * upsampled CIFAR-10) in a detector's input layout, and its detections in onnxruntime-node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import * as ort from 'onnxruntime-node';
import { cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import type { Graph } from '../../src/core/ir/types.js';
import { decodeDetections, detectionLayout, type Detection, type OutputTensor } from '../../src/core/pipeline/boxAgreement.js';
import { fixturesDir } from '../../src/core/testing/fixtures.js';

/** Images in a model's input layout, batch first. */
export interface ImageSet {
  images: Float32Array;
  shape: number[];
}

/** How each detector wants its pixels (from @vladmandic/human's own pre-processing). */
export const PIXEL_SCALE: Record<string, number> = { centernet: 1, nanodet: 1 / 255 };

/** CIFAR-10 records upsampled (bilinear) to the input, in the input's layout, pixels * scale. */
export function cifarImages(file: string, start: number, count: number, input: Graph['inputs'][number], scale: number): ImageSet {
  const set = parseCifar10(new Uint8Array(readFileSync(join(fixturesDir(), 'cifar10', file))));
  const { images, dims } = cifar10Batch(set, { start, count }, [0, 0, 0], [1 / (255 * scale), 1 / (255 * scale), 1 / (255 * scale)]);
  const s = input.shape!.map(Number);
  const nchw = s[1] === 3;
  const [h, w] = nchw ? [s[2], s[3]] : [s[1], s[2]];
  const out = tf.tidy(() => {
    const x = tf.transpose(tf.tensor(images, dims), [0, 2, 3, 1]);
    const up = tf.image.resizeBilinear(x as tf.Tensor4D, [h, w], false, true);
    return nchw ? tf.transpose(up, [0, 3, 1, 2]) : up;
  });
  const data = out.dataSync() as Float32Array;
  const shape = out.shape;
  out.dispose();
  return { images: Float32Array.from(data), shape };
}

/**
 * Mosaics of CIFAR-10 records: `count` images, each a tiles x tiles grid of consecutive records from
 * `start`, every record upsampled (bilinear) to its cell. One 32x32 record stretched over a 320-416 px
 * input is one blurry object larger than the frame, which the detectors rarely report; at 3-4 records a
 * side each object is ~100 px, a size they do detect, so a few dozen mosaics give hundreds of float boxes.
 */
export function cifarMosaics(file: string, start: number, count: number, tiles: number, input: Graph['inputs'][number], scale: number): ImageSet {
  const set = parseCifar10(new Uint8Array(readFileSync(join(fixturesDir(), 'cifar10', file))));
  const { images, dims } = cifar10Batch(set, { start, count: count * tiles * tiles }, [0, 0, 0], [1 / (255 * scale), 1 / (255 * scale), 1 / (255 * scale)]);
  const s = input.shape!.map(Number);
  const nchw = s[1] === 3;
  const [h, w] = nchw ? [s[2], s[3]] : [s[1], s[2]];
  const out = tf.tidy(() => {
    const x = tf.transpose(tf.tensor(images, dims), [0, 2, 3, 1]) as tf.Tensor4D;
    const cellH = Math.floor(h / tiles);
    const cellW = Math.floor(w / tiles);
    const cells = tf.image.resizeBilinear(x, [cellH, cellW], false, true);
    // [count, tiles, tiles, cellH, cellW, 3] -> rows of cells -> [count, tiles*cellH, tiles*cellW, 3], padded to the input
    const grid = cells.reshape([count, tiles, tiles, cellH, cellW, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([count, tiles * cellH, tiles * cellW, 3]);
    const full = tf.pad(grid, [[0, 0], [0, h - tiles * cellH], [0, w - tiles * cellW], [0, 0]]);
    return nchw ? tf.transpose(full, [0, 3, 1, 2]) : full;
  });
  const data = Float32Array.from(out.dataSync());
  const shape = out.shape;
  out.dispose();
  return { images: data, shape };
}

/**
 * Real photographs from @vladmandic/human's assets, resized (bilinear) to the input: 'held-out' = the 8
 * thumbnails of samples.jpg (other people and scenes), 'calibration' = 6 crops of its group photo and 3
 * demo screenshots.
 */
export function photos(input: Graph['inputs'][number], scale: number, which: 'held-out' | 'calibration'): ImageSet {
  const dir = 'node_modules/@vladmandic/human/assets';
  const s = input.shape!.map(Number);
  const nchw = s[1] === 3;
  const [h, w] = nchw ? [s[2], s[3]] : [s[1], s[2]];
  const crops: { file: string; box?: [number, number, number, number] }[] = [];
  if (which === 'held-out') for (let i = 0; i < 8; i++) crops.push({ file: 'samples.jpg', box: [0, i * 160, 160, 160] });
  else {
    for (const [y, x, size] of [[200, 0, 640], [200, 320, 640], [200, 640, 640], [518, 0, 640], [518, 320, 640], [518, 640, 640]]) crops.push({ file: 'samples.jpg', box: [y, x, size, size] });
    for (const f of ['screenshot-facedetect.jpg', 'screenshot-faceid.jpg', 'screenshot-vrm.jpg']) crops.push({ file: f });
  }
  const decoded = new Map<string, { width: number; height: number; data: Uint8Array }>();
  const out: tf.Tensor[] = [];
  for (const c of crops) {
    if (!decoded.has(c.file)) decoded.set(c.file, jpeg.decode(readFileSync(join(dir, c.file)), { useTArray: true, formatAsRGBA: true }) as { width: number; height: number; data: Uint8Array });
    const img = decoded.get(c.file)!;
    out.push(tf.tidy(() => {
      const rgba = tf.tensor3d(img.data, [img.height, img.width, 4], 'int32');
      let rgb = tf.slice(rgba, [0, 0, 0], [img.height, img.width, 3]).toFloat();
      if (c.box) rgb = tf.slice(rgb, [c.box[0], c.box[1], 0], [Math.min(c.box[2], img.height - c.box[0]), Math.min(c.box[3], img.width - c.box[1]), 3]);
      const up = tf.image.resizeBilinear(rgb.expandDims(0) as tf.Tensor4D, [h, w]).mul(scale);
      return nchw ? tf.transpose(up, [0, 3, 1, 2]) : up;
    }));
  }
  const all = tf.concat(out);
  const images = Float32Array.from(all.dataSync());
  const shape = all.shape;
  tf.dispose([all, ...out]);
  return { images, shape };
}

/** Every output of an ONNX model in onnxruntime-node, image by image (detector tails reshape to a batch of 1). */
export async function runPerImage(bytes: Uint8Array, inputName: string, imgs: ImageSet): Promise<Map<string, OutputTensor>[]> {
  const session = await ort.InferenceSession.create(bytes);
  const per = imgs.shape.slice(1).reduce((a, b) => a * b, 1);
  const all: Map<string, OutputTensor>[] = [];
  for (let i = 0; i < imgs.shape[0]; i++) {
    const r = await session.run({ [inputName]: new ort.Tensor('float32', imgs.images.slice(i * per, (i + 1) * per), [1, ...imgs.shape.slice(1)]) });
    all.push(new Map(Object.entries(r).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.dims].map(Number) }])));
  }
  await session.release();
  return all;
}

/**
 * Each image's detections above `threshold`, decoded with the layout of `g` (the float graph), the same
 * without NMS (`raw`: a dense head's every cell above the threshold; other layouts alike), the output
 * shapes, and `at(t)`: the detections above another threshold.
 */
export async function detections(bytes: Uint8Array, g: Graph, imgs: ImageSet, threshold: number): Promise<{ dets: Detection[][]; raw: Detection[][]; shapes: Record<string, number[]>; at: (t: number) => Detection[][] }> {
  const layout = detectionLayout(g)!;
  const outs = await runPerImage(bytes, g.inputs[0].name, imgs);
  const shapes = Object.fromEntries([...(outs[0] ?? new Map<string, OutputTensor>())].map(([k, t]) => [k, t.dims]));
  const at = (t: number) => outs.map((o) => decodeDetections(layout, o, 0, t));
  return { dets: at(threshold), raw: outs.map((o) => decodeDetections(layout, o, 0, threshold, null)), shapes, at };
}
