/**
 * `Flatten`: merges dimensions `startDim..endDim` into one (default 1..−1, keeping the batch
 * dimension), e.g. between the convolutional and fully connected parts of LeNet.
 *
 * @example
 * ```ts
 * import { Flatten } from "./flatten.ts";
 * import { randn } from "../mod.ts";
 * console.log(new Flatten().forward(randn([2, 3, 4, 4])).shape); // [2, 48]
 * ```
 *
 * @module
 */

import { Module, trustForward } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { int, tensorArg } from "./_validate.ts";

/** Flattens a contiguous range of dimensions. */
export class Flatten extends Module {
  /** First dimension flattened (may be negative). */
  readonly startDim: number;
  /** Last dimension flattened (may be negative). */
  readonly endDim: number;

  /** Creates the layer (PyTorch's defaults: startDim 1, endDim −1). */
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = int("Flatten", "startDim", startDim, -Infinity);
    this.endDim = int("Flatten", "endDim", endDim, -Infinity);
  }

  /** `startDim=1, endDim=-1`. */
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }

  /** Flattens `x`. */
  forward(x: Tensor): Tensor {
    return tensorArg("Flatten.forward", "input", x).flatten(this.startDim, this.endDim);
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Flatten);
