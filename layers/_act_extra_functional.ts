/**
 * The functional forms of the extra activations (private to layers/; public through
 * activations_extra.ts, whose layers wrap them): `elu`, `softplus`, `mish`, `hardtanh`, `relu6`,
 * `hardswish`, `hardsigmoid` and `prelu`, with the fused formulas they and the layers share.
 *
 * @module
 */

import { DTypeError, ShapeError, shapeStr, where } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, finite, tensorArg } from "./_validate.ts";
import { floatInput, maybeInplace } from "./_inplace.ts";
import { fuse, fusedBy } from "./fuse.ts";
import { TRANSCENDENTAL } from "./_act_fused.ts";

// ---------------------------------------------------------------- formulas

// Each formula runs as one fused elementwise op (one pass over memory; see fuse.ts), those with
// constants once per distinct constant.

const eluBy = fusedBy((alpha: number) => (x: Tensor) => {
  const pos = x.gt(0);
  // exp only sees non-positive values: a large x must not give inf in the unused branch.
  return where(pos, x, where(pos, 0, x).exp().sub(1).mul(alpha));
}, TRANSCENDENTAL);
export const eluOf = (x: Tensor, alpha: number): Tensor => eluBy(alpha)(x);

function softplusFormula(x: Tensor, beta: number, threshold: number): Tensor {
  const bx = x.mul(beta);
  const linear = bx.gt(threshold);
  return where(linear, x, where(linear, 0, bx).exp().log1p().div(beta));
}
const softplusBy = fusedBy(
  (beta: number, threshold: number) => (x: Tensor) => softplusFormula(x, beta, threshold),
  TRANSCENDENTAL,
);
export const softplusOf = (x: Tensor, beta: number, threshold: number): Tensor =>
  softplusBy(beta, threshold)(x);

const hardtanhBy = fusedBy((lo: number, hi: number) => (x: Tensor) =>
  // The middle branch alone carries gradient, on the open interval (lo, hi), as PyTorch's.
  where(x.le(lo), lo, where(x.ge(hi), hi, x))
);
export const hardtanhOf = (x: Tensor, lo: number, hi: number): Tensor => hardtanhBy(lo, hi)(x);

// The quadratic branch covers [−3, 3): PyTorch's gradient is −1/2 at −3 and 1 at 3.
export const hardswishOf = fuse((x: Tensor) =>
  where(x.lt(-3), 0, where(x.lt(3), x.mul(x.add(3)).div(6), x))
);

export const hardsigmoidOf = fuse((x: Tensor) =>
  where(x.le(-3), 0, where(x.ge(3), 1, x.div(6).add(0.5)))
);

export const mishOf = fuse((x: Tensor) => x.mul(softplusFormula(x, 1, 20).tanh()), TRANSCENDENTAL);

// ---------------------------------------------------------------- functional forms

/**
 * ELU: x for x > 0, alpha·(eˣ − 1) otherwise (`F.elu`).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { elu } from "./activations_extra.ts";
 * console.log(elu(tensor([-1, 2])).toArraySync()); // [-0.6321205496788025, 2]
 * ```
 */
export function elu(x: Tensor, alpha = 1, inplace = false): Tensor {
  arity("elu", arguments, 3);
  floatInput("elu", tensorArg("elu", "input", x));
  const a = finite("elu", "alpha", alpha);
  return maybeInplace("elu", x, bool("elu", "inplace", inplace, false), (t) => eluOf(t, a));
}

/** Softplus: log(1 + e^(βx)) / β, and x where βx > threshold (`F.softplus`). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  arity("softplus", arguments, 3);
  floatInput("softplus", tensorArg("softplus", "input", x));
  const b = finite("softplus", "beta", beta);
  if (b === 0) fail("softplus", "beta", "must be non-zero", beta);
  return softplusOf(x, b, finite("softplus", "threshold", threshold));
}

/** Mish: x · tanh(softplus(x)) (`F.mish`). */
export function mish(x: Tensor, inplace = false): Tensor {
  arity("mish", arguments, 2);
  floatInput("mish", tensorArg("mish", "input", x));
  return maybeInplace("mish", x, bool("mish", "inplace", inplace, false), mishOf);
}

/** Hardtanh: x clamped to [minVal, maxVal], no gradient at or beyond the bounds (`F.hardtanh`). */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1, inplace = false): Tensor {
  arity("hardtanh", arguments, 4);
  tensorArg("hardtanh", "input", x);
  const lo = finite("hardtanh", "minVal", minVal), hi = finite("hardtanh", "maxVal", maxVal);
  if (!(hi > lo)) fail("hardtanh", "maxVal", `must be greater than minVal (${lo})`, maxVal);
  return maybeInplace(
    "hardtanh",
    x,
    bool("hardtanh", "inplace", inplace, false),
    (t) => hardtanhOf(t, lo, hi),
  );
}

/** ReLU6: min(max(x, 0), 6), Hardtanh on [0, 6] (`F.relu6`). */
export function relu6(x: Tensor, inplace = false): Tensor {
  arity("relu6", arguments, 2);
  tensorArg("relu6", "input", x);
  return maybeInplace(
    "relu6",
    x,
    bool("relu6", "inplace", inplace, false),
    (t) => hardtanhOf(t, 0, 6),
  );
}

/** Hardswish: x · relu6(x + 3) / 6 (`F.hardswish`). */
export function hardswish(x: Tensor, inplace = false): Tensor {
  arity("hardswish", arguments, 2);
  floatInput("hardswish", tensorArg("hardswish", "input", x));
  return maybeInplace(
    "hardswish",
    x,
    bool("hardswish", "inplace", inplace, false),
    hardswishOf,
  );
}

/** Hardsigmoid: relu6(x + 3) / 6 (`F.hardsigmoid`). */
export function hardsigmoid(x: Tensor, inplace = false): Tensor {
  arity("hardsigmoid", arguments, 2);
  floatInput("hardsigmoid", tensorArg("hardsigmoid", "input", x));
  return maybeInplace(
    "hardsigmoid",
    x,
    bool("hardsigmoid", "inplace", inplace, false),
    hardsigmoidOf,
  );
}

export function runPrelu(fn: string, x: Tensor, w: Tensor): Tensor {
  floatInput(fn, x);
  if (w.dtype !== x.dtype) {
    throw new DTypeError(`${fn}: weight is ${w.dtype}, expected the input's ${x.dtype}`);
  }
  if (w.ndim > 1) {
    throw new ShapeError(`${fn}: weight must be 1-D, got ${shapeStr(w.shape)}`);
  }
  const channels = x.ndim >= 2 ? x.shape[1] : 1;
  let slope: Tensor;
  if (w.numel() === 1) slope = w.reshape([]);
  else if (w.numel() === channels && x.ndim >= 2) {
    slope = w.reshape(x.shape.map((s, i) => (i === 1 ? s : 1)));
  } else {
    throw new ShapeError(
      `${fn}: weight ${shapeStr(w.shape)} must have 1 element or one per channel (dim 1) of ` +
        `input ${shapeStr(x.shape)}`,
    );
  }
  return where(x.gt(0), x, x.mul(slope));
}

/**
 * PReLU: x for x > 0, weight·x otherwise, with one slope or one per channel (dim 1)
 * (`F.prelu`).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  arity("prelu", arguments, 2);
  tensorArg("prelu", "input", x);
  tensorArg("prelu", "weight", weight);
  return runPrelu("prelu", x, weight);
}
