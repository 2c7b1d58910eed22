/**
 * `Concat`: runs several branches on the same input and concatenates their outputs along a
 * dimension (default 1, channels), the Inception module of GoogLeNet. Branches are named "0",
 * "1", ... in the state dict.
 *
 * @example
 * ```ts
 * import { Concat } from "./concat.ts";
 * import { Conv2d } from "./conv2d.ts";
 * import { randn } from "../mod.ts";
 * const inception = new Concat([new Conv2d(3, 4, 1), new Conv2d(3, 2, 3, { padding: 1 })]);
 * console.log(inception.forward(randn([1, 3, 8, 8])).shape); // [1, 6, 8, 8]
 * ```
 *
 * @module
 */

import { cat, Module, trustForward, ValueError } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { int, knownKeys } from "./_validate.ts";

/** Options of {@linkcode Concat}. */
export interface ConcatOptions {
  /** Dimension the branch outputs are joined along (default 1; may be negative). */
  dim?: number;
}

/** Parallel branches whose outputs are concatenated. */
export class Concat extends Module {
  /** The concatenation dimension. */
  readonly dim: number;

  /** Creates the block from one or more branches. */
  constructor(branches: readonly Module[], options: ConcatOptions = {}) {
    super();
    knownKeys("Concat", options, ["dim"]);
    this.dim = int("Concat", "dim", options.dim ?? 1, -Infinity);
    if (!Array.isArray(branches) || branches.length === 0) {
      throw new ValueError("Concat: branches must be a non-empty array of Modules");
    }
    branches.forEach((b, i) => {
      if (!(b instanceof Module)) throw new ValueError(`Concat: branch ${i} must be a Module`);
      this.registerModule(String(i), b);
    });
  }

  /** The branches in order. */
  get branches(): Module[] {
    return this.children();
  }

  /** `dim=1`; the branches print after it. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }

  /** Runs each branch on `x` and concatenates the results along `dim`. */
  forward(x: Tensor): Tensor {
    return cat(this.children().map((b) => b.forward(x)), this.dim);
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Concat);
