/**
 * GoogLeNet (Inception v1, Szegedy et al., 2014) as torchvision builds it: convolutions followed by
 * batch norm (`BasicConv2d`), nine Inception modules, optional auxiliary classifiers after 4a and
 * 4d, global average pooling, dropout 0.2 and a linear classifier. Like torchvision, the "5 × 5"
 * branch uses a 3 × 3 convolution. Keys and parameter counts equal torchvision's (13,004,888 with
 * the auxiliary classifiers — torchvision's default — 6,624,904 without; denn's default is
 * without). Input at least 32 × 32.
 *
 * @example
 * ```ts ignore
 * import { googlenet } from "./googlenet.ts";
 * const net = googlenet({ numClasses: 10, auxLogits: true });
 * const { logits, aux1, aux2 } = net.forwardWithAux(x);
 * ```
 *
 * @module
 */

import { cat, Module, noGrad, trustForward } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { bnRelu } from "../../layers/_relu_pool.ts";
import {
  AdaptiveAvgPool2d,
  adaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  init,
  Linear,
  MaxPool2d,
  Sequential,
} from "../../layers/mod.ts";
import type { Conv2dLayerOptions } from "../../layers/mod.ts";
import { checkInput, posInt } from "./_common.ts";
import type { ModelOptions } from "./_common.ts";

/** Convolution (no bias) + batch norm (eps 0.001) + ReLU. */
export class BasicConv2d extends Module {
  /** The convolution. */
  conv: Conv2d;
  /** Its batch norm. */
  bn: BatchNorm2d;

  /** Creates the unit. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { ...options, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  /** relu(bn(conv(x))), the ReLU in the batch norm's op where it can be (see Sequential's forward). */
  forward(x: Tensor): Tensor {
    return bnRelu(this.bn, null, this.conv.forward(x));
  }
}

/** An Inception module: 1 × 1, 1 × 1→3 × 3, 1 × 1→3 × 3 and pool→1 × 1 branches, concatenated. */
export class Inception extends Module {
  /** 1 × 1 branch. */
  branch1: BasicConv2d;
  /** 1 × 1 reduce then 3 × 3. */
  branch2: Sequential;
  /** 1 × 1 reduce then 3 × 3 (the paper's 5 × 5). */
  branch3: Sequential;
  /** 3 × 3 max pool then 1 × 1 projection. */
  branch4: Sequential;

  /** Creates the module with torchvision's argument order. */
  constructor(
    inChannels: number,
    ch1x1: number,
    ch3x3red: number,
    ch3x3: number,
    ch5x5red: number,
    ch5x5: number,
    poolProj: number,
  ) {
    super();
    this.branch1 = new BasicConv2d(inChannels, ch1x1, 1);
    this.branch2 = new Sequential(
      new BasicConv2d(inChannels, ch3x3red, 1),
      new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }),
    );
    this.branch3 = new Sequential(
      new BasicConv2d(inChannels, ch5x5red, 1),
      new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }),
    );
    this.branch4 = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }),
      new BasicConv2d(inChannels, poolProj, 1),
    );
  }

  /** The four branches concatenated along channels. */
  forward(x: Tensor): Tensor {
    return cat([
      this.branch1.forward(x),
      this.branch2.forward(x),
      this.branch3.forward(x),
      this.branch4.forward(x),
    ], 1);
  }
}

/** Auxiliary classifier: pool to 4 × 4, 1 × 1 conv to 128, fc 2048→1024, dropout 0.7, fc. */
export class InceptionAux extends Module {
  /** 1 × 1 projection. */
  conv: BasicConv2d;
  /** Hidden layer. */
  fc1: Linear;
  /** Output layer. */
  fc2: Linear;
  /** Dropout 0.7. */
  dropout: Dropout;

  /** Creates the head over `inChannels` features. */
  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv = new BasicConv2d(inChannels, 128, 1);
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(0.7);
  }

  /** Class scores from intermediate features. */
  forward(x: Tensor): Tensor {
    const f = this.conv.forward(adaptiveAvgPool2d(x, [4, 4]));
    const h = this.fc1.forward(f.reshape([f.shape[0], -1])).relu_();
    return this.fc2.forward(this.dropout.forward(h));
  }
}

/** Options of {@linkcode GoogLeNet}. */
export interface GoogLeNetOptions extends ModelOptions {
  /** Build the two auxiliary classifiers (default false; torchvision's default is true). */
  auxLogits?: boolean;
  /** Dropout before the classifier (default 0.2). */
  dropout?: number;
}

