/**
 * `BCELoss`: binary cross-entropy −(t·log p + (1 − t)·log(1 − p)) of probabilities p (the output
 * of a sigmoid); the logs are clamped at −100 as in PyTorch. Prefer `BCEWithLogitsLoss`, which is
 * stable for any logit.
 *
 * @example
 * ```ts
 * import { BCELoss } from "./bce.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new BCELoss().forward(tensor([0.9, 0.2]), tensor([1, 0]));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode BCELoss}. */
export type BCELossOptions = F.BceOptions;

/** BCELoss as a module. */
export class BCELoss extends Loss {
  /** Options used by forward. */
  readonly options: BCELossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: BCELossOptions = {}) {
    super(lossOptions("BCELoss", options, ["reduction", "weight"]).reduction ?? "mean");
    this.options = options;
  }

  /** Loss of probabilities `input` against float32 targets in [0, 1] of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.bceLoss(input, target, { ...this.options, reduction: this.reduction });
  }
}
