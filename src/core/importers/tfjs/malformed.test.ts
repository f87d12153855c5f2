import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError, type LocalQuantError } from '../../errors.js';
import type { ModelFile } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { convNetGraph, SIGNATURE } from './graph/graphDefBuilder.js';
import { importTfjs } from './index.js';
import { randomizeBatchNorms, sequentialConvNet } from './layers/testModels.js';
import { jsonFile, saveLayersModel } from './testSupport.js';

/** Malformed TF.js models: manifest, shards and topology edits end in typed errors that say what is wrong. */

let layers: ModelFile[];
const graph = () => convNetGraph().files(SIGNATURE).files;

beforeAll(async () => {
  await initBackend('wasm');
  const m = sequentialConvNet();
  randomizeBatchNorms(m);
  layers = await saveLayersModel(m);
  m.dispose();
});

function refusal(files: ModelFile[]): LocalQuantError {
  try {
    importTfjs(files);
  } catch (e) {
    if (isLocalQuantError(e)) return e as LocalQuantError;
    throw new Error(`expected a LocalQuantError, got ${String(e)}`);
  }
  throw new Error('expected a LocalQuantError, got none');
}

/** The files with model.json edited as JSON. */
function editJson(files: ModelFile[], edit: (j: Record<string, any>) => void): ModelFile[] {
  const j = JSON.parse(new TextDecoder().decode(files[0].bytes));
  edit(j);
  return [jsonFile(files[0].name, j), ...files.slice(1)];
}

describe('importTfjs on malformed models', () => {
  it('the intact models import', () => {
    expect(importTfjs(layers).format).toBe('tfjs-layers');
    expect(importTfjs(graph()).format).toBe('tfjs-graph');
  });

  const manifestCases: [string, (j: Record<string, any>) => void, RegExp][] = [
    ['paths that are not a list', (j) => (j.weightsManifest[0].paths = 'weights.bin'), /group 1 has no list of shard paths/],
    ['a manifest that is not a list', (j) => (j.weightsManifest = { paths: [] }), /must be a list of weight groups/],
    ['a weight without a shape', (j) => delete j.weightsManifest[0].weights[0].shape, /has no valid shape/],
    ['a negative dimension', (j) => (j.weightsManifest[0].weights[0].shape = [3, -1]), /dimension -1 is not a non-negative integer/],
    ['an unknown dtype', (j) => (j.weightsManifest[0].weights[1].dtype = 'float64'), /has dtype "float64"/],
    ['a quantization scale that is not finite', (j) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 'x', min: 0 }), /quantization scale x/],
  ];
  for (const [what, edit, message] of manifestCases) {
    it(`manifest: ${what}`, () => {
      const e = refusal(editJson(layers, edit));
      expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(message)]);
    });
  }

  it('a shard with extra bytes is refused (weights would be read at wrong offsets), a short one too', () => {
    const [json, shard] = layers;
    const longer = new Uint8Array(shard.bytes.length + 4);
    longer.set(shard.bytes);
    const e = refusal([json, { name: shard.name, bytes: longer }]);
    expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(new RegExp(`has ${longer.length} bytes but its \\d+ weights need ${shard.bytes.length} bytes`))]);
    expect(refusal([json, { name: shard.name, bytes: shard.bytes.slice(0, -4) }]).code).toBe('MISSING_FILE');
  });

  it('a topology field of the wrong type is a typed INVALID_MODEL, not a TypeError', () => {
    const e = refusal(editJson(layers, (j) => (j.modelTopology.config.layers = 7)));
    expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(/^The modelTopology of 'model.json' is malformed \(TypeError: /)]);
    const g = refusal(editJson(graph(), (j) => (j.modelTopology.node = j.modelTopology.node.map((n: Record<string, unknown>) => (n.name === 'conv1/Relu' ? { ...n, attr: { strides: 5 } } : n)))));
    expect([g.code, g.message]).toEqual(['INVALID_MODEL', expect.stringMatching(/^Node 'conv1\/Relu' \(_FusedConv2D\) has a malformed attribute 'strides': 5/)]);
  });

  it('an inline constant whose content is not base64 names the problem', () => {
    const files = editJson(graph(), (j) => j.modelTopology.node.push({ name: 'c', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '1' }] }, tensorContent: '!!not base64!!' } } } }, { name: 'use', op: 'AddV2', input: ['Identity', 'c'], attr: { T: { type: 'DT_FLOAT' } } }));
    const noSig = editJson(files, (j) => delete j.userDefinedMetadata);
    const e = refusal(noSig);
    expect([e.code, e.message]).toEqual(['INVALID_MODEL', expect.stringMatching(/should be base64 but is not/)]);
  });

  it('a control input (^node) does not break the graph reader', () => {
    const files = editJson(graph(), (j) => j.modelTopology.node.find((n: { name: string }) => n.name === 'softmax').input.push('^conv1/Relu'));
    expect(importTfjs(files).outputs.map((o) => o.name)).toEqual(['Identity']);
  });

  it('a kernel_size or units that does not describe the stored weight is refused naming the layer', () => {
    const conv = refusal(editJson(layers, (j) => (j.modelTopology.config.layers[0].config.kernel_size = [-1, 1])));
    expect([conv.code, conv.message]).toEqual(['INVALID_MODEL', expect.stringMatching(/Layer 'conv2d_Conv2D1' \(Conv2D\) has kernel_size \[-1,1\], but its weight has shape \[3, 3, 3, 4\]/)]);
    const dense = refusal(editJson(layers, (j) => (j.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === 'Dense').config.units = 99)));
    expect(dense.message).toMatch(/\(Dense\) has units 99/);
  });

  it('an input declared 10^6 pixels high is TOO_LARGE at import', () => {
    const e = refusal(editJson(layers, (j) => (j.modelTopology.config.layers[0].config.batch_input_shape = [null, 1e6, 9, 3])));
    expect([e.code, e.message]).toEqual(['TOO_LARGE', expect.stringMatching(/dimension 1 is 1000000/)]);
  });
});
