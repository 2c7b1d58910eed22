/**
 * Activation layers: `ReLU` (optionally in place), `LeakyReLU`, `Sigmoid`, `Tanh`, `GELU`,
 * `Softmax` and `LogSoftmax`, and their functional forms (`F.relu`, `F.gelu`, ...). The layers hold
 * no parameters; each wraps the matching function.
 *
 * @example
 * ```ts
 * import { ReLU, Softmax } from "./activations.ts";
 * import { randn } from "../mod.ts";
 * const p = new Softmax(1).forward(new ReLU().forward(randn([2, 5])));
 * console.log(p.shape); // [2, 5]
 * ```
 *
 * @module
 */

import {
  logSoftmax as coreLogSoftmax,
  Module,
  reprFloat,
  softmax as coreSoftmax,
  trustForward,
  where,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, finite, knownKeys, oneOf, tensorArg } from "./_validate.ts";
import { floatInput, maybeInplace } from "./_inplace.ts";
import { fuse, fusedBy } from "./fuse.ts";
import { siluOf, TRANSCENDENTAL } from "./_act_fused.ts";

// More activations (SiLU, ELU, Softplus, Mish, ReLU6, Hardtanh, Hardswish, Hardsigmoid, PReLU).
export * from "./activations_extra.ts";

/** max(0, x); `inplace` overwrites x (PyTorch's `F.relu(x, inplace=True)`). */
export function relu(x: Tensor, inplace = false): Tensor {
  arity("relu", arguments, 2);
  tensorArg("relu", "input", x);
  return bool("relu", "inplace", inplace, false) ? x.relu_() : x.relu();
}

/** Logistic sigmoid. */
export function sigmoid(x: Tensor): Tensor {
  arity("sigmoid", arguments, 1);
  return tensorArg("sigmoid", "input", x).sigmoid();
}

/** tanh. */
export function tanh(x: Tensor): Tensor {
  arity("tanh", arguments, 1);
  return tensorArg("tanh", "input", x).tanh();
}

/** x for x ≥ 0, slope·x otherwise. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01, inplace = false): Tensor {
  arity("leakyRelu", arguments, 3);
  tensorArg("leakyRelu", "input", x);
  finite("leakyRelu", "negativeSlope", negativeSlope);
  const y = leakyReluOf(negativeSlope)(x);
  return bool("leakyRelu", "inplace", inplace, false) ? x.copy_(y) : y;
}

const APPROXIMATE = ["none", "tanh"] as const;

/**
 * GELU: exact (erf, `"none"`, the default) or the tanh approximation (`"tanh"`). The second
 * argument is the string or PyTorch's keyword form `{ approximate: "tanh" }`.
 */
export function gelu(x: Tensor, approximate: "none" | "tanh" | GELUOptions = "none"): Tensor {
  arity("gelu", arguments, 2);
  tensorArg("gelu", "input", x);
  let a: unknown = approximate;
  if (a !== null && typeof a === "object" && !Array.isArray(a)) {
    knownKeys("gelu", a, ["approximate"]);
    a = (a as GELUOptions).approximate;
  }
  return runGelu(x, oneOf("gelu", "approximate", a, APPROXIMATE));
}

// Each multi-op activation runs as one fused elementwise op (one pass; see fuse.ts).
const leakyReluOf = fusedBy((slope: number) => (x: Tensor) => where(x.gt(0), x, x.mul(slope)));

const geluTanh = fuse((x: Tensor) => {
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(0.5).mul(inner.tanh().add(1));
}, TRANSCENDENTAL);
const geluErf = fuse(
  (x: Tensor) => x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1)),
  TRANSCENDENTAL,
);

function runGelu(x: Tensor, approximate: "none" | "tanh"): Tensor {
  return approximate === "tanh" ? geluTanh(x) : geluErf(x);
}

/** x·sigmoid(x); `inplace` overwrites x (PyTorch's `F.silu(x, inplace=True)`). */
export function silu(x: Tensor, inplace = false): Tensor {
  arity("silu", arguments, 2);
  tensorArg("silu", "input", x);
  if (!bool("silu", "inplace", inplace, false)) return siluOf(x);
  return maybeInplace("silu", floatInput("silu", x), true, siluOf);
}

/** Softmax along `dim`, computed stably (`F.softmax`; PyTorch's `dtype` argument is not supported). */
export function softmax(x: Tensor, dim: number): Tensor {
  arity("softmax", arguments, 2);
  return coreSoftmax(tensorArg("softmax", "input", x), dim);
}

