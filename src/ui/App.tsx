import { useCallback, useEffect, useRef, useState } from 'react';
import type { ModelFile } from '../core/ir/types.js';
import type { ModelSummary } from '../core/ir/summary.js';
import type { PipelineConfig, PipelineEvent, RgbaImage } from '../core/pipeline/types.js';
import { QuantWorkerClient } from '../worker/client.js';
import type { RunResult, WorkerErrorInfo, WorkerEvent } from '../worker/protocol.js';
import { defaultConfig, SAMPLE_NORMALIZATION } from './config.js';
import { decodeImageFile, decodeImageFiles, IMAGE_FILE } from './decodeImages.js';
import { SAMPLE_URL } from './sampleUrl.js';
import { ErrorMessage } from './ErrorMessage.js';
import { ImportPanel } from './ImportPanel.js';
import { LayersPanel, type LayerRow } from './LayersPanel.js';
import { withAppliedBits } from './layerRows.js';
import { applyBlockEvent, type BlockRow } from './blockRows.js';
import { PreviewPanel, type Preview } from './PreviewPanel.js';
import { PrivacyNote } from './PrivacyNote.js';
import { ResultsPanel } from './ResultsPanel.js';
import { SettingsPanel } from './SettingsPanel.js';
import { wasmPath } from './wasmPath.js';
import { labelsFromCsv, labelsFromFolders } from '../core/data/imageLabels.js';
import { advanceTimeline, emptyTimeline, tickTimeline, type Timeline } from '../core/pipeline/progressTimeline.js';
import type { BnChannelStats } from '../core/synth/progress.js';
import { BnStatsChart } from './BnStatsChart.js';
import { targetClassLabel } from '../core/synth/targetLabels.js';
import { CalibrationGallery } from './CalibrationGallery.js';
import { EvaluatePanel, type EvaluationView, type PickedFile } from './EvaluatePanel.js';
import { ModelView } from './ModelView.js';
import { TimelinePanel } from './TimelinePanel.js';

type Phase = 'idle' | 'importing' | 'ready' | 'running';

