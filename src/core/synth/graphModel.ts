import * as tf from '@tensorflow/tfjs';
import type { Graph } from '../ir/types.js';
import { GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor } from '../runtime/types.js';
import type { BatchNormStats } from './batchNormStats.js';
import type { ClassifierOutput } from './classifierOutput.js';
import type { ImageInput } from './graphInput.js';
import type { SynthesisModel } from './synthesizer.js';

/**
 * A SynthesisModel over the tfjs executor: feeds an NCHW batch as the graph input (transposed for a model
 * whose interface is NHWC), captures every BN input (and a classifier's logits, when given) and stops
 * after the last of them. Dispose when done.
 */
export function graphSynthesisModel(
  graph: Graph,
  batchNorms: BatchNormStats[],
  input: ImageInput,
  classifier?: ClassifierOutput,
): SynthesisModel & { dispose(): void } {
  const executor = new GraphExecutor(graph);
  const capture = [...new Set([...batchNorms.map((s) => s.inputValue), ...(classifier ? [classifier.value] : [])])];
  return {
    imageShape: input.imageShape,
    batchNorms,
    ...(classifier ? { classifier } : {}),
    captureBatchNormInputs(images: tf.Tensor4D): Map<string, CapturedTensor> {
      const fed = input.layout === 'NHWC' ? tf.transpose(images, [0, 2, 3, 1]) : images;
      const { outputs, captured } = executor.execute(new Map([[input.name, fed]]), { capture, stopAfterCaptures: true });
      // Outputs are not needed (and usually not computed with stopAfterCaptures).
      for (const t of outputs.values()) if (![...captured.values()].some((c) => c.tensor === t)) t.dispose();
      return captured;
    },
    dispose() {
      executor.dispose();
    },
  };
}
