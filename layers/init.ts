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

import {
  defaultGenerator,
  DTypeError,
  fromData,
  Generator,
  isFloating,
  noGrad,
  ShapeError,
  sizeOf,
  Tensor,
  ValueError,
} from "../core/mod.ts";
import { options as checkKeys, show } from "../core/args.ts";

/** Options shared by the random initializers. */
export interface InitOptions {
  /** Random generator (default: the global one). */
  generator?: Generator;
}

/**
 * Nonlinearities known to {@linkcode calculateGain} (PyTorch's list; the linear and convolution
 * ones have gain 1).
 */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

const NONLINEARITIES: readonly Nonlinearity[] = [
  "linear",
  "conv1d",
  "conv2d",
  "conv3d",
  "conv_transpose1d",
  "conv_transpose2d",
  "conv_transpose3d",
  "sigmoid",
  "tanh",
  "relu",
  "leaky_relu",
  "selu",
];

// Checks that `t` is a Tensor; `random` initializers also need a floating-point one (PyTorch's
// uniform_/normal_ are not defined for integer tensors).
function checkTensor(op: string, t: unknown, random: boolean): Tensor {
  if (!(t instanceof Tensor)) {
    throw new ValueError(`init.${op}: tensor must be a Tensor, got ${show(t)}`);
  }
  if (random && !isFloating(t.dtype)) {
    throw new DTypeError(`init.${op}: needs a floating-point tensor, got ${t.dtype}`);
  }
  return t;
}

function checkFinite(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ValueError(`init.${op}: ${name} must be a finite number, got ${show(v)}`);
  }
  return v;
}

function checkNonNegative(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new ValueError(`init.${op}: ${name} must be a finite number >= 0, got ${show(v)}`);
  }
  return v;
}

// The options object of a random initializer: known keys only, `generator` a Generator.
function initOptions<O extends InitOptions>(op: string, opts: O, keys: readonly string[]): O {
  const o = checkKeys(`init.${op}`, opts, keys);
  if (o.generator !== undefined && !(o.generator instanceof Generator)) {
    throw new ValueError(`init.${op}: generator must be a Generator, got ${show(o.generator)}`);
  }
  return o;
}

/** Fan-in and fan-out of a weight: `[out, in, ...kernel]` as in PyTorch. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  checkTensor("calculateFanInAndFanOut", t, false);
  if (t.ndim < 2) {
    throw new ShapeError(
      `init: fan in and fan out need a tensor with at least 2 dimensions, got ${t.ndim}`,
    );
  }
  const receptive = sizeOf(t.shape.slice(2));
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

/**
 * Recommended gain for a nonlinearity (PyTorch's values). `param` is leaky_relu's negative slope
 * (default 0.01), a finite number; an unknown nonlinearity is a ValueError listing the known ones.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  if (param !== undefined) checkFinite("calculateGain", "param", param);
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
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
  throw new ValueError(
    `init.calculateGain: unsupported nonlinearity ${show(nonlinearity)} (expected one of ${
      NONLINEARITIES.join(", ")
    })`,
  );
}

function fill(t: Tensor, f: (g: Generator) => number, opts: InitOptions): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const a = new Float32Array(t.numel());
  for (let i = 0; i < a.length; i++) a[i] = f(g);
  noGrad(() => t.copy_(fromData(a, t.shape)));
  return t;
}

/** Fills with U(low, high); `low <= high`, both finite (PyTorch's `from <= to`). */
export function uniform_(t: Tensor, low = 0, high = 1, opts: InitOptions = {}): Tensor {
  checkTensor("uniform_", t, true);
  checkFinite("uniform_", "low", low);
  checkFinite("uniform_", "high", high);
  if (low > high) {
    throw new ValueError(`init.uniform_: low must be <= high, got low ${low} > high ${high}`);
  }
  opts = initOptions("uniform_", opts, ["generator"]);
  return fill(t, (g) => low + (high - low) * g.uniform(), opts);
}

/** Fills with N(mean, std²); `mean` finite, `std` finite and >= 0. */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkTensor("normal_", t, true);
  checkFinite("normal_", "mean", mean);
  checkNonNegative("normal_", "std", std);
  opts = initOptions("normal_", opts, ["generator"]);
  return fill(t, (g) => mean + std * g.normal(), opts);
}

/** Fills with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  checkTensor("constant_", t, false);
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

/**
 * The lecture's uniform(−1/√fan_in, 1/√fan_in) (PyTorch's default for biases). `fanIn`, a
 * non-negative integer, defaults to the tensor's (which then needs at least 2 dimensions).
 */
