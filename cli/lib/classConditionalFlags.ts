import { DEFAULT_CLASS_WEIGHT } from '../../src/core/synth/options.js';
import { UsageError } from './usage.js';

/**
 * --class-conditional [--class-weight W] (quantize and synth): the weight of the class term of
 * class-conditional synthesis, or undefined when off. `noSynthesis` names the calibration flag whose
 * source synthesizes nothing (the class term would change nothing there).
 */
export function classWeightOf(on: unknown, weight: unknown, noSynthesis?: string): number | undefined {
  if (!on) {
    if (weight !== undefined) throw new UsageError('--class-weight weighs the class term of --class-conditional: give both');
    return undefined;
  }
  if (noSynthesis) throw new UsageError(`--class-conditional shapes synthesized images: it does nothing with ${noSynthesis}`);
  const w = weight === undefined ? DEFAULT_CLASS_WEIGHT : Number(weight);
  if (!(w > 0 && w <= 100)) throw new UsageError(`--class-weight must be a number in (0, 100]; got ${weight}`);
  return w;
}
