/**
 * `MultiMarginLoss`: the multiclass SVM hinge (Weston–Watkins form, as PyTorch's)
 * Σ_{j≠y} max(0, margin − x_y + x_j)^p / C, with p ∈ {1, 2} and class weights.
 *
 * @example
 * ```ts
 * import { MultiMarginLoss } from "./multi_margin.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new MultiMarginLoss().forward(tensor([[2, 0.5, -1]]), tensor([0], { dtype: "int32" }));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode MultiMarginLoss}. */
export type MultiMarginLossOptions = F.MultiMarginOptions;

/** MultiMarginLoss as a module. */
export class MultiMarginLoss extends Loss {
  /** Options used by forward. */
  readonly options: MultiMarginLossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: MultiMarginLossOptions = {}) {
    super(
      lossOptions("MultiMarginLoss", options, ["reduction", "p", "margin", "weight"]).reduction ??
        "mean",
    );
    this.options = options;
  }

  /** Loss of scores [N, C] (or [C]) against class indices (int32). */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.multiMarginLoss(input, target, { ...this.options, reduction: this.reduction });
  }
}
