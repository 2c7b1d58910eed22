/**
 * Group normalisation: `groupNorm` (`F.groupNorm`) and `GroupNorm`, run as the fused `normRows`
 * op. Private to layers/: norm.ts re-exports them and registers the norm plugin.
 *
 * @module
 */

import {
  Module,
  ones,
  Parameter,
  reprFloat,
  ShapeError,
  shapeStr,
  trustForward,
  zeros,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, int, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";
import {
  channelAffine,
  checkParam,
  deviceOf,
  epsArg,
  floatInput,
  fusedNorm,
} from "./_norm_shared.ts";

/** Options of {@linkcode groupNorm}. */
export interface GroupNormOptions {
  /** Per-channel scale [C] (default none). */
  weight?: Tensor | null;
  /** Per-channel shift [C] (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function runGroupNorm(
  fn: string,
  x: Tensor,
  groups: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  if (x.ndim < 2) {
    throw new ShapeError(
      `${fn}: expected input [N, C, *] with at least 2 dims, got ${shapeStr(x.shape)}`,
    );
  }
  floatInput(fn, x);
  const c = x.shape[1];
  if (c % groups !== 0) {
    throw new ShapeError(
      `${fn}: ${groups} groups must divide the ${c} channels of input ${shapeStr(x.shape)}`,
    );
  }
  checkParam(fn, "weight", weight, [c]);
  checkParam(fn, "bias", bias, [c]);
  const spatial = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const attrs = { rowSize: (c / groups) * spatial, groups, inner: spatial, eps };
  return fusedNorm(x, attrs, weight, bias, (y) => channelAffine(y, weight, bias));
}

/**
 * Group normalisation (`F.groupNorm`): the channels of each sample in `numGroups` groups, each
 * normalised over its channels and spatial positions, then a per-channel weight and bias.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { groupNorm } from "./norm.ts";
 * console.log(groupNorm(randn([2, 4, 3]), 2).shape); // [2, 4, 3]
 * ```
 */
export function groupNorm(x: Tensor, numGroups: number, options: GroupNormOptions = {}): Tensor {
  arity("groupNorm", arguments, 3);
  tensorArg("groupNorm", "input", x);
  int("groupNorm", "numGroups", numGroups);
  knownKeys("groupNorm", options, ["weight", "bias", "eps"]);
  const weight = optionalTensor("groupNorm", "weight", options.weight);
  const bias = optionalTensor("groupNorm", "bias", options.bias);
  const eps = epsArg("groupNorm", options.eps, 1e-5);
  return runGroupNorm("groupNorm", x, numGroups, weight, bias, eps);
}

/** Options of {@linkcode GroupNorm}. */
export interface GroupNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Group normalisation of [N, C, *] input with `numGroups` groups of channels. */
export class GroupNorm extends Module {
  /** Number of channel groups. */
  readonly numGroups: number;
  /** Number of channels. */
  readonly numChannels: number;
  /** Variance epsilon. */
  readonly eps: number;
  /** Whether weight and bias are learnt. */
  readonly affine: boolean;
  /** Per-channel scale [C] (ones), or null. */
  weight: Tensor | null;
  /** Per-channel shift [C] (zeros), or null. */
  bias: Tensor | null;

  /** Creates the layer; `numGroups` must divide `numChannels`. */
  constructor(numGroups: number, numChannels: number, options: GroupNormLayerOptions = {}) {
    super();
    const L = "GroupNorm";
    knownKeys(L, options, ["eps", "affine", "device"]);
    this.numGroups = int(L, "numGroups", numGroups);
    this.numChannels = int(L, "numChannels", numChannels);
    if (numChannels % numGroups !== 0) {
      fail(L, "numGroups", `must divide numChannels (${numChannels})`, numGroups);
    }
    this.eps = epsArg(L, options.eps, 1e-5);
    this.affine = bool(L, "affine", options.affine, true);
    const device = deviceOf(L, options.device);
    this.weight = this.affine ? Parameter(ones([numChannels])) : null;
    this.bias = this.affine ? Parameter(zeros([numChannels])) : null;
    if (device && device !== "cpu") this.to(device);
  }

  /** `2, 4, eps=1e-05, affine=true`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${reprFloat(this.eps)}, ` +
      `affine=${this.affine}`;
  }

  /** Normalises `x` [N, C, *]. */
  forward(x: Tensor): Tensor {
    tensorArg("GroupNorm.forward", "input", x);
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(
        `GroupNorm: expected input [N, ${this.numChannels}, *], got ${shapeStr(x.shape)}`,
      );
    }
    return runGroupNorm("GroupNorm", x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(GroupNorm);
