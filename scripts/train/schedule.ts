/**
 * One-cycle learning rate (Smith 2018; PyTorch OneCycleLR defaults): cosine warm-up from peak/25 to the peak
 * over the first 30 % of steps, then cosine annealing to peak/(25 * 1e4).
 */
export function oneCycleLr(step: number, totalSteps: number, peak: number, warmupFraction = 0.3): number {
  const initial = peak / 25;
  const final = initial / 1e4;
  const warm = Math.max(1, Math.floor(warmupFraction * totalSteps));
  const cos = (from: number, to: number, t: number) => to + ((from - to) * (1 + Math.cos(Math.PI * Math.min(1, t)))) / 2;
  if (step < warm) return cos(initial, peak, step / warm);
  return cos(peak, final, (step - warm) / Math.max(1, totalSteps - 1 - warm));
}
