/**
 * `CrossEntropyLoss`: −log softmax(x)[class] computed with the log-sum-exp trick; class-index or
 * probability targets, class weights, ignoreIndex and label smoothing. Class indices of [N, C]
 * (or [C]) logits without label smoothing run as one fused `crossEntropy` op forward and one
 * `crossEntropyBackward` (`ops/cross_entropy.ts`, whose `crossEntropyPlugin` defines them).
 *
 * @example
 * ```ts
 * import { CrossEntropyLoss } from "./cross_entropy.ts";
 * import { tensor } from "../mod.ts";
 * const loss = new CrossEntropyLoss().forward(tensor([[2, 0.5, -1]]), tensor([0], { dtype: "int32" }));
 * ```
 *
 * @module
 */

import { Loss } from "../core/mod.ts";
import type { Reduction, Tensor } from "../core/mod.ts";
import * as F from "./functional.ts";
import { lossOptions } from "./_options.ts";

/** Options of {@linkcode CrossEntropyLoss}. */
export interface CrossEntropyLossOptions {
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  /** Target value ignored (default −100). */
  ignoreIndex?: number;
  /** "mean" (default), "sum" or "none". */
  reduction?: Reduction;
  /** Label smoothing in [0, 1]. */
  labelSmoothing?: number;
}

/** Cross-entropy between logits and targets. */
export class CrossEntropyLoss extends Loss {
  /** Options used by forward. */
  readonly options: CrossEntropyLossOptions;

  /** Creates the loss. */
  constructor(options: CrossEntropyLossOptions = {}) {
    super(
      lossOptions("CrossEntropyLoss", options, [
        "reduction",
        "weight",
        "ignoreIndex",
        "labelSmoothing",
      ]).reduction ?? "mean",
    );
    this.options = options;
  }

  /** Loss of logits [N, C, ...] against class indices (int32) or probabilities (float32). */
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, { ...this.options, reduction: this.reduction });
  }
}
