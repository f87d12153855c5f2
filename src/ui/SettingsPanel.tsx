import { useState, type DragEvent } from 'react';
import type { PipelineConfig } from '../core/pipeline/types.js';
import { FLOAT_ACTIVATIONS_BELOW_DB, withBitWidths } from '../core/pipeline/defaults.js';
import { DEFAULT_CLASS_WEIGHT } from '../core/synth/options.js';
import { droppedFiles } from './decodeImages.js';

interface Props {
  config: PipelineConfig;
  onChange: (c: PipelineConfig) => void;
  disabled: boolean;
  /** The user's own calibration images, once decoded: how many and from where. */
  ownImages: { count: number; from: string; failed: string[] } | null;
  onOwnImages: (files: File[], from: string) => void;
}

/** A folder input: the attribute is not in React's types. */
const folderPicker = { webkitdirectory: '' } as Record<string, string>;

/**
 * A budget in percent of the float file (NaN or out of range: no budget). A budget picks the bits per layer
 * and sizes the file, so the target becomes "smallest" (visibly, in the Deploy-to select).
 */
export function withSizeBudget(config: PipelineConfig, percent: number): PipelineConfig {
  const { sizeBudget: _old, ...rest } = config;
  if (!(percent > 0 && percent <= 100)) return rest;
  return { ...rest, sizeBudget: { fraction: percent / 100 }, quant: { ...config.quant, target: 'smallest' } };
}

/**
 * Class-conditional synthesis on with a cross-entropy weight, or off (null). Only synthesized calibration
 * takes it (the pipeline refuses it otherwise), so a source without synthesis turns it off.
 */
export function withClassConditional(config: PipelineConfig, weight: number | null): PipelineConfig {
  const { classConditional: _old, ...calibration } = config.calibration;
  const synthesizes = calibration.source === 'synthetic' || calibration.source === 'prior-only';
  return { ...config, calibration: weight !== null && weight > 0 && synthesizes ? { ...calibration, classConditional: { weight } } : calibration };
}

