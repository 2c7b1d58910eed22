/**
 * Creating tensors: from nested arrays or typed arrays, filled, ranges, identity, and seeded random
 * samples. Data is built on the host and uploaded to the requested device.
 *
 * @module
 */

import { allocHost, dtypeOfArray, isFloating } from "./dtype.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { DTypeError, OutOfMemoryError, ShapeError, ValueError } from "./errors.ts";
import { dtypeArg, finite, int, options, outOfMemory, shapeArg, show } from "./args.ts";
import { defaultGenerator } from "./random.ts";
import type { Generator } from "./random.ts";
import { getBackend } from "./registry.ts";
import { shapeStr, sizeOf } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { Storage } from "./storage.ts";
import type { NestedArray, TensorOptions } from "./tensor.ts";

/** Options of the random creation functions. */
export interface RandomOptions extends TensorOptions {
  /** Generator (default: the global one seeded by `manualSeed`). */
  generator?: Generator;
}

const TENSOR_OPTS = ["dtype", "device", "requiresGrad"] as const;
const RANDOM_OPTS = [...TENSOR_OPTS, "generator"] as const;

// Checks a creation function's options (unknown keys, dtype, device and requiresGrad types).
function optsOf<T extends TensorOptions>(
  op: string,
  o: T | undefined,
  allowed: readonly string[] = TENSOR_OPTS,
): T {
  const r = options(op, o, allowed);
  dtypeArg(op, r.dtype);
  if (r.device !== undefined && typeof r.device !== "string") {
    throw new ValueError(`${op}: device must be a backend name like "cpu", got ${show(r.device)}`);
  }
  if (r.requiresGrad !== undefined && typeof r.requiresGrad !== "boolean") {
    throw new ValueError(`${op}: requiresGrad must be a boolean, got ${show(r.requiresGrad)}`);
  }
  return r;
}

// A zeroed host array for `shape`; a failed allocation is a named OutOfMemoryError.
function alloc(op: string, dtype: DType, shape: readonly number[]): TypedArray {
  try {
    return allocHost(dtype, sizeOf(shape));
  } catch (e) {
    if (e instanceof RangeError) throw outOfMemory(op, shape, dtype, e);
    throw e;
  }
}

function make(
  op: string,
  data: TypedArray,
  shape: readonly number[],
  dtype: DType,
  opts: TensorOptions,
): Tensor {
  const device = opts.device ?? "cpu";
  const b = getBackend(device);
  let handle: unknown;
  try {
    handle = b.upload(data, dtype);
  } catch (e) {
    if (!(e instanceof OutOfMemoryError)) throw e;
    throw new OutOfMemoryError(
      `${op}: cannot create a ${shapeStr(shape)} ${dtype} tensor on ${device}: ${e.message}`,
      { cause: e },
    );
  }
  const t = new Tensor(new Storage(handle, b, data.length), shape, dtype, device);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Creates a tensor from host data of a known shape (the array is adopted by host backends). */
export function fromData(
  data: TypedArray,
  shape: readonly number[],
  options?: TensorOptions,
): Tensor {
  const opts = optsOf("fromData", options);
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new ValueError(`fromData: data must be a typed array, got ${show(data)}`);
  }
  shapeArg("fromData", shape);
  const dtype = opts.dtype ?? dtypeOfArray(data);
  if (dtypeOfArray(data) !== dtype) {
    throw new DTypeError(`fromData: a ${data.constructor.name} cannot hold dtype ${dtype}`);
  }
  if (sizeOf(shape) !== data.length) {
    throw new ShapeError(`fromData: ${data.length} elements do not fill shape ${shapeStr(shape)}`);
  }
  return make("fromData", data, [...shape], dtype, opts);
}

/**
 * A 0-d tensor holding `v` with the given dtype (default float32, bool for a boolean) on `device`
 * (default cpu): PyTorch's `torch.scalar_tensor`.
 */
