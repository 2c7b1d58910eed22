/**
 * `HingeEmbeddingLoss`: x where the label is 1 and max(0, margin − x) where it is −1 (the binary hinge
 * on distances, used for similarity learning).
 *
 * @example
 * ```ts
 * import { HingeEmbeddingLoss } from "./hinge_embedding.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new HingeEmbeddingLoss({ margin: 1 }).forward(tensor([0.3, 0.4]), tensor([1, -1]));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode HingeEmbeddingLoss}. */
export type HingeEmbeddingLossOptions = F.HingeEmbeddingOptions;

/** HingeEmbeddingLoss as a module. */
export class HingeEmbeddingLoss extends Loss {
  /** Options used by forward. */
  readonly options: HingeEmbeddingLossOptions;

  /** Creates the loss; an unknown `reduction` is an error naming the loss. */
  constructor(options: HingeEmbeddingLossOptions = {}) {
    super(lossOptions("HingeEmbeddingLoss", options, ["reduction", "margin"]).reduction ?? "mean");
    this.options = options;
  }

  /** Loss of `input` against float32 labels ±1 of the same shape. */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.hingeEmbeddingLoss(input, target, { ...this.options, reduction: this.reduction });
  }
}
