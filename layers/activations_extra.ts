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

import { full, Module, Parameter, reprFloat, trustForward } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { fail, finite, int, knownKeys, tensorArg } from "./_validate.ts";
import { floatInput, inplaceArg, maybeInplace } from "./_inplace.ts";
import type { InplaceOptions } from "./_inplace.ts";
import {
  eluOf,
  hardsigmoidOf,
  hardswishOf,
  hardtanhOf,
  mishOf,
  runPrelu,
  softplusOf,
} from "./_act_extra_functional.ts";
import { siluOf } from "./_act_fused.ts";

export type { InplaceOptions } from "./_inplace.ts";
// The functional forms, and the fused formulas they share with the layers, live in
// _act_extra_functional.ts.
export {
  elu,
  hardsigmoid,
  hardswish,
  hardtanh,
  mish,
  prelu,
  relu6,
  softplus,
} from "./_act_extra_functional.ts";

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

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(SiLU, ELU, Softplus, Mish, Hardtanh, ReLU6, Hardswish, Hardsigmoid, PReLU);
