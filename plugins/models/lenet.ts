/**
 * LeNet-5 (LeCun et al., 1998) for 28 × 28 digits: conv 1→6 5×5 (padding 2, so 28 × 28 input
 * plays the role of the original 32 × 32), pool 2×2, conv 6→16 5×5, pool 2×2, then fully connected
 * 400→120→84→classes.
 *
 * The default is the modern variant — ReLU and max pooling — which trains faster and more
 * reliably; `{ activation: "tanh", pooling: "avg" }` gives the classic network (with plain average
 * pooling instead of the original trainable subsampling and RBF output). State-dict keys:
 * `features.0` (conv1), `features.3` (conv2), `classifier.0/2/4` (fc layers) — 61,706 parameters.
 *
 * @example
 * ```ts
 * import { lenet5 } from "./lenet.ts";
 * import { randn } from "../../mod.ts";
 * const net = lenet5();
 * console.log(net.forward(randn([2, 1, 28, 28])).shape); // [2, 10]
 * ```
 *
 * @module
 */

import { Module, trustForward } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { AvgPool2d, Conv2d, Linear, MaxPool2d, ReLU, Sequential, Tanh } from "../../layers/mod.ts";
import { checkInput, posInt } from "./_common.ts";
import type { ModelOptions } from "./_common.ts";

/** Options of {@linkcode LeNet5}. */
export interface LeNet5Options extends ModelOptions {
  /** Side of the square input (default 28; 32 for the original padded digits). */
  inputSize?: number;
  /** "relu" (default) or the classic "tanh". */
  activation?: "relu" | "tanh";
  /** "max" (default) or the classic "avg". */
  pooling?: "max" | "avg";
}

/** LeNet-5. */
export class LeNet5 extends Module {
  /** Convolutions and pooling. */
  features: Sequential;
  /** Fully connected layers. */
  classifier: Sequential;
  readonly #inChannels: number;
  readonly #inputSize: number;

  /** Builds the network (10 classes, 1 channel, 28 × 28 by default). */
  constructor(options: LeNet5Options = {}) {
    super();
    const nc = posInt("LeNet5", "numClasses", options.numClasses ?? 10);
    const ic = posInt("LeNet5", "inChannels", options.inChannels ?? 1);
    const size = posInt("LeNet5", "inputSize", options.inputSize ?? 28);
    const s = Math.floor((Math.floor(size / 2) - 4) / 2);
    if (s < 1) throw new RangeError(`LeNet5: inputSize must be at least 10, got ${size}`);
    const act = () => options.activation === "tanh" ? new Tanh() : new ReLU();
    const pool = () => options.pooling === "avg" ? new AvgPool2d(2) : new MaxPool2d(2);
    this.#inChannels = ic;
    this.#inputSize = size;
    this.features = new Sequential(
      new Conv2d(ic, 6, 5, { padding: 2 }),
      act(),
      pool(),
      new Conv2d(6, 16, 5),
      act(),
      pool(),
    );
    this.classifier = new Sequential(
      new Linear(16 * s * s, 120),
      act(),
      new Linear(120, 84),
      act(),
      new Linear(84, nc),
    );
  }

  /** Class scores [N, classes] for images [N, C, size, size]. */
  forward(x: Tensor): Tensor {
    checkInput("LeNet5", x, this.#inChannels, this.#inputSize);
    const f = this.features.forward(x);
    return this.classifier.forward(f.reshape([f.shape[0], -1]));
  }
}

/** LeNet-5 (ReLU + max pooling unless told otherwise). */
export function lenet5(options: LeNet5Options = {}): LeNet5 {
  return new LeNet5(options);
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(LeNet5);
