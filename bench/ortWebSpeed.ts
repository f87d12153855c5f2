/**
 * bench:ortweb — what an export buys where the app verifies it and a web user deploys it: images/s of each
 * model in onnxruntime-web (wasm, 1 thread, as in a page that is not cross-origin isolated) run in Node,
 * timed in alternating rounds in the same run (best of 5 runs per round, batch 32, 3x32x32 inputs). The first
 * model is the reference of the speed ratio. (Per-operator times: ORT's enableProfiling in a plain Node ESM
 * script prints the trace on stdout; under tsx it printed nothing.)
 * Prints a table, writes bench-results/ortweb-speed.json (--out).
 *
 * Run: npx tsx bench/ortWebSpeed.ts FLOAT.onnx EXPORT.onnx [...] [--out FILE]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
// the Node build of onnxruntime-web: the same wasm kernels as in the page
import * as ort from 'onnxruntime-web';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args.splice(outAt, 2)[1] : 'bench-results/ortweb-speed.json';
const models = args;
if (models.length < 2) throw new Error('usage: ortWebSpeed.ts FLOAT.onnx EXPORT.onnx [...]');
ort.env.wasm.numThreads = 1;
const batch = 32;
const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)), [batch, 3, 32, 32]);

async function imagesPerSecond(path: string): Promise<number> {
  const s = await ort.InferenceSession.create(readFileSync(path), { executionProviders: ['wasm'] });
  const feed = { [s.inputNames[0]]: x };
  await s.run(feed);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    await s.run(feed);
    best = Math.min(best, performance.now() - t);
  }
  await s.release();
  return batch / (best / 1000);
}

const speed = new Map<string, number[]>(models.map((m) => [m, []]));
for (let round = 0; round < 2; round++) for (const m of models) speed.get(m)!.push(await imagesPerSecond(m));
const rows = [];
for (const m of models) {
  const best = Math.max(...speed.get(m)!);
  rows.push({ model: m, imagesPerSecond: best, ratio: best / Math.max(...speed.get(models[0])!) });
}
console.log('| model | images/s | vs first |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.model} | ${r.imagesPerSecond.toFixed(0)} | ${r.ratio.toFixed(2)}x |`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ bench: 'ortweb-speed', runtime: `onnxruntime-web ${ort.env.versions.web} (wasm, 1 thread, in Node)`, batch, createdAt: new Date().toISOString(), rows }, null, 1));
console.log(`wrote ${out}`);
