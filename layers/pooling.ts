/**
 * The pooling plugin: the layers `MaxPool2d`, `AvgPool2d` and `AdaptiveAvgPool2d` over NCHW input,
 * with PyTorch's defaults (stride = kernel size, floor output size, padding counted in the
 * average), and their functional forms (`F.maxPool2d`, `F.avgPool2d`, `F.adaptiveAvgPool2d`).
 * Importing this module registers the plugin, whose manifest defines the pooling ops and their
 * backward ops (see `ops/pool.ts`).
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

import { z } from "zod";
import {
  definePlugin,
  Module,
  reprTuple,
  ShapeError,
  shapeStr,
  trustForward,
  use,
} from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import {
  arity,
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
import type { IntPair } from "./_validate.ts";
import { adaptiveAvgPool2dRaw, avgPool2dRaw, maxPool2dRaw, poolingOps } from "./ops/pool.ts";
import type { Pool2dAttrs } from "./ops/pool.ts";

export { adaptiveAvgPool2dRaw, avgPool2dRaw, maxPool2dRaw } from "./ops/pool.ts";
export type { AdaptivePoolAttrs, Pool2dAttrs, Pool2dBackwardAttrs } from "./ops/pool.ts";

/** Options of {@linkcode maxPool2d}. */
export interface MaxPool2dOptions {
  /** Stride (default: the kernel size). */
  stride?: IntPair | null;
  /** Implicit −∞ padding per side (at most half the kernel). */
  padding?: IntPair;
  /** Spacing between window taps. */
  dilation?: IntPair;
  /** Use ceil for the output size. */
  ceilMode?: boolean;
}

/** Options of {@linkcode avgPool2d}. */
export interface AvgPool2dOptions {
  /** Stride (default: the kernel size). */
  stride?: IntPair | null;
  /** Implicit zero padding per side (at most half the kernel). */
  padding?: IntPair;
  /** Use ceil for the output size. */
  ceilMode?: boolean;
  /** Count padding in the divisor (default true). */
  countIncludePad?: boolean;
  /** Fixed divisor. */
  divisorOverride?: number | null;
}

// Built once: a schema per call costs more than the op itself.
const kernelSchema = z.strictObject({ kernelSize: posIntPair });
const maxPoolSchema = z.strictObject({
  stride: posIntPair.nullable().default(null),
  padding: nonNegIntPair.default(0),
  dilation: posIntPair.default(1),
  ceilMode: z.boolean().default(false),
});
const avgPoolSchema = z.strictObject({
  stride: posIntPair.nullable().default(null),
  padding: nonNegIntPair.default(0),
  ceilMode: z.boolean().default(false),
  countIncludePad: z.boolean().default(true),
  divisorOverride: z.number().int().positive().nullable().default(null),
});
const outputSizeSchema = z.tuple([z.number().int().positive(), z.number().int().positive()]);

function poolAttrs(
  kernelSize: [number, number],
  o: {
    stride: IntPair | null;
    padding: IntPair;
    dilation: IntPair;
    ceilMode: boolean;
    countIncludePad?: boolean;
    divisorOverride?: number | null;
  },
): Pool2dAttrs {
  return {
    kernelSize,
    stride: o.stride === null ? kernelSize : toPair(o.stride),
    padding: toPair(o.padding),
    dilation: toPair(o.dilation),
    ceilMode: o.ceilMode,
    countIncludePad: o.countIncludePad ?? true,
    divisorOverride: o.divisorOverride ?? null,
  };
}

function kernelOf(op: string, kernelSize: IntPair, x: Tensor): [number, number] {
  // An int kernel (most calls) needs no parse.
  if (Number.isSafeInteger(kernelSize) && (kernelSize as number) > 0) {
    return [kernelSize as number, kernelSize as number];
  }
  return toPair(parseOptions(op, kernelSchema, { kernelSize }, x).kernelSize);
}

/**
 * Max pooling over NCHW input (`F.maxPool2d`).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { maxPool2d } from "./pooling.ts";
 * console.log(maxPool2d(randn([1, 3, 8, 8]), 2).shape); // [1, 3, 4, 4]
 * ```
 */
export function maxPool2d(x: Tensor, kernelSize: IntPair, options: MaxPool2dOptions = {}): Tensor {
  arity("maxPool2d", arguments, 3);
  return maxPool("maxPool2d", x, kernelSize, options)[0];
}

/** Max pooling returning the values and the flat argmax index in each input plane. */
export function maxPool2dWithIndices(
  x: Tensor,
  kernelSize: IntPair,
  options: MaxPool2dOptions = {},
): [Tensor, Tensor] {
  arity("maxPool2dWithIndices", arguments, 3);
  return maxPool("maxPool2dWithIndices", x, kernelSize, options);
}

