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

import { definePlugin, F, Loss } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";

/** Options of {@linkcode BCEWithLogitsLoss}. */
export type BCEWithLogitsLossOptions = F.BceWithLogitsOptions;

/** BCEWithLogitsLoss as a module. */
export class BCEWithLogitsLoss extends Loss {
  /** Options used by forward. */
  readonly options: BCEWithLogitsLossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: BCEWithLogitsLossOptions = {}) {
    super(options.reduction ?? "mean");
    this.options = options;
  }

  /** Loss of logits `input` against float32 targets in [0, 1] of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.bceWithLogits(input, target, { ...this.options, reduction: this.reduction });
  }
}

/** BCEWithLogitsLoss as a plugin. */
export const bceWithLogitsPlugin: Plugin = definePlugin({
  name: "@denn/bce-with-logits-loss",
  kind: "loss",
  version: "0.1.0",
  apiVersion: 1,
  exports: { BCEWithLogitsLoss },
});
