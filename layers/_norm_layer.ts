/**
 * Layer normalisation: `layerNorm` (`F.layerNorm`) and `LayerNorm`, run as the fused `normRows`
 * op. Private to layers/: norm.ts re-exports them and registers the norm plugin.
 *
 * @module
 */

import { Module, ones, Parameter, reprFloat, reprTuple, trustForward, zeros } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";
import {
  checkParam,
  deviceOf,
  epsArg,
  fusedNorm,
  normalizedShapeArg,
  trailing,
} from "./_norm_shared.ts";
import type { NormalizedShape } from "./_norm_shared.ts";

/** Options of {@linkcode layerNorm}. */
export interface LayerNormOptions {
  /** Scale, of the normalised shape (default none). */
  weight?: Tensor | null;
  /** Shift, of the normalised shape (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function runLayerNorm(
  fn: string,
  x: Tensor,
  shape: readonly number[],
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  trailing(fn, x, shape);
  const per = shape.reduce((a, b) => a * b, 1);
  return fusedNorm(x, { rowSize: per, groups: 1, inner: 1, eps }, weight, bias, (y) => {
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  });
}

/**
 * Layer normalisation over the trailing `normalizedShape` dimensions (`F.layerNorm`):
 * (x − mean) / √(var + eps) · weight + bias, with the biased variance.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { layerNorm } from "./norm.ts";
 * console.log(layerNorm(tensor([[1, 3]]), 2).toArraySync()); // about [[-1, 1]]
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: NormalizedShape,
  options: LayerNormOptions = {},
): Tensor {
  arity("layerNorm", arguments, 3);
  tensorArg("layerNorm", "input", x);
  const shape = normalizedShapeArg("layerNorm", normalizedShape);
  knownKeys("layerNorm", options, ["weight", "bias", "eps"]);
  const weight = optionalTensor("layerNorm", "weight", options.weight);
  const bias = optionalTensor("layerNorm", "bias", options.bias);
  checkParam("layerNorm", "weight", weight, shape);
  checkParam("layerNorm", "bias", bias, shape);
  return runLayerNorm("layerNorm", x, shape, weight, bias, epsArg("layerNorm", options.eps, 1e-5));
}

/** Options of {@linkcode LayerNorm}. */
export interface LayerNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a weight (ones) and bias (zeros) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  /** With `elementwiseAffine`, also learn the bias (default true; PyTorch 2.1's `bias`). */
  bias?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Layer normalisation over the trailing `normalizedShape` dimensions of the input. */
export class LayerNorm extends Module {
  /** The trailing dimensions normalised over. */
  readonly normalizedShape: readonly number[];
  /** Variance epsilon. */
  readonly eps: number;
  /** Whether weight and bias are learnt. */
  readonly elementwiseAffine: boolean;
  /** Scale of the normalised shape (ones), or null. */
  weight: Tensor | null;
  /** Shift of the normalised shape (zeros), or null. */
  bias: Tensor | null;

  /** Creates the layer; `normalizedShape` is an int or the trailing dims, as in PyTorch. */
  constructor(normalizedShape: NormalizedShape, options: LayerNormLayerOptions = {}) {
    super();
    const L = "LayerNorm";
    knownKeys(L, options, ["eps", "elementwiseAffine", "bias", "device"]);
    this.normalizedShape = normalizedShapeArg(L, normalizedShape);
    this.eps = epsArg(L, options.eps, 1e-5);
    this.elementwiseAffine = bool(L, "elementwiseAffine", options.elementwiseAffine, true);
    const withBias = bool(L, "bias", options.bias, true);
    const device = deviceOf(L, options.device);
    const s = [...this.normalizedShape];
    this.weight = this.elementwiseAffine ? Parameter(ones(s)) : null;
    this.bias = this.elementwiseAffine && withBias ? Parameter(zeros(s)) : null;
    if (device && device !== "cpu") this.to(device);
  }

  /** `(4,), eps=1e-05, elementwiseAffine=true`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${reprTuple(this.normalizedShape)}, eps=${reprFloat(this.eps)}, ` +
      `elementwiseAffine=${this.elementwiseAffine}`;
  }

  /** Normalises `x` [*, ...normalizedShape]. */
  forward(x: Tensor): Tensor {
    tensorArg("LayerNorm.forward", "input", x);
    return runLayerNorm("LayerNorm", x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(LayerNorm);
