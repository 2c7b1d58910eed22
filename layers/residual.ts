/**
 * `Residual`: y = body(x) + shortcut(x), the skip connection of ResNet. The shortcut defaults to
 * the identity; give one (e.g. a strided 1×1 Conv2d + BatchNorm2d) when shapes change. Children
 * are named `body` and `shortcut` (absent when it is the identity).
 *
 * @example
 * ```ts
 * import { Residual } from "./residual.ts";
 * import { Sequential } from "./sequential.ts";
 * import { Conv2d } from "./conv2d.ts";
 * import { ReLU } from "./activations.ts";
 * import { randn } from "../mod.ts";
 * const block = new Residual(new Sequential(new Conv2d(4, 4, 3, { padding: 1 }), new ReLU()));
 * console.log(block.forward(randn([1, 4, 6, 6])).shape); // [1, 4, 6, 6]
 * ```
 *
 * @module
 */

import { Module, ShapeError, trustForward, ValueError } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";

/** A residual block: body(x) + shortcut(x). */
export class Residual extends Module {
  /** The main branch. */
  readonly body: Module;
  /** The skip branch, or null for the identity. */
  readonly shortcut: Module | null;

  /** Creates the block; `shortcut` null (default) means the identity. */
  constructor(body: Module, shortcut: Module | null = null) {
    super();
    if (!(body instanceof Module)) throw new ValueError("Residual: body must be a Module");
    if (shortcut !== null && !(shortcut instanceof Module)) {
      throw new ValueError("Residual: shortcut must be a Module or null");
    }
    this.body = body;
    this.shortcut = shortcut;
  }

  /** body(x) + shortcut(x). */
  forward(x: Tensor): Tensor {
    const y = this.body.forward(x);
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    if (y.shape.length !== s.shape.length || y.shape.some((d, i) => d !== s.shape[i])) {
      throw new ShapeError(
        `Residual: body output [${y.shape.join(", ")}] and shortcut output [${
          s.shape.join(", ")
        }] differ; give a shortcut that matches`,
      );
    }
    return y.add(s);
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Residual);
