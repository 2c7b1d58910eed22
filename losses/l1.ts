/**
 * `L1Loss`: the absolute error |x − y|, averaged by default.
 *
 * @example
 * ```ts
 * import { L1Loss } from "./l1.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new L1Loss().forward(tensor([1, 2]), tensor([1.5, 1]));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode L1Loss}. */
export type L1LossOptions = F.LossOptions;

/** L1Loss as a module. */
export class L1Loss extends Loss {
  /** Options used by forward. */
  readonly options: L1LossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: L1LossOptions = {}) {
    super(lossOptions("L1Loss", options, ["reduction"]).reduction ?? "mean");
    this.options = options;
  }

  /** Loss of `input` against a float32 `target` of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { ...this.options, reduction: this.reduction });
  }
}
