import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importModel } from '../importers/index.js';
import { cifarFixture } from '../testing/fixtures.js';
import { nsfwjsModelFiles } from '../testing/nsfwjsModels.js';
import { MIN_IMAGES, imagesForModelCost } from './modelCostDefaults.js';

describe('W8A8 synthetic image count scaled to the model', () => {
  it('keeps 64 for ResNet-20 (2.6 MiB of activations per image)', () => {
    const graph = importModel([{ name: 'r.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }]);
    expect(imagesForModelCost(graph, 64, 40)).toEqual({ images: 64 });
  });

  it('halves it for MobileNetV2-224 (84 MiB per image) and says why; fewer steps leave room for the default', () => {
    const graph = importModel(nsfwjsModelFiles('mobilenet_v2').files);
    const r = imagesForModelCost(graph, 64, 40);
    expect(r.images).toBe(32);
    expect(r.reason).toMatch(/^32 synthetic images x 40 steps instead of 64: this model computes 84 MiB of activations per image/);
    expect(imagesForModelCost(graph, 64, 10)).toEqual({ images: 64 });
    // never below the floor, however costly
    expect(imagesForModelCost(graph, 64, 400).images).toBe(MIN_IMAGES);
  });
});
