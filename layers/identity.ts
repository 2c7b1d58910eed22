/**
 * `Identity`: returns its input unchanged; a placeholder (e.g. a residual shortcut or a removed
 * classifier head).
 *
 * @example
 * ```ts
 * import { Identity } from "./identity.ts";
 * import { tensor } from "../mod.ts";
 * console.log(new Identity().forward(tensor([1, 2])).toArraySync()); // [1, 2]
 * ```
 *
 * @module
 */

import { Module, trustForward } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";

/** The identity layer. */
export class Identity extends Module {
  /** Returns `x`. */
  forward(x: Tensor): Tensor {
    return x;
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Identity);
