import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes } from '../data/bytes.js';
import type { ModelFile } from '../ir/types.js';
import type { ModelJson, WeightSpec } from '../importers/tfjs/modelJson.js';
import type { InputNormalization } from '../pipeline/types.js';
import { weightByteLength } from '../importers/tfjs/weights.js';
import { nsfwjsModelFiles } from './nsfwjsModels.js';

/**
 * A labelled MobileNetV2 for CIFAR-10 without training a backbone: nsfwjs's Keras MobileNetV2 (ImageNet-style
 * backbone, 224x224 NHWC, pixels / 255) cut after its global average pool (average_pooling2d_1 7x7 ->
 * flatten_1: 1280 features), with a linear probe Dense(1280 -> 10, logits) in place of nsfwjs's
 * dense_1..dense_3 classifier. The probe is fit by scripts/fit-mobilenet-cifar-probe.ts and committed in
 * models/mobilenetv2-cifar-probe/ (head.bin + head.json); the backbone comes from the nsfwjs devDependency,
 * so the repo holds only the 51 KB head. The result is one TF.js layers model (model.json + shards), the
 * form a user would drop. Node-only (benchmarks, tests, the fitting script).
 */

/** The layer whose output is the 1280 pooled features; everything after it is nsfwjs's own classifier. */
export const BACKBONE_OUTPUT_LAYER = 'flatten_1';
export const PROBE_LAYER = 'cifar10_probe';
export const PROBE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models/mobilenetv2-cifar-probe');

/** nsfwjs feeds pixels / 255: no mean, no std (the probe was fit on images prepared so). */
export const PROBE_NORMALIZATION: InputNormalization = { mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255 };

/** A Dense layer's weights: kernel [inputs, units] row-major (Keras layout), bias [units]. */
export interface DenseHead {
  inputs: number;
  units: number;
  kernel: Float32Array;
  bias: Float32Array;
}

interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

/**
 * The nsfwjs MobileNetV2 as model files, cut at flatten_1 (output: [N, 1280] features) or, with `head`,
 * ending in the Dense probe (output: [N, units] logits). Weights of the dropped layers are removed from the
 * manifest and the shard (the importer checks that shards hold exactly what the manifest lists).
 */
export function mobileNetV2ProbeFiles(head: DenseHead | null): ModelFile[] {
  const { json, weightData } = nsfwjsModelFiles('mobilenet_v2');
  const model = structuredClone(json) as ModelJson & { modelTopology: { model_config: { config: { layers: KerasLayer[]; output_layers: unknown[] } } } };
  const config = model.modelTopology.model_config.config;
  const cut = config.layers.findIndex((l) => l.name === BACKBONE_OUTPUT_LAYER);
  if (cut < 0) throw new Error(`nsfwjs mobilenet_v2 has no layer ${BACKBONE_OUTPUT_LAYER}: not the nsfwjs@4.4.0 model this probe was fit on`);
  const dropped = new Set(config.layers.slice(cut + 1).map((l) => l.name));
  config.layers = config.layers.slice(0, cut + 1);
  let outputLayer = BACKBONE_OUTPUT_LAYER;
  if (head) {
    config.layers.push({
      name: PROBE_LAYER,
      class_name: 'Dense',
      config: { name: PROBE_LAYER, trainable: false, units: head.units, activation: 'linear', use_bias: true },
      inbound_nodes: [[[BACKBONE_OUTPUT_LAYER, 0, 0, {}]]],
    });
    outputLayer = PROBE_LAYER;
  }
  config.output_layers = [[outputLayer, 0, 0]];

  // Keep the shard bytes of the backbone's weights only, in manifest order.
  const [group] = model.weightsManifest!;
  const all = new Uint8Array(weightData);
  const kept: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const w of group.weights) {
    const n = weightByteLength(w);
    if (!dropped.has(w.name.split('/')[0])) {
      kept.push(w);
      parts.push(all.subarray(offset, offset + n));
    }
    offset += n;
  }
  const backbone = concatBytes(parts);
  model.weightsManifest = [{ paths: ['backbone.bin'], weights: kept }];
  const files: ModelFile[] = [{ name: 'backbone.bin', bytes: backbone }];
  if (head) {
    model.weightsManifest.push({
      paths: ['probe.bin'],
      weights: [
        { name: `${PROBE_LAYER}/kernel`, shape: [head.inputs, head.units], dtype: 'float32' },
        { name: `${PROBE_LAYER}/bias`, shape: [head.units], dtype: 'float32' },
      ],
    });
    files.push({ name: 'probe.bin', bytes: concatBytes([bytesOf(head.kernel), bytesOf(head.bias)]) });
  }
  return [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(model)) }, ...files];
}

/** The committed head: head.bin (float32 little-endian kernel [1280, 10] row-major, then bias [10]) and head.json. */
export function readProbeHead(dir = PROBE_DIR): DenseHead {
  const meta = JSON.parse(readFileSync(join(dir, 'head.json'), 'utf8')) as { inputs: number; units: number };
  const b = readFileSync(join(dir, 'head.bin'));
  const values = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  if (values.length !== meta.inputs * meta.units + meta.units) throw new Error(`${dir}/head.bin holds ${values.length} floats, head.json says ${meta.inputs} x ${meta.units} + ${meta.units}`);
  return { inputs: meta.inputs, units: meta.units, kernel: values.slice(0, meta.inputs * meta.units), bias: values.slice(meta.inputs * meta.units) };
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