export function fanInUniform_(t: Tensor, fanIn?: number, opts: InitOptions = {}): Tensor {
  checkTensor("fanInUniform_", t, true);
  if (fanIn !== undefined && !(Number.isSafeInteger(fanIn) && fanIn >= 0)) {
    throw new ValueError(
      `init.fanInUniform_: fanIn must be a non-negative integer, got ${show(fanIn)}`,
    );
  }
  opts = initOptions("fanInUniform_", opts, ["generator"]);
  const fi = fanIn ?? calculateFanInAndFanOut(t)[0];
  const b = fi > 0 ? 1 / Math.sqrt(fi) : 0;
  return uniform_(t, -b, b, opts);
}

/** Glorot & Bengio (2010): U(±gain·√(6 / (fan_in + fan_out))); `gain` finite and >= 0. */
export function xavierUniform_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkTensor("xavierUniform_", t, true);
  checkNonNegative("xavierUniform_", "gain", gain);
  opts = initOptions("xavierUniform_", opts, ["generator"]);
  const [fi, fo] = calculateFanInAndFanOut(t);
  if (t.numel() === 0) return t;
  const b = gain * Math.sqrt(6 / (fi + fo));
  return uniform_(t, -b, b, opts);
}

/** Glorot normal: N(0, gain²·2 / (fan_in + fan_out)); `gain` finite and >= 0. */
export function xavierNormal_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkTensor("xavierNormal_", t, true);
  checkNonNegative("xavierNormal_", "gain", gain);
  opts = initOptions("xavierNormal_", opts, ["generator"]);
  const [fi, fo] = calculateFanInAndFanOut(t);
  if (t.numel() === 0) return t;
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

const KAIMING_KEYS = ["a", "mode", "nonlinearity", "generator"] as const;

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  checkTensor(op, t, true);
  const o = initOptions(op, opts, KAIMING_KEYS);
  if (o.a !== undefined) checkFinite(op, "a", o.a);
  const mode = o.mode ?? "fan_in";
  if (mode !== "fan_in" && mode !== "fan_out") {
    throw new ValueError(
      `init.${op}: mode must be "fan_in" or "fan_out", got ${show(mode)}`,
    );
  }
  const nl = o.nonlinearity ?? "leaky_relu";
  if (!NONLINEARITIES.includes(nl)) {
    throw new ValueError(
      `init.${op}: unsupported nonlinearity ${show(nl)} (expected one of ${
        NONLINEARITIES.join(", ")
      })`,
    );
  }
  const [fi, fo] = calculateFanInAndFanOut(t);
  const fan = mode === "fan_in" ? fi : fo;
  if (fan === 0) throw new ValueError("init: cannot initialize a tensor with zero fan");
  return calculateGain(nl, o.a ?? 0) / Math.sqrt(fan);
}

/** He uniform: U(±gain·√(3 / fan)). PyTorch's Linear/Conv default is this with a = √5. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd("kaimingUniform_", t, opts);
  return uniform_(t, -b, b, { generator: opts?.generator });
}

/** He normal: N(0, gain² / fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd("kaimingNormal_", t, opts), { generator: opts?.generator });
}

// Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const u = 1 / (1 + 0.5 * z);
  const erfc = u * Math.exp(
    -z * z - 1.26551223 + u * (1.00002368 + u * (0.37409196 + u * (0.09678418 +
                  u * (-0.18628806 + u * (0.27886807 + u * (-1.13520398 + u * (1.48851587 +
                                  u * (-0.82215223 + u * 0.17087277)))))))),
  );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * Truncated normal in [a, b] (resampling), as `trunc_normal_`: `mean`, `a`, `b` finite with
 * `a <= b`, `std` finite and >= 0. The interval must hold at least 1e-4 of N(mean, std²)
 * (resampling would not end otherwise); a wider one is a ValueError.
 */
export function truncNormal_(
  t: Tensor,
  mean = 0,
  std = 1,
  a = -2,
  b = 2,
  opts: InitOptions = {},
): Tensor {
  checkTensor("truncNormal_", t, true);
  checkFinite("truncNormal_", "mean", mean);
  checkNonNegative("truncNormal_", "std", std);
  checkFinite("truncNormal_", "a", a);
  checkFinite("truncNormal_", "b", b);
  if (a > b) {
    throw new ValueError(`init.truncNormal_: a must be <= b, got a ${a} > b ${b}`);
  }
  opts = initOptions("truncNormal_", opts, ["generator"]);
  const mass = std === 0
    ? (mean >= a && mean <= b ? 1 : 0)
    : normalCdf((b - mean) / std) - normalCdf((a - mean) / std);
  if (!(mass >= 1e-4)) {
    throw new ValueError(
      `init.truncNormal_: [a, b] = [${a}, ${b}] holds too little of N(${mean}, ${std}²) to ` +
        `sample by resampling (a fraction ${mass.toExponential(2)}, at least 1e-4 needed)`,
    );
  }
  return fill(t, (g) => {
    for (;;) {
      const v = mean + std * g.normal();
      if (v >= a && v <= b) return v;
    }
  }, opts);
}
