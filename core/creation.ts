/**
 * Creating tensors: from nested arrays or typed arrays, filled, ranges, identity, and seeded random
 * samples. Data is built on the host and uploaded to the requested device.
 *
 * @module
 */

import { allocHost, dtypeOfArray, isFloating } from "./dtype.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { DTypeError, ShapeError } from "./errors.ts";
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

function make(
  data: TypedArray,
  shape: readonly number[],
  dtype: DType,
  opts: TensorOptions,
): Tensor {
  const device = opts.device ?? "cpu";
  const b = getBackend(device);
  const t = new Tensor(new Storage(b.upload(data, dtype), b, data.length), shape, dtype, device);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Creates a tensor from host data of a known shape (the array is adopted by host backends). */
export function fromData(
  data: TypedArray,
  shape: readonly number[],
  opts: TensorOptions = {},
): Tensor {
  const dtype = opts.dtype ?? dtypeOfArray(data);
  if (dtypeOfArray(data) !== dtype) {
    throw new DTypeError(`fromData: a ${data.constructor.name} cannot hold dtype ${dtype}`);
  }
  if (sizeOf(shape) !== data.length) {
    throw new ShapeError(`fromData: ${data.length} elements do not fill shape ${shapeStr(shape)}`);
  }
  return make(data, [...shape], dtype, opts);
}

/** A 0-d tensor holding `v` with the given dtype on `device`. */
export function scalar(v: number | boolean, dtype: DType, device: string): Tensor {
  const a = allocHost(dtype, 1);
  a[0] = Number(v);
  return make(a, [], dtype, { device });
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
  opts: TensorOptions & { shape?: number[] } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const shape = opts.shape ?? [arr.length];
    const dtype = opts.dtype ?? dtypeOfArray(arr);
    const host = dtypeOfArray(arr) === dtype ? arr.slice() : allocHost(dtype, arr.length);
    if (host !== arr && dtypeOfArray(arr) !== dtype) {
      for (let i = 0; i < arr.length; i++) host[i] = arr[i];
    }
    return fromData(host, shape, { ...opts, dtype });
  }
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const dtype = opts.dtype ?? (typeof probe === "boolean" ? "bool" : "float32");
  const host = allocHost(dtype, sizeOf(shape));
  let k = 0;
  const walk = (v: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (Array.isArray(v)) {
        throw new ShapeError(`tensor: ragged nested array (expected shape ${shapeStr(shape)})`);
      }
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
  return make(host, shape, dtype, opts);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const dtype = opts.dtype ?? "float32";
  const a = allocHost(dtype, sizeOf(shape));
  if (value !== 0) a.fill(value);
  return make(a, [...shape], dtype, opts);
}

/** Zeros. */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** Ones. */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** Zeros with `t`'s shape, dtype and device. */
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, device: t.device, ...opts });
}

/** Ones with `t`'s shape, dtype and device. */
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, device: t.device, ...opts });
}

/** `[start, end)` in steps (`arange(n)` is 0..n-1); int32 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ShapeError("arange: step must be non-zero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? "int32" : "float32");
  const a = allocHost(dtype, n);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return make(a, [n], dtype, opts);
}

/** `steps` evenly spaced values from start to end inclusive (float32 unless `dtype` says float16). */
export function linspace(
  start: number,
  end: number,
  steps: number,
  opts: TensorOptions = {},
): Tensor {
  const dtype = floatDType("linspace", opts.dtype);
  const a = allocHost(dtype, steps);
  for (let i = 0; i < steps; i++) {
    a[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  }
  return make(a, [steps], dtype, opts);
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
export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const dtype = opts.dtype ?? "float32";
  const a = allocHost(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) a[i * m + i] = 1;
  return make(a, [n, m], dtype, opts);
}

/**
 * Uniform samples in [0, 1) (float32 by default; with `dtype: "float16"` the same samples rounded
 * to float16, those that would round up to 1 kept just below it).
 */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const dtype = floatDType("rand", opts.dtype);
  const g = opts.generator ?? defaultGenerator;
  const a = new Float32Array(sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = g.uniform();
  if (dtype === "float32") return make(a, [...shape], dtype, opts);
  const h = new Float16Array(a);
  // Samples just below 1 round up to 1 in float16: keep them in [0, 1) as PyTorch does.
  for (let i = 0; i < h.length; i++) if (h[i] >= 1) h[i] = 1 - 2 ** -11;
  return make(h, [...shape], dtype, opts);
}

/** Standard normal samples (float32 by default, or float16 with `dtype`). */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const dtype = floatDType("randn", opts.dtype);
  const g = opts.generator ?? defaultGenerator;
  const a = new Float32Array(sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = g.normal();
  return make(dtype === "float32" ? a : new Float16Array(a), [...shape], dtype, opts);
}

/** Uniform integers in [low, high) as int32. */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  opts: RandomOptions = {},
): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const a = new Int32Array(sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = g.randint(low, high);
  return make(a, [...shape], "int32", opts);
}

/** A random permutation of 0..n-1 (int32). */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return make(a, [n], "int32", opts);
}
