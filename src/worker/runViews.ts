/**
 * What the page shows beside the downloads, built in the worker from a finished run: the model graph with
 * per-layer quantization facts and weight histograms, every calibration image as RGBA, and the
 * self-contained HTML report (which embeds those images and the synthesis loss curve).
 */
import type { QuantizationPlan } from '../core/exporters/qdq/qdqOnnxExporter.js';
import { graphOutline } from '../core/ir/outline.js';
import type { Graph } from '../core/ir/types.js';
import type { RgbaImage } from '../core/pipeline/types.js';
import { calibrationImagesOf, htmlReportOf, type ReportableRun } from '../core/report/runArtifacts.js';
import { weightHistograms } from '../core/report/weightHistograms.js';
import { targetLabels } from '../core/synth/targetLabels.js';
import type { ModelViewData } from '../ui/ModelView.js';

export interface ViewableRun extends ReportableRun {
  plan?: QuantizationPlan;
  floatModel?: Graph;
}

/** The gallery shows every image up to this many (a 224-px image is 200 KB of RGBA). */
const GALLERY_LIMIT = 1024;

export function modelViewData(run: ViewableRun): ModelViewData | undefined {
  const graph = run.floatModel ?? run.folded;
  if (!graph) return undefined;
  const layers = Object.fromEntries(run.report.layers.map((l) => [l.name, l]));
  const tail = run.report.floatTail;
  const why = tail ? `post-processing after ${tail.startsAt.map((s) => `${s.node} (${s.reason})`).join(', ')}` : '';
  return {
    outline: graphOutline(graph),
    layers,
    histograms: run.folded && run.plan ? weightHistograms(run.folded, run.plan) : undefined,
    floatTail: tail ? Object.fromEntries(tail.nodes.map((n) => [n.name, why])) : undefined,
  };
}

export function galleryImages(run: ViewableRun): RgbaImage[] {
  return calibrationImagesOf(run, GALLERY_LIMIT);
}

/** The gallery images' target classes under class-conditional synthesis (undefined otherwise). */
export function galleryLabels(run: ViewableRun): string[] | undefined {
  return targetLabels(run.report.calibration.classConditional, GALLERY_LIMIT);
}

export function htmlReportBytes(run: ViewableRun, images: RgbaImage[], synthesisLoss: number[]): Uint8Array {
  return new TextEncoder().encode(htmlReportOf(run, synthesisLoss, images));
}
