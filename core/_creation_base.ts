/**
 * What the creation functions (creation.ts, ranges.ts, random_creation.ts) share: the check of
 * their options, the host array they fill, and the upload that makes it a tensor on the requested
 * device. Core-internal, not exported from core/mod.ts.
 *
 * @module
 */

import { allocHost, isFloating } from "./dtype.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { DTypeError, OutOfMemoryError, ValueError } from "./errors.ts";
import { dtypeArg, options, outOfMemory, show } from "./args.ts";
import { getBackend } from "./registry.ts";
import { shapeStr, sizeOf } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { Storage } from "./storage.ts";
import type { TensorOptions } from "./tensor.ts";

export const TENSOR_OPTS = ["dtype", "device", "requiresGrad"] as const;

// Checks a creation function's options (unknown keys, dtype, device and requiresGrad types).
export function optsOf<T extends TensorOptions>(
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
export function alloc(op: string, dtype: DType, shape: readonly number[]): TypedArray {
  try {
    return allocHost(dtype, sizeOf(shape));
  } catch (e) {
    if (e instanceof RangeError) throw outOfMemory(op, shape, dtype, e);
    throw e;
  }
}

export function make(
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

// The options of a `*Like` function: `t`'s dtype and device unless `options` overrides them.
export function likeOpts<T extends TensorOptions>(
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

// The dtype of a floating-valued creation function: float32 by default, any floating dtype allowed.
export function floatDType(op: string, dtype: DType | undefined): DType {
  if (dtype === undefined) return "float32";
  if (!isFloating(dtype)) {
    throw new DTypeError(`${op}: dtype must be floating-point (float32 or float16), got ${dtype}`);
  }
  return dtype;
}
