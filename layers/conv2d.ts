/**
 * The Conv2d plugin: `Conv2d`, 2-D convolution over NCHW input with an OIHW weight, PyTorch's
 * layout, defaults and initialisation (Kaiming-uniform with a = √5 for the weight, U(±1/√fan_in)
 * for the bias, fan_in = inChannels / groups · kH · kW), and its functional form `conv2d`
 * (`F.conv2d`). Padding may be an int, a pair, `"same"` (stride 1) or `"valid"`; only
 * `paddingMode: "zeros"` is supported. Importing this module registers the plugin, whose manifest
 * defines the `conv2d` op and its backward ops (see `ops/conv.ts`); backends supply the kernels.
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

import { z } from "zod";
import {
  definePlugin,
  Module,
  pad,
  ShapeError,
  shapeStr,
  trustForward,
  use,
  ValueError,
} from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import type { InitScheme } from "./linear.ts";
import {
  bool,
  fail,
  int,
  knownKeys,
  nonNegIntPair,
  pair,
  parseOptions,
  posIntPair,
  tensorArg,
  toPair,
} from "./_validate.ts";
import * as conv from "./_conv.ts";
import type { IntPair } from "./_validate.ts";
import { conv2dOps, conv2dRaw } from "./ops/conv.ts";
import { conv2dMaxPool2x2BackwardOp, conv2dMaxPool2x2Op } from "./ops/conv_pool.ts";
import type { Conv2dAttrs } from "./ops/conv.ts";

export { conv2dRaw, windowOutputSize } from "./ops/conv.ts";
export type { Conv2dAttrs, Conv2dBackwardAttrs } from "./ops/conv.ts";

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Stride (default 1). */
  stride?: IntPair;
  /** Zero padding per side, or "same" (stride 1 only) or "valid" (default 0). */
  padding?: IntPair | "same" | "valid";
  /** Spacing between kernel taps (default 1). */
  dilation?: IntPair;
  /** Channel groups (default 1). */
  groups?: number;
}

const conv2dSchema = z.strictObject({
  stride: posIntPair.default(1),
  padding: z.union([nonNegIntPair, z.literal("same"), z.literal("valid")]).default(0),
  dilation: posIntPair.default(1),
  groups: z.number().int().positive().default(1),
});

// Symmetric padding for the op, plus the extra bottom row / right column that "same" needs where
// the total padding is odd (PyTorch pads the end).
interface ResolvedPadding {
  padding: [number, number];
  extra: [number, number];
}

function resolvePadding(
  padding: IntPair | "same" | "valid",
  dilation: readonly [number, number],
  kh: number,
  kw: number,
): ResolvedPadding {
  if (padding === "valid") return { padding: [0, 0], extra: [0, 0] };
  if (padding !== "same") return { padding: toPair(padding), extra: [0, 0] };
  const th = dilation[0] * (kh - 1), tw = dilation[1] * (kw - 1);
  return { padding: [Math.floor(th / 2), Math.floor(tw / 2)], extra: [th % 2, tw % 2] };
}

// The op call shared by F.conv2d and Conv2d.forward, with attributes already validated.
function run(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  attrs: Conv2dAttrs,
  extra: readonly [number, number],
): Tensor {
  if (extra[0] || extra[1]) x = pad(x, [0, extra[1], 0, extra[0]]);
  return conv2dRaw(x, w, b, attrs);
}

/**
 * 2-D convolution over NCHW input with an OIHW weight (`F.conv2d`). The options are validated
 * here; shapes are checked by the op.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { conv2d } from "./conv2d.ts";
 * const y = conv2d(randn([1, 3, 8, 8]), randn([4, 3, 3, 3]), null, { padding: 1 });
 * console.log(y.shape); // [1, 4, 8, 8]
 * ```
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  const b = conv.convArgs("conv2d", arguments, x, weight, bias);
  const o = parseOptions("conv2d", conv2dSchema, options, x);
  const stride = toPair(o.stride), dilation = toPair(o.dilation);
  if (o.padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new ValueError(`conv2d: padding "same" requires stride 1, got [${stride}]`);
    }
    if (weight.ndim !== 4) {
      throw new ShapeError(`conv2d: expected a 4-D weight, got ${shapeStr(weight.shape)}`);
    }
  }
  const p = resolvePadding(o.padding, dilation, weight.shape[2], weight.shape[3]);
  const attrs = { stride, padding: p.padding, dilation, groups: o.groups };
  return run(x, weight, b, attrs, p.extra);
}

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

const KEYS = ["stride", "padding", "dilation", "groups", ...conv.LAYER_KEYS];

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
  #attrs: Conv2dAttrs;
  #extra: [number, number];

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
    conv.zerosPaddingMode(
      L,
      options.paddingMode,
      "(reflect, replicate and circular padding are not implemented)",
    );
    conv.checkGroups(L, inChannels, outChannels, this.groups);
    const scheme = conv.initScheme(L, options.init);
    const withBias = bool(L, "bias", options.bias, true);
    const [kh, kw] = this.kernelSize;
    const perGroup = inChannels / this.groups;
    ({ weight: this.weight, bias: this.bias } = conv.convParameters(
      [outChannels, perGroup, kh, kw],
      scheme,
      withBias,
      outChannels,
      perGroup * kh * kw,
    ));
    if (options.device && options.device !== "cpu") this.to(options.device);
    const resolved = resolvePadding(this.padding, this.dilation, kh, kw);
    this.#attrs = {
      stride: [this.stride[0], this.stride[1]],
      padding: resolved.padding,
      dilation: [this.dilation[0], this.dilation[1]],
      groups: this.groups,
    };
    this.#extra = resolved.extra;
  }

  /**
   * `1, 6, kernelSize=(5, 5), stride=(1, 1), padding=(2, 2)`: PyTorch's text, which leaves out
   * padding, dilation, groups and bias where they have their defaults.
   */
  override extraRepr(): string {
    return conv.convExtraRepr(this, this.kernelSize, this.stride, [
      ["padding", this.padding, 0],
      ["dilation", this.dilation, 1],
    ]);
  }

  /** Convolves `x` [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    tensorArg("Conv2d.forward", "input", x);
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(
        `Conv2d: expected input [N, ${this.inChannels}, H, W], got [${x.shape.join(", ")}]`,
      );
    }
    return run(x, this.weight, this.bias, this.#attrs, this.#extra);
  }
}

/**
 * The Conv2d plugin, registered when this module is imported: its manifest defines the `conv2d`,
 * `conv2dBackwardInput` and `conv2dBackwardWeight` ops.
 */
export const conv2dPlugin: Plugin = use(definePlugin({
  name: "@denn/conv2d",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: [...conv2dOps, conv2dMaxPool2x2Op, conv2dMaxPool2x2BackwardOp],
  exports: { Conv2d },
}));

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Conv2d);
