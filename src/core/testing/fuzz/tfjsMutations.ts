import type { ModelFile } from '../../ir/types.js';
import type { SeededRandom } from '../../synth/prng.js';
import { BYTE_MUTATIONS } from './onnxMutations.js';

/**
 * Edits of a TF.js model (model.json + weight shards): manifest and topology edits at the JSON level,
 * shard length edits, and byte flips of either file.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const pick = <T>(rng: SeededRandom, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)];

const JUNK: Json[] = [null, -1, 0, 1, 2.5, 1e6, 1e9, -1e9, '', 'x', '^x', 'same', 'valid', [], {}, true, [-1], [0, 0], [null, 1e6, 9, 3], { dtype: 'uint8' }];

/** Every (container, key) in a JSON tree, so that a random one can be replaced. */
function slots(root: Json, out: { parent: Json[] | { [k: string]: Json }; key: string | number; depth: number }[] = [], depth = 0) {
  if (root && typeof root === 'object') {
    if (Array.isArray(root)) root.forEach((v, i) => (out.push({ parent: root, key: i, depth }), slots(v, out, depth + 1)));
    else for (const [k, v] of Object.entries(root)) out.push({ parent: root, key: k, depth }), slots(v, out, depth + 1);
  }
  return out;
}

function replaceSomewhere(root: Json, rng: SeededRandom): void {
  const all = slots(root);
  if (!all.length) return;
  const s = pick(rng, all);
  const cur = (s.parent as Record<string, Json>)[s.key as string];
  let v: Json;
  if (typeof cur === 'number' && rng.next() < 0.5) v = pick(rng, [0, -1, cur * 2, cur + 1, 1e6, 0.5]);
  else if (Array.isArray(cur) && cur.length && rng.next() < 0.5) v = rng.next() < 0.5 ? cur.slice(1) : [...cur, cur[0]];
  else v = structuredClone(pick(rng, JUNK));
  if (Array.isArray(s.parent) && rng.next() < 0.1) s.parent.splice(s.key as number, 1);
  else if (!Array.isArray(s.parent) && rng.next() < 0.1) delete s.parent[s.key as string];
  else (s.parent as Record<string, Json>)[s.key as string] = v;
}

type JsonMutation = (model: { [k: string]: Json }, rng: SeededRandom) => void;

