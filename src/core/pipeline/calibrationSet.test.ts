import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importModel } from '../importers/index.js';
import { jsonFile } from '../importers/tfjs/testSupport.js';
import { initBackend } from '../runtime/backends.js';
import { prepareUserImages } from '../synth/userImages.js';
import { calibrationSet } from './calibrationSet.js';
import { defaultPipelineConfig } from './defaults.js';
import type { PipelineConfig, RgbaImage } from './types.js';

/** A Keras-style NHWC model (TF.js layers format) with a 12x10 RGB input. */
async function nhwcModel() {
  const m = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [12, 10, 3], filters: 4, kernelSize: 3, activation: 'relu' }),
    tf.layers.batchNormalization(),
    tf.layers.flatten(),
    tf.layers.dense({ units: 5 }),
  ] });
  let art: tf.io.ModelArtifacts | undefined;
  await m.save(tf.io.withSaveHandler(async (a) => {
    art = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  m.dispose();
  return importModel([
    jsonFile('model.json', { format: 'layers-model', modelTopology: art!.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: art!.weightSpecs }] }),
    { name: 'w.bin', bytes: new Uint8Array(art!.weightData as ArrayBuffer) },
  ]);
}

function gradient(width: number, height: number, k: number): RgbaImage {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set([(p * k) % 256, (p * 3) % 256, (k * 40) % 256, 255], p * 4);
  return { width, height, rgba };
}

function config(change: (c: PipelineConfig) => void): PipelineConfig {
  const c = defaultPipelineConfig();
  c.normalization = { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], pixelRange: 255 };
  change(c);
  return c;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('calibrationSet', () => {
  it('puts own images of any size into an NHWC model\'s layout and size', async () => {
    const graph = await nhwcModel();
    expect(graph.interfaceLayout).toBe('NHWC');
    const imgs = [gradient(30, 20, 7), gradient(17, 25, 11)];
    const r = await calibrationSet(graph, config((c) => { c.calibration = { ...c.calibration, source: 'user-images', images: 8, userImages: imgs, userImagesFrom: 'two gradients' }; }), () => {});
    expect(r.set.shape).toEqual([2, 12, 10, 3]);
    expect(r.info).toMatchObject({ method: 'user-images', images: 2, from: 'two gradients' });
    expect(r.synthesized).toBe(false);
    const nchw = prepareUserImages(imgs.map((i) => ({ width: i.width, height: i.height, data: i.rgba })), [3, 12, 10], { normalization: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] } });
    // NHWC element (n, y, x, c) is NCHW element (n, c, y, x).
    for (const [n, y, x, c] of [[0, 0, 0, 0], [0, 5, 7, 2], [1, 11, 9, 1], [1, 3, 2, 0]]) {
      expect(r.set.images[((n * 12 + y) * 10 + x) * 3 + c]).toBe(nchw[((n * 3 + c) * 12 + y) * 10 + x]);
    }
  });

  it('applies the pixel range to own images: range 1 means mean/std in raw 0..255 units', async () => {
    const graph = await nhwcModel();
    const img = gradient(10, 12, 5);
    const at = (range: number, mean: number, std: number) => calibrationSet(graph, config((c) => {
      c.normalization = { mean: [mean, mean, mean], std: [std, std, std], pixelRange: range };
      c.calibration = { ...c.calibration, source: 'user-images', userImages: [img] };
    }), () => {});
    const unit = await at(255, 0.5, 0.25);
    const raw = await at(1, 127.5, 63.75);
    // The same normalization expressed in the two units gives the same model input.
    for (let i = 0; i < unit.set.images.length; i += 37) expect(raw.set.images[i]).toBeCloseTo(unit.set.images[i], 5);
    const wrongUnits = await at(1, 0.5, 0.25);
    expect(Math.max(...wrongUnits.set.images)).toBeGreaterThan(100 * Math.max(...unit.set.images));
  });

  it('checks images handed over by a caller against the model and converts them to its layout', async () => {
    const graph = await nhwcModel();
    const images = Float32Array.from({ length: 2 * 3 * 12 * 10 }, (_, i) => i);
    const r = await calibrationSet(graph, defaultPipelineConfig(), () => {}, undefined, { images, shape: [2, 3, 12, 10], method: 'real' });
    expect(r.set.shape).toEqual([2, 12, 10, 3]);
    expect(r.set.images[1]).toBe(images[120]);
    await expect(calibrationSet(graph, defaultPipelineConfig(), () => {}, undefined, { images: new Float32Array(2 * 3 * 32 * 32), shape: [2, 3, 32, 32], method: 'real' }))
      .rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/\[3, 32, 32\].*\[3, 12, 10\]/) });
  });

  it('records the synthesis batch and steps actually used', async () => {
    const graph = importModel([{ name: 'digits-cnn.onnx', bytes: new Uint8Array(readFileSync(join(__dirname, '../../../public/sample/digits-cnn.onnx'))) }]);
    const r = await calibrationSet(graph, config((c) => { c.calibration = { source: 'synthetic', images: 3, steps: 2, batch: 64 }; }), () => {});
    expect(r.info).toMatchObject({ method: 'bn-statistics', images: 3, batch: 3, steps: 2 });
    expect(r.synthesized).toBe(true);
  });
});
