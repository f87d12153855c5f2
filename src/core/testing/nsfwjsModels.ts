import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ModelFile } from '../ir/types.js';
import type { ModelJson } from '../importers/tfjs/modelJson.js';

/**
 * Real trained models that an npm package ships inside itself: nsfwjs@4.4.0 (a devDependency, no install
 * scripts, nothing downloads) bundles
 *  - dist/models/mobilenet_v2/     Keras 2.2.4 MobileNetV2 layers model (224x224, pixels / 255, 52 BatchNormalization, 5 classes)
 *  - dist/models/inception_v3/     Keras 2.2.4 InceptionV3 layers model (94 BatchNormalization, 6 shards)
 *  - dist/models/mobilenet_v2_mid/ graph model (TF Hub MobileNetV2, _FusedConv2D / FusedDepthwiseConv2dNative)
 * each as model.min.js (the model.json object) and group1-shardNofM.min.js (base64 shard strings).
 * NSFWJS_DIR may point at another unpacked copy. Node-only (tests, benchmarks).
 */
export type NsfwjsModel = 'mobilenet_v2' | 'inception_v3' | 'mobilenet_v2_mid';

const require = createRequire(import.meta.url);

function nsfwjsDir(): string {
  if (process.env.NSFWJS_DIR && existsSync(join(process.env.NSFWJS_DIR, 'dist/models'))) return process.env.NSFWJS_DIR;
  // A missing devDependency fails here (npm ci installs it): tests using it never skip.
  // The package's "exports" hide package.json: walk up from its entry point to the folder with dist/models.
  let dir = dirname(require.resolve('nsfwjs'));
  while (!existsSync(join(dir, 'dist/models')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The model files as a user would drop them (model.json and the binary shards its manifest names), the parsed JSON and all shards concatenated. */
export function nsfwjsModelFiles(model: NsfwjsModel): { files: ModelFile[]; json: ModelJson; weightData: ArrayBuffer } {
  const dir = join(nsfwjsDir(), 'dist/models', model);
  const json = require(join(dir, 'model.min.js')) as ModelJson;
  const files: ModelFile[] = [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(json)) }];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const path of group.paths) {
      const b64 = require(join(dir, `${path}.min.js`)) as string;
      const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
      files.push({ name: path, bytes });
      parts.push(bytes);
    }
  }
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return { files, json, weightData: all.buffer };
}