export const TFJS_JSON_MUTATIONS: Record<string, JsonMutation> = {
  topology(model, rng) {
    replaceSomewhere(model.modelTopology, rng);
  },
  topologyTwice(model, rng) {
    replaceSomewhere(model.modelTopology, rng);
    replaceSomewhere(model.modelTopology, rng);
  },
  manifest(model, rng) {
    if (rng.next() < 0.15) model.weightsManifest = structuredClone(pick(rng, JUNK));
    else replaceSomewhere(model.weightsManifest, rng);
  },
  weightShape(model, rng) {
    const groups = model.weightsManifest as { weights: { shape: Json }[] }[];
    const w = pick(rng, groups[0].weights);
    w.shape = pick(rng, [[-1], [0], [1e6, 1e6], [2.5], ['3'], [], null, [2 ** 31]] as Json[]);
  },
  weightQuantization(model, rng) {
    const groups = model.weightsManifest as { weights: { quantization?: Json; dtype: Json }[] }[];
    const w = pick(rng, groups[0].weights);
    w.quantization = pick(rng, [{ dtype: 'uint8' }, { dtype: 'uint8', scale: NaN, min: 0 }, { dtype: 'uint16', scale: 1e38, min: 0 }, { dtype: 'float16' }, { dtype: 'int4' }, null] as Json[]);
  },
  controlInput(model, rng) {
    const nodes = (model.modelTopology as { node?: { input?: string[] }[] }).node;
    if (!nodes) return replaceSomewhere(model.modelTopology, rng);
    const n = pick(rng, nodes);
    (n.input ??= []).push(pick(rng, ['^' + pick(rng, nodes as { name?: string }[]).name, '^x', 'x:3', '^']));
  },
  layerConfig(model, rng) {
    const topo = model.modelTopology as { config?: { layers?: { config?: Record<string, Json> }[] }; node?: { attr?: Record<string, { list?: { i?: Json[] }; i?: Json; f?: Json }> }[] };
    const layers = topo.config?.layers;
    if (layers?.length) {
      const config = pick(rng, layers).config ?? {};
      const keys = Object.keys(config);
      if (!keys.length) return;
      config[pick(rng, keys)] = structuredClone(pick(rng, [0, -1, 1e6, [0, 0], [-1, 1], [1e6, 1e6], [3, 3, 3], 'bogus', 'channels_first', null] as Json[]));
      return;
    }
    const nodes = (topo.node ?? []).filter((n) => n.attr && Object.keys(n.attr).length);
    if (!nodes.length) return replaceSomewhere(model.modelTopology, rng);
    const attr = pick(rng, nodes).attr!;
    const a = attr[pick(rng, Object.keys(attr))];
    if (a.list?.i) a.list.i = a.list.i.map((v) => (rng.next() < 0.5 ? pick(rng, ['0', '-1', '1000000']) : v));
    else if (a.i !== undefined) a.i = pick(rng, ['0', '-1', '1000000', 'x']);
    else if (a.f !== undefined) a.f = pick(rng, [-1, 1e30, 'NaN']);
    else replaceSomewhere(a as Json, rng);
  },
  inputShape(model, rng) {
    const text = JSON.stringify(model.modelTopology);
    const big = pick(rng, ['1000000', '0', '-5', '100000', '1e9']);
    // the declared input size: the first "batch_input_shape" (layers) or "dim" size (graph) entry
    const edited = text.replace(/"batch_input_shape":\[null,(\d+)/, `"batch_input_shape":[null,${big}`).replace(/"dim":\[\{"size":"-1"\},\{"size":"(\d+)"\}/, `"dim":[{"size":"-1"},{"size":"${big}"}`);
    model.modelTopology = JSON.parse(edited);
  },
};

/** One mutated TF.js model: model.json edited as JSON, a shard's length changed, or bytes of a file flipped. */
export function mutateTfjs(files: ModelFile[], rng: SeededRandom): { kind: string; files: ModelFile[] } {
  const kinds = [...Object.keys(TFJS_JSON_MUTATIONS), 'shardExtraBytes', 'shardShort', 'shardMissing', 'shardFlips', 'jsonFlips', 'jsonTruncate'];
  const kind = pick(rng, kinds);
  const [json, ...shards] = files;
  const out = files.map((f) => ({ name: f.name, bytes: f.bytes }));
  const shardIdx = 1 + rng.int(0, shards.length - 1);
  switch (kind) {
    case 'shardExtraBytes': {
      const longer = new Uint8Array(out[shardIdx].bytes.length + pick(rng, [1, 4, 64]));
      longer.set(out[shardIdx].bytes);
      out[shardIdx].bytes = longer;
      break;
    }
    case 'shardShort':
      out[shardIdx].bytes = out[shardIdx].bytes.slice(0, out[shardIdx].bytes.length - pick(rng, [1, 4, 64]));
      break;
    case 'shardMissing':
      out.splice(shardIdx, 1);
      break;
    case 'shardFlips':
      out[shardIdx].bytes = BYTE_MUTATIONS.byteFlips(out[shardIdx].bytes, rng);
      break;
    case 'jsonFlips':
      out[0].bytes = BYTE_MUTATIONS.byteFlips(json.bytes, rng);
      break;
    case 'jsonTruncate':
      out[0].bytes = BYTE_MUTATIONS.truncate(json.bytes, rng);
      break;
    default: {
      const model = JSON.parse(new TextDecoder().decode(json.bytes));
      TFJS_JSON_MUTATIONS[kind](model, rng);
      out[0].bytes = new TextEncoder().encode(JSON.stringify(model));
    }
  }
  return { kind, files: out };
}
