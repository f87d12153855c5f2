/**
 * Turns whatever runPipeline resolves to into the worker's RunResult. Written defensively against the
 * shape that is still being settled: known fields are picked, byte arrays become downloadable files.
 */
import type { MixedPrecisionReport } from '../core/algos/mixedPrecision/sizeBudget.js';
import { describeFloatTail, type FloatTailReport } from '../core/pipeline/floatTail.js';
import type { AgreementBasis } from '../core/pipeline/types.js';
import type { ResultFile, RunResult } from './protocol.js';

type Loose = Record<string, unknown>;

function toBuffer(bytes: unknown): ArrayBuffer | null {
  if (bytes instanceof ArrayBuffer) return bytes;
  if (bytes instanceof Uint8Array) return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer;
  return null;
}

function isAgreementBasis(v: unknown): v is AgreementBasis {
  const b = v as AgreementBasis | undefined;
  return typeof b?.images === 'number' && typeof b.method === 'string' && typeof b.runtime === 'string';
}

/** The calibration the run actually used (report.calibration), for the results panel. */
function appliedCalibration(report: unknown): RunResult['calibration'] | undefined {
  const c = (report as { calibration?: Record<string, unknown> } | undefined)?.calibration;
  if (typeof c?.method !== 'string' || typeof c.images !== 'number') return undefined;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return { method: c.method, images: c.images, from: typeof c.from === 'string' ? c.from : undefined, batch: num(c.batch), steps: num(c.steps) };
}

export function adaptResult(raw: unknown): RunResult {
  const r = (raw ?? {}) as Loose;
  const files: ResultFile[] = [];
  const add = (name: string, mime: string, bytes: unknown) => {
    const buf = toBuffer(bytes);
    if (buf) files.push({ name, mime, bytes: buf });
  };
  add('model.quant.onnx', 'application/octet-stream', r.onnx ?? (r.onnxBytes as unknown));
  if (Array.isArray(r.files)) {
    for (const f of r.files as Loose[]) add(String(f.name), String(f.mime ?? 'application/octet-stream'), f.bytes);
  }
  const tfjs = r.tfjs as { files?: Loose[] } | undefined;
  if (tfjs?.files) for (const f of tfjs.files) add(`tfjs/${String(f.name)}`, 'application/octet-stream', f.bytes);
  if (r.report !== undefined) add('report.json', 'application/json', new TextEncoder().encode(JSON.stringify(r.report, null, 2)));
  const layers = (r.layers ?? (r.report as Loose | undefined)?.layers) as Loose[] | undefined;
  const tail = (r.report as Loose | undefined)?.floatTail as FloatTailReport | undefined;
  return {
    files,
    sizeBefore: typeof r.sizeBefore === 'number' ? r.sizeBefore : undefined,
    sizeAfter: typeof r.sizeAfter === 'number' ? r.sizeAfter : files.find((f) => f.name.endsWith('.onnx'))?.bytes.byteLength,
    layerSqnr: Array.isArray(layers) ? layers.filter((l) => typeof l.sqnrDb === 'number').map((l) => ({ name: String(l.name), sqnrDb: l.sqnrDb as number })) : undefined,
    agreement: typeof r.agreement === 'number' ? r.agreement : undefined,
    ...(isAgreementBasis(r.agreementOn) ? { agreementOn: r.agreementOn } : {}),
    ...(appliedCalibration(r.report) ? { calibration: appliedCalibration(r.report) } : {}),
    ...(tail?.startsAt ? { floatTail: describeFloatTail(tail) } : {}),
    ...((r.report as Loose | undefined)?.mixedPrecision ? { mixedPrecision: (r.report as Loose).mixedPrecision as MixedPrecisionReport } : {}),
    notes: Array.isArray((r.report as Loose | undefined)?.notes) ? ((r.report as Loose).notes as unknown[]).map(String) : [],
    config: r.config,
  };
}