export function scalar(v: number | boolean, dtype?: DType, device: string = "cpu"): Tensor {
  if (typeof v !== "number" && typeof v !== "boolean") {
    throw new ValueError(`scalar: value must be a number or boolean, got ${show(v)}`);
  }
  dtype = dtypeArg("scalar", dtype) ?? (typeof v === "boolean" ? "bool" : "float32");
  if (typeof device !== "string") {
    throw new ValueError(`scalar: device must be a backend name, got ${show(device)}`);
  }
  const a = allocHost(dtype, 1);
  a[0] = Number(v);
  return make("scalar", a, [], dtype, { device });
}

/** A 0-d tensor holding `v` with `like`'s dtype and device. */
export function scalarLike(v: number | boolean, like: Tensor): Tensor {
  return scalar(v, like.dtype, like.device);
}

/**
 * Creates a tensor from nested arrays, a number, or a typed array (with `shape`).
 * Numbers default to float32, booleans to bool.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * console.log(x.shape); // [2, 2]
 * ```
 */
export function tensor(
  data: NestedArray | TypedArray,
  options?: TensorOptions & { shape?: number[] },
): Tensor {
  const opts = optsOf("tensor", options, [...TENSOR_OPTS, "shape"]);
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || data instanceof Float64Array || data instanceof BigInt64Array) {
      throw new DTypeError(
        `tensor: a ${data.constructor.name} is not a dtype denn has (${
          ["Float32Array", "Float16Array", "Int32Array", "Uint8Array"].join(", ")
        }); convert it, e.g. Float32Array.from(data)`,
      );
    }
    const arr = data as TypedArray;
    const shape = opts.shape === undefined ? [arr.length] : shapeArg("tensor", opts.shape);
    const dtype = opts.dtype ?? dtypeOfArray(arr);
    const host = dtypeOfArray(arr) === dtype ? arr.slice() : allocHost(dtype, arr.length);
    if (host !== arr && dtypeOfArray(arr) !== dtype) {
      for (let i = 0; i < arr.length; i++) host[i] = arr[i];
    }
    const { shape: _, ...rest } = opts;
    return fromData(host, shape, { ...rest, dtype });
  }
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  if (opts.shape !== undefined) {
    throw new ValueError(
      "tensor: the shape option is for typed-array data; nested arrays carry their shape",
    );
  }
  if (!Array.isArray(data) && typeof data !== "number" && typeof data !== "boolean") {
    throw new ValueError(
      `tensor: data must be a number, boolean, nested array or typed array, got ${show(data)}`,
    );
  }
  // Booleans alone make a bool tensor; mixed with numbers they count as 0/1, as in PyTorch.
  const dtype = opts.dtype ??
    (typeof probe === "boolean" && allBooleans(data) ? "bool" : "float32");
  const host = alloc("tensor", dtype, shape);
  let k = 0;
  const walk = (v: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (Array.isArray(v)) {
        throw new ShapeError(`tensor: ragged nested array (expected shape ${shapeStr(shape)})`);
      }
      if (typeof v !== "number" && typeof v !== "boolean") {
        throw new ValueError(
          `tensor: element ${k} is ${show(v)}; elements must be numbers or booleans`,
        );
      }
      if (dtype === "int32" && !fitsInt32(v)) throw overflow("tensor", v);
      host[k++] = Number(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new ShapeError(
        `tensor: ragged nested array at depth ${d} (expected length ${shape[d]} for shape ${
          shapeStr(shape)
        })`,
      );
    }
    for (const e of v) walk(e, d + 1);
  };
  walk(data, 0);
  return make("tensor", host, shape, dtype, opts);
}

/**
 * A tensor of `shape` filled with `value` (PyTorch's `torch.full`). The dtype is float32 unless
 * `value` is a boolean (bool) or `options.dtype` says otherwise; PyTorch makes an integer `value`
 * int64, which denn does not have: pass `{ dtype: "int32" }`.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { full } from "./mod.ts";
 * full([2, 2], 7).toArraySync(); // [[7, 7], [7, 7]]
 * full([2], true).dtype; // "bool"
 * ```
 */
export function full(
  shape: readonly number[],
  value: number | boolean,
  options?: TensorOptions,
): Tensor {
  if (typeof value === "boolean" && options?.dtype === undefined) {
    return fill("full", shape, value, { ...optsOf("full", options), dtype: "bool" });
  }
  return fill("full", shape, value, options);
}

