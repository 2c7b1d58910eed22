/**
 * Pooling layers over NCHW input: `MaxPool2d`, `AvgPool2d` and `AdaptiveAvgPool2d`, with PyTorch's
 * defaults (stride = kernel size, floor output size, padding counted in the average).
 *
 * @example
 * ```ts
 * import { AdaptiveAvgPool2d, MaxPool2d } from "./pooling.ts";
 * import { randn } from "../mod.ts";
 * const y = new MaxPool2d(2).forward(randn([1, 3, 8, 8]));
 * console.log(y.shape, new AdaptiveAvgPool2d(1).forward(y).shape); // [1, 3, 4, 4] [1, 3, 1, 1]
 * ```
 *
 * @module
 */

import { definePlugin, F, Module } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import { bool, fail, int, knownKeys, pair } from "./_validate.ts";
import type { IntPair } from "./_validate.ts";

/** Options of {@linkcode MaxPool2d}. */
export interface MaxPool2dLayerOptions {
  /** Stride (default: the kernel size). */
  stride?: IntPair | null;
  /** Implicit −∞ padding per side, at most half the kernel (default 0). */
  padding?: IntPair;
  /** Spacing between window taps (default 1). */
  dilation?: IntPair;
  /** Use ceil instead of floor for the output size (default false). */
  ceilMode?: boolean;
}

/** Options of {@linkcode AvgPool2d}. */
export interface AvgPool2dLayerOptions {
  /** Stride (default: the kernel size). */
  stride?: IntPair | null;
  /** Implicit zero padding per side, at most half the kernel (default 0). */
  padding?: IntPair;
  /** Use ceil instead of floor for the output size (default false). */
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (default true). */
  countIncludePad?: boolean;
  /** Fixed divisor instead of the window size (default null). */
  divisorOverride?: number | null;
}

interface Common {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  ceilMode: boolean;
}

function common(
  layer: string,
  kernelSize: IntPair,
  o: { stride?: IntPair | null; padding?: IntPair; ceilMode?: boolean },
): Common {
  const k = pair(layer, "kernelSize", kernelSize);
  const stride = o.stride == null ? k : pair(layer, "stride", o.stride);
  const padding = pair(layer, "padding", o.padding ?? 0, 0);
  for (const i of [0, 1]) {
    if (padding[i] > Math.floor(k[i] / 2)) {
      fail(layer, "padding", `must be at most half the kernel size [${k}]`, o.padding);
    }
  }
  return { kernelSize: k, stride, padding, ceilMode: bool(layer, "ceilMode", o.ceilMode, false) };
}

/** Max pooling: the largest value in each window. */
export class MaxPool2d extends Module {
  /** Window size (height, width). */
  readonly kernelSize: readonly [number, number];
  /** Stride (height, width). */
  readonly stride: readonly [number, number];
  /** Padding (height, width). */
  readonly padding: readonly [number, number];
  /** Dilation (height, width). */
  readonly dilation: readonly [number, number];
  /** Ceil output size. */
  readonly ceilMode: boolean;

  /** Creates the layer with a `kernelSize` window. */
  constructor(kernelSize: IntPair, options: MaxPool2dLayerOptions = {}) {
    super();
    knownKeys("MaxPool2d", options, ["stride", "padding", "dilation", "ceilMode"]);
    const c = common("MaxPool2d", kernelSize, options);
    this.kernelSize = c.kernelSize;
    this.stride = c.stride;
    this.padding = c.padding;
    this.ceilMode = c.ceilMode;
    this.dilation = pair("MaxPool2d", "dilation", options.dilation ?? 1);
  }

  /** Pools `x` [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.#options());
  }

  /** Pools and also returns each maximum's flat index within its input plane (PyTorch's indices). */
  forwardWithIndices(x: Tensor): [Tensor, Tensor] {
    return F.maxPool2dWithIndices(x, this.kernelSize, this.#options());
  }

  #options(): F.MaxPool2dOptions {
    return {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    };
  }
}

/** Average pooling: the mean of each window. */
export class AvgPool2d extends Module {
  /** Window size (height, width). */
  readonly kernelSize: readonly [number, number];
  /** Stride (height, width). */
  readonly stride: readonly [number, number];
  /** Padding (height, width). */
  readonly padding: readonly [number, number];
  /** Ceil output size. */
  readonly ceilMode: boolean;
  /** Count padding in the divisor. */
  readonly countIncludePad: boolean;
  /** Fixed divisor, or null. */
  readonly divisorOverride: number | null;

  /** Creates the layer with a `kernelSize` window. */
  constructor(kernelSize: IntPair, options: AvgPool2dLayerOptions = {}) {
    super();
    const L = "AvgPool2d";
    knownKeys(L, options, ["stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"]);
    const c = common(L, kernelSize, options);
    this.kernelSize = c.kernelSize;
    this.stride = c.stride;
    this.padding = c.padding;
    this.ceilMode = c.ceilMode;
    this.countIncludePad = bool(L, "countIncludePad", options.countIncludePad, true);
    this.divisorOverride = options.divisorOverride == null
      ? null
      : int(L, "divisorOverride", options.divisorOverride);
  }

  /** Pools `x` [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }
}

/** Average pooling to a fixed output size, whatever the input size (null keeps that input size). */
export class AdaptiveAvgPool2d extends Module {
  /** Output (height, width); null entries keep the input's. */
  readonly outputSize: readonly [number | null, number | null];

  /** Creates the layer; `outputSize` is an int, or a pair whose entries may be null. */
  constructor(outputSize: number | readonly [number | null, number | null]) {
    super();
    const L = "AdaptiveAvgPool2d";
    const os = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
    if (
      !Array.isArray(os) || os.length !== 2 ||
      !os.every((v) => v === null || (typeof v === "number" && Number.isInteger(v) && v > 0))
    ) {
      fail(
        L,
        "outputSize",
        "must be a positive integer or a pair of positive integers or nulls",
        outputSize,
      );
    }
    this.outputSize = [os[0], os[1]];
  }

  /** Pools `x` [N, C, H, W] to [N, C, outH, outW]. */
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** The pooling layers as a plugin. */
export const poolingPlugin: Plugin = definePlugin({
  name: "@denn/pooling",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  exports: { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d },
});
