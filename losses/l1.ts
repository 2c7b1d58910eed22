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

import { definePlugin, F, Loss } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";

/** Options of {@linkcode L1Loss}. */
export type L1LossOptions = F.LossOptions;

/** L1Loss as a module. */
export class L1Loss extends Loss {
  /** Options used by forward. */
  readonly options: L1LossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: L1LossOptions = {}) {
    super(options.reduction ?? "mean");
    this.options = options;
  }

  /** Loss of `input` against a float32 `target` of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { ...this.options, reduction: this.reduction });
  }
}

/** L1Loss as a plugin. */
export const l1Plugin: Plugin = definePlugin({
  name: "@denn/l1-loss",
  kind: "loss",
  version: "0.1.0",
  apiVersion: 1,
  exports: { L1Loss },
});