/** GoogLeNet outputs in training mode with auxiliary classifiers. */
export interface GoogLeNetOutputs {
  /** Main classifier. */
  logits: Tensor;
  /** Auxiliary classifier after inception4d (null when absent or in eval mode). */
  aux2: Tensor | null;
  /** Auxiliary classifier after inception4a (null when absent or in eval mode). */
  aux1: Tensor | null;
}

/** GoogLeNet. */
export class GoogLeNet extends Module {
  /** 7 × 7 stem. */
  conv1: BasicConv2d;
  /** Stem pool. */
  maxpool1: MaxPool2d;
  /** 1 × 1 stem. */
  conv2: BasicConv2d;
  /** 3 × 3 stem. */
  conv3: BasicConv2d;
  /** Stem pool. */
  maxpool2: MaxPool2d;
  /** Inception 3a. */
  inception3a: Inception;
  /** Inception 3b. */
  inception3b: Inception;
  /** Pool. */
  maxpool3: MaxPool2d;
  /** Inception 4a. */
  inception4a: Inception;
  /** Inception 4b. */
  inception4b: Inception;
  /** Inception 4c. */
  inception4c: Inception;
  /** Inception 4d. */
  inception4d: Inception;
  /** Inception 4e. */
  inception4e: Inception;
  /** Pool. */
  maxpool4: MaxPool2d;
  /** Inception 5a. */
  inception5a: Inception;
  /** Inception 5b. */
  inception5b: Inception;
  /** Auxiliary head after 4a, or null. */
  aux1: InceptionAux | null;
  /** Auxiliary head after 4d, or null. */
  aux2: InceptionAux | null;
  /** Global average pool. */
  avgpool: AdaptiveAvgPool2d;
  /** Dropout. */
  dropout: Dropout;
  /** Classifier. */
  fc: Linear;
  readonly #inChannels: number;

  /** Builds GoogLeNet. */
  constructor(options: GoogLeNetOptions = {}) {
    super();
    const nc = posInt("GoogLeNet", "numClasses", options.numClasses ?? 1000);
    const ic = posInt("GoogLeNet", "inChannels", options.inChannels ?? 3);
    this.#inChannels = ic;
    const pool = (k: number, s: number) => new MaxPool2d(k, { stride: s, ceilMode: true });
    this.conv1 = new BasicConv2d(ic, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = pool(3, 2);
    this.conv2 = new BasicConv2d(64, 64, 1);
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
    this.maxpool2 = pool(3, 2);
    this.inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = pool(3, 2);
    this.inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = pool(2, 2);
    this.inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
    this.aux1 = options.auxLogits ? new InceptionAux(512, nc) : null;
    this.aux2 = options.auxLogits ? new InceptionAux(528, nc) : null;
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.dropout = new Dropout(options.dropout ?? 0.2);
    this.fc = new Linear(1024, nc);
    // torchvision: truncated normal (std 0.01, cut at ±2) for conv and linear weights.
    noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Conv2d || m instanceof Linear) init.truncNormal_(m.weight, 0, 0.01, -2, 2);
      }
    });
  }

  /** Main logits and, in training mode with `auxLogits`, the auxiliary ones. */
  forwardWithAux(x: Tensor): GoogLeNetOutputs {
    checkInput("GoogLeNet", x, this.#inChannels, 32);
    x = this.maxpool1.forward(this.conv1.forward(x));
    x = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(x)));
    x = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(x)));
    x = this.inception4a.forward(x);
    const aux1 = this.aux1 && this.training ? this.aux1.forward(x) : null;
    x = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(x)));
    const aux2 = this.aux2 && this.training ? this.aux2.forward(x) : null;
    x = this.maxpool4.forward(this.inception4e.forward(x));
    x = this.inception5b.forward(this.inception5a.forward(x));
    const f = this.avgpool.forward(x);
    const logits = this.fc.forward(this.dropout.forward(f.reshape([f.shape[0], -1])));
    return { logits, aux2, aux1 };
  }

  /** Main class scores [N, classes]. */
  forward(x: Tensor): Tensor {
    return this.forwardWithAux(x).logits;
  }
}

/** GoogLeNet. */
export function googlenet(options: GoogLeNetOptions = {}): GoogLeNet {
  return new GoogLeNet(options);
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(BasicConv2d, Inception, InceptionAux, GoogLeNet);