/**
 * Uninitialised memory in PyTorch (`torch.empty`); denn has no uninitialised tensors, so this is
 * {@linkcode zeros} under PyTorch's name. Never rely on the values.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { empty } from "./mod.ts";
 * empty([2, 3]).shape; // [2, 3]
 * ```
 */
export function empty(shape: readonly number[], options?: TensorOptions): Tensor {
  return fill("empty", shape, 0, options);
}

function fill(
  op: string,
  shape: readonly number[],
  value: number | boolean,
  options?: TensorOptions,
): Tensor {
  shapeArg(op, shape);
  const opts = optsOf(op, options);
  const dtype = opts.dtype ?? "float32";
  const s = shapeArg(op, shape, dtype);
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw new ValueError(`${op}: fill value must be a number or boolean, got ${show(value)}`);
  }
  if (dtype === "int32" && !fitsInt32(value)) throw overflow(op, value);
  const a = alloc(op, dtype, s);
  if (value !== 0) a.fill(Number(value));
  return make(op, a, s, dtype, opts);
}

/** Zeros. */
export function zeros(shape: readonly number[], opts?: TensorOptions): Tensor {
  return fill("zeros", shape, 0, opts);
}

/** Ones. */
export function ones(shape: readonly number[], opts?: TensorOptions): Tensor {
  return fill("ones", shape, 1, opts);
}

// The options of a `*Like` function: `t`'s dtype and device unless `options` overrides them.
function likeOpts<T extends TensorOptions>(
  op: string,
  t: Tensor,
  o: T | undefined,
  allowed: readonly string[] = TENSOR_OPTS,
): T {
  if (!(t instanceof Tensor)) {
    throw new ValueError(`${op}: expected a Tensor to take the shape of, got ${show(t)}`);
  }
  const r = optsOf(op, o, allowed);
  return { ...r, dtype: r.dtype ?? t.dtype, device: r.device ?? t.device };
}

/**
 * Zeros with `t`'s shape, dtype and device (options override the dtype and device).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor, zerosLike } from "./mod.ts";
 * zerosLike(tensor([[1, 2]])).toArraySync(); // [[0, 0]]
 * ```
 */
export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  return fill("zerosLike", t.shape, 0, likeOpts("zerosLike", t, opts));
}

/**
 * Ones with `t`'s shape, dtype and device (options override the dtype and device).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { onesLike, tensor } from "./mod.ts";
 * onesLike(tensor([1, 2]), { dtype: "int32" }).toArraySync(); // [1, 1]
 * ```
 */
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  return fill("onesLike", t.shape, 1, likeOpts("onesLike", t, opts));
}

/**
 * A tensor with `t`'s shape, dtype and device filled with `value` (PyTorch's `torch.full_like`;
 * options override the dtype and device).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { fullLike, tensor } from "./mod.ts";
 * fullLike(tensor([1, 2]), 7).toArraySync(); // [7, 7]
 * ```
 */
export function fullLike(t: Tensor, value: number | boolean, opts?: TensorOptions): Tensor {
  return fill("fullLike", t.shape, value, likeOpts("fullLike", t, opts));
}

/**
 * PyTorch's `torch.empty_like`: {@linkcode empty} with `t`'s shape, dtype and device (zeros in
 * denn; never rely on the values).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { emptyLike, tensor } from "./mod.ts";
 * emptyLike(tensor([[1, 2]])).shape; // [1, 2]
 * ```
 */
export function emptyLike(t: Tensor, opts?: TensorOptions): Tensor {
  return fill("emptyLike", t.shape, 0, likeOpts("emptyLike", t, opts));
}

/**
 * `[start, end)` in steps of `step`, PyTorch's forms: `arange(end)`, `arange(start, end)`,
 * `arange(start, end, step)`, each optionally followed by the options (`arange(5, { dtype:
 * "float32" })`). int32 when every argument is an integer (PyTorch's int64), else float32; a
 * float16 or int32 `dtype` may be asked for (int32 only with integer arguments), bool may not.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { arange } from "./mod.ts";
 * arange(4).toArraySync(); // [0, 1, 2, 3]
 * arange(1, 2, 0.25).toArraySync(); // [1, 1.25, 1.5, 1.75]
 * arange(3, { dtype: "float32" }).dtype; // "float32"
 * ```
 */
