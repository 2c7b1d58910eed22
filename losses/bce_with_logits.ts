/**
 * `BCEWithLogitsLoss`: sigmoid + binary cross-entropy in one stable expression (the softplus form,
 * finite for |logit| > 50), with per-element `weight` and per-class `posWeight`.
 *
 * @example
 * ```ts
 * import { BCEWithLogitsLoss } from "./bce_with_logits.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new BCEWithLogitsLoss({ posWeight: tensor([2]) }).forward(tensor([60, -3]), tensor([1, 0]));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode BCEWithLogitsLoss}. */
export type BCEWithLogitsLossOptions = F.BceWithLogitsOptions;

/** BCEWithLogitsLoss as a module. */
export class BCEWithLogitsLoss extends Loss {
  /** Options used by forward. */
  readonly options: BCEWithLogitsLossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: BCEWithLogitsLossOptions = {}) {
    super(
      lossOptions("BCEWithLogitsLoss", options, ["reduction", "weight", "posWeight"]).reduction ??
        "mean",
    );
    this.options = options;
  }

  /** Loss of logits `input` against float32 targets in [0, 1] of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.bceWithLogits(input, target, { ...this.options, reduction: this.reduction });
  }
}
