/**
 * Root-mean-square normalisation: `rmsNorm` (`F.rmsNorm`) and `RMSNorm` (PyTorch 2.4), written
 * with elementwise ops and a mean. Private to layers/: norm.ts re-exports them.
 *
 * @module
 */

import { Module, ones, Parameter, reprFloat, reprTuple, trustForward } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";
import { checkParam, deviceOf, epsArg, normalizedShapeArg, trailing } from "./_norm_shared.ts";
import type { NormalizedShape } from "./_norm_shared.ts";

/** Machine epsilon of a floating dtype (PyTorch's `torch.finfo(dtype).eps`). */
function finfoEps(x: Tensor): number {
  return x.dtype === "float16" ? 2 ** -10 : 2 ** -23;
}

/** Options of {@linkcode rmsNorm}. */
export interface RMSNormOptions {
  /** Scale, of the normalised shape (default none). */
  weight?: Tensor | null;
  /** Added to the mean square (default null: the machine epsilon of the input's dtype). */
  eps?: number | null;
}

function runRmsNorm(
  fn: string,
  x: Tensor,
  shape: readonly number[],
  weight: Tensor | null,
  eps: number | null,
): Tensor {
  trailing(fn, x, shape);
  const dims = shape.map((_, i) => x.ndim - shape.length + i);
  const ms = x.mul(x).mean(dims, { keepdim: true });
  const y = x.mul(ms.add(eps ?? finfoEps(x)).rsqrt());
  return weight ? y.mul(weight) : y;
}

function rmsEpsArg(fn: string, v: unknown): number | null {
  return v === undefined || v === null ? null : epsArg(fn, v, 0);
}

/**
 * Root-mean-square normalisation over the trailing `normalizedShape` dimensions (`F.rmsNorm`,
 * PyTorch 2.4): x / √(mean(x²) + eps) · weight.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { rmsNorm } from "./norm.ts";
 * console.log(rmsNorm(tensor([[3, 4]]), 2, { eps: 0 }).toArraySync()); // about [[0.85, 1.13]]
 * ```
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: NormalizedShape,
  options: RMSNormOptions = {},
): Tensor {
  arity("rmsNorm", arguments, 3);
  tensorArg("rmsNorm", "input", x);
  const shape = normalizedShapeArg("rmsNorm", normalizedShape);
  knownKeys("rmsNorm", options, ["weight", "eps"]);
  const weight = optionalTensor("rmsNorm", "weight", options.weight);
  checkParam("rmsNorm", "weight", weight, shape);
  return runRmsNorm("rmsNorm", x, shape, weight, rmsEpsArg("rmsNorm", options.eps));
}

/** Options of {@linkcode RMSNorm}. */
export interface RMSNormLayerOptions {
  /** Added to the mean square (default null: the machine epsilon of the input's dtype). */
  eps?: number | null;
  /** Learn a weight (ones) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Root-mean-square normalisation (PyTorch 2.4's `nn.RMSNorm`). */
export class RMSNorm extends Module {
  /** The trailing dimensions normalised over. */
  readonly normalizedShape: readonly number[];
  /** Epsilon, or null for the machine epsilon of the input's dtype. */
  readonly eps: number | null;
  /** Whether the weight is learnt. */
  readonly elementwiseAffine: boolean;
  /** Scale of the normalised shape (ones), or null. */
  weight: Tensor | null;

  /** Creates the layer; `normalizedShape` is an int or the trailing dims. */
  constructor(normalizedShape: NormalizedShape, options: RMSNormLayerOptions = {}) {
    super();
    const L = "RMSNorm";
    knownKeys(L, options, ["eps", "elementwiseAffine", "device"]);
    this.normalizedShape = normalizedShapeArg(L, normalizedShape);
    this.eps = rmsEpsArg(L, options.eps);
    this.elementwiseAffine = bool(L, "elementwiseAffine", options.elementwiseAffine, true);
    const device = deviceOf(L, options.device);
    this.weight = this.elementwiseAffine ? Parameter(ones([...this.normalizedShape])) : null;
    if (device && device !== "cpu") this.to(device);
  }

  /** `(4,), eps=null, elementwiseAffine=true`, as PyTorch prints it. */
  override extraRepr(): string {
    const eps = this.eps === null ? "null" : reprFloat(this.eps);
    return `${reprTuple(this.normalizedShape)}, eps=${eps}, ` +
      `elementwiseAffine=${this.elementwiseAffine}`;
  }

  /** Normalises `x` [*, ...normalizedShape]. */
  forward(x: Tensor): Tensor {
    tensorArg("RMSNorm.forward", "input", x);
    return runRmsNorm("RMSNorm", x, this.normalizedShape, this.weight, this.eps);
  }
}

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(RMSNorm);
