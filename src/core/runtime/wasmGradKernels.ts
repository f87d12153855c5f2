import * as tf from '@tensorflow/tfjs';
import {
  conv2dBackpropFilter, conv2dBackpropInput, convGeometry, depthwiseBackpropFilter, depthwiseBackpropInput,
} from './wasm/convBackprop';

/**
 * Fast convolution gradients for tfjs's wasm backend (tfjs 4.22 has no Conv2DBackpropFilter and no depthwise
 * backprop kernels there, and its Conv2DBackpropInput is a slow direct loop). The replacements are composed
 * from the backend's XNNPACK forward convolutions.
 *
 * Two registrations:
 *  - kernels for backend 'wasm' (so fused convs, conv2dTranspose and any caller of the backprop ops benefit);
 *  - gradient functions for Conv2D and DepthwiseConv2dNative that, on wasm only, pass `dilations` to those
 *    kernels (tfjs's own gradients reject dilation > 1 on every backend). On other backends they defer to
 *    tfjs's original gradient.
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

function dilatedAwareGrad(original: tf.GradConfig, inputKernel: string, filterKernel: string): tf.GradConfig {
  return {
    kernelName: original.kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== BACKEND) return original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved;
      const a = attrs as Attrs;
      const common = {
        strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode,
        dilations: hasDilation(a.dilations) ? a.dilations : [1, 1], dataFormat: a.dataFormat ?? 'NHWC',
      };
      const g = dy as tf.Tensor;
      return {
        x: () => tf.engine().runKernel(inputKernel, { dy: g, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(filterKernel, { x, dy: g }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  };
}

/** Registers the wasm gradient kernels and gradients (idempotent). */
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