export function SettingsPanel({ config, onChange, disabled, ownImages, onOwnImages }: Props) {
  const [over, setOver] = useState(false);
  const q = config.quant;
  const cal = config.calibration;
  // Controls that would change nothing with the other settings are disabled, so that none is silently ignored.
  const synthesizes = cal.source === 'synthetic' || cal.source === 'prior-only';
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (disabled) return;
    const files = await droppedFiles(e.dataTransfer.items);
    if (files.length) onOwnImages(files, 'dropped files');
  };
  const setQuant = (p: Partial<PipelineConfig['quant']>) => onChange({ ...config, quant: { ...q, ...p } });
  const setCal = (p: Partial<PipelineConfig['calibration']>) => onChange({ ...config, calibration: { ...cal, ...p } });
  const int = (v: string, min: number, max: number, fallback: number) => {
    const n = Math.round(Number(v));
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  };
  return (
    <section className="panel" aria-labelledby="settings-h">
      <h2 id="settings-h">2. Settings</h2>
      <fieldset disabled={disabled} className="grid">
        <label>Weight bits
          <select data-testid="wbits" value={q.weightBits} disabled={!!config.sizeBudget} title={config.sizeBudget ? 'The size budget chooses 2, 3, 4 or 8 bits per layer' : undefined} onChange={(e) => onChange(withBitWidths(config, Number(e.target.value) as 2 | 3 | 4 | 8, q.activationBits))}>
            <option value={8}>8</option><option value={4}>4</option><option value={3}>3</option><option value={2}>2</option>
          </select>
        </label>
        <label>Size budget (% of the float file)
          <input data-testid="size-budget" type="number" min={1} max={100} step={0.5} placeholder="off: uniform bits" disabled={!config.export.onnx}
            value={config.sizeBudget?.fraction !== undefined ? Number((config.sizeBudget.fraction * 100).toFixed(2)) : ''}
            onChange={(e) => onChange(withSizeBudget(config, Number.parseFloat(e.target.value)))} />
        </label>
        <label>Activation bits
          <select data-testid="abits" value={q.activationBits} onChange={(e) => onChange(withBitWidths(config, q.weightBits, Number(e.target.value) as 4 | 8 | 32))}>
            <option value={8}>8</option><option value={4}>4</option><option value={32}>float (32)</option>
          </select>
        </label>
        <label>Rounding
          <select data-testid="rounding" value={q.rounding} onChange={(e) => setQuant({ rounding: e.target.value as 'adaptive' | 'nearest' })}>
            <option value="adaptive">adaptive (learned)</option><option value="nearest">nearest</option>
          </select>
        </label>
        <label>Deploy to
          <select data-testid="target" value={q.target ?? 'ort-cpu'} disabled={!config.export.onnx} onChange={(e) => setQuant({ target: e.target.value as NonNullable<PipelineConfig['quant']['target']> })}>
            <option value="ort-cpu">ONNX Runtime CPU (integer kernels, any x86-64)</option><option value="ort-cpu-vnni">ONNX Runtime CPU with VNNI/AMX (full 8-bit weights)</option><option value="ort-web">ONNX Runtime Web (wasm)</option><option value="smallest">smallest file</option>
          </select>
        </label>
        <label>Calibration source
          <select data-testid="calibration-source" value={cal.source} onChange={(e) => {
            const next = { ...config, calibration: { ...cal, source: e.target.value as PipelineConfig['calibration']['source'] } };
            onChange(withClassConditional(next, cal.classConditional?.weight ?? null));
          }}>
            <option value="synthetic">synthetic (from BatchNorm statistics)</option>
            <option value="prior-only">image prior only</option>
            <option value="noise">noise</option>
            <option value="user-images">my own images (a folder)</option>
          </select>
        </label>
        <label>Images
          <input data-testid="images" type="number" min={1} max={1024} value={cal.images} onChange={(e) => setCal({ images: int(e.target.value, 1, 1024, cal.images) })} />
        </label>
        <label>Steps per batch
          <input data-testid="steps" type="number" min={1} max={5000} value={cal.steps} disabled={!synthesizes} title={synthesizes ? undefined : 'Only synthesized images are optimized'} onChange={(e) => setCal({ steps: int(e.target.value, 1, 5000, cal.steps) })} />
        </label>
        <label className="check" title="DeepInversion: each image is synthesized for one class (round robin over the model's outputs), with a cross-entropy term on the logits beside the BatchNorm loss. Classifiers only.">
          <input data-testid="class-conditional" type="checkbox" checked={!!cal.classConditional} disabled={!synthesizes}
            onChange={(e) => onChange(withClassConditional(config, e.target.checked ? DEFAULT_CLASS_WEIGHT : null))} />
          One class per image (class-conditional)
        </label>
        <label>Class weight
          <input data-testid="class-weight" type="number" min={0.01} max={100} step={0.05} disabled={!cal.classConditional}
            value={cal.classConditional?.weight ?? DEFAULT_CLASS_WEIGHT} title="Weight of the cross-entropy term relative to the BatchNorm loss"
            onChange={(e) => {
              const w = Number.parseFloat(e.target.value);
              if (w > 0 && w <= 100) onChange(withClassConditional(config, w));
            }} />
        </label>
        <label>Backend
          <select data-testid="backend" value={config.backend} onChange={(e) => onChange({ ...config, backend: e.target.value as PipelineConfig['backend'] })}>
            <option value="auto">auto</option><option value="webgpu">webgpu</option><option value="wasm">wasm</option><option value="cpu">cpu</option>
          </select>
        </label>
        <label>Seed
          <input data-testid="seed" type="number" value={config.seed} onChange={(e) => onChange({ ...config, seed: int(e.target.value, 0, 2 ** 31 - 1, config.seed) })} />
        </label>
        <label className="check">
          <input data-testid="keep-first-last" type="checkbox" checked={q.keepFirstLast8bit} disabled={q.weightBits === 8} onChange={(e) => setQuant({ keepFirstLast8bit: e.target.checked })} />
          Keep first and last layer weights at 8 bit
        </label>
      </fieldset>
      {(q.target ?? 'ort-cpu') === 'ort-cpu' && config.export.onnx && q.activationBits === 8 && (q.weightBits === 8 || q.keepFirstLast8bit) && (
        <p className="hint" data-testid="weight-range-hint">
          8-bit weights of layers that read 8-bit activations use a 7-bit range (codes -64..63) for this target: ONNX Runtime's integer kernels saturate on full-range int8 weights on x86-64 CPUs without VNNI (AVX2 only), and run exactly on every CPU this way. Choose "with VNNI/AMX" for the full range on such CPUs.
        </p>
      )}
      {q.weightBits < 8 && config.export.onnx && (
        <p className="hint" data-testid="target-hint">
          {(q.target ?? 'ort-cpu') === 'smallest'
            ? `${q.weightBits}-bit weights are packed (int4): ONNX Runtime has no int4 convolution kernel and runs those layers in float, so the gain is size only.`
            : `${q.weightBits}-bit weights are stored as int8 codes so that ONNX Runtime runs every layer as an 8-bit integer kernel: int8 speed and int8 file size. Choose "smallest file" for the 4-bit size.`}
        </p>
      )}
      {cal.source === 'user-images' && (
        <div className={over ? 'dropzone over' : 'dropzone'} data-testid="own-images-zone"
          onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={(e) => void onDrop(e)}>
          <p>Drop a folder of PNG or JPEG images here, or
            {' '}<label className="button">choose a folder…
              <input data-testid="own-images" type="file" multiple {...folderPicker} disabled={disabled} className="visually-hidden"
                onChange={(e) => {
                  const files = [...(e.target.files ?? [])];
                  const folder = files[0]?.webkitRelativePath.split('/')[0];
                  if (files.length) onOwnImages(files, folder ? `folder ${folder}` : 'chosen files');
                  e.target.value = '';
                }} />
            </label>
          </p>
          <p data-testid="own-images-status" aria-live="polite">
            {ownImages
              ? `${ownImages.count} image${ownImages.count === 1 ? '' : 's'} from ${ownImages.from}, read in this tab only${ownImages.failed.length ? ` (${ownImages.failed.length} could not be read: ${ownImages.failed.slice(0, 3).join(', ')})` : ''}. Up to ${cal.images} are used, centre-cropped and resized to the model's input.`
              : 'No images yet. They stay on this device.'}
          </p>
        </div>
      )}
      <details className="advanced">
        <summary>Advanced</summary>
        <fieldset disabled={disabled} className="grid">
          <label>Batch size
            <input data-testid="batch" type="number" min={1} max={256} value={cal.batch} title="Images per batch: synthesis optimizes them together; calibration and rounding hold one batch at a time" onChange={(e) => setCal({ batch: int(e.target.value, 1, 256, cal.batch) })} />
          </label>
          <label>Rounding iterations
            <input data-testid="adaround-iterations" type="number" min={1} max={20000} value={q.adaroundIterations} disabled={q.rounding !== 'adaptive'} onChange={(e) => setQuant({ adaroundIterations: int(e.target.value, 1, 20000, q.adaroundIterations) })} />
          </label>
          <label>Reconstruction
            <select data-testid="reconstruction" value={q.reconstruction ?? 'layer'} disabled={q.rounding !== 'adaptive'} title="Block: the rounding of all layers of a residual block is optimised together on the block's output, activation quantization included (BRECQ): better at 4 bit, several times slower" onChange={(e) => setQuant(e.target.value === 'block' ? { reconstruction: 'block' } : { reconstruction: 'layer', qdrop: false })}>
              <option value="layer">layer by layer</option><option value="block">block (BRECQ)</option>
            </select>
          </label>
          <label className="check">
            <input data-testid="qdrop" type="checkbox" checked={!!q.qdrop} disabled={q.reconstruction !== 'block' || q.activationBits === 32} onChange={(e) => setQuant({ qdrop: e.target.checked })} /> QDrop (block reconstruction)
          </label>
          <label title="Where 4-bit activations apply. Layer inputs: on the inputs of weight layers; a value that something else reads too (a residual block's skip path, a pool) keeps 8 bits there (QuaRot/LSQ-style W4A4). Every activation: skip paths at 4 bit too (the BRECQ convention)">4-bit activations at
            <select data-testid="activation-bits-at" value={q.activationBitsAt ?? 'layer-inputs'} disabled={q.activationBits >= 8} onChange={(e) => setQuant({ activationBitsAt: e.target.value as 'layer-inputs' | 'every-activation' })}>
              <option value="layer-inputs">layer inputs (skip paths 8 bit)</option><option value="every-activation">every activation</option>
            </select>
          </label>
          <label>Activation range
            <select data-testid="observer" value={q.activationObserver} disabled={q.activationBits === 32} onChange={(e) => setQuant({ activationObserver: e.target.value as PipelineConfig['quant']['activationObserver'] })}>
              <option value="mse">MSE-optimal</option><option value="percentile">percentile</option><option value="minmax">min/max</option>
            </select>
          </label>
          <label className="check">
            <input data-testid="per-channel" type="checkbox" checked={q.perChannel} onChange={(e) => setQuant({ perChannel: e.target.checked })} /> Per-channel weights
          </label>
          <label title="An 8-bit activation whose grid leaves some output channel of a conv reading it below this SQNR keeps float. Higher: closer to the float model (detectors: box agreement), fewer integer kernels. Empty: every activation quantized">Keep activations float below (dB)
            <input data-testid="float-below-db" type="number" min={0} max={60} step={1} placeholder="off" disabled={q.activationBits !== 8}
              value={q.floatActivationsBelowDb === undefined ? FLOAT_ACTIVATIONS_BELOW_DB : (q.floatActivationsBelowDb ?? '')}
              onChange={(e) => setQuant({ floatActivationsBelowDb: e.target.value === '' ? null : Math.max(0, Math.min(60, Number(e.target.value))) })} />
          </label>
          <label className="check" title="Rescale channels passing between convs (through ReLU/LeakyReLU, pooling, Concat) so that they fill the activation grids evenly; the float network is unchanged">
            <input data-testid="equalization" type="checkbox" checked={!!q.equalization} disabled={q.activationBits === 32} onChange={(e) => setQuant({ equalization: e.target.checked })} /> Cross-layer equalization
          </label>
          <label className="check">
            <input data-testid="bias-correction" type="checkbox" checked={q.biasCorrection} onChange={(e) => setQuant({ biasCorrection: e.target.checked })} /> Bias correction
          </label>
          <label className="check">
            <input data-testid="export-onnx" type="checkbox" checked={config.export.onnx} disabled={!config.export.tfjs} onChange={(e) => onChange({ ...config, export: { ...config.export, onnx: e.target.checked } })} /> Export ONNX (QDQ)
          </label>
          <label className="check">
            <input data-testid="export-tfjs" type="checkbox" checked={config.export.tfjs} disabled={!config.export.onnx} onChange={(e) => onChange({ ...config, export: { ...config.export, tfjs: e.target.checked } })} /> Export TF.js
          </label>
        </fieldset>
      </details>
    </section>
  );
}
