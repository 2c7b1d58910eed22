/**
 * `NLLLoss`: the negative log-likelihood −x[class] of log-probabilities (pair it with `logSoftmax`,
 * or use `CrossEntropyLoss`, which fuses both with the log-sum-exp trick); class weights and
 * ignoreIndex, PyTorch's weighted mean.
 *
 * @example
 * ```ts
 * import { NLLLoss } from "./nll.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new NLLLoss().forward(tensor([[-0.2, -1.7]]), tensor([0], { dtype: "int32" }));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode NLLLoss}. */
export type NLLLossOptions = F.NllOptions;

/** NLLLoss as a module. */
export class NLLLoss extends Loss {
  /** Options used by forward. */
  readonly options: NLLLossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: NLLLossOptions = {}) {
    super(
      lossOptions("NLLLoss", options, ["reduction", "weight", "ignoreIndex"]).reduction ?? "mean",
    );
    this.options = options;
  }

  /** Loss of log-probabilities [N, C, ...] (or [C]) against class indices (int32). */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { ...this.options, reduction: this.reduction });
  }
}
