// Shared by the activation plugins: the floating-point input check and the in-place form of an
// activation. Internal: not exported from layers/mod.ts.

import { AutogradError, DTypeError, isFloating, isGradEnabled, shapeStr } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { bool, knownKeys } from "./_validate.ts";

/** Options of the activation layers that can work in place. */
export interface InplaceOptions {
  /** Overwrite the input with the result (default false). */
  inplace?: boolean;
}

/** Requires a floating-point input; returns it. */
export function floatInput(fn: string, x: Tensor): Tensor {
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${fn}: expected a floating-point input, got ${x.dtype}`);
  }
  return x;
}

/**
 * `f(x)`, or with `inplace` the result written into x (which must not be a leaf that requires
 * grad). While gradients are recorded `f` reads a copy of x, so the tensor the graph saved is not
 * the one overwritten and backward works as PyTorch's in-place activations do.
 */
export function maybeInplace(
  fn: string,
  x: Tensor,
  inplace: boolean,
  f: (t: Tensor) => Tensor,
): Tensor {
  if (!inplace) return f(x);
  const recording = isGradEnabled() && x.requiresGrad;
  if (recording && x.isLeaf) {
    throw new AutogradError(
      `${fn}: in-place on a leaf ${
        shapeStr(x.shape)
      } tensor that requires grad; use inplace false, clone it, or run under noGrad()`,
    );
  }
  return x.copy_(f(recording ? x.clone() : x));
}

/** A layer's trailing argument: PyTorch's positional `inplace` boolean or `{ inplace }`. */
export function inplaceArg(layer: string, v: unknown): boolean {
  if (typeof v === "boolean") return v;
  knownKeys(layer, v as object, ["inplace"]);
  return bool(layer, "inplace", (v as InplaceOptions).inplace, false);
}
