/** Image batches between the layouts: the IR body is NCHW, TF.js models take NHWC at their interface. */
export function nchwToNhwc(images: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(images.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = images[((b * c + ch) * h + y) * w + x];
  return out;
}

export function nhwcToNchw(images: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(images.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + x] = images[((b * h + y) * w + x) * c + ch];
  return out;
}
