/**
 * `Conv2d`: 2-D convolution over NCHW input with an OIHW weight, PyTorch's layout, defaults and
 * initialisation (Kaiming-uniform with a = √5 for the weight, U(±1/√fan_in) for the bias, fan_in =
 * inChannels / groups · kH · kW). Padding may be an int, a pair, `"same"` (stride 1) or `"valid"`;
 * only `paddingMode: "zeros"` is supported.
 *
 * @example
 * ```ts
 * import { Conv2d } from "./conv2d.ts";
 * import { randn } from "../mod.ts";
 * const conv = new Conv2d(3, 8, 3, { padding: 1 });
 * console.log(conv.forward(randn([2, 3, 16, 16])).shape); // [2, 8, 16, 16]
 * ```
 *
 * @module
 */

import {
  definePlugin,
  F,
  init,
  Module,
  Parameter,
  ShapeError,
  ValueError,
  zeros,
} from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import { initWeight } from "./linear.ts";
import type { InitScheme } from "./linear.ts";
import { fail, int, knownKeys, oneOf, pair } from "./_validate.ts";
import type { IntPair } from "./_validate.ts";

/** Options of {@linkcode Conv2d}. */
export interface Conv2dLayerOptions {
  /** Stride (default 1). */
  stride?: IntPair;
  /** Zero padding per side, `"same"` (stride 1 only) or `"valid"` (default 0). */
  padding?: IntPair | "same" | "valid";
  /** Spacing between kernel taps (default 1). */
  dilation?: IntPair;
  /** Channel groups; must divide both channel counts (default 1). */
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Only "zeros" is supported; PyTorch's "reflect", "replicate" and "circular" are rejected. */
  paddingMode?: "zeros";
  /** Weight initialisation (default: PyTorch's). */
  init?: InitScheme;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

const KEYS = [
  "stride",
  "padding",
  "dilation",
  "groups",
  "bias",
  "paddingMode",
  "init",
  "device",
] as const;
const INITS: readonly InitScheme[] = [
  "default",
  "fanIn",
  "glorot",
  "glorotNormal",
  "kaiming",
  "kaimingNormal",
];

/** 2-D convolution layer. */
export class Conv2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size (height, width). */
  readonly kernelSize: readonly [number, number];
  /** Stride (height, width). */
  readonly stride: readonly [number, number];
  /** Padding (height, width), or "same" / "valid". */
  readonly padding: readonly [number, number] | "same" | "valid";
  /** Dilation (height, width). */
  readonly dilation: readonly [number, number];
  /** Channel groups. */
  readonly groups: number;
  /** Weight [out, in / groups, kH, kW]. */
  weight: Tensor;
  /** Bias [out] or null. */
  bias: Tensor | null;

  /** Creates a convolution from `inChannels` to `outChannels` with a `kernelSize` window. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: IntPair,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    const L = "Conv2d";
    knownKeys(L, options, KEYS);
    this.inChannels = int(L, "inChannels", inChannels);
    this.outChannels = int(L, "outChannels", outChannels);
    this.kernelSize = pair(L, "kernelSize", kernelSize);
    this.stride = pair(L, "stride", options.stride ?? 1);
    this.dilation = pair(L, "dilation", options.dilation ?? 1);
    this.groups = int(L, "groups", options.groups ?? 1);
    const p = options.padding ?? 0;
    if (p === "same" || p === "valid") {
      if (p === "same" && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new ValueError(
          `Conv2d: padding "same" is not supported for strided convolutions, got stride [${this.stride}]`,
        );
      }
      this.padding = p;
    } else if (typeof p === "string") {
      fail(L, "padding", 'must be an int, a pair, "same" or "valid"', p);
    } else {
      this.padding = pair(L, "padding", p, 0);
    }
    const mode = options.paddingMode ?? "zeros";
    if (mode !== "zeros") {
      fail(
        L,
        "paddingMode",
        'supports only "zeros" (reflect, replicate and circular padding are not implemented)',
        mode,
      );
    }
    if (inChannels % this.groups) {
      fail(L, "groups", `must divide inChannels (${inChannels})`, this.groups);
    }
    if (outChannels % this.groups) {
      fail(L, "groups", `must divide outChannels (${outChannels})`, this.groups);
    }
    const scheme = oneOf(L, "init", options.init, INITS);
    if (options.bias !== undefined && typeof options.bias !== "boolean") {
      fail(L, "bias", "must be a boolean", options.bias);
    }
    const [kh, kw] = this.kernelSize;
    const perGroup = inChannels / this.groups;
    this.weight = Parameter(zeros([outChannels, perGroup, kh, kw]));
    initWeight(this.weight, scheme);
    this.bias = options.bias === false
      ? null
      : init.fanInUniform_(Parameter(zeros([outChannels])), perGroup * kh * kw);
    if (options.device && options.device !== "cpu") this.to(options.device);
  }

  /** Convolves `x` [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(
        `Conv2d: expected input [N, ${this.inChannels}, H, W], got [${x.shape.join(", ")}]`,
      );
    }
    return F.conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/** The Conv2d layer as a plugin. */
export const conv2dPlugin: Plugin = definePlugin({
  name: "@denn/conv2d",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  exports: { Conv2d },
});
