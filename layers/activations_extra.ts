/**
 * More activation layers with their functional forms: `SiLU`, `ELU`, `Softplus`, `Mish`,
 * `ReLU6`, `Hardtanh`, `Hardswish`, `Hardsigmoid` and `PReLU` (learned slope, PyTorch's `weight`
 * parameter). Each is written with elementwise ops so every backend runs it (as one fused op
 * where the backend has the kernel, see `fuse.ts`), with PyTorch's gradient at the kinks (ReLU6
 * and Hardtanh pass no gradient at their bounds; Hardswish uses x/3 + 1/2 on [−3, 3); ELU and
 * PReLU use the negative branch at 0) and with its large-input
 * branches guarded so no `inf · 0` reaches a gradient. `inplace` writes the result into the input
 * (a non-leaf, as PyTorch requires); while gradients are recorded the activation reads a copy of
 * the input, so backward works as in PyTorch but no memory is saved.
 *
 * @example
 * ```ts
 * import { ELU, Hardswish, PReLU } from "./activations_extra.ts";
 * import { tensor } from "../mod.ts";
 * const x = tensor([-2, 0, 2]);
 * console.log(new ELU().forward(x).shape, new Hardswish().forward(x).toArraySync());
 * // [3] [-0.3333333432674408, 0, 1.6666666269302368]
 * console.log(Object.keys(new PReLU(3).stateDict())); // ["weight"]
 * ```
 *
 * @module
 */

import {
  DTypeError,
  full,
  Module,
  Parameter,
  reprFloat,
  ShapeError,
  shapeStr,
  where,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, finite, int, knownKeys, tensorArg } from "./_validate.ts";
import { floatInput, inplaceArg, maybeInplace } from "./_inplace.ts";
import type { InplaceOptions } from "./_inplace.ts";
import { fuse, fusedBy } from "./fuse.ts";
import { siluOf, TRANSCENDENTAL } from "./_act_fused.ts";

export type { InplaceOptions } from "./_inplace.ts";

// ---------------------------------------------------------------- formulas

// Each formula runs as one fused elementwise op (one pass over memory; see fuse.ts), those with
// constants once per distinct constant.

const eluBy = fusedBy((alpha: number) => (x: Tensor) => {
  const pos = x.gt(0);
  // exp only sees non-positive values: a large x must not give inf in the unused branch.
  return where(pos, x, where(pos, 0, x).exp().sub(1).mul(alpha));
}, TRANSCENDENTAL);
const eluOf = (x: Tensor, alpha: number): Tensor => eluBy(alpha)(x);

function softplusFormula(x: Tensor, beta: number, threshold: number): Tensor {
  const bx = x.mul(beta);
  const linear = bx.gt(threshold);
  return where(linear, x, where(linear, 0, bx).exp().log1p().div(beta));
}
const softplusBy = fusedBy(
  (beta: number, threshold: number) => (x: Tensor) => softplusFormula(x, beta, threshold),
  TRANSCENDENTAL,
);
const softplusOf = (x: Tensor, beta: number, threshold: number): Tensor =>
  softplusBy(beta, threshold)(x);

const hardtanhBy = fusedBy((lo: number, hi: number) => (x: Tensor) =>
  // The middle branch alone carries gradient, on the open interval (lo, hi), as PyTorch's.
  where(x.le(lo), lo, where(x.ge(hi), hi, x))
);
const hardtanhOf = (x: Tensor, lo: number, hi: number): Tensor => hardtanhBy(lo, hi)(x);

// The quadratic branch covers [−3, 3): PyTorch's gradient is −1/2 at −3 and 1 at 3.
const hardswishOf = fuse((x: Tensor) =>
  where(x.lt(-3), 0, where(x.lt(3), x.mul(x.add(3)).div(6), x))
);

const hardsigmoidOf = fuse((x: Tensor) => where(x.le(-3), 0, where(x.ge(3), 1, x.div(6).add(0.5))));

const mishOf = fuse((x: Tensor) => x.mul(softplusFormula(x, 1, 20).tanh()), TRANSCENDENTAL);

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