function maxPool(
  op: string,
  x: Tensor,
  kernelSize: IntPair,
  options: MaxPool2dOptions,
): [Tensor, Tensor] {
  tensorArg(op, "input", x);
  const o = parseOptions("maxPool2d", maxPoolSchema, options, x);
  return maxPool2dRaw(x, poolAttrs(kernelOf("maxPool2d", kernelSize, x), o));
}

/** Average pooling over NCHW input (`F.avgPool2d`). */
export function avgPool2d(x: Tensor, kernelSize: IntPair, options: AvgPool2dOptions = {}): Tensor {
  arity("avgPool2d", arguments, 3);
  tensorArg("avgPool2d", "input", x);
  const o = parseOptions("avgPool2d", avgPoolSchema, options, x);
  return avgPool2dRaw(x, poolAttrs(kernelOf("avgPool2d", kernelSize, x), { ...o, dilation: 1 }));
}

const OUTPUT_SIZE = "must be a positive integer or a pair of positive integers or nulls";

/**
 * Adaptive average pooling to `outputSize`, an int or a pair whose null entries keep that input
 * size (`F.adaptiveAvgPool2d`).
 */
export function adaptiveAvgPool2d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null],
): Tensor {
  arity("adaptiveAvgPool2d", arguments, 2);
  tensorArg("adaptiveAvgPool2d", "input", x);
  if (typeof outputSize !== "number" && !(Array.isArray(outputSize) && outputSize.length === 2)) {
    fail("adaptiveAvgPool2d", "outputSize", OUTPUT_SIZE, outputSize);
  }
  const os = adaptiveSize(x, outputSize);
  parseOptions("adaptiveAvgPool2d", outputSizeSchema, os, x);
  return adaptiveAvgPool2dRaw(x, os);
}

// The output size with null entries filled in from the input.
function adaptiveSize(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null],
): [number, number] {
  if (x.ndim !== 4) {
    throw new ShapeError(
      `adaptiveAvgPool2d: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`,
    );
  }
  const [a, b] = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
  return [a === null ? x.shape[2] : a, b === null ? x.shape[3] : b];
}

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

// PyTorch's pooling layers keep an int argument as given (MaxPool2d(2) prints `kernel_size=2`);
// denn stores pairs, so an equal pair prints as one number and an unequal one as (2, 3).
function reprPair(p: readonly [number, number]): string {
  return p[0] === p[1] ? String(p[0]) : reprTuple(p);
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
  #attrs: Pool2dAttrs;

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
    this.#attrs = poolAttrs(c.kernelSize, { ...c, dilation: this.dilation });
  }

  /** `kernelSize=2, stride=2, padding=0, dilation=1, ceilMode=false`, as PyTorch prints it. */
  override extraRepr(): string {
    return `kernelSize=${reprPair(this.kernelSize)}, stride=${reprPair(this.stride)}, ` +
      `padding=${reprPair(this.padding)}, dilation=${reprPair(this.dilation)}, ` +
      `ceilMode=${this.ceilMode}`;
  }

  /** Pools `x` [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    return maxPool2dRaw(tensorArg("MaxPool2d.forward", "input", x), this.#attrs)[0];
  }

  /** Pools and also returns each maximum's flat index within its input plane (PyTorch's indices). */
  forwardWithIndices(x: Tensor): [Tensor, Tensor] {
    return maxPool2dRaw(tensorArg("MaxPool2d.forwardWithIndices", "input", x), this.#attrs);
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
  #attrs: Pool2dAttrs;

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
    this.#attrs = poolAttrs(c.kernelSize, {
      ...c,
      dilation: 1,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  /** `kernelSize=2, stride=2, padding=0`, as PyTorch prints it. */
  override extraRepr(): string {
    return `kernelSize=${reprPair(this.kernelSize)}, stride=${reprPair(this.stride)}, ` +
      `padding=${reprPair(this.padding)}`;
  }

  /** Pools `x` [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    return avgPool2dRaw(tensorArg("AvgPool2d.forward", "input", x), this.#attrs);
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
      fail(L, "outputSize", OUTPUT_SIZE, outputSize);
    }
    this.outputSize = [os[0], os[1]];
  }

  /** `outputSize=(1, 1)` (null for a size kept from the input). */
  override extraRepr(): string {
    return `outputSize=${reprTuple(this.outputSize)}`;
  }

  /** Pools `x` [N, C, H, W] to [N, C, outH, outW]. */
  forward(x: Tensor): Tensor {
    tensorArg("AdaptiveAvgPool2d.forward", "input", x);
    return adaptiveAvgPool2dRaw(x, adaptiveSize(x, this.outputSize));
  }
}

/**
 * The pooling plugin, registered when this module is imported: its manifest defines the
 * `maxPool2d`, `avgPool2d` and `adaptiveAvgPool2d` ops and their backward ops.
 */
export const poolingPlugin: Plugin = use(definePlugin({
  name: "@denn/pooling",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: poolingOps,
  exports: { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d },
}));

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(MaxPool2d, AvgPool2d, AdaptiveAvgPool2d);
