/**
 * The user's decoded images as a batch for the model, exactly as calibration prepares own images: cropped
 * and resized to the input, (pixel / pixelRange - mean) / std, in the graph input's layout. The page and
 * `localquant eval --images` both go through here, so both score the same tensors.
 */
import type { Graph } from '../ir/types.js';
import { nchwToNhwc } from './layout.js';
import type { InputNormalization, RgbaImage } from '../pipeline/types.js';
import { findImageInput } from '../synth/graphInput.js';
import { unitPixelNormalization } from '../synth/pixelRange.js';
import { prepareUserImages } from '../synth/userImages.js';

export function evaluationImages(graph: Graph, images: RgbaImage[], normalization: InputNormalization): { images: Float32Array; shape: number[] } {
  const input = findImageInput(graph);
  const [c, h, w] = input.imageShape;
  const nchw = prepareUserImages(images.map((i) => ({ width: i.width, height: i.height, data: i.rgba })), input.imageShape, { normalization: unitPixelNormalization(normalization) });
  const shape = [images.length, c, h, w];
  return input.layout === 'NHWC' ? { images: nchwToNhwc(nchw, shape), shape: [images.length, h, w, c] } : { images: nchw, shape };
}
