/**
 * What the cuda conv engines share: the geometry of one conv2d problem ({@linkcode convProblem})
 * and the {@linkcode ConvEngine} interface that the cuDNN engine (conv_cudnn.ts) and the
 * im2col + cuBLAS engine (conv_im2col.ts) implement; conv.ts picks one per problem.
 *
 * @module
 */

import type { DType } from "../../../core/mod.ts";
import type { Conv2dAttrs } from "../../../layers/ops/conv.ts";
import type { ConvDirection } from "../runtime/cudnn_api.ts";
import type { CudaBuffer } from "./kit.ts";

/** Sizes of one conv2d problem (NCHW input, OIHW weight). */
export interface ConvGeometry {
  /** Batch. */
  n: number;
  /** Input channels. */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Output channels. */
  o: number;
  /** Kernel height. */
  kh: number;
  /** Kernel width. */
  kw: number;
  /** Output height. */
  oh: number;
  /** Output width. */
  ow: number;
  /** Groups. */
  g: number;
  /** Input channels per group. */
  cg: number;
  /** Output channels per group. */
  og: number;
  /** Rows of a group's column matrix: cg·kh·kw. */
  k: number;
  /** Output pixels per image: oh·ow. */
  p: number;
}

/** One convolution problem as the engines see it. */
export interface ConvProblem {
  /** The sizes. */
  readonly geo: ConvGeometry;
  /** Stride, padding, dilation, groups. */
  readonly attrs: Conv2dAttrs;
  /** Element type of every operand. */
  readonly dtype: DType;
}

/** The problem of a conv2d with input shape `x`, weight shape `w` and output shape `y`. */
export function convProblem(
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  attrs: Conv2dAttrs,
  dtype: DType,
): ConvProblem {
  const [n, c, h, wd] = x, [o, cg, kh, kw] = w, [, , oh, ow] = y;
  const g = attrs.groups;
  return {
    geo: { n, c, h, w: wd, o, kh, kw, oh, ow, g, cg, og: o / g, k: cg * kh * kw, p: oh * ow },
    attrs,
    dtype,
  };
}

/**
 * A convolution implementation over dense device buffers. Each method writes its whole output
 * (beta = 0) on the context's stream.
 */
export interface ConvEngine {
  /** `"cudnn"` or `"im2col"`. */
  readonly name: string;
  /**
   * Why this engine cannot run `dir` for `p` (with a bias added, for forward), or true. Cheap
   * after the first call.
   */
  check(dir: ConvDirection, p: ConvProblem, bias?: boolean): true | string;
  /** y = conv(x, w) (+ bias per output channel). */
  forward(
    p: ConvProblem,
    x: CudaBuffer,
    w: CudaBuffer,
    bias: CudaBuffer | null,
    y: CudaBuffer,
  ): void;
  /** dx = the input gradient of y = conv(x, w), given dy. */
  backwardData(p: ConvProblem, dy: CudaBuffer, w: CudaBuffer, dx: CudaBuffer): void;
  /** dw = the weight gradient of y = conv(x, w), given x and dy. */
  backwardFilter(p: ConvProblem, x: CudaBuffer, dy: CudaBuffer, dw: CudaBuffer): void;
}
