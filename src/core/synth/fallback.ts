import type { Graph } from '../ir/types.js';
import { collectBatchNormStats } from './batchNormStats.js';
import type { CalibrationMethod } from './options.js';

/** What the user asked for: 'auto' means BN statistics when the model has them. */
export type RequestedCalibration = 'auto' | CalibrationMethod;

export interface CalibrationPlan {
  /** The method that will be used. */
  method: CalibrationMethod;
  requested: RequestedCalibration;
  batchNormCount: number;
  /** True when the requested method could not be used (a model without BatchNorm asked for BN statistics). */
  fellBack: boolean;
  /** Plain words for the user when there is something to know or to choose; absent otherwise. */
  message?: string;
}

export const NO_BATCHNORM_MESSAGE =
  'This model has no BatchNormalization layers (they may have been folded into the convolutions), so its ' +
  'training statistics are gone. Choose: image-prior-only synthesis, Gaussian noise, or your own images from a local folder.';

/**
 * Which calibration source to use for this graph. BN-statistics synthesis needs BatchNorm nodes; without
 * them, 'auto' and 'bn-statistics' fall back to image-prior-only synthesis and say so (the caller should
 * show the message and offer the other choices). The other methods are used as asked.
 */
export function planCalibration(graph: Graph, requested: RequestedCalibration = 'auto'): CalibrationPlan {
  const batchNormCount = collectBatchNormStats(graph).length;
  if (requested === 'auto' || requested === 'bn-statistics') {
    if (batchNormCount > 0) return { method: 'bn-statistics', requested, batchNormCount, fellBack: false };
    return { method: 'prior-only', requested, batchNormCount, fellBack: true, message: NO_BATCHNORM_MESSAGE };
  }
  return { method: requested, requested, batchNormCount, fellBack: false };
}
