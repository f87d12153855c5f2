/**
 * The browser pipeline bench page: runs the plan's models through the app's own worker (the same
 * QuantWorkerClient, worker bundle and wasm files as the app), one after another, and posts each run's
 * stage times and report figures to the serving script (serve.py), which writes them to disk.
 * `?probe=LABEL` only reports the WebGPU adapter this browser gets (to pick GPU flags), then stops.
 */
import { QuantWorkerClient } from '../../src/worker/client.js';
import type { RunResult, WorkerEvent } from '../../src/worker/protocol.js';
import type { ModelFile } from '../../src/core/ir/types.js';
import type { AdapterProbe, BenchPlan, BenchRun, BenchRunResult, StageSpan } from './plan.js';

const loaded = performance.now();
const since = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

async function post(path: string, body: unknown): Promise<void> {
  const data = body instanceof Uint8Array ? body : JSON.stringify(body);
  await fetch(path, { method: 'POST', body: data as BodyInit });
}

function log(message: string): void {
  const line = `[${since(loaded).toFixed(1)} s] ${message}`;
  document.getElementById('log')!.textContent += `${line}\n`;
  void post('/log', { line });
}

async function probeAdapter(label: string): Promise<AdapterProbe> {
  const base = { label, userAgent: navigator.userAgent, hardwareConcurrency: navigator.hardwareConcurrency, crossOriginIsolated };
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ...base, webgpu: false, error: 'navigator.gpu is undefined' };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { ...base, webgpu: true, error: 'requestAdapter returned null' };
    // adapter.info (Chrome 114+) is newer than the bundled @webgpu/types.
    const i = (adapter as GPUAdapter & { info: { vendor: string; architecture: string; device: string; description: string } }).info;
    return {
      ...base, webgpu: true,
      adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: (i as { isFallbackAdapter?: boolean }).isFallbackAdapter },
      maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      features: [...adapter.features].sort(),
    };
  } catch (e) {
    return { ...base, webgpu: true, error: String(e) };
  }
}

async function modelFiles(paths: string[]): Promise<ModelFile[]> {
  return Promise.all(paths.map(async (p) => {
    const r = await fetch(p);
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
    return { name: p.split('/').pop()!, bytes: new Uint8Array(await r.arrayBuffer()) };
  }));
}

/** Reads the applied settings and stage seconds from the report.json the worker returns. */
function fromReport(result: RunResult, out: BenchRunResult): Uint8Array | undefined {
  const file = (name: string) => result.files.find((f) => f.name === name || f.name.endsWith(name));
  const report = file('report.json');
  if (report) {
    const r = JSON.parse(new TextDecoder().decode(report.bytes)) as { seconds?: Record<string, number>; config?: { quant: Record<string, unknown>; calibration: Record<string, unknown> }; calibration?: Record<string, unknown> };
    out.reportSeconds = r.seconds;
    const q = r.config?.quant ?? {};
    const c = r.config?.calibration ?? {};
    out.applied = {
      weightBits: q.weightBits as number, activationBits: q.activationBits as number, rounding: q.rounding as string,
      images: (r.calibration?.images ?? c.images) as number, steps: (r.calibration?.steps ?? c.steps) as number,
      batch: (r.calibration?.batch ?? c.batch) as number, iterations: q.adaroundIterations as number, reconstruction: q.reconstruction as string,
    };
  }
  const onnx = result.files.find((f) => f.name.endsWith('.onnx'));
  return onnx ? new Uint8Array(onnx.bytes) : undefined;
}

/** One run through the app's worker; resolves with its figures (an error becomes status 'error'). */
function runOnce(run: BenchRun, files: ModelFile[]): Promise<{ result: BenchRunResult; onnx?: Uint8Array }> {
  const out: BenchRunResult = { version: 1, id: run.id, model: run.model, backendAsked: run.config.backend, status: 'error', stages: [], synthSteps: 0, layersDone: 0, blocksDone: 0 };
  const open = new Map<string, StageSpan>();
  let lastLog = 0;
  return new Promise((resolve) => {
    const t0 = performance.now();
    const client = new QuantWorkerClient((e: WorkerEvent) => {
      if (e.type === 'progress') {
        const ev = e.event;
        if (ev.type === 'stage') {
          if (ev.status === 'start') {
            const span: StageSpan = { stage: ev.stage, start: since(t0) };
            open.set(ev.stage, span);
            out.stages.push(span);
            log(`${run.id}: ${ev.stage} start`);
          } else {
            const span = open.get(ev.stage);
            if (span) {
              span.end = since(t0);
              if (ev.seconds !== undefined) span.reported = ev.seconds;
            }
            log(`${run.id}: ${ev.stage} end (${ev.seconds?.toFixed(1) ?? '?'} s)`);
          }
        } else if (ev.type === 'backend') {
          out.backend = { name: ev.name, reason: ev.reason };
          log(`${run.id}: backend ${ev.name} (${ev.reason})`);
        } else if (ev.type === 'synth-step') {
          if (out.synthSteps === 0) out.firstSynthStepSeconds = since(t0);
          out.synthSteps++;
        } else if (ev.type === 'layer' && ev.status === 'done') out.layersDone++;
        else if (ev.type === 'block' && ev.status === 'done') out.blocksDone++;
        if (performance.now() - lastLog > 15_000) {
          lastLog = performance.now();
          log(`${run.id}: ${since(t0)} s, ${out.synthSteps} synthesis steps, ${out.layersDone} layers, ${out.blocksDone} blocks done`);
        }
      } else if (e.type === 'result') {
        out.status = 'done';
        out.totalSeconds = since(t0);
        const r = e.result;
        out.agreement = r.agreement;
        out.agreementOn = r.agreementOn;
        out.sizes = { before: r.sizeBefore, after: r.sizeAfter };
        out.verification = r.verification;
        out.notes = r.notes;
        const onnx = fromReport(r, out);
        client.dispose();
        resolve({ result: out, onnx });
      } else if (e.type === 'error') {
        out.error = `${e.error.code}: ${e.error.message}`;
        out.totalSeconds = since(t0);
        client.dispose();
        resolve({ result: out });
      }
    });
    // The build emits tfjs' wasm at the served root's /wasm/ (the page itself sits under bench/browser/).
    client.run(files, run.config, new URL('/wasm/', location.href).href);
  });
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const probe = params.get('probe');
  if (probe) {
    await post(`/probe?label=${encodeURIComponent(probe)}`, await probeAdapter(probe));
    return;
  }
  const plan = (await (await fetch('/plan.json')).json()) as BenchPlan;
  await post('/probe?label=bench', await probeAdapter('bench'));
  for (const run of plan.runs) {
    if (since(loaded) > plan.deadlineSeconds) {
      log(`${run.id}: skipped, past the ${plan.deadlineSeconds} s deadline`);
      const skipped: BenchRunResult = { version: 1, id: run.id, model: run.model, backendAsked: run.config.backend, status: 'skipped', stages: [], synthSteps: 0, layersDone: 0, blocksDone: 0 };
      await post('/result', skipped);
      continue;
    }
    log(`${run.id}: loading ${run.files.length} file(s)`);
    const { result, onnx } = await runOnce(run, await modelFiles(run.files));
    log(`${run.id}: ${result.status}${result.error ? ` ${result.error}` : ''} in ${result.totalSeconds} s`);
    await post('/result', result);
    if (run.keepOnnx && onnx) await post(`/file?name=${encodeURIComponent(`${run.id}.onnx`)}`, onnx);
  }
  await post('/done', {});
}

main().catch((e) => {
  log(`bench page failed: ${String(e)}`);
  void post('/done', { error: String(e) });
});
