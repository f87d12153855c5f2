/**
 * bench:speed's MobileNetV2-224 row: the Keras MobileNetV2 that nsfwjs@4.4.0 ships (224x224, pixels / 255;
 * src/core/testing/nsfwjsModels.ts) quantized W8A8 with the CLI's defaults, end to end through runPipeline
 * with the CLI's run options (cli/lib/runOptions.ts: forward-only passes on onnxruntime-node, synthesis
 * batches on a worker thread per core), and each stage's wall and CPU seconds. process.cpuUsage counts
 * every thread of the process (synthesis workers, ORT's threads), so CPU seconds are the work done whatever
 * else loads the machine; wall seconds on an idle machine come close to CPU / cores used.
 *
 * Inside the pipeline's rounding stage the range pass, the channel-noise pass and the rounding proper follow
 * each other: their wall seconds come from the report; CPU is split at the first layer event (ranges and
 * channel noise together, then rounding).
 */
import { availableParallelism } from 'node:os';
import { cliRunOptions } from '../../cli/lib/runOptions.js';
import { defaultPipelineConfig } from '../../src/core/pipeline/defaults.js';
import { runPipeline } from '../../src/core/pipeline/run.js';
import type { PipelineEvent } from '../../src/core/pipeline/types.js';
import { nsfwjsModelFiles } from '../../src/core/testing/nsfwjsModels.js';

export interface StageTime {
  stage: string;
  wall: number;
  /** CPU seconds of all threads; absent where only the wall time can be told apart. */
  cpu?: number;
}

export interface MobileNetSpeed {
  model: string;
  config: { images: number; steps: number; synthesisBatch?: number; calibrationBatch: number; workers?: number; forwardEngine?: string; cores: number };
  stages: StageTime[];
  total: { wall: number; cpu: number };
  agreement: number;
  endBnLoss?: number;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Runs the row; `images`/`steps` override the W8A8 defaults (a quick check of the bench itself). */
export async function mobilenetDefaultsSpeed(o: { images?: number; steps?: number; log?: (m: string) => void } = {}): Promise<MobileNetSpeed> {
  const log = o.log ?? (() => {});
  const { files } = nsfwjsModelFiles('mobilenet_v2');
  const cfg = defaultPipelineConfig();
  cfg.backend = 'wasm';
  // nsfwjs feeds pixels / 255 (localquant quantize --mean 0,0,0 --std 1,1,1)
  cfg.normalization = { mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255 };
  cfg.quant.keepFirstLast8bit = false;
  if (o.images) cfg.calibration.images = o.images;
  if (o.steps) cfg.calibration.steps = o.steps;
  const stages: StageTime[] = [];
  const open = new Map<string, { wall: number; cpu: number }>();
  let roundingCpu: { start: number; firstLayer?: number } | undefined;
  const t0 = performance.now();
  const c0 = cpuSeconds();
  let lastLog = 0;
  const onEvent = (e: PipelineEvent) => {
    if (e.type === 'stage' && e.status === 'start') {
      open.set(e.stage, { wall: performance.now(), cpu: cpuSeconds() });
      if (e.stage === 'rounding') roundingCpu = { start: cpuSeconds() };
    } else if (e.type === 'stage' && e.status === 'end') {
      const s = open.get(e.stage)!;
      stages.push({ stage: e.stage, wall: (performance.now() - s.wall) / 1000, cpu: cpuSeconds() - s.cpu });
      log(`mobilenet_v2 W8A8 defaults: ${e.stage} ${stages.at(-1)!.wall.toFixed(1)} s wall, ${stages.at(-1)!.cpu!.toFixed(1)} CPU s`);
    } else if (e.type === 'layer' && roundingCpu && roundingCpu.firstLayer === undefined) roundingCpu.firstLayer = cpuSeconds();
    else if (e.type === 'synth-step' && performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      log(`  synthesis batch ${e.batch + 1}/${e.batches} step ${e.step + 1}/${e.steps} BN loss ${e.bnLoss.toFixed(1)}`);
    }
  };
  const r = await runPipeline(files, cfg, onEvent, undefined, cliRunOptions({ forwardEngine: 'ort', backend: 'wasm' }));
  const total = { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 };
  // the rounding stage split into its passes (wall from the report; CPU at the first layer event)
  const sec = r.report.seconds as Record<string, number>;
  const i = stages.findIndex((s) => s.stage === 'rounding');
  if (i >= 0 && roundingCpu?.firstLayer !== undefined) {
    const whole = stages[i];
    const beforeLayers = roundingCpu.firstLayer - roundingCpu.start;
    stages.splice(i, 1,
      { stage: 'ranges', wall: sec.ranges },
      { stage: 'channel-noise pass', wall: sec.channelNoise },
      { stage: 'ranges + channel-noise', wall: sec.ranges + sec.channelNoise, cpu: beforeLayers },
      { stage: 'rounding (layers)', wall: whole.wall - sec.ranges - sec.channelNoise, cpu: whole.cpu! - beforeLayers });
  }
  return {
    model: 'nsfwjs@4.4.0 mobilenet_v2 (Keras MobileNetV2 224x224, 52 BN, 5 classes)',
    config: {
      images: r.config.calibration.images, steps: r.config.calibration.steps, synthesisBatch: r.report.calibration.batch, calibrationBatch: r.config.calibration.batch,
      workers: r.report.calibration.workers, forwardEngine: r.report.forwardEngine, cores: availableParallelism(),
    },
    stages,
    total,
    agreement: r.agreement,
    endBnLoss: r.report.calibration.endBnLoss,
  };
}

/** The row as a markdown table. */
export function mobilenetSpeedTable(m: MobileNetSpeed): string {
  const c = m.config;
  const lines = [
    `\n${m.model}: W8A8 defaults (${c.images} images x ${c.steps} steps, synthesis batch ${c.synthesisBatch ?? '-'} on ${c.workers ?? 1} thread(s), calibration batch ${c.calibrationBatch}, forward passes on ${c.forwardEngine ?? 'tfjs'}; ${c.cores} cores)\n`,
    '| stage | wall s | CPU s (all threads) |', '|---|---|---|',
    ...m.stages.map((s) => `| ${s.stage} | ${s.wall.toFixed(1)} | ${s.cpu === undefined ? '' : s.cpu.toFixed(1)} |`),
    `| total | ${m.total.wall.toFixed(1)} | ${m.total.cpu.toFixed(1)} |`,
    `\ntop-1 agreement on the calibration images ${(100 * m.agreement).toFixed(1)} %, synthesis BN loss at the end ${m.endBnLoss?.toFixed(1) ?? '-'}; target: total wall <= 900 s`,
  ];
  return lines.join('\n');
}
