/**
 * Ranges: `arange` (`[start, end)` in steps, PyTorch's forms) and `linspace` (evenly spaced,
 * inclusive). The values are computed on the host and uploaded to the requested device.
 *
 * @module
 */

import { DTypeError, ShapeError, ValueError } from "./errors.ts";
import { finite, int, shapeArg } from "./args.ts";
import type { Tensor, TensorOptions } from "./tensor.ts";
import { alloc, floatDType, make, optsOf } from "./_creation_base.ts";

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
