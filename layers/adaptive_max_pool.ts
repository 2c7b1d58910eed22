/**
 * The adaptive-max-pool plugin: `AdaptiveMaxPool2d`, max pooling to a fixed output size whatever
 * the input size (PyTorch's adaptive bins), and its functional form `adaptiveMaxPool2d`
 * (`F.adaptiveMaxPool2d`, with PyTorch's `returnIndices` argument). Input is [N, C, H, W] or
 * unbatched [C, H, W]; the indices are int32 flat positions `h·W + w` within each input plane, as
 * PyTorch's (int64 there). Importing this module registers the plugin, whose manifest defines the
 * `adaptiveMaxPool2d` op (see `ops/adaptive_max_pool.ts`); backends supply its forward kernel and
 * the gradient runs as the core `scatterAdd` op.
 *
 * @example
 * ```ts
 * import { AdaptiveMaxPool2d } from "./adaptive_max_pool.ts";
 * import { randn } from "../mod.ts";
 * const pool = new AdaptiveMaxPool2d([2, 3]);
 * console.log(pool.forward(randn([1, 4, 7, 9])).shape); // [1, 4, 2, 3]
 * const [values, indices] = pool.forwardWithIndices(randn([4, 5, 5]));
 * console.log(values.shape, indices.dtype); // [4, 2, 3] "int32"
 * ```
 *
 * @module
 */

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
import { arity, bool, fail, knownKeys, tensorArg } from "./_validate.ts";
import { adaptiveMaxPool2dRaw, adaptiveMaxPoolOps } from "./ops/adaptive_max_pool.ts";

export { adaptiveMaxPool2dRaw } from "./ops/adaptive_max_pool.ts";
export type { AdaptiveMaxPoolAttrs } from "./ops/adaptive_max_pool.ts";

/** An output size: an int, or an (height, width) pair whose null entries keep the input's size. */
export type AdaptiveSize = number | readonly [number | null, number | null];

const SIZE = "must be a positive integer or a pair of positive integers or nulls";

function checkSize(fn: string, v: unknown): readonly [number | null, number | null] {
  const p = typeof v === "number" ? [v, v] : v;
  if (
    !Array.isArray(p) || p.length !== 2 ||
    !p.every((e) => e === null || (typeof e === "number" && Number.isInteger(e) && e > 0))
  ) {
    fail(fn, "outputSize", SIZE, v);
  }
  return [p[0], p[1]];
}

// Pools [N, C, H, W] or [C, H, W] input; the size was validated.
function run(
  fn: string,
  x: Tensor,
  size: readonly [number | null, number | null],
): [Tensor, Tensor] {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new ShapeError(
      `${fn}: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got ${shapeStr(x.shape)}`,
    );
  }
  const batched = x.ndim === 4 ? x : x.unsqueeze(0);
  const [, , h, w] = batched.shape;
  const os: [number, number] = [size[0] ?? h, size[1] ?? w];
  const [y, i] = adaptiveMaxPool2dRaw(batched, os);
  return x.ndim === 4 ? [y, i] : [y.squeeze(0), i.squeeze(0)];
}

/**
 * Adaptive max pooling to `outputSize` (`F.adaptiveMaxPool2d`): the values, or with
 * `returnIndices` the values and the int32 flat argmax index of each within its input plane.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { adaptiveMaxPool2d } from "./adaptive_max_pool.ts";
 * const [y, idx] = adaptiveMaxPool2d(randn([2, 3, 5, 5]), 2, true);
 * console.log(y.shape, idx.shape); // [2, 3, 2, 2] [2, 3, 2, 2]
 * ```
 */
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: AdaptiveSize,
  returnIndices: true,
): [Tensor, Tensor];
/** Adaptive max pooling to `outputSize`, returning the values. */
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: AdaptiveSize,
  returnIndices?: false,
): Tensor;
/** Adaptive max pooling; the values, or the values and indices when `returnIndices` is true. */
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: AdaptiveSize,
  returnIndices?: boolean,
): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: AdaptiveSize,
  returnIndices: boolean = false,
): Tensor | [Tensor, Tensor] {
  arity("adaptiveMaxPool2d", arguments, 3);
  tensorArg("adaptiveMaxPool2d", "input", x);
  const size = checkSize("adaptiveMaxPool2d", outputSize);
  const both = bool("adaptiveMaxPool2d", "returnIndices", returnIndices, false);
  const r = run("adaptiveMaxPool2d", x, size);
  return both ? r : r[0];
}

/** Options of {@linkcode AdaptiveMaxPool2d}. */
export interface AdaptiveMaxPool2dOptions {
  /**
   * Only false (the default) is accepted: a Module's `forward` returns one Tensor, so the indices
   * come from {@linkcode AdaptiveMaxPool2d.forwardWithIndices} instead of PyTorch's tuple.
   */
  returnIndices?: false;
}

/** Max pooling to a fixed output size, whatever the input size (null keeps that input size). */
export class AdaptiveMaxPool2d extends Module {
  /** Output (height, width); null entries keep the input's. */
  readonly outputSize: readonly [number | null, number | null];

  /** Creates the layer; `outputSize` is an int, or a pair whose entries may be null. */
  constructor(outputSize: AdaptiveSize, options: AdaptiveMaxPool2dOptions = {}) {
    super();
    const L = "AdaptiveMaxPool2d";
    knownKeys(L, options, ["returnIndices"]);
    if (bool(L, "returnIndices", options.returnIndices, false)) {
      fail(
        L,
        "returnIndices",
        "must be false: forward returns one Tensor; call forwardWithIndices(x) for the values " +
          "and indices (PyTorch's tuple)",
        true,
      );
    }
    this.outputSize = checkSize(L, outputSize);
  }

  /** `outputSize=(2, 2)` (null for a size kept from the input). */
  override extraRepr(): string {
    return `outputSize=${reprTuple(this.outputSize)}`;
  }

  /** Pools `x` [N, C, H, W] (or [C, H, W]) to [N, C, outH, outW]. */
  forward(x: Tensor): Tensor {
    return run(
      "AdaptiveMaxPool2d",
      tensorArg("AdaptiveMaxPool2d.forward", "input", x),
      this.outputSize,
    )[0];
  }

  /** Pools and also returns each maximum's int32 flat index within its input plane. */
  forwardWithIndices(x: Tensor): [Tensor, Tensor] {
    tensorArg("AdaptiveMaxPool2d.forwardWithIndices", "input", x);
    return run("AdaptiveMaxPool2d", x, this.outputSize);
  }
}

/**
 * The adaptive-max-pool plugin, registered when this module is imported: its manifest defines the
 * `adaptiveMaxPool2d` op.
 */
export const adaptiveMaxPoolPlugin: Plugin = use(definePlugin({
  name: "@denn/adaptive-max-pool",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: adaptiveMaxPoolOps,
  exports: { AdaptiveMaxPool2d },
}));

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(AdaptiveMaxPool2d);