function runPrelu(fn: string, x: Tensor, w: Tensor): Tensor {
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

// ---------------------------------------------------------------- layers

/** x·sigmoid(x) (the swish). */
export class SiLU extends Module {
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation; the argument is `{ inplace }` or PyTorch's positional boolean. */
  constructor(options: InplaceOptions | boolean = {}) {
    super();
    this.inplace = inplaceArg("SiLU", options);
  }

  /** `inplace=true` when set, else nothing. */
  override extraRepr(): string {
    return this.inplace ? "inplace=true" : "";
  }

  /** Applies SiLU. */
  forward(x: Tensor): Tensor {
    floatInput("SiLU", tensorArg("SiLU.forward", "input", x));
    return maybeInplace("SiLU", x, this.inplace, siluOf);
  }
}

/** x for x > 0, alpha·(eˣ − 1) otherwise. */
export class ELU extends Module {
  /** Scale of the negative branch. */
  readonly alpha: number;
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation; `options` is `{ inplace }` or PyTorch's positional boolean. */
  constructor(alpha = 1, options: InplaceOptions | boolean = {}) {
    super();
    this.alpha = finite("ELU", "alpha", alpha);
    this.inplace = inplaceArg("ELU", options);
  }

  /** `alpha=1.0`, and `inplace=true` when set. */
  override extraRepr(): string {
    return `alpha=${reprFloat(this.alpha)}${this.inplace ? ", inplace=true" : ""}`;
  }

  /** Applies ELU. */
  forward(x: Tensor): Tensor {
    floatInput("ELU", tensorArg("ELU.forward", "input", x));
    return maybeInplace("ELU", x, this.inplace, (t) => eluOf(t, this.alpha));
  }
}

/** log(1 + e^(βx)) / β, reverting to x where βx > threshold. */
export class Softplus extends Module {
  /** β. */
  readonly beta: number;
  /** Above this value of βx the layer is linear. */
  readonly threshold: number;

  /** Creates the activation (PyTorch's defaults β = 1, threshold = 20). */
  constructor(beta = 1, threshold = 20) {
    super();
    this.beta = finite("Softplus", "beta", beta);
    if (beta === 0) fail("Softplus", "beta", "must be non-zero", beta);
    this.threshold = finite("Softplus", "threshold", threshold);
  }

  /** `beta=1, threshold=20`. */
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }

  /** Applies softplus. */
  forward(x: Tensor): Tensor {
    floatInput("Softplus", tensorArg("Softplus.forward", "input", x));
    return softplusOf(x, this.beta, this.threshold);
  }
}

/** x · tanh(softplus(x)). */
export class Mish extends Module {
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation; the argument is `{ inplace }` or PyTorch's positional boolean. */
  constructor(options: InplaceOptions | boolean = {}) {
    super();
    this.inplace = inplaceArg("Mish", options);
  }

  /** `inplace=true` when set, else nothing. */
  override extraRepr(): string {
    return this.inplace ? "inplace=true" : "";
  }

  /** Applies Mish. */
  forward(x: Tensor): Tensor {
    floatInput("Mish", tensorArg("Mish.forward", "input", x));
    return maybeInplace("Mish", x, this.inplace, mishOf);
  }
}

