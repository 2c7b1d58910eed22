/**
 * The adaptive max pooling op: each output cell takes the maximum of its adaptive window (rows
 * `floor(i·H/OH)` to `ceil((i+1)·H/OH)`, likewise for columns, PyTorch's bins) and reports the flat
 * index of the winner within its input plane (`h·W + w`), as max pooling does. Its gradient
 * scatters the output gradient to those indices with the core `scatterAdd` op, so backends need
 * only a forward kernel. Defined by the adaptive-max-pool plugin's manifest
 * (`layers/adaptive_max_pool.ts`).
 *
 * @module
 */

import { apply, DTypeError, scatterAdd, ShapeError, shapeStr } from "../../core/mod.ts";
import type { OpDef, Tensor } from "../../core/mod.ts";

/** Attributes of adaptive max pooling. */
export interface AdaptiveMaxPoolAttrs {
  /** Output size [OH, OW], each at least 1. */
  outputSize: [number, number];
}

/**
 * Adaptive max pooling (`"adaptiveMaxPool2d"`) of [N, C, H, W] input: outputs the values and the
 * int32 flat argmax index of each within its input plane. A NaN in a window wins (PyTorch's rule).
 */
export const adaptiveMaxPool2dOp: OpDef<AdaptiveMaxPoolAttrs> = {
  name: "adaptiveMaxPool2d",
  savesInputs: false,
  savesOutputs: true,
  infer(inputs, a) {
    const x = inputs[0];
    if (x.dtype !== "float32" && x.dtype !== "float16") {
      throw new DTypeError(`adaptiveMaxPool2d: expected a floating-point tensor, got ${x.dtype}`);
    }
    if (x.ndim !== 4) {
      throw new ShapeError(
        `adaptiveMaxPool2d: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    if (x.shape[2] === 0 || x.shape[3] === 0) {
      throw new ShapeError(
        `adaptiveMaxPool2d: input ${shapeStr(x.shape)} has an empty plane; H and W must be at ` +
          `least 1`,
      );
    }
    const shape = [x.shape[0], x.shape[1], a.outputSize[0], a.outputSize[1]];
    return [{ shape, dtype: x.dtype }, { shape, dtype: "int32" }];
  },
  // The indices are constants: the input gradient is the output gradient added at the argmax
  // positions of each plane (scatterAdd, whose own gradient is a gather, so this differentiates
  // again).
  grad(ctx, g) {
    const [n, c, h, w] = ctx.inputShapes[0];
    const idx = ctx.outputs[1];
    const cells = idx.shape[2] * idx.shape[3];
    const flat = scatterAdd(
      [n, c, h * w],
      2,
      idx.reshape([n, c, cells]),
      g.reshape([n, c, cells]),
    );
    return [flat.reshape([n, c, h, w])];
  },
};

/** The adaptive max pooling op, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const adaptiveMaxPoolOps: readonly OpDef<any>[] = [adaptiveMaxPool2dOp];

/** Runs adaptive max pooling (attributes already validated); returns the values and the indices. */
export function adaptiveMaxPool2dRaw(x: Tensor, outputSize: [number, number]): [Tensor, Tensor] {
  const [y, i] = apply(adaptiveMaxPool2dOp, [x], { outputSize });
  return [y, i];
}

/** First input row (or column) of adaptive bin `i` of `out` over `size`: floor(i·size/out). */
export function adaptiveStart(i: number, size: number, out: number): number {
  return Math.floor((i * size) / out);
}

/** One past the last input row (or column) of adaptive bin `i`: ceil((i+1)·size/out). */
export function adaptiveEnd(i: number, size: number, out: number): number {
  return Math.ceil(((i + 1) * size) / out);
}
