/** 10 log10(sum ref^2 / sum (y - ref)^2) over all elements, in dB (Infinity when y equals ref). */
export function sqnrDb(ref: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    e += (y[i] - ref[i]) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}
