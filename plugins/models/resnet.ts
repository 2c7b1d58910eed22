/**
 * ResNet-18/34/50/101/152 (He et al., 2015) exactly as torchvision builds them (v1.5: the stride of
 * a bottleneck sits on its 3 × 3 convolution): basic blocks for 18/34, bottlenecks for 50+,
 * projection shortcuts `downsample.0/1` where shape changes. Keys and parameter counts equal
 * torchvision's (ResNet-18: 11,689,512; ResNet-50: 25,557,032). Input at least 32 × 32.
 *
 * @example
 * ```ts ignore
 * import { resnet } from "./resnet.ts";
 * const net = resnet(18, { numClasses: 10 });
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
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from "../../layers/mod.ts";
import { bnRelu, fusesBnRelu, swapsReluPool } from "../../layers/_relu_pool.ts";
import { checkInput, initConvBn, posInt } from "./_common.ts";
import type { ModelOptions } from "./_common.ts";

/** ResNet depths. */
export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

function conv3x3(i: number, o: number, stride = 1): Conv2d {
  return new Conv2d(i, o, 3, { stride, padding: 1, bias: false });
}

function conv1x1(i: number, o: number, stride = 1): Conv2d {
  return new Conv2d(i, o, 1, { stride, bias: false });
}

/** Two 3 × 3 convolutions with an identity or projection shortcut. */
export class BasicBlock extends Module {
  /** Output channels per input "plane" (1). */
  static readonly expansion = 1;
  /** First convolution (carries the stride). */
  conv1: Conv2d;
  /** Its batch norm. */
  bn1: BatchNorm2d;
  /** Shared ReLU. */
  relu: ReLU;
  /** Second convolution. */
  conv2: Conv2d;
  /** Its batch norm. */
  bn2: BatchNorm2d;
  /** Projection shortcut, or null for the identity. */
  downsample: Sequential | null;

  /** Creates a block from `inplanes` to `planes` channels. */
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.relu = new ReLU({ inplace: true });
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
  }

  /** relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)). */
  forward(x: Tensor): Tensor {
    let out = bnRelu(this.bn1, this.relu, this.conv1.forward(x));
    out = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(out.add(identity));
  }
}

/** 1 × 1 reduce, 3 × 3 (with the stride), 1 × 1 expand ×4, plus shortcut. */
export class Bottleneck extends Module {
  /** Output channels per input "plane" (4). */
  static readonly expansion = 4;
  /** 1 × 1 reduction. */
  conv1: Conv2d;
  /** Its batch norm. */
  bn1: BatchNorm2d;
  /** 3 × 3 convolution. */
  conv2: Conv2d;
  /** Its batch norm. */
  bn2: BatchNorm2d;
  /** 1 × 1 expansion. */
  conv3: Conv2d;
  /** Its batch norm. */
  bn3: BatchNorm2d;
  /** Shared ReLU. */
  relu: ReLU;
  /** Projection shortcut, or null for the identity. */
  downsample: Sequential | null;

  /** Creates a block from `inplanes` to `planes * 4` channels. */
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = conv1x1(inplanes, planes);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes, stride);
    this.bn2 = new BatchNorm2d(planes);
    this.conv3 = conv1x1(planes, planes * 4);
    this.bn3 = new BatchNorm2d(planes * 4);
    this.relu = new ReLU({ inplace: true });
    this.downsample = downsample;
  }

  /** The bottleneck residual function plus the shortcut. */
  forward(x: Tensor): Tensor {
    let out = bnRelu(this.bn1, this.relu, this.conv1.forward(x));
    out = bnRelu(this.bn2, this.relu, this.conv2.forward(out));
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(out.add(identity));
  }
}

const SPEC: Record<ResNetDepth, [typeof BasicBlock | typeof Bottleneck, number[]]> = {
  18: [BasicBlock, [2, 2, 2, 2]],
  34: [BasicBlock, [3, 4, 6, 3]],
  50: [Bottleneck, [3, 4, 6, 3]],
  101: [Bottleneck, [3, 4, 23, 3]],
  152: [Bottleneck, [3, 8, 36, 3]],
};

/** Options of {@linkcode ResNet}. */
export type ResNetOptions = ModelOptions;

/** ResNet. */
export class ResNet extends Module {
  /** 7 × 7 stem convolution, stride 2. */
  conv1: Conv2d;
  /** Stem batch norm. */
  bn1: BatchNorm2d;
  /** Stem ReLU. */
  relu: ReLU;
  /** Stem 3 × 3 max pool, stride 2. */
  maxpool: MaxPool2d;
  /** Stage 1 (64 planes). */
  layer1: Sequential;
  /** Stage 2 (128 planes, stride 2). */
  layer2: Sequential;
  /** Stage 3 (256 planes, stride 2). */
  layer3: Sequential;
  /** Stage 4 (512 planes, stride 2). */
  layer4: Sequential;
  /** Global average pool. */
  avgpool: AdaptiveAvgPool2d;
  /** Classifier. */
  fc: Linear;
  readonly #inChannels: number;

  /** Builds ResNet-`depth`. */
  constructor(depth: ResNetDepth, options: ResNetOptions = {}) {
    super();
    const spec = SPEC[depth];
    if (!spec) throw new RangeError(`ResNet: depth must be 18, 34, 50, 101 or 152, got ${depth}`);
    const [Block, counts] = spec;
    const nc = posInt("ResNet", "numClasses", options.numClasses ?? 1000);
    const ic = posInt("ResNet", "inChannels", options.inChannels ?? 3);
    this.#inChannels = ic;
    this.conv1 = new Conv2d(ic, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    this.relu = new ReLU({ inplace: true });
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    let inplanes = 64;
    const stage = (planes: number, blocks: number, stride: number): Sequential => {
      let down: Sequential | null = null;
      if (stride !== 1 || inplanes !== planes * Block.expansion) {
        down = new Sequential(
          conv1x1(inplanes, planes * Block.expansion, stride),
          new BatchNorm2d(planes * Block.expansion),
        );
      }
      const layers: Module[] = [new Block(inplanes, planes, stride, down)];
      inplanes = planes * Block.expansion;
      for (let i = 1; i < blocks; i++) layers.push(new Block(inplanes, planes));
      return new Sequential(...layers);
    };
    this.layer1 = stage(64, counts[0], 1);
    this.layer2 = stage(128, counts[1], 2);
    this.layer3 = stage(256, counts[2], 2);
    this.layer4 = stage(512, counts[3], 2);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.fc = new Linear(512 * Block.expansion, nc);
    initConvBn(this, "default");
  }

  /** Class scores [N, classes]. */
  forward(x: Tensor): Tensor {
    checkInput("ResNet", x, this.#inChannels, 32);
    x = this.conv1.forward(x);
    // The ReLU in the batch norm's op where it can be, else pool then ReLU where that gives the
    // same bits (see Sequential's forward).
    if (fusesBnRelu(this.bn1, this.relu, x)) {
      x = this.maxpool.forward(bnRelu(this.bn1, this.relu, x));
    } else {
      x = this.bn1.forward(x);
      x = swapsReluPool(this.bn1, this.relu, this.maxpool)
        ? this.maxpool.forward(x).relu()
        : this.maxpool.forward(this.relu.forward(x));
    }
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    const f = this.avgpool.forward(x);
    return this.fc.forward(f.reshape([f.shape[0], -1]));
  }
}

/** ResNet-`depth`. */
export function resnet(depth: ResNetDepth, options: ResNetOptions = {}): ResNet {
  return new ResNet(depth, options);
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(BasicBlock, Bottleneck, ResNet);
