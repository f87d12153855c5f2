import { LocalQuantError } from '../errors.js';
import type { Graph, ValueInfo } from '../ir/types.js';

/** The model's image input: its name, declared layout and one image's NCHW shape [C, H, W]. */
export interface ImageInput {
  name: string;
  /** Layout of the input as declared by the graph ('NHWC' for a model that came from TF.js). */
  layout: 'NCHW' | 'NHWC';
  imageShape: [number, number, number];
}

/**
 * Finds the single 4-D image input of a graph (graph inputs that are also initializers are weights, not
 * inputs). Height/width left symbolic by the model come from `imageSize`.
 */
export function findImageInput(graph: Graph, imageSize?: [number, number]): ImageInput {
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  const images = inputs.filter((v) => v.shape === null || v.shape.length === 4);
  if (images.length !== 1) {
    throw new LocalQuantError(
      'BAD_INPUT',
      images.length === 0
        ? `The model has no image input (its inputs: ${describe(inputs)}); synthesis needs one 4-D input.`
        : `The model has ${images.length} image inputs (${describe(images)}); synthesis supports one.`,
    );
  }
  const v = images[0];
  // MoveNet's TF.js graph takes int32 pixels: synthesis optimises real-valued images and calibration feeds float32
  if (v.dtype !== 'float32') {
    throw new LocalQuantError('BAD_INPUT', `Input '${v.name}' takes ${v.dtype} values (integer pixels); LocalQuant synthesizes and calibrates float32 images.`, 'Export the model with a float32 image input (any cast to integers inside the model) and try again.');
  }
  const layout = graph.interfaceLayout === 'NHWC' ? 'NHWC' : 'NCHW';
  const dims = v.shape ?? [null, null, null, null];
  const [cDim, hDim, wDim] = layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  const c = typeof cDim === 'number' ? cDim : null;
  if (c === null) throw new LocalQuantError('BAD_INPUT', `The channel count of input '${v.name}' is not fixed (shape ${describe([v])}).`);
  const h = typeof hDim === 'number' ? hDim : imageSize?.[0];
  const w = typeof wDim === 'number' ? wDim : imageSize?.[1];
  if (!h || !w) {
    throw new LocalQuantError(
      'BAD_CONFIG',
      `Input '${v.name}' does not fix the image size (shape ${describe([v])}).`,
      'Give the image size (height and width) to synthesize at.',
    );
  }
  return { name: v.name, layout, imageShape: [c, h, w] };
}

function describe(vs: ValueInfo[]): string {
  return vs.map((v) => `${v.name} [${v.shape ? v.shape.map((d) => d ?? '?').join(',') : '?'}]`).join(', ') || 'none';
}
