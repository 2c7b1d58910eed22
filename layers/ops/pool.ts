/**
 * Max, average and adaptive average pooling ops with their backward ops. They are defined by the
 * pooling plugin's manifest (`layers/pooling.ts`); backends supply kernels by op name.
 *
 * @module
 */

import {
  apply,
  apply1,
  DTypeError,
  isFloating,
  ShapeError,
  shapeStr,
  ValueError,
} from "../../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";
import { windowOutputSize } from "./conv.ts";

// ---------------------------------------------------------------- pooling

/** Resolved pooling attributes (pairs are [height, width]). */
export interface Pool2dAttrs {
  /** Window size. */
  kernelSize: [number, number];
  /** Stride. */
  stride: [number, number];
  /** Implicit padding (−∞ for max, 0 for avg). */
  padding: [number, number];
  /** Spacing between window taps (max pooling only). */
  dilation: [number, number];
  /** Use ceil instead of floor for the output size. */
  ceilMode: boolean;
  /** Count padding in the average's divisor. */
  countIncludePad: boolean;
  /** Fixed divisor for the average, if set. */
  divisorOverride: number | null;
}

/** Pooling backward attributes: the forward ones plus the input shape. */
export interface Pool2dBackwardAttrs extends Pool2dAttrs {
  /** Shape of the pooled input. */
  shape: number[];
}

