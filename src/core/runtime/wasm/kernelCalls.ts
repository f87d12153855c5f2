import * as tf from '@tensorflow/tfjs';

/**
 * Backend-level calls into the wasm backend's own kernels, for composing a kernel out of others.
 * A kernelFunc must not go through the engine (the results would be engine tensors, tracked in the caller's
 * scope), so we call the registered kernelFuncs directly and free intermediates with backend.disposeData.
 */
export type Pads4 = [[number, number], [number, number], [number, number], [number, number]];

export class KernelScope {
  private readonly owned: tf.TensorInfo[] = [];
  constructor(readonly backend: tf.KernelBackend, private readonly backendName = 'wasm') {}

  /** Runs a registered kernel of this backend; the result is freed by `release` unless returned by `keep`. */
  call(kernelName: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config == null) throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    const out = config.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend: this.backend }) as tf.TensorInfo;
    this.owned.push(out);
    return out;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.call('Reshape', { x }, { shape });
  }
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.call('Transpose', { x }, { perm });
  }
  pad(x: tf.TensorInfo, paddings: Array<[number, number]>): tf.TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.call('PadV2', { x }, { paddings, constantValue: 0 });
  }
  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return x;
    return this.call('Slice', { x }, { begin, size });
  }
  stridedSlice(x: tf.TensorInfo, begin: number[], end: number[], strides: number[]): tf.TensorInfo {
    if (strides.every((s) => s === 1)) return this.slice(x, begin, end.map((e, i) => e - begin[i]));
    return this.call('StridedSlice', { x }, {
      begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
    });
  }
  reverse(x: tf.TensorInfo, dims: number[]): tf.TensorInfo {
    return this.call('Reverse', { x }, { dims });
  }
  sum(x: tf.TensorInfo, axis: number[]): tf.TensorInfo {
    return this.call('Sum', { x }, { axis, keepDims: false });
  }
  mul(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    return this.call('Multiply', { a, b });
  }
  concat(xs: tf.TensorInfo[], axis: number): tf.TensorInfo {
    if (xs.length === 1) return xs[0];
    const config = tf.getKernel('Concat', this.backendName)!;
    // Concat takes its inputs as an array.
    const out = config.kernelFunc({ inputs: xs as unknown as tf.NamedTensorInfoMap, attrs: { axis }, backend: this.backend }) as tf.TensorInfo;
    this.owned.push(out);
    return out;
  }
  /** Forward NHWC conv with explicit, non-negative pads. */
  conv2d(x: tf.TensorInfo, filter: tf.TensorInfo, strides: [number, number], dilations: [number, number], pads: Pads4): tf.TensorInfo {
    return this.call('Conv2D', { x, filter }, { strides, dilations, pad: pads, dataFormat: 'NHWC', dimRoundingMode: undefined });
  }
  depthwiseConv2d(x: tf.TensorInfo, filter: tf.TensorInfo, strides: [number, number], dilations: [number, number], pads: Pads4): tf.TensorInfo {
    return this.call('DepthwiseConv2dNative', { x, filter }, { strides, dilations, pad: pads, dataFormat: 'NHWC', dimRoundingMode: undefined });
  }

  /** Frees every intermediate except `result` (which the caller hands to the engine). */
  release(result: tf.TensorInfo): tf.TensorInfo {
    let kept = false;
    for (const t of this.owned) {
      if (t === result && !kept) {
        kept = true;
        continue;
      }
      this.backend.disposeData(t.dataId);
    }
    this.owned.length = 0;
    if (!kept) throw new Error('KernelScope.release: result was not produced in this scope');
    return result;
  }
}
