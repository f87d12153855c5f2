/**
 * The pipeline-level fields of a PipelineConfig (backend, seed, normalization, calibration, export) checked
 * before any work starts; the quantization fields are checked by quant/config's validateQuantConfig. Every
 * refusal is a LocalQuantError('BAD_CONFIG') that names the field, so that no setting is silently ignored.
 */
import { LocalQuantError } from '../errors.js';
import { defaultPipelineConfig, hasEightBitGrids } from './defaults.js';
import type { PipelineConfig } from './types.js';

const BACKENDS = ['auto', 'webgpu', 'wasm', 'cpu'];
const SOURCES = ['synthetic', 'noise', 'prior-only', 'user-images'];

function bad(message: string, hint?: string): never {
  throw new LocalQuantError('BAD_CONFIG', message, hint);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Known settings are those of the defaults (plus optional ones): an unknown one would be silently ignored. */
function onlyKeys(path: string, o: Record<string, unknown>, defaults: object, optional: string[] = []): void {
  const allowed = [...Object.keys(defaults), ...optional];
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`unknown setting "${path}${k}"`, `known: ${allowed.join(', ')}`);
}

function positiveInt(path: string, v: unknown, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) bad(`${path} must be an integer in 1..${max}; got ${JSON.stringify(v)}`);
}

export function validatePipelineConfig(config: PipelineConfig): void {
  const d = defaultPipelineConfig();
  const c = config as unknown as Record<string, unknown>;
  if (!isObj(c)) bad('the configuration must be an object');
  if (c.version !== 1) bad(`config version ${JSON.stringify(c.version)} is not supported (this build reads version 1)`);
  onlyKeys('', c, d, ['floatTail', 'sizeBudget']);
  if (c.sizeBudget !== undefined) validateSizeBudget(c.sizeBudget);
  if (c.floatTail !== undefined) {
    const until = (c.floatTail as { until?: unknown }).until;
    if (!Array.isArray(until) || !until.length || !until.every((u) => typeof u === 'string' && u.length > 0)) bad('floatTail.until must be a non-empty list of node names');
  }
  if (!isObj(c.quant)) bad('quant must be an object');
  onlyKeys('quant.', c.quant, d.quant, ['blockLogitWeight', 'blockBiasLr', 'blockWeightScaleLr', 'floatActivationsBelowDb']);
  validateFloatBelow(config.quant);
  if (!BACKENDS.includes(config.backend)) bad(`backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(config.backend)}`);
  if (!Number.isInteger(config.seed) || config.seed < 0) bad(`seed must be a non-negative integer; got ${JSON.stringify(config.seed)}`);

  const n = config.normalization;
  if (!isObj(n)) bad('normalization must be an object with mean, std and pixelRange');
  onlyKeys('normalization.', n as unknown as Record<string, unknown>, d.normalization);
  if (!Array.isArray(n.mean) || !n.mean.length || !n.mean.every(Number.isFinite)) bad('normalization.mean must be a list of numbers, one per channel');
  if (!Array.isArray(n.std) || n.std.length !== n.mean.length || !n.std.every((s) => Number.isFinite(s) && s > 0)) bad('normalization.std must be positive numbers, as many as the means');
  if (typeof n.pixelRange !== 'number' || !(n.pixelRange > 0) || !Number.isFinite(n.pixelRange)) {
    bad(`normalization.pixelRange must be a positive number (255: the model takes pixels / 255; 1: raw 0..255 pixels); got ${JSON.stringify(n.pixelRange)}`);
  }

  const cal = config.calibration;
  if (!isObj(cal)) bad('calibration must be an object');
  onlyKeys('calibration.', cal as unknown as Record<string, unknown>, d.calibration, ['userImages', 'userImagesFrom', 'classConditional']);
  if (!SOURCES.includes(cal.source)) bad(`calibration.source must be one of ${SOURCES.join(', ')}; got ${JSON.stringify(cal.source)}`);
  positiveInt('calibration.images', cal.images, 100_000);
  positiveInt('calibration.steps', cal.steps, 100_000);
  positiveInt('calibration.batch', cal.batch, 4096);
  if (cal.source === 'user-images') {
    if (!cal.userImages?.length) bad('Calibration source is "my own images" but no images were given.', 'Pick a folder of PNG or JPEG images, or choose synthetic calibration.');
  } else if (cal.userImages?.length) {
    bad(`calibration.userImages were given but calibration.source is "${cal.source}"`, 'Set the source to user-images to calibrate on them.');
  }
  if (cal.classConditional !== undefined) validateClassConditional(cal.classConditional, cal.source);

  const ex = config.export;
  if (!isObj(ex)) bad('export must be an object with onnx and tfjs');
  onlyKeys('export.', ex as unknown as Record<string, unknown>, d.export);
  if (typeof ex.onnx !== 'boolean' || typeof ex.tfjs !== 'boolean') bad('export.onnx and export.tfjs must be true or false');
  if (!ex.onnx && !ex.tfjs) bad('Nothing to export: export.onnx and export.tfjs are both off.', 'Turn on the ONNX or the TF.js export.');
  if (config.sizeBudget && !ex.onnx) bad('sizeBudget sizes the ONNX file, but export.onnx is off.', 'Turn on the ONNX export.');
}

