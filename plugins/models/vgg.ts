/**
 * VGG-11/13/16/19 (configurations A, B, D, E of Simonyan & Zisserman), with or without batch
 * normalisation, as torchvision builds them: 3 × 3 convolutions, five max pools, adaptive average
 * pooling to 7 × 7 and a 4096-4096 classifier. Keys and parameter counts equal torchvision's
 * (VGG-16: 138,357,544). Input at least 32 × 32.
 *
 * @example
 * ```ts ignore
 * import { vgg } from "./vgg.ts";
 * const net = vgg(16, { batchNorm: true, numClasses: 10 });
 * ```
 *
 * @module
 */

import { Module, trustForward } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from "../../layers/mod.ts";
import { checkInput, initConvBn, posInt } from "./_common.ts";
import type { ModelOptions } from "./_common.ts";

/** VGG depths. */
export type VGGDepth = 11 | 13 | 16 | 19;

const CFG: Record<VGGDepth, (number | "M")[]> = {
  11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  19: [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
    "M",
  ],
};

/** Options of {@linkcode VGG}. */
export interface VGGOptions extends ModelOptions {
  /** Batch norm after every convolution (torchvision's `vgg16_bn`; default false). */
  batchNorm?: boolean;
  /** Dropout probability in the classifier (default 0.5). */
  dropout?: number;
  /** Width of the hidden fully connected layers (default 4096, torchvision's; smaller for tests). */
  classifierWidth?: number;
}

/** VGG. */
export class VGG extends Module {
  /** Convolutional trunk. */
  features: Sequential;
  /** Pools to 7 × 7. */
  avgpool: AdaptiveAvgPool2d;
  /** Fully connected head. */
  classifier: Sequential;
  readonly #inChannels: number;

  /** Builds VGG-`depth`. */
  constructor(depth: VGGDepth, options: VGGOptions = {}) {
    super();
    const cfg = CFG[depth];
    if (!cfg) throw new RangeError(`VGG: depth must be 11, 13, 16 or 19, got ${depth}`);
    const nc = posInt("VGG", "numClasses", options.numClasses ?? 1000);
    let c = posInt("VGG", "inChannels", options.inChannels ?? 3);
    const w = posInt("VGG", "classifierWidth", options.classifierWidth ?? 4096);
    const p = options.dropout ?? 0.5;
    this.#inChannels = c;
    const layers: Module[] = [];
    for (const v of cfg) {
      if (v === "M") {
        layers.push(new MaxPool2d(2, { stride: 2 }));
        continue;
      }
      layers.push(new Conv2d(c, v, 3, { padding: 1 }));
      if (options.batchNorm) layers.push(new BatchNorm2d(v));
      layers.push(new ReLU({ inplace: true }));
      c = v;
    }
    this.features = new Sequential(...layers);
    this.avgpool = new AdaptiveAvgPool2d([7, 7]);
    this.classifier = new Sequential(
      new Linear(512 * 7 * 7, w),
      new ReLU({ inplace: true }),
      new Dropout(p),
      new Linear(w, w),
      new ReLU({ inplace: true }),
      new Dropout(p),
      new Linear(w, nc),
    );
    initConvBn(this, "normal0.01");
  }

  /** Class scores [N, classes]. */
  forward(x: Tensor): Tensor {
    checkInput("VGG", x, this.#inChannels, 32);
    const f = this.avgpool.forward(this.features.forward(x));
    return this.classifier.forward(f.reshape([f.shape[0], -1]));
  }
}

/** VGG-`depth` (`batchNorm` for the `_bn` variants). */
export function vgg(depth: VGGDepth, options: VGGOptions = {}): VGG {
  return new VGG(depth, options);
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(VGG);
