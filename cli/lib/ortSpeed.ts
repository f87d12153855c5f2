/**
 * Inference speed in onnxruntime-node (CPU EP): images per second of one or more models on the same
 * batch, at a given intra-op thread count. The models are timed in alternating rounds, so that load from
 * other processes on a shared machine hits them alike; each model's figure is the best round (the least
 * disturbed one), each round at least `minRoundSeconds` long. Node-only.
 */
import * as ort from 'onnxruntime-node';
import { createOrtSession } from './ort.js';

export interface SpeedOptions {
  threads: number;
  /** Images per run (default 256). */
  batch?: number;
  rounds?: number;
  minRoundSeconds?: number;
}

export interface SpeedResult {
  imagesPerSecond: number;
  /** All rounds, for the spread. */
  rounds: number[];
}

/** `images`: NCHW float batch (at least one image; repeated to fill the batch). */
export async function imagesPerSecond(models: (string | Uint8Array)[], images: Float32Array, imageDims: readonly number[], o: SpeedOptions): Promise<SpeedResult[]> {
  const batch = o.batch ?? 256;
  const per = imageDims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * per);
  const have = Math.max(1, Math.floor(images.length / per));
  for (let i = 0; i < batch; i++) data.set(images.subarray((i % have) * per, (i % have + 1) * per), i * per);
  const sessions = await Promise.all(models.map((m) => createOrtSession(m, { threads: o.threads })));
  try {
    const feeds = sessions.map((s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', data, [batch, ...imageDims]) }));
    const run = async (i: number) => {
      const out = await sessions[i].run(feeds[i]);
      for (const t of Object.values(out)) t.dispose?.();
    };
    for (let i = 0; i < sessions.length; i++) await run(i); // warm-up: first-run allocations, packed weights
    const rounds: number[][] = sessions.map(() => []);
    for (let r = 0; r < (o.rounds ?? 3); r++) {
      for (let i = 0; i < sessions.length; i++) {
        const t0 = performance.now();
        let n = 0;
        while (n === 0 || performance.now() - t0 < 1000 * (o.minRoundSeconds ?? 1)) {
          await run(i);
          n++;
        }
        rounds[i].push((n * batch) / ((performance.now() - t0) / 1000));
      }
    }
    return rounds.map((rs) => ({ imagesPerSecond: Math.max(...rs), rounds: rs }));
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}
