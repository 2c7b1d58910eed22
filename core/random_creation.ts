/**
 * Seeded random tensors: `rand`, `randn`, `randint`, `randperm` and the `*Like` forms, sampled on
 * the host from a Generator (the global one seeded by `manualSeed` unless one is given) and
 * uploaded to the requested device.
 *
 * @module
 */

import { DTypeError, ValueError } from "./errors.ts";
import { int, shapeArg, show } from "./args.ts";
import { defaultGenerator } from "./random.ts";
import type { Generator } from "./random.ts";
import type { Tensor, TensorOptions } from "./tensor.ts";
import { alloc, floatDType, likeOpts, make, optsOf, TENSOR_OPTS } from "./_creation_base.ts";

/** Options of the random creation functions. */
export interface RandomOptions extends TensorOptions {
  /** Generator (default: the global one seeded by `manualSeed`). */
  generator?: Generator;
}

const RANDOM_OPTS = [...TENSOR_OPTS, "generator"] as const;

function generatorOf(op: string, opts: RandomOptions): Generator {
  const g = opts.generator ?? defaultGenerator;
  if (typeof (g as Partial<Generator>)?.uniform !== "function") {
    throw new ValueError(
      `${op}: generator must be a Generator (new Generator(seed)), got ${show(g)}`,
    );
  }
  return g;
}

/**
 * Uniform samples in [0, 1) (float32 by default; with `dtype: "float16"` the same samples rounded
 * to float16, those that would round up to 1 kept just below it).
 */
export function rand(shape: readonly number[], options?: RandomOptions): Tensor {
  shapeArg("rand", shape);
  const opts = optsOf("rand", options, RANDOM_OPTS);
  const dtype = floatDType("rand", opts.dtype);
  const g = generatorOf("rand", opts);
  shape = shapeArg("rand", shape, dtype);
  const a = alloc("rand", "float32", shape) as Float32Array;
  for (let i = 0; i < a.length; i++) a[i] = g.uniform();
  if (dtype === "float32") return make("rand", a, [...shape], dtype, opts);
  const h = new Float16Array(a);
  // Samples just below 1 round up to 1 in float16: keep them in [0, 1) as PyTorch does.
  for (let i = 0; i < h.length; i++) if (h[i] >= 1) h[i] = 1 - 2 ** -11;
  return make("rand", h, [...shape], dtype, opts);
}

/** Standard normal samples (float32 by default, or float16 with `dtype`). */
export function randn(shape: readonly number[], options?: RandomOptions): Tensor {
  shapeArg("randn", shape);
  const opts = optsOf("randn", options, RANDOM_OPTS);
  const dtype = floatDType("randn", opts.dtype);
  const g = generatorOf("randn", opts);
  shape = shapeArg("randn", shape, dtype);
  const a = alloc("randn", "float32", shape) as Float32Array;
  for (let i = 0; i < a.length; i++) a[i] = g.normal();
  return make("randn", dtype === "float32" ? a : new Float16Array(a), [...shape], dtype, opts);
}

/**
 * {@linkcode rand} with `t`'s shape, dtype and device (PyTorch's `torch.rand_like`); `t`'s dtype
 * must be floating-point unless `options.dtype` is.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randLike, zeros } from "./mod.ts";
 * randLike(zeros([2, 3])).shape; // [2, 3]
 * ```
 */
export function randLike(t: Tensor, options?: RandomOptions): Tensor {
  const o = likeOpts("randLike", t, options, RANDOM_OPTS);
  floatDType("randLike", o.dtype);
  return rand(t.shape, o);
}

/**
 * {@linkcode randn} with `t`'s shape, dtype and device (PyTorch's `torch.randn_like`); `t`'s
 * dtype must be floating-point unless `options.dtype` is.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randnLike, zeros } from "./mod.ts";
 * randnLike(zeros([2, 3])).shape; // [2, 3]
 * ```
 */
export function randnLike(t: Tensor, options?: RandomOptions): Tensor {
  const o = likeOpts("randnLike", t, options, RANDOM_OPTS);
  floatDType("randnLike", o.dtype);
  return randn(t.shape, o);
}

/**
 * {@linkcode randint} with `t`'s shape and device (PyTorch's `torch.randint_like`): integers in
 * `[low, high)`, or `[0, high)` when only `high` is given; int32 whatever `t`'s dtype (denn's
 * randint makes int32 only).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randintLike, zeros } from "./mod.ts";
 * randintLike(zeros([2, 3]), 10).dtype; // "int32"
 * ```
 */
export function randintLike(
  t: Tensor,
  low: number,
  high?: number | RandomOptions,
  options?: RandomOptions,
): Tensor {
  if (high !== null && typeof high === "object") {
    if (options !== undefined) {
      throw new ValueError("randintLike: the options object must be the last argument");
    }
    [high, options] = [undefined, high];
  }
  if (high === undefined) [low, high] = [0, low];
  const o = likeOpts("randintLike", t, options, RANDOM_OPTS);
  if (options?.dtype !== undefined && options.dtype !== "int32") {
    throw new DTypeError(`randintLike: dtype must be int32, got ${options.dtype}`);
  }
  return randint(low, high, t.shape, { ...o, dtype: "int32" });
}

/** Uniform integers in [low, high) as int32. */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  options?: RandomOptions,
): Tensor {
  shapeArg("randint", shape);
  const opts = optsOf("randint", options, RANDOM_OPTS);
  if (opts.dtype !== undefined && opts.dtype !== "int32") {
    throw new DTypeError(`randint: dtype must be int32, got ${opts.dtype}`);
  }
  int("randint", "low", low, -(2 ** 31));
  int("randint", "high", high, -(2 ** 31));
  if (high <= low || high > 2 ** 31) {
    throw new ValueError(
      `randint: expected low < high <= 2^31 (samples from [low, high)), got low ${low}, high ${high}`,
    );
  }
  const g = generatorOf("randint", opts);
  shape = shapeArg("randint", shape, "int32");
  const a = alloc("randint", "int32", shape) as Int32Array;
  for (let i = 0; i < a.length; i++) a[i] = g.randint(low, high);
  return make("randint", a, shape, "int32", opts);
}

/** A random permutation of 0..n-1 (int32). */
export function randperm(n: number, options?: RandomOptions): Tensor {
  const opts = optsOf("randperm", options, RANDOM_OPTS);
  if (opts.dtype !== undefined && opts.dtype !== "int32") {
    throw new DTypeError(`randperm: dtype must be int32, got ${opts.dtype}`);
  }
  int("randperm", "n", n);
  const g = generatorOf("randperm", opts);
  const a = alloc("randperm", "int32", shapeArg("randperm", [n], "int32")) as Int32Array;
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return make("randperm", a, [n], "int32", opts);
}
