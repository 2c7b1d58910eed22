/**
 * `Loss`, the base of loss modules: a module with a `reduction` whose `forward(input, target)`
 * returns the loss.
 *
 * @module
 */

import { ValueError } from "./errors.ts";
import { Module } from "./module.ts";
import type { Tensor } from "./tensor.ts";

/** How per-element losses are combined. */
export type Reduction = "mean" | "sum" | "none";

/** Base class of loss modules. */
export abstract class Loss<R extends string = Reduction> extends Module {
  /** How per-element losses are combined. */
  readonly reduction: R;

  /** Checks and stores the reduction (`allowed` lists the valid ones). */
  constructor(reduction: R, allowed: readonly string[] = ["mean", "sum", "none"]) {
    super();
    if (!allowed.includes(reduction)) {
      throw new ValueError(
        `${new.target.name}: unknown reduction "${reduction}" (expected ${allowed.join(", ")})`,
      );
    }
    this.reduction = reduction;
  }

  /** Computes the loss of `input` against `target`. */
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}