/** Log-softmax along `dim` with the log-sum-exp trick (`F.logSoftmax`; no `dtype` argument). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  arity("logSoftmax", arguments, 2);
  return coreLogSoftmax(tensorArg("logSoftmax", "input", x), dim);
}

/** Options of {@linkcode ReLU}. */
export interface ReLUOptions {
  /**
   * Overwrite the input instead of allocating the output (default false). Allowed because ReLU's
   * gradient needs only its output; the input must not be a leaf that requires grad.
   */
  inplace?: boolean;
}

/** max(0, x), elementwise. */
export class ReLU extends Module {
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation. */
  constructor(options: ReLUOptions = {}) {
    super();
    knownKeys("ReLU", options, ["inplace"]);
    this.inplace = bool("ReLU", "inplace", options.inplace, false);
  }

  /** PyTorch's `inplace=True` when set, else nothing. */
  override extraRepr(): string {
    return this.inplace ? "inplace=true" : "";
  }

  /** Applies ReLU (in place when `inplace`). */
  forward(x: Tensor): Tensor {
    tensorArg("ReLU.forward", "input", x);
    return this.inplace ? x.relu_() : x.relu();
  }
}

/** x for x ≥ 0, negativeSlope·x otherwise. */
export class LeakyReLU extends Module {
  /** Slope for negative inputs. */
  readonly negativeSlope: number;

  /** Whether forward overwrites its input. */
  readonly inplace: boolean;

  /** Creates the activation with the given negative slope (default 0.01). */
  constructor(negativeSlope = 0.01, inplace = false) {
    super();
    this.negativeSlope = finite("LeakyReLU", "negativeSlope", negativeSlope);
    this.inplace = bool("LeakyReLU", "inplace", inplace, false);
  }

  /** `negativeSlope=0.01`, and `inplace=true` when set. */
  override extraRepr(): string {
    return `negativeSlope=${reprFloat(this.negativeSlope)}${this.inplace ? ", inplace=true" : ""}`;
  }

  /** Applies leaky ReLU; the gradient at exactly 0 is `negativeSlope`, as in PyTorch. */
  forward(x: Tensor): Tensor {
    tensorArg("LeakyReLU.forward", "input", x);
    return leakyRelu(x, this.negativeSlope, this.inplace);
  }
}

/** Logistic sigmoid 1 / (1 + e^−x). */
export class Sigmoid extends Module {
  /** Applies the sigmoid. */
  forward(x: Tensor): Tensor {
    return tensorArg("Sigmoid.forward", "input", x).sigmoid();
  }
}

/** Hyperbolic tangent. */
export class Tanh extends Module {
  /** Applies tanh. */
  forward(x: Tensor): Tensor {
    return tensorArg("Tanh.forward", "input", x).tanh();
  }
}

/** Options of {@linkcode GELU}. */
export interface GELUOptions {
  /** "none" (exact, erf-based; default) or "tanh" (the approximation). */
  approximate?: "none" | "tanh";
}

/** Gaussian error linear unit x·Φ(x). */
export class GELU extends Module {
  /** Which formula forward uses. */
  readonly approximate: "none" | "tanh";

  /** Creates the activation. */
  constructor(options: GELUOptions = {}) {
    super();
    knownKeys("GELU", options, ["approximate"]);
    this.approximate = oneOf("GELU", "approximate", options.approximate, APPROXIMATE);
  }

  /** `approximate='none'` or `approximate='tanh'`, as PyTorch prints it. */
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }

  /** Applies GELU. */
  forward(x: Tensor): Tensor {
    return runGelu(tensorArg("GELU.forward", "input", x), this.approximate);
  }
}

function checkDim(layer: string, dim: unknown): number {
  if (typeof dim !== "number" || !Number.isInteger(dim)) {
    fail(layer, "dim", "must be an integer (PyTorch's implicit dim is not supported)", dim);
  }
  return dim;
}

/** Softmax along `dim`: exp(x) / Σ exp(x), computed stably. */
export class Softmax extends Module {
  /** The dimension normalised over. */
  readonly dim: number;

  /** Creates the layer; `dim` may be negative. */
  constructor(dim: number) {
    super();
    this.dim = checkDim("Softmax", dim);
  }

  /** `dim=1`. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }

  /** Applies softmax. */
  forward(x: Tensor): Tensor {
    return coreSoftmax(tensorArg("Softmax.forward", "input", x), this.dim);
  }
}

/** Log-softmax along `dim` (log-sum-exp trick). */
export class LogSoftmax extends Module {
  /** The dimension normalised over. */
  readonly dim: number;

  /** Creates the layer; `dim` may be negative. */
  constructor(dim: number) {
    super();
    this.dim = checkDim("LogSoftmax", dim);
  }

  /** `dim=1`. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }

  /** Applies log-softmax. */
  forward(x: Tensor): Tensor {
    return coreLogSoftmax(tensorArg("LogSoftmax.forward", "input", x), this.dim);
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax);
