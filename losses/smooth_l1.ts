/**
 * `SmoothL1Loss`: ½d²/β where |d| < β, |d| − ½β elsewhere (d = x − y); β = 0 is the L1 loss.
 *
 * @example
 * ```ts
 * import { SmoothL1Loss } from "./smooth_l1.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new SmoothL1Loss({ beta: 0.5 }).forward(tensor([1, 2]), tensor([1.5, 1]));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode SmoothL1Loss}. */
export type SmoothL1LossOptions = F.SmoothL1Options;

/** SmoothL1Loss as a module. */
export class SmoothL1Loss extends Loss {
  /** Options used by forward. */
  readonly options: SmoothL1LossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: SmoothL1LossOptions = {}) {
    super(lossOptions("SmoothL1Loss", options, ["reduction", "beta"]).reduction ?? "mean");
    this.options = options;
  }

  /** Loss of `input` against a float32 `target` of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { ...this.options, reduction: this.reduction });
  }
}
