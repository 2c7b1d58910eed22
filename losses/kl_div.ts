/**
 * `KLDivLoss`: the Kullback–Leibler divergence Σ t·(log t − x) of log-probabilities x from the target
 * distribution t (given as log-probabilities with `logTarget`); `reduction: "batchmean"` is the true
 * KL divergence per example.
 *
 * @example
 * ```ts
 * import { KLDivLoss } from "./kl_div.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new KLDivLoss({ reduction: "batchmean" }).forward(
 *   tensor([[-0.7, -0.7]]),
 *   tensor([[0.9, 0.1]]),
 * );
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Reduction, Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode KLDivLoss}. */
export type KLDivLossOptions = F.KlDivOptions;

/** KLDivLoss as a module. */
export class KLDivLoss extends Loss<Reduction | "batchmean"> {
  /** Options used by forward. */
  readonly options: KLDivLossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: KLDivLossOptions = {}) {
    super(lossOptions("KLDivLoss", options, ["reduction", "logTarget"]).reduction ?? "mean", [
      "mean",
      "sum",
      "none",
      "batchmean",
    ]);
    this.options = options;
  }

  /** Loss of log-probabilities `input` against float32 targets of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, { ...this.options, reduction: this.reduction });
  }
}
