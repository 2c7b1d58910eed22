/**
 * Parameter initializers (PyTorch's `torch.nn.init`), in place under `noGrad`: the lecture's
 * uniform(±1/√fan_in) and Glorot/Xavier uniform, plus normal variants and Kaiming (He). The root
 * module exports them as `init`.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { zeros } from "../core/mod.ts";
 * import { xavierUniform_ } from "./init.ts";
 * const w = xavierUniform_(zeros([4, 3]));
 * ```
 *
 * @module
 */

import { defaultGenerator, fromData, noGrad, ShapeError, sizeOf, ValueError } from "../core/mod.ts";
import type { Generator, Tensor } from "../core/mod.ts";

/** Options shared by the random initializers. */
export interface InitOptions {
  /** Random generator (default: the global one). */
  generator?: Generator;
}

/** Nonlinearities known to {@linkcode calculateGain}. */
export type Nonlinearity =
  | "linear"
  | "conv2d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

/** Fan-in and fan-out of a weight: `[out, in, ...kernel]` as in PyTorch. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new ShapeError(
      `init: fan in and fan out need a tensor with at least 2 dimensions, got ${t.ndim}`,
    );
  }
  const receptive = sizeOf(t.shape.slice(2));
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

/** Recommended gain for a nonlinearity (PyTorch's values). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv2d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
  }
}

function fill(t: Tensor, f: (g: Generator) => number, opts: InitOptions): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const a = new Float32Array(t.size);
  for (let i = 0; i < a.length; i++) a[i] = f(g);
  noGrad(() => t.copy_(fromData(a, t.shape)));
  return t;
}

/** Fills with U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, opts: InitOptions = {}): Tensor {
  return fill(t, (g) => low + (high - low) * g.uniform(), opts);
}

/** Fills with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  return fill(t, (g) => mean + std * g.normal(), opts);
}

/** Fills with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** The lecture's uniform(−1/√fan_in, 1/√fan_in) (PyTorch's default for biases). */
export function fanInUniform_(t: Tensor, fanIn?: number, opts: InitOptions = {}): Tensor {
  const fi = fanIn ?? calculateFanInAndFanOut(t)[0];
  const b = fi > 0 ? 1 / Math.sqrt(fi) : 0;
  return uniform_(t, -b, b, opts);
}

/** Glorot & Bengio (2010): U(±gain·√(6 / (fan_in + fan_out))). */
export function xavierUniform_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const b = gain * Math.sqrt(6 / (fi + fo));
  return uniform_(t, -b, b, opts);
}

/** Glorot normal: N(0, gain²·2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fi + fo)), opts);
}

/** Options of the Kaiming initializers. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope for leaky_relu (PyTorch's `a`, default 0). */
  a?: number;
  /** Preserve variance in the forward ("fan_in", default) or backward ("fan_out") pass. */
  mode?: "fan_in" | "fan_out";
  /** Nonlinearity after the layer (default "leaky_relu"). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const fan = (o.mode ?? "fan_in") === "fan_in" ? fi : fo;
  if (fan === 0) throw new ValueError("init: cannot initialize a tensor with zero fan");
  return calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan);
}

/** He uniform: U(±gain·√(3 / fan)). PyTorch's Linear/Conv default is this with a = √5. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, -b, b, opts);
}

/** He normal: N(0, gain² / fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts), opts);
}

/** Truncated normal in [a, b] (resampling), as `trunc_normal_`. */
export function truncNormal_(
  t: Tensor,
  mean = 0,
  std = 1,
  a = -2,
  b = 2,
  opts: InitOptions = {},
): Tensor {
  return fill(t, (g) => {
    for (;;) {
      const v = mean + std * g.normal();
      if (v >= a && v <= b) return v;
    }
  }, opts);
}