/** The channel-noise threshold: null (off) or dB in 0..60, and only where some grid is 8 bit (it judges only those). */
function validateFloatBelow(q: PipelineConfig['quant']): void {
  const db = q.floatActivationsBelowDb;
  if (db === undefined) return;
  if (db !== null && (typeof db !== 'number' || !Number.isFinite(db) || db < 0 || db > 60)) bad(`quant.floatActivationsBelowDb must be null (every activation quantized) or a number of dB in 0..60; got ${JSON.stringify(db)}`);
  if (!hasEightBitGrids(q)) bad(`quant.floatActivationsBelowDb judges 8-bit activation grids: it does nothing with activationBits ${q.activationBits}`, 'Leave it out, or use 8-bit activations.');
}

/** A positive cross-entropy weight, and a source whose images are synthesized (the class term shapes them). */
function validateClassConditional(cc: unknown, source: string): void {
  if (!isObj(cc)) bad('calibration.classConditional must be an object with a weight');
  onlyKeys('calibration.classConditional.', cc, { weight: 0 });
  if (!(typeof cc.weight === 'number' && cc.weight > 0 && cc.weight <= 100)) bad(`calibration.classConditional.weight must be a number in (0, 100]; got ${JSON.stringify(cc.weight)}`);
  if (source !== 'synthetic' && source !== 'prior-only') {
    bad(`Class-conditional synthesis shapes synthesized images, but calibration.source is "${source}" (no synthesis).`, 'Choose synthetic calibration, or turn class-conditional synthesis off.');
  }
}

/** Exactly one of fraction (of the float file, in (0, 1]) or bytes (a positive integer). */
function validateSizeBudget(b: unknown): void {
  if (!isObj(b)) bad('sizeBudget must be an object with fraction or bytes');
  onlyKeys('sizeBudget.', b, { fraction: 0, bytes: 0 });
  if ((b.fraction === undefined) === (b.bytes === undefined)) bad('sizeBudget needs exactly one of fraction (share of the float file) or bytes');
  if (b.fraction !== undefined && !(typeof b.fraction === 'number' && b.fraction > 0 && b.fraction <= 1)) bad(`sizeBudget.fraction must be a number in (0, 1]; got ${JSON.stringify(b.fraction)}`);
  if (b.bytes !== undefined && !(typeof b.bytes === 'number' && Number.isInteger(b.bytes) && b.bytes > 0)) bad(`sizeBudget.bytes must be a positive integer; got ${JSON.stringify(b.bytes)}`);
}
