/**
 * AlexNet as in torchvision (the single-GPU "one weird trick" variant): five convolutions, adaptive
 * average pooling to 6 × 6 and three fully connected layers with dropout. State-dict keys and the
 * 61,100,840 parameters (1000 classes) equal torchvision's `alexnet()`. Input at least 63 × 63.
 *
 * @example
 * ```ts ignore
 * import { alexnet } from "./alexnet.ts";
 * const net = alexnet({ numClasses: 10 });
 * ```
 *
 * @module
 */

import { Module, trustForward } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import {
  AdaptiveAvgPool2d,
  Conv2d,
  Dropout,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from "../../layers/mod.ts";
import { checkInput, posInt } from "./_common.ts";
import type { ModelOptions } from "./_common.ts";

/** Options of {@linkcode AlexNet}. */
export interface AlexNetOptions extends ModelOptions {
  /** Dropout probability in the classifier (default 0.5). */
  dropout?: number;
  /** Width of the hidden fully connected layers (default 4096, torchvision's; smaller for tests). */
  classifierWidth?: number;
}

/** AlexNet. */
export class AlexNet extends Module {
  /** Convolutional trunk. */
  features: Sequential;
  /** Pools to 6 × 6. */
  avgpool: AdaptiveAvgPool2d;
  /** Fully connected head. */
  classifier: Sequential;
  readonly #inChannels: number;

  /** Builds AlexNet (1000 classes, 3 channels by default). */
  constructor(options: AlexNetOptions = {}) {
    super();
    const nc = posInt("AlexNet", "numClasses", options.numClasses ?? 1000);
    const ic = posInt("AlexNet", "inChannels", options.inChannels ?? 3);
    const w = posInt("AlexNet", "classifierWidth", options.classifierWidth ?? 4096);
    const p = options.dropout ?? 0.5;
    this.#inChannels = ic;
    this.features = new Sequential(
      new Conv2d(ic, 64, 11, { stride: 4, padding: 2 }),
      new ReLU({ inplace: true }),
      new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }),
      new ReLU({ inplace: true }),
      new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }),
      new ReLU({ inplace: true }),
      new Conv2d(384, 256, 3, { padding: 1 }),
      new ReLU({ inplace: true }),
      new Conv2d(256, 256, 3, { padding: 1 }),
      new ReLU({ inplace: true }),
      new MaxPool2d(3, { stride: 2 }),
    );
    this.avgpool = new AdaptiveAvgPool2d([6, 6]);
    this.classifier = new Sequential(
      new Dropout(p),
      new Linear(256 * 6 * 6, w),
      new ReLU({ inplace: true }),
      new Dropout(p),
      new Linear(w, w),
      new ReLU({ inplace: true }),
      new Linear(w, nc),
    );
  }

  /** Class scores [N, classes]. */
  forward(x: Tensor): Tensor {
    checkInput("AlexNet", x, this.#inChannels, 63);
    const f = this.avgpool.forward(this.features.forward(x));
    return this.classifier.forward(f.reshape([f.shape[0], -1]));
  }
}

/** AlexNet. */
export function alexnet(options: AlexNetOptions = {}): AlexNet {
  return new AlexNet(options);
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(AlexNet);
