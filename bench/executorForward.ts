/**
 * Forward-pass time of the tfjs executor on the ResNet-20 fixtures (wasm unless given):
 *   npx tsx bench/executorForward.ts [batch=64] [backend=wasm] [reps=8]
 * "fused": plain execute (Conv+BN+Relu run as one kernel); "hooked": with a no-op hook on every value, which
 * turns the fusion off; "relu-hooked": a no-op hook on the Relu outputs only (hookValues), fusion kept.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import { prepareGraph } from '../src/core/ir/prepare.js';
import { initBackend, type BackendPreference } from '../src/core/runtime/backends.js';
import { GraphExecutor } from '../src/core/runtime/executor.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';

const batch = Number(process.argv[2] ?? 64);
const info = await initBackend((process.argv[3] ?? 'wasm') as BackendPreference);
const reps = Number(process.argv[4] ?? 8);
console.log(`backend: ${info.reason}; batch ${batch}`);
const x = tf.randomNormal([batch, 3, 32, 32]);
for (const file of ['resnet20_bn.onnx', 'resnet20_folded.onnx'] as const) {
  const graph = prepareGraph(importOnnx(new Uint8Array(readFileSync(cifarFixture(file)))), { input: [batch, 3, 32, 32] });
  const ex = new GraphExecutor(graph);
  const reluOutputs = graph.nodes.filter((n) => n.opType === 'Relu').map((n) => n.outputs[0]);
  const variants = [['fused', undefined, undefined], ['hooked', () => undefined, undefined], ['relu-hooked', () => undefined, reluOutputs]] as const;
  for (const [label, hook, hookValues] of variants) {
    const times: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      const res = ex.execute({ input: x }, { hook, hookValues });
      const y = res.outputs.get('logits')!;
      await y.data();
      y.dispose();
      if (r > 0) times.push(performance.now() - t0); // the first run warms up
    }
    times.sort((a, b) => a - b);
    console.log(`${file.padEnd(22)} ${label.padEnd(11)} median ${times[times.length >> 1].toFixed(0)} ms, min ${times[0].toFixed(0)} ms`);
  }
  ex.dispose();
}
x.dispose();