/** x clamped to [minVal, maxVal]. */
export class Hardtanh extends Module {
  /** Lower bound. */
  readonly minVal: number;
  /** Upper bound. */
  readonly maxVal: number;
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation (PyTorch's defaults −1 and 1). */
  constructor(minVal = -1, maxVal = 1, options: InplaceOptions | boolean = {}) {
    super();
    this.minVal = finite("Hardtanh", "minVal", minVal);
    this.maxVal = finite("Hardtanh", "maxVal", maxVal);
    if (!(this.maxVal > this.minVal)) {
      fail("Hardtanh", "maxVal", `must be greater than minVal (${minVal})`, maxVal);
    }
    this.inplace = inplaceArg("Hardtanh", options);
  }

  /** `minVal=-1.0, maxVal=1.0`, and `inplace=true` when set. */
  override extraRepr(): string {
    return `minVal=${reprFloat(this.minVal)}, maxVal=${reprFloat(this.maxVal)}` +
      (this.inplace ? ", inplace=true" : "");
  }

  /** Applies Hardtanh. */
  forward(x: Tensor): Tensor {
    tensorArg("Hardtanh.forward", "input", x);
    return maybeInplace(
      "Hardtanh",
      x,
      this.inplace,
      (t) => hardtanhOf(t, this.minVal, this.maxVal),
    );
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Module {
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation; the argument is `{ inplace }` or PyTorch's positional boolean. */
  constructor(options: InplaceOptions | boolean = {}) {
    super();
    this.inplace = inplaceArg("ReLU6", options);
  }

  /** `inplace=true` when set, else nothing. */
  override extraRepr(): string {
    return this.inplace ? "inplace=true" : "";
  }

  /** Applies ReLU6. */
  forward(x: Tensor): Tensor {
    tensorArg("ReLU6.forward", "input", x);
    return maybeInplace("ReLU6", x, this.inplace, (t) => hardtanhOf(t, 0, 6));
  }
}

/** x · relu6(x + 3) / 6. */
export class Hardswish extends Module {
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation; the argument is `{ inplace }` or PyTorch's positional boolean. */
  constructor(options: InplaceOptions | boolean = {}) {
    super();
    this.inplace = inplaceArg("Hardswish", options);
  }

  /** `inplace=true` when set, else nothing. */
  override extraRepr(): string {
    return this.inplace ? "inplace=true" : "";
  }

  /** Applies Hardswish. */
  forward(x: Tensor): Tensor {
    floatInput("Hardswish", tensorArg("Hardswish.forward", "input", x));
    return maybeInplace("Hardswish", x, this.inplace, hardswishOf);
  }
}

/** relu6(x + 3) / 6. */
export class Hardsigmoid extends Module {
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation; the argument is `{ inplace }` or PyTorch's positional boolean. */
  constructor(options: InplaceOptions | boolean = {}) {
    super();
    this.inplace = inplaceArg("Hardsigmoid", options);
  }

  /** `inplace=true` when set, else nothing. */
  override extraRepr(): string {
    return this.inplace ? "inplace=true" : "";
  }

  /** Applies Hardsigmoid. */
  forward(x: Tensor): Tensor {
    floatInput("Hardsigmoid", tensorArg("Hardsigmoid.forward", "input", x));
    return maybeInplace("Hardsigmoid", x, this.inplace, hardsigmoidOf);
  }
}

/** Options of {@linkcode PReLU}. */
export interface PReLUOptions {
  /** Device of the weight (default "cpu"). */
  device?: string;
}

/** x for x > 0, a learned slope · x otherwise: one slope, or one per channel (dim 1). */
export class PReLU extends Module {
  // PyTorch's `num_parameters` attribute is `weight.shape[0]` here: `numParameters()` is Module's
  // parameter-element count.
  /** The slopes [numParameters], initialised to `init`. */
  weight: Tensor;

  /** Creates the layer (PyTorch's defaults: one slope, initialised to 0.25). */
  constructor(numParameters = 1, init = 0.25, options: PReLUOptions = {}) {
    super();
    knownKeys("PReLU", options, ["device"]);
    int("PReLU", "numParameters", numParameters);
    finite("PReLU", "init", init);
    const device = options.device;
    if (device !== undefined && typeof device !== "string") {
      fail("PReLU", "device", "must be a string", device);
    }
    this.weight = Parameter(full([numParameters], init));
    if (device && device !== "cpu") this.to(device);
  }

  /** `numParameters=1`. */
  override extraRepr(): string {
    return `numParameters=${this.weight.shape[0]}`;
  }

  /** Applies PReLU to `x` (channels in dim 1). */
  forward(x: Tensor): Tensor {
    return runPrelu("PReLU", tensorArg("PReLU.forward", "input", x), this.weight);
  }
}
