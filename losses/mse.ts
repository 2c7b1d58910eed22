/**
 * `MSELoss`: the squared error (x − y)², averaged by default.
 *
 * @example
 * ```ts
 * import { MSELoss } from "./mse.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new MSELoss().forward(tensor([1, 2]), tensor([1.5, 1]));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode MSELoss}. */
export type MSELossOptions = F.LossOptions;

/** MSELoss as a module. */
export class MSELoss extends Loss {
  /** Options used by forward. */
  readonly options: MSELossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: MSELossOptions = {}) {
    super(lossOptions("MSELoss", options, ["reduction"]).reduction ?? "mean");
    this.options = options;
  }

  /** Loss of `input` against a float32 `target` of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { ...this.options, reduction: this.reduction });
  }
}
