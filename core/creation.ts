/**
 * Creating tensors: from nested arrays or typed arrays, filled, and identity. Data is built on the
 * host and uploaded to the requested device. Ranges are in ranges.ts, seeded random samples in
 * random_creation.ts.
 *
 * @module
 */

import { allocHost, dtypeOfArray } from "./dtype.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { DTypeError, ShapeError, ValueError } from "./errors.ts";
import { dtypeArg, int, shapeArg, show } from "./args.ts";
import { shapeStr, sizeOf } from "./shape.ts";
import type { NestedArray, Tensor, TensorOptions } from "./tensor.ts";
import { alloc, likeOpts, make, optsOf, TENSOR_OPTS } from "./_creation_base.ts";

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