async function readFiles(files: File[]): Promise<ModelFile[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

export function App() {
  const [phase, setPhase] = useState<Phase>('idle');
  const [files, setFiles] = useState<ModelFile[]>([]);
  const [summary, setSummary] = useState<ModelSummary | null>(null);
  const [config, setConfig] = useState<PipelineConfig>(defaultConfig);
  const [error, setError] = useState<WorkerErrorInfo | null>(null);
  const [backend, setBackend] = useState<{ name: string; reason: string } | null>(null);
  const [previews, setPreviews] = useState<Preview[]>([]);
  // Class-conditional synthesis: the target class of each preview image.
  const [previewLabels, setPreviewLabels] = useState<string[] | undefined>(undefined);
  const [losses, setLosses] = useState<number[]>([]);
  const [step, setStep] = useState('');
  const [layers, setLayers] = useState<LayerRow[]>([]);
  const [blocks, setBlocks] = useState<BlockRow[]>([]);
  const [result, setResult] = useState<RunResult | null>(null);
  const [secondsLeft, setSecondsLeft] = useState<number | null>(null);
  // Own calibration images live here, not in `config`: the config is downloadable JSON, the images stay in the tab.
  const [ownImages, setOwnImages] = useState<{ images: RgbaImage[]; from: string; failed: string[] } | null>(null);
  const [timeline, setTimeline] = useState<Timeline>(emptyTimeline);
  const [bnStats, setBnStats] = useState<BnChannelStats[]>([]);
  const [evaluation, setEvaluation] = useState<EvaluationView | null>(null);
  const [evaluating, setEvaluating] = useState(false);
  const pendingEvaluation = useRef<Omit<EvaluationView, 'evaluation'> | null>(null);
  const roundingStart = useRef<number | null>(null);
  const phaseRef = useRef(phase);
  phaseRef.current = phase;

  const onProgress = useCallback((e: PipelineEvent) => {
    setTimeline((t) => advanceTimeline(t, e, performance.now()));
    switch (e.type) {
      case 'synth-bn-stats': setBnStats(e.layers); break;
      case 'backend': setBackend({ name: e.name, reason: e.reason }); break;
      case 'synth-step':
        setLosses((l) => (l.length > 2000 ? [...l.filter((_, i) => i % 2 === 0), e.loss] : [...l, e.loss]));
        setStep(`Batch ${e.batch + 1}/${e.batches}, step ${e.step + 1}/${e.steps}, loss ${e.loss.toPrecision(3)}`);
        break;
      case 'synth-preview':
        setPreviews(e.images);
        setPreviewLabels(e.classes?.map(targetClassLabel));
        break;
      case 'blocks':
      case 'block':
        setBlocks((rows) => applyBlockEvent(rows, e));
        break;
      case 'layers':
        roundingStart.current = null;
        setBlocks([]);
        setLayers(e.layers.map((l) => ({ ...l, status: 'waiting' })));
        break;
      case 'layer':
        roundingStart.current ??= performance.now();
        setLayers((rows) => {
          const next = rows.map((r) => (r.name === e.name ? { ...r, ...e, opType: r.opType } : r));
          const done = next.filter((r) => r.status === 'done').length;
          if (done > 0 && roundingStart.current !== null) {
            setSecondsLeft(((performance.now() - roundingStart.current) / 1000 / done) * (next.length - done));
          }
          return next;
        });
        break;
      case 'log': break;
      case 'stage': if (e.status === 'start') setStep(`Stage: ${e.stage}…`); break;
    }
  }, []);

  const onEvent = useCallback((e: WorkerEvent) => {
    switch (e.type) {
      case 'ready': break;
      case 'summary': setSummary(e.summary); setPhase('ready'); break;
      case 'progress': onProgress(e.event); break;
      case 'result': setResult(e.result); setLayers((rows) => withAppliedBits(rows, e.result.modelView?.layers)); setPhase('ready'); setStep('Done.'); break;
      case 'evaluation':
        if (pendingEvaluation.current) setEvaluation({ ...pendingEvaluation.current, evaluation: e.evaluation });
        setEvaluating(false);
        break;
      case 'error':
        setEvaluating(false);
        setError(e.error);
        setPhase((p) => (p === 'running' || p === 'importing' ? (summaryRef.current ? 'ready' : 'idle') : p));
        break;
    }
  }, [onProgress]);

  const summaryRef = useRef(summary);
  summaryRef.current = summary;
  const client = useRef<QuantWorkerClient | null>(null);
  useEffect(() => {
    const c = new QuantWorkerClient(onEvent);
    client.current = c;
    return () => c.dispose();
  }, [onEvent]);

  const importFiles = useCallback((modelFiles: ModelFile[]) => {
    setError(null);
    setSummary(null);
    setResult(null);
    setFiles(modelFiles);
    setPhase('importing');
    client.current?.importFiles(modelFiles);
  }, []);

  const onFiles = useCallback(async (list: File[]) => importFiles(await readFiles(list)), [importFiles]);

  const onSample = useCallback(async () => {
    try {
      const res = await fetch(SAMPLE_URL);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      setConfig((c) => ({ ...c, normalization: SAMPLE_NORMALIZATION }));
      importFiles([{ name: 'digits-cnn.onnx', bytes: new Uint8Array(await res.arrayBuffer()) }]);
    } catch (e) {
      setError({ code: 'MISSING_FILE', message: `The sample model could not be loaded (${(e as Error).message}).`, hint: 'Reload the page; the sample ships with the app.' });
    }
  }, [importFiles]);

  const onOwnImages = useCallback(async (list: File[], from: string) => {
    setError(null);
    // The images input allows up to 1024: decode no more than that.
    const decoded = await decodeImageFiles(list, 1024);
    if (!decoded.images.length) {
      setOwnImages(null);
      setError({ code: 'BAD_INPUT', message: `No readable image among the ${list.length} file(s) from ${from}.`, hint: 'Choose a folder of PNG or JPEG images.' });
      return;
    }
    setOwnImages({ ...decoded, from });
  }, []);

  // Elapsed time and estimates move every second even between events.
  useEffect(() => {
    if (phase !== 'running') return;
    const id = setInterval(() => setTimeline((t) => tickTimeline(t, performance.now())), 1000);
    return () => clearInterval(id);
  }, [phase]);

  const onEvaluate = useCallback(async (picked: PickedFile[], csv?: File) => {
    setError(null);
    const files = picked.filter((p) => p.file.type.startsWith('image/') || IMAGE_FILE.test(p.file.name)).sort((a, b) => a.path.localeCompare(b.path));
    const images: RgbaImage[] = [];
    const paths: string[] = [];
    for (const p of files) {
      try {
        images.push(await decodeImageFile(p.file));
        paths.push(p.path);
      } catch { /* not an image the browser can read: left out */ }
    }
    if (!images.length) {
      setError({ code: 'BAD_INPUT', message: `No readable image among the ${picked.length} file(s).`, hint: 'Choose a folder of PNG or JPEG images.' });
      return;
    }
    try {
      const labels = csv ? labelsFromCsv(paths, await csv.text()) : labelsFromFolders(paths);
      pendingEvaluation.current = { images, paths, classNames: labels.classNames, labelSource: labels.source };
      setEvaluating(true);
      client.current?.evaluate(images, labels.source === 'none' ? undefined : labels.labels);
    } catch (e) {
      const err = e as { code?: string; message: string; hint?: string };
      setError({ code: (err.code ?? 'BAD_INPUT') as WorkerErrorInfo['code'], message: err.message, hint: err.hint });
    }
  }, []);

  const onQuantize = () => {
    if (!files.length) return;
    setError(null);
    setResult(null);
    setTimeline(emptyTimeline());
    setBnStats([]);
    setEvaluation(null);
    setPreviews([]);
    setPreviewLabels(undefined);
    setLosses([]);
    setLayers([]);
    setSecondsLeft(null);
    setStep('Starting…');
    setPhase('running');
    const own = config.calibration.source === 'user-images' && ownImages ? { userImages: ownImages.images, userImagesFrom: ownImages.from } : {};
    client.current?.run(files, { ...config, calibration: { ...config.calibration, ...own } }, wasmPath());
  };

  const onCancel = () => {
    client.current?.cancel();
    setPhase(summary ? 'ready' : 'idle');
    setStep('Cancelled.');
    setLayers((rows) => rows.map((r) => (r.status === 'running' ? { ...r, status: 'waiting' } : r)));
  };

  const running = phase === 'running';
  return (
    <div className="app">
      <header>
        <h1>LocalQuant</h1>
        <p className="tagline">Data-free int8/int4 quantization of convolutional networks, in your browser.</p>
        <PrivacyNote />
        <p className="badge" data-testid="backend-badge" data-backend={backend?.name ?? ''} title={backend?.reason ?? 'Chosen when a run starts'}>
          Backend: {backend?.name ?? `${config.backend} (not started)`}
        </p>
      </header>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      <main>
        <ImportPanel
          summary={summary} fileNames={files.map((f) => f.name)} busy={phase === 'importing' || running} normalization={config.normalization}
          layout={summary?.interfaceLayout ?? 'NCHW'} onFiles={onFiles} onSample={onSample}
          onNormalization={(n) => setConfig((c) => ({ ...c, normalization: n }))}
        />
        <SettingsPanel config={config} onChange={setConfig} disabled={running}
          ownImages={ownImages && { count: ownImages.images.length, from: ownImages.from, failed: ownImages.failed }} onOwnImages={(l, from) => void onOwnImages(l, from)} />
        <div className="actions">
          <button type="button" className="primary" data-testid="quantize" disabled={!summary || running} onClick={onQuantize}>Quantize</button>
          <button type="button" data-testid="cancel" disabled={!running} onClick={onCancel}>Cancel</button>
          <span className="muted" aria-live="polite" data-testid="run-status">{running ? step : phase === 'importing' ? 'Reading the model…' : step}</span>
        </div>
        {timeline.stages.length > 0 && (
          <section className="panel" aria-labelledby="progress-h">
            <h2 id="progress-h">Progress</h2>
            <TimelinePanel timeline={timeline} />
          </section>
        )}
        <PreviewPanel images={previews} labels={previewLabels} losses={losses} step={running ? step : ''} />
        <section className="panel" aria-labelledby="inspect-h">
          <h2 id="inspect-h">Synthetic data inspector</h2>
          <BnStatsChart layers={bnStats} />
          {result?.calibrationImages?.length ? <CalibrationGallery images={result.calibrationImages} labels={result.calibrationLabels} /> : null}
        </section>
        <LayersPanel layers={layers} blocks={blocks} secondsLeft={secondsLeft} />
        <ResultsPanel result={result} config={config} />
        {result?.modelView && (
          <section className="panel" aria-labelledby="model-h">
            <h2 id="model-h">Model view</h2>
            <ModelView data={result.modelView} />
          </section>
        )}
        <EvaluatePanel disabled={!result?.files.some((f) => f.name.endsWith('.onnx'))} busy={evaluating} view={evaluation} onEvaluate={(p, csv) => void onEvaluate(p, csv)} />
      </main>
      <footer><p className="muted">No uploads, no analytics, no fonts or scripts from other sites. Works offline after the first visit.</p></footer>
    </div>
  );
}
