import * as tf from '@tensorflow/tfjs';
import {
  conv2dBackpropFilter, conv2dBackpropInput, convGeometry, depthwiseBackpropFilter, depthwiseBackpropInput,
} from './wasm/convBackprop';
import { fusedBatchNormGrad } from './wasm/batchNormGrad';
import { relu6Grad } from './wasm/relu6Grad';

/**
 * Fast convolution gradients for tfjs's wasm backend (tfjs 4.22 has no Conv2DBackpropFilter and no depthwise
 * backprop kernels there, and its Conv2DBackpropInput is a slow direct loop). The replacements are composed
 * from the backend's XNNPACK forward convolutions.
 *
 * Two registrations:
 *  - kernels for backend 'wasm' (so fused convs, conv2dTranspose and any caller of the backprop ops benefit);
 *  - gradient functions for Conv2D and DepthwiseConv2dNative that support dilation > 1 (tfjs's own reject it
 *    on every backend): on wasm they pass `dilations` to the kernels above; elsewhere they run the backend's
 *    own kernels on a zero-inserted filter. Undilated convs on other backends keep tfjs's gradient.
 *  - a FusedBatchNorm (tf.batchNorm) gradient without Tile, and a Relu6 gradient without LessEqual, for every
 *    backend (see wasm/batchNormGrad.ts, wasm/relu6Grad.ts).
 */
const BACKEND = 'wasm';
const KERNEL_NAMES = [
  'Conv2DBackpropInput', 'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
] as const;

type Attrs = Record<string, unknown>;
type Inputs = Record<string, tf.TensorInfo>;

const kernelFuncs: Record<(typeof KERNEL_NAMES)[number], (inputs: Inputs, attrs: Attrs, backend: tf.KernelBackend) => tf.TensorInfo> = {
  Conv2DBackpropInput: (i, a, b) => conv2dBackpropInput(b, i.dy, i.filter, a.inputShape as number[], convGeometry(a)),
  Conv2DBackpropFilter: (i, a, b) => conv2dBackpropFilter(b, i.x, i.dy, a.filterShape as number[], convGeometry(a)),
  DepthwiseConv2dNativeBackpropInput: (i, a, b) => depthwiseBackpropInput(b, i.dy, i.filter, a.inputShape as number[], convGeometry(a)),
  DepthwiseConv2dNativeBackpropFilter: (i, a, b) => depthwiseBackpropFilter(b, i.x, i.dy, a.filterShape as number[], convGeometry(a)),
};

let originals: { kernels: Map<string, tf.KernelConfig | undefined>; grads: Map<string, tf.GradConfig> } | null = null;

function hasDilation(d: unknown): boolean {
  if (d == null) return false;
  return typeof d === 'number' ? d !== 1 : (d as number[]).some((v) => v !== 1);
}

function pair(v: unknown): [number, number] {
  if (v == null) return [1, 1];
  return typeof v === 'number' ? [v, v] : [(v as number[])[0], (v as number[])[1]];
}

/** Zero-inserts filter taps: a dilation-1 conv with the result equals the dilated conv. */
function dilateFilter(w: tf.Tensor, [dh, dw]: [number, number]): tf.Tensor {
  const [fh, fw, a, b] = w.shape;
  const r = tf.reshape(w, [fh, 1, fw, 1, a, b]);
  const p = tf.pad(r, [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(p, [fh * dh, fw * dw, a, b]), [0, 0, 0, 0], [(fh - 1) * dh + 1, (fw - 1) * dw + 1, a, b]);
}

const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) =>
  tf.engine().runKernel(kernel, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/**
 * Conv2D / DepthwiseConv2dNative gradient. wasm: our kernels, which take `dilations`. Other backends: tfjs's
 * own gradient, except for dilation > 1 (which tfjs rejects): there the backend's dilation-1 backprop kernels
 * run on the zero-inserted filter, and the filter gradient is read back at the real taps.
 */
function dilatedAwareGrad(original: tf.GradConfig, inputKernel: string, filterKernel: string): tf.GradConfig {
  return {
    kernelName: original.kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const a = attrs as Attrs;
      const dilated = hasDilation(a.dilations);
      const onWasm = tf.getBackend() === BACKEND;
      if (!onWasm && !dilated) return original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved;
      const g = dy as tf.Tensor;
      const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dataFormat: a.dataFormat ?? 'NHWC' };
      if (onWasm) {
        const withDil = { ...common, dilations: dilated ? a.dilations : [1, 1] };
        return {
          x: () => run(inputKernel, { dy: g, filter }, { ...withDil, inputShape: x.shape }),
          filter: () => run(filterKernel, { x, dy: g }, { ...withDil, filterShape: filter.shape }),
        };
      }
      const d = pair(a.dilations);
      const undilated = { ...common, dilations: [1, 1] };
      const [fh, fw, c2, c3] = filter.shape;
      const effShape = [(fh - 1) * d[0] + 1, (fw - 1) * d[1] + 1, c2, c3];
      return {
        x: () => tf.tidy(() => run(inputKernel, { dy: g, filter: dilateFilter(filter, d) }, { ...undilated, inputShape: x.shape })),
        filter: () => tf.tidy(() => {
          const full = run(filterKernel, { x, dy: g }, { ...undilated, filterShape: effShape });
          return tf.stridedSlice(full, [0, 0, 0, 0], effShape, [d[0], d[1], 1, 1]);
        }),
      };
    },
  };
}

/** Registers the wasm gradient kernels and the dilation-aware gradients (idempotent; any active backend). */
export function registerWasmGradKernels(): void {
  if (originals) return;
  const saved = { kernels: new Map<string, tf.KernelConfig | undefined>(), grads: new Map<string, tf.GradConfig>() };
  for (const name of KERNEL_NAMES) {
    const existing = tf.getKernel(name, BACKEND);
    saved.kernels.set(name, existing);
    if (existing) tf.unregisterKernel(name, BACKEND);
    const f = kernelFuncs[name];
    tf.registerKernel({
      kernelName: name,
      backendName: BACKEND,
      kernelFunc: ({ inputs, attrs, backend }) => f(inputs as Inputs, attrs as Attrs, backend as tf.KernelBackend),
    });
  }
  for (const [kernel, inputK, filterK] of [
    ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'],
  ] as const) {
    const original = tf.getGradient(kernel);
    if (!original) continue;
    saved.grads.set(kernel, original);
    tf.registerGradient(dilatedAwareGrad(original, inputK, filterK));
  }
  for (const grad of [fusedBatchNormGrad, relu6Grad]) {
    const original = tf.getGradient(grad.kernelName);
    if (!original) continue;
    saved.grads.set(grad.kernelName, original);
    tf.registerGradient(grad);
  }
  originals = saved;
}

/** Restores tfjs's own kernels and gradients (for benchmarks that compare before/after). */
export function unregisterWasmGradKernels(): void {
  if (!originals) return;
  for (const [name, config] of originals.kernels) {
    tf.unregisterKernel(name, BACKEND);
    if (config) tf.registerKernel(config);
  }
  for (const grad of originals.grads.values()) tf.registerGradient(grad);
  originals = null;
}

export function wasmGradKernelsRegistered(): boolean {
  return originals !== null;
}
