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

import { definePlugin, F, Loss } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";

/** Options of {@linkcode SmoothL1Loss}. */
export type SmoothL1LossOptions = F.SmoothL1Options;

/** SmoothL1Loss as a module. */
export class SmoothL1Loss extends Loss {
  /** Options used by forward. */
  readonly options: SmoothL1LossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: SmoothL1LossOptions = {}) {
    super(options.reduction ?? "mean");
    this.options = options;
  }

  /** Loss of `input` against a float32 `target` of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { ...this.options, reduction: this.reduction });
  }
}

/** SmoothL1Loss as a plugin. */
export const smoothL1Plugin: Plugin = definePlugin({
  name: "@denn/smooth-l1-loss",
  kind: "loss",
  version: "0.1.0",
  apiVersion: 1,
  exports: { SmoothL1Loss },
});