function checkPool(op: string, x: Tensor, a: Pool2dAttrs): TensorSpec[] {
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${op}: expected a floating-point tensor, got ${x.dtype}`);
  }
  if (x.ndim !== 4) {
    throw new ShapeError(`${op}: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`);
  }
  const [n, c, h, w] = x.shape;
  const [kh, kw] = a.kernelSize;
  for (let i = 0; i < 2; i++) {
    if (a.padding[i] > Math.floor(a.kernelSize[i] / 2)) {
      throw new ValueError(
        `${op}: padding ${a.padding[i]} must be at most half the kernel size ${
          a.kernelSize[i]
        } (dimension ${i === 0 ? "H" : "W"}, input ${shapeStr(x.shape)})`,
      );
    }
  }
  const oh = windowOutputSize(h, kh, a.stride[0], a.padding[0], a.dilation[0], a.ceilMode);
  const ow = windowOutputSize(w, kw, a.stride[1], a.padding[1], a.dilation[1], a.ceilMode);
  if (oh <= 0 || ow <= 0) {
    throw new ShapeError(
      `${op}: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * a.padding[0]}x${
        w + 2 * a.padding[1]
      } ` +
        `(input ${shapeStr(x.shape)}); output would be ${oh}x${ow}`,
    );
  }
  return [{ shape: [n, c, oh, ow], dtype: x.dtype }];
}

/** Max pooling (`"maxPool2d"`): outputs the values and each one's flat index in its input plane. */
export const maxPool2dOp: OpDef<Pool2dAttrs> = {
  name: "maxPool2d",
  infer: (inputs, a) => {
    const [s] = checkPool("maxPool2d", inputs[0], a);
    return [s, { shape: s.shape, dtype: "int32" }];
  },
  savesInputs: false,
  savesOutputs: true,
  // Output 1 (the int32 argmax indices) never carries a gradient, so output 0's is all there is.
  grad: (ctx, g) => [
    apply1(maxPool2dBackwardOp, [g, ctx.outputs[1]], {
      ...ctx.attrs,
      shape: ctx.inputShapes[0] as number[],
    }),
  ],
};

/** Max pooling's gradient (`"maxPool2dBackward"`): inputs gy and the argmax indices. */
export const maxPool2dBackwardOp: OpDef<Pool2dBackwardAttrs> = {
  name: "maxPool2dBackward",
  family: "maxPool2d",
  infer: (i, a) => [{ shape: a.shape, dtype: i[0].dtype }],
  // Linear in g; the argmax indices are constants.
  grad: (ctx, g) => [apply1(gatherPooledOp, [g, ctx.inputs[1]], ctx.attrs), null],
};

// Double backward of max pooling: gather the gradient at the argmax positions (attributes are
// maxPool2dBackward's, so the gather can be differentiated again).
/** Reads g at max pooling's argmax indices (`"maxPool2dGather"`): inputs g and the indices. */
export const gatherPooledOp: OpDef<Pool2dBackwardAttrs> = {
  name: "maxPool2dGather",
  family: "maxPool2d",
  infer: (inputs) => [{ shape: inputs[1].shape as number[], dtype: inputs[0].dtype }],
  // Linear in g: its gradient scatters back to the argmax positions, as maxPool2dBackward does.
  grad: (ctx, g) => [apply1(maxPool2dBackwardOp, [g, ctx.inputs[1]], ctx.attrs), null],
};

/** Average pooling (`"avgPool2d"`). */
export const avgPool2dOp: OpDef<Pool2dAttrs> = {
  name: "avgPool2d",
  infer: (inputs, a) => checkPool("avgPool2d", inputs[0], a),
  savesInputs: false,
  grad: (
    ctx,
    g,
  ) => [apply1(avgPool2dBackwardOp, [g], { ...ctx.attrs, shape: ctx.inputShapes[0] as number[] })],
};

/** Average pooling's gradient (`"avgPool2dBackward"`): input gy. */
export const avgPool2dBackwardOp: OpDef<Pool2dBackwardAttrs> = {
  name: "avgPool2dBackward",
  family: "avgPool2d",
  savesInputs: false,
  infer: (i, a) => [{ shape: a.shape, dtype: i[0].dtype }],
  grad: (ctx, g) => {
    const { shape: _s, ...fwd } = ctx.attrs;
    return [apply1(avgPool2dOp, [g], fwd)];
  },
};

/** Max pooling; returns the pooled values and the flat argmax index within each input plane. */
export function maxPool2dRaw(x: Tensor, attrs: Pool2dAttrs): [Tensor, Tensor] {
  const [y, i] = apply(maxPool2dOp, [x], attrs);
  return [y, i];
}

/** Average pooling. */
export function avgPool2dRaw(x: Tensor, attrs: Pool2dAttrs): Tensor {
  return apply1(avgPool2dOp, [x], attrs);
}

/** Attributes of adaptive average pooling. */
export interface AdaptivePoolAttrs {
  /** Output size [OH, OW]. */
  outputSize: [number, number];
}

/** Adaptive average pooling to a fixed output size (`"adaptiveAvgPool2d"`). */
export const adaptiveAvgPool2dOp: OpDef<AdaptivePoolAttrs> = {
  name: "adaptiveAvgPool2d",
  savesInputs: false,
  infer(inputs, a) {
    const x = inputs[0];
    if (!isFloating(x.dtype)) {
      throw new DTypeError(`adaptiveAvgPool2d: expected a floating-point tensor, got ${x.dtype}`);
    }
    if (x.ndim !== 4) {
      throw new ShapeError(
        `adaptiveAvgPool2d: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    return [{
      shape: [x.shape[0], x.shape[1], a.outputSize[0], a.outputSize[1]],
      dtype: x.dtype,
    }];
  },
  grad: (
    ctx,
    g,
  ) => [
    apply1(adaptiveAvgPool2dBackwardOp, [g], {
      ...ctx.attrs,
      shape: ctx.inputShapes[0] as number[],
    }),
  ],
  decompose([x], a) {
    const [, , h, w] = x.shape;
    const [oh, ow] = a.outputSize;
    if (h % oh === 0 && w % ow === 0) {
      const k: [number, number] = [h / oh, w / ow];
      return [avgPool2dRaw(x, {
        kernelSize: k,
        stride: k,
        padding: [0, 0],
        dilation: [1, 1],
        ceilMode: false,
        countIncludePad: true,
        divisorOverride: null,
      })];
    }
    throw new ShapeError(
      `adaptiveAvgPool2d: no kernel for non-divisible sizes ${h}x${w} → ${oh}x${ow} on ${x.device}`,
    );
  },
};

/** Adaptive average pooling's gradient (`"adaptiveAvgPool2dBackward"`): input gy. */
export const adaptiveAvgPool2dBackwardOp: OpDef<AdaptivePoolAttrs & { shape: number[] }> = {
  name: "adaptiveAvgPool2dBackward",
  family: "adaptiveAvgPool2d",
  savesInputs: false,
  infer: (i, a) => [{ shape: a.shape, dtype: i[0].dtype }],
  grad: (ctx, g) => [apply1(adaptiveAvgPool2dOp, [g], { outputSize: ctx.attrs.outputSize })],
};

/** Adaptive average pooling to a fixed output size. */
export function adaptiveAvgPool2dRaw(x: Tensor, outputSize: [number, number]): Tensor {
  return apply1(adaptiveAvgPool2dOp, [x], { outputSize });
}

/** The pooling ops and their backward ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const poolingOps: readonly OpDef<any>[] = [
  maxPool2dOp,
  maxPool2dBackwardOp,
  gatherPooledOp,
  avgPool2dOp,
  avgPool2dBackwardOp,
  adaptiveAvgPool2dOp,
  adaptiveAvgPool2dBackwardOp,
];