export function arange(
  start: number,
  end?: number | TensorOptions,
  step?: number | TensorOptions,
  options?: TensorOptions,
): Tensor {
  // The options may follow the numbers directly, as PyTorch's keywords do.
  const isOpts = (v: unknown): v is TensorOptions =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isOpts(end)) {
    if (step !== undefined || options !== undefined) {
      throw new ValueError("arange: the options object must be the last argument");
    }
    [end, options] = [undefined, end];
  } else if (isOpts(step)) {
    if (options !== undefined) {
      throw new ValueError("arange: the options object must be the last argument");
    }
    [step, options] = [undefined, step];
  }
  const opts = optsOf("arange", options);
  if (end === undefined) [start, end] = [0, start];
  if (step === undefined) step = 1;
  finite("arange", "start", start);
  finite("arange", "end", end);
  finite("arange", "step", step);
  if (step === 0) throw new ShapeError("arange: step must be non-zero");
  if ((end - start) * step < 0) {
    throw new ValueError(
      `arange: upper bound and lower bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`,
    );
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const integral = [start, end, step].every(Number.isInteger);
  if (opts.dtype === "bool") {
    throw new DTypeError("arange: dtype bool is not supported (PyTorch has no bool arange)");
  }
  if (opts.dtype === "int32" && !integral) {
    throw new ValueError(
      `arange: dtype int32 needs integer start, end and step, got ${start}, ${end}, ${step}`,
    );
  }
  const dtype = opts.dtype ?? (integral ? "int32" : "float32");
  const a = alloc("arange", dtype, shapeArg("arange", [n], dtype));
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return make("arange", a, [n], dtype, opts);
}

/** `steps` evenly spaced values from start to end inclusive (float32 unless `dtype` says float16). */
export function linspace(
  start: number,
  end: number,
  steps: number,
  options?: TensorOptions,
): Tensor {
  const opts = optsOf("linspace", options);
  finite("linspace", "start", start);
  finite("linspace", "end", end);
  int("linspace", "steps", steps);
  const dtype = floatDType("linspace", opts.dtype);
  const a = alloc("linspace", dtype, shapeArg("linspace", [steps], dtype));
  for (let i = 0; i < steps; i++) {
    a[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  }
  return make("linspace", a, [steps], dtype, opts);
}

// int32 storage would wrap these around (3e9 → -1294967296): PyTorch raises; so does denn.
function fitsInt32(v: number | boolean): boolean {
  return typeof v === "boolean" || (v >= -(2 ** 31) && v < 2 ** 31);
}

function overflow(op: string, v: number | boolean): ValueError {
  return new ValueError(`${op}: value ${v} cannot be converted to int32 without overflow`);
}

function allBooleans(v: NestedArray): boolean {
  return Array.isArray(v) ? v.every(allBooleans) : typeof v === "boolean";
}

function generatorOf(op: string, opts: RandomOptions): Generator {
  const g = opts.generator ?? defaultGenerator;
  if (typeof (g as Partial<Generator>)?.uniform !== "function") {
    throw new ValueError(
      `${op}: generator must be a Generator (new Generator(seed)), got ${show(g)}`,
    );
  }
  return g;
}

// The dtype of a floating-valued creation function: float32 by default, any floating dtype allowed.
function floatDType(op: string, dtype: DType | undefined): DType {
  if (dtype === undefined) return "float32";
  if (!isFloating(dtype)) {
    throw new DTypeError(`${op}: dtype must be floating-point (float32 or float16), got ${dtype}`);
  }
  return dtype;
}

/** Identity matrix. */
export function eye(n: number, m: number = n, options?: TensorOptions): Tensor {
  const opts = optsOf("eye", options);
  int("eye", "n", n);
  int("eye", "m", m);
  const dtype = opts.dtype ?? "float32";
  const a = alloc("eye", dtype, shapeArg("eye", [n, m], dtype));
  for (let i = 0; i < Math.min(n, m); i++) a[i * m + i] = 1;
  return make("eye", a, [n, m], dtype, opts);
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
