/**
 * A network as a flat list of ops over named values, NCHW semantics as in ONNX. One description drives
 * training (forward.ts, tfjs, NHWC), the ONNX export (toGraph.ts) and the TF.js layers export
 * (toLayersModel.ts), so the three cannot drift apart. Builders (ghostnet.ts, mobileNetV2.ts) write it.
 */
export type Op =
  | { kind: 'conv'; name: string; input: string; output: string; cin: number; cout: number; k: number; stride: number; groups: number; bias: boolean }
  | { kind: 'bn'; name: string; input: string; output: string; c: number }
  | { kind: 'relu' | 'relu6' | 'hardSigmoid'; input: string; output: string }
  | { kind: 'concat'; inputs: string[]; output: string }
  /** Keep the first `channels` channels (the Ghost module's `[:, :n]`). */
  | { kind: 'slice'; input: string; output: string; channels: number }
  | { kind: 'add' | 'mul'; inputs: [string, string]; output: string }
  /** Global average pool, spatial dims kept as 1x1. */
  | { kind: 'gap'; input: string; output: string }
  /** Training only; inference is the identity (inverted dropout). */
  | { kind: 'dropout'; input: string; output: string; rate: number }
  /** [N,C,1,1] -> [N,C] then x W^T + b. */
  | { kind: 'dense'; name: string; input: string; output: string; cin: number; cout: number };

export interface ParamSpec {
  name: string;
  /** tfjs layout: conv HWIO (depthwise [k,k,C,1]), dense [in,out], vectors [C]. */
  shape: number[];
  /** conv/dense weights get weight decay and random init; the rest are BN/bias vectors. */
  role: 'weight' | 'bias' | 'gamma' | 'beta' | 'runningMean' | 'runningVar';
  /** He-normal fan-in for conv, uniform +-1/sqrt(fan in) for dense. */
  fanIn?: number;
  init?: 'heNormal' | 'uniform';
}

export interface NetSpec {
  name: string;
  input: string;
  output: string;
  ops: Op[];
  params: ParamSpec[];
  channels: number;
  size: number;
  classes: number;
}

export const BN_EPSILON = 1e-5;
/** PyTorch's BN momentum 0.1: running = 0.9 running + 0.1 batch. */
export const BN_MOMENTUM = 0.1;

/** Appends ops and their parameters; names values `<op name>` so exports read like the source. */
export class NetBuilder {
  readonly ops: Op[] = [];
  readonly params: ParamSpec[] = [];
  private counter = 0;

  constructor(readonly input: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  conv(x: string, name: string, cin: number, cout: number, k: number, stride: number, opts: { groups?: number; bias?: boolean } = {}): string {
    const groups = opts.groups ?? 1;
    const bias = opts.bias ?? false;
    const output = `${name}.out`;
    this.ops.push({ kind: 'conv', name, input: x, output, cin, cout, k, stride, groups, bias });
    const fanIn = k * k * (cin / groups);
    this.params.push({ name: `${name}.weight`, shape: groups === 1 ? [k, k, cin, cout] : [k, k, cin, 1], role: 'weight', fanIn, init: 'heNormal' });
    if (bias) this.params.push({ name: `${name}.bias`, shape: [cout], role: 'bias', fanIn });
    return output;
  }

  bn(x: string, name: string, c: number): string {
    const output = `${name}.out`;
    this.ops.push({ kind: 'bn', name, input: x, output, c });
    this.params.push(
      { name: `${name}.weight`, shape: [c], role: 'gamma' },
      { name: `${name}.bias`, shape: [c], role: 'beta' },
      { name: `${name}.running_mean`, shape: [c], role: 'runningMean' },
      { name: `${name}.running_var`, shape: [c], role: 'runningVar' },
    );
    return output;
  }

  act(x: string, kind: 'relu' | 'relu6' | 'hardSigmoid'): string {
    const output = this.fresh(kind);
    this.ops.push({ kind, input: x, output });
    return output;
  }

  concat(inputs: string[]): string {
    const output = this.fresh('concat');
    this.ops.push({ kind: 'concat', inputs, output });
    return output;
  }

  slice(x: string, channels: number): string {
    const output = this.fresh('slice');
    this.ops.push({ kind: 'slice', input: x, output, channels });
    return output;
  }

  binary(kind: 'add' | 'mul', a: string, b: string): string {
    const output = this.fresh(kind);
    this.ops.push({ kind, inputs: [a, b], output });
    return output;
  }

  gap(x: string): string {
    const output = this.fresh('gap');
    this.ops.push({ kind: 'gap', input: x, output });
    return output;
  }

  dropout(x: string, rate: number): string {
    const output = this.fresh('dropout');
    this.ops.push({ kind: 'dropout', input: x, output, rate });
    return output;
  }

  dense(x: string, name: string, cin: number, cout: number): string {
    const output = 'logits';
    this.ops.push({ kind: 'dense', name, input: x, output, cin, cout });
    this.params.push(
      { name: `${name}.weight`, shape: [cin, cout], role: 'weight', fanIn: cin, init: 'uniform' },
      { name: `${name}.bias`, shape: [cout], role: 'bias', fanIn: cin },
    );
    return output;
  }

  finish(name: string, output: string): NetSpec {
    return { name, input: this.input, output, ops: this.ops, params: this.params, channels: 3, size: 32, classes: 10 };
  }
}

/** Trainable + running-statistics element count (what a PyTorch state_dict would count as parameters, minus BN buffers). */
export function countParameters(spec: NetSpec): number {
  return spec.params.filter((p) => p.role !== 'runningMean' && p.role !== 'runningVar').reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Rounds `v` to a multiple of `divisor`, never below 90 % of v (the reference code's _make_divisible). */
export function makeDivisible(v: number, divisor = 4): number {
  const r = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return r < 0.9 * v ? r + divisor : r;
}
