/**
 * Timing of adaptiveRounding for one ResNet-20-sized layer (C_out=64, K=576, 1000 iterations) on the
 * plain-JS engine and on the tfjs engine with the wasm and cpu backends.
 * Run: npx tsx bench/adaroundTiming.ts [iterations] [cOut] [k]
 * (ADAROUND_ENGINES=js,hybrid-wasm,tfjs-wasm,tfjs-cpu picks the runs; tfjs-cpu takes minutes.)
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { adaptiveRounding, type AdaRoundProblem } from '../src/core/algos/adaptiveRounding';
import { perChannelWeightScales } from '../src/core/quant/weightScale';

const iterations = Number(process.argv[2] ?? 1000);
const cOut = Number(process.argv[3] ?? 64);
const k = Number(process.argv[4] ?? 576);

function problem(): AdaRoundProblem {
  let s = 12345;
  const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const n = 2 * k;
  const x = tf.tidy(() => tf.relu(tf.randomNormal([n, k], 0.2, 1, 'float32', 1)));
  const xq = tf.tidy(() => x.add(tf.randomNormal([n, k], 0, 0.05, 'float32', 2)));
  const G = tf.tidy(() => tf.matMul(xq, xq, true, false).div(n));
  const C = tf.tidy(() => tf.matMul(xq, x, true, false).div(n));
  const H = tf.tidy(() => tf.matMul(x, x, true, false).div(n));
  const moments = { k, G: G.dataSync() as Float32Array, C: C.dataSync() as Float32Array, H: H.dataSync() as Float32Array };
  tf.dispose([x, xq, G, C, H]);
  const w = new Float32Array(cOut * k).map(() => (r() - 0.5) * 0.2);
  return { weights: w, cOut, scales: perChannelWeightScales(w, cOut, { bits: 4 }), qmin: -8, qmax: 7, moments };
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const p = problem();
  const which = (process.env.ADAROUND_ENGINES ?? 'js,hybrid-wasm,tfjs-wasm,tfjs-cpu').split(',');
  const all: [string, 'js' | 'hybrid' | 'tfjs', string][] = [['js', 'js', 'cpu'], ['hybrid-wasm', 'hybrid', 'wasm'], ['tfjs-wasm', 'tfjs', 'wasm'], ['tfjs-cpu', 'tfjs', 'cpu']];
  const runs = all.filter(([label]) => which.includes(label));
  for (const [label, engine, backend] of runs) {
    await tf.setBackend(backend);
    await tf.ready();
    const res = await adaptiveRounding(p, { iterations, engine, progressEvery: iterations });
    console.log(`${label.padEnd(10)} C_out=${cOut} K=${k} iters=${iterations}: ${res.seconds.toFixed(2)} s  adaptive/nearest loss ${(res.adaptiveLoss / res.nearestLoss).toFixed(4)}  flipped ${(100 * res.flippedFraction).toFixed(1)}%`);
  }
}

void main();
