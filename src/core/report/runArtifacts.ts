/**
 * The calibration images of a finished run as RGBA (gallery, HTML report) and the HTML report itself:
 * one place for the worker and the CLI.
 */
import type { Graph } from '../ir/types.js';
import type { PipelineConfig, QuantizationReport, RgbaImage } from '../pipeline/types.js';
import { findImageInput } from '../synth/graphInput.js';
import { unitPixelNormalization } from '../synth/pixelRange.js';
import { calibrationRgba } from '../synth/preview.js';
import { renderHtmlReport } from './htmlReport.js';

export interface ReportableRun {
  report: QuantizationReport;
  config: PipelineConfig;
  folded?: Graph;
  calibration?: { images: Float32Array; shape: number[]; method: string };
}

/** The HTML report embeds this many calibration images at most (as PNG). */
const REPORT_IMAGES = 64;

export function calibrationImagesOf(run: ReportableRun, limit: number): RgbaImage[] {
  if (!run.calibration || !run.folded) return [];
  const layout = findImageInput(run.folded).layout;
  return calibrationRgba(run.calibration.images, run.calibration.shape, layout, unitPixelNormalization(run.config.normalization), limit);
}

export function htmlReportOf(run: ReportableRun, synthesisLoss: number[], images = calibrationImagesOf(run, REPORT_IMAGES)): string {
  return renderHtmlReport(run.report, { images: images.slice(0, REPORT_IMAGES), synthesisLoss });
}
