/**
 * The conv2d op and its two backward ops (each differentiable again), with shape checks that name
 * the shapes and what was expected. They are defined by the Conv2d plugin's manifest
 * (`layers/conv2d.ts`), as a third party's ops would be; backends supply kernels by op name.
 *
 * @module
 */

import { apply1, DTypeError, isFloating, ShapeError, shapeStr, sum } from "../../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";

// ---------------------------------------------------------------- conv2d

/** Resolved conv2d attributes (pairs are [height, width]). */
export interface Conv2dAttrs {
  /** Stride. */
  stride: [number, number];
  /** Zero padding on each side. */
  padding: [number, number];
  /** Spacing between kernel taps. */
  dilation: [number, number];
  /** Number of channel groups. */
  groups: number;
}

/** Attributes of the conv2d backward ops: the forward attributes plus the shape to produce. */
export interface Conv2dBackwardAttrs extends Conv2dAttrs {
  /** Shape of the gradient produced (input or weight shape). */
  shape: number[];
}

/** Output spatial size of a convolution or pooling window along one dimension. */
export function windowOutputSize(
  size: number,
  k: number,
  stride: number,
  pad: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = size + 2 * pad - dilation * (k - 1) - 1;
  let out = Math.floor((ceilMode ? span + stride - 1 : span) / stride) + 1;
  // PyTorch drops a last window that would start in the right padding.
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

function checkConv(x: Tensor, w: Tensor, b: Tensor | undefined, a: Conv2dAttrs): TensorSpec[] {
  const op = "conv2d";
  if (!isFloating(x.dtype) || w.dtype !== x.dtype || (b && b.dtype !== x.dtype)) {
    throw new DTypeError(
      `${op}: expected floating-point input, weight and bias of one dtype, got ${x.dtype}, ${w.dtype}${
        b ? ", " + b.dtype : ""
      }`,
    );
  }
  if (x.ndim !== 4) {
    throw new ShapeError(`${op}: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`);
  }
  if (w.ndim !== 4) {
    throw new ShapeError(
      `${op}: expected a 4-D weight [O, C/groups, KH, KW], got ${shapeStr(w.shape)}`,
    );
  }
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  if (o === 0 || cg === 0 || kh === 0 || kw === 0) {
    throw new ShapeError(
      `${op}: weight ${
        shapeStr(w.shape)
      } has a zero-size dimension; expected [O, C/groups, KH, KW] ` +
        `all at least 1`,
    );
  }
  if (c % a.groups !== 0 || o % a.groups !== 0) {
    throw new ShapeError(
      `${op}: groups=${a.groups} must divide input channels ${c} and output channels ${o}`,
    );
  }
  if (cg * a.groups !== c) {
    throw new ShapeError(
      `${op}: weight ${shapeStr(w.shape)} expects ${
        cg * a.groups
      } input channels (groups=${a.groups}), ` +
        `but input ${shapeStr(x.shape)} has ${c}`,
    );
  }
  if (b && (b.ndim !== 1 || b.shape[0] !== o)) {
    throw new ShapeError(`${op}: bias ${shapeStr(b.shape)} must have shape [${o}]`);
  }
  const ph = h + 2 * a.padding[0], pw = wd + 2 * a.padding[1];
  const eh = a.dilation[0] * (kh - 1) + 1, ew = a.dilation[1] * (kw - 1) + 1;
  if (eh > ph || ew > pw) {
    throw new ShapeError(
      `${op}: kernel ${kh}x${kw} (dilated ${eh}x${ew}) is larger than the padded input ${ph}x${pw} ` +
        `(input ${shapeStr(x.shape)}, padding [${a.padding.join(", ")}])`,
    );
  }
  const oh = windowOutputSize(h, kh, a.stride[0], a.padding[0], a.dilation[0]);
  const ow = windowOutputSize(wd, kw, a.stride[1], a.padding[1], a.dilation[1]);
  return [{ shape: [n, o, oh, ow], dtype: x.dtype }];
}

/** The conv2d op (`"conv2d"`): inputs x, weight and optional bias. */
export const conv2dOp: OpDef<Conv2dAttrs> = {
  name: "conv2d",
  infer: (inputs, a) => checkConv(inputs[0], inputs[1], inputs[2], a),
  grad(ctx, g) {
    const [x, w] = ctx.inputs;
    return [
      ctx.needsInputGrad[0]
        ? apply1(conv2dBackwardInputOp, [g, w], { ...ctx.attrs, shape: x.shape as number[] })
        : null,
      ctx.needsInputGrad[1]
        ? apply1(conv2dBackwardWeightOp, [g, x], { ...ctx.attrs, shape: w.shape as number[] })
        : null,
      ctx.inputs.length > 2 && ctx.needsInputGrad[2] ? sum(g, [0, 2, 3]) : null,
    ];
  },
};

/** conv2d's input gradient (`"conv2dBackwardInput"`): inputs gy and weight. */
export const conv2dBackwardInputOp: OpDef<Conv2dBackwardAttrs> = {
  name: "conv2dBackwardInput",
  family: "conv2d",
  infer: (inputs, a) => [{ shape: a.shape, dtype: inputs[0].dtype }],
  grad(ctx, g) {
    // Linear in both gy and w: d/dgy is conv2d(g, w); d/dw is the weight gradient with roles swapped.
    const [gy, w] = ctx.inputs;
    const { shape: _s, ...fwd } = ctx.attrs;
    return [
      ctx.needsInputGrad[0] ? apply1(conv2dOp, [g, w], fwd) : null,
      ctx.needsInputGrad[1]
        ? apply1(conv2dBackwardWeightOp, [gy, g], { ...fwd, shape: w.shape as number[] })
        : null,
    ];
  },
};

/** conv2d's weight gradient (`"conv2dBackwardWeight"`): inputs gy and x. */
export const conv2dBackwardWeightOp: OpDef<Conv2dBackwardAttrs> = {
  name: "conv2dBackwardWeight",
  family: "conv2d",
  infer: (inputs, a) => [{ shape: a.shape, dtype: inputs[0].dtype }],
  grad(ctx, g) {
    const [gy, x] = ctx.inputs;
    const { shape: _s, ...fwd } = ctx.attrs;
    return [
      ctx.needsInputGrad[0] ? apply1(conv2dOp, [x, g], fwd) : null,
      ctx.needsInputGrad[1]
        ? apply1(conv2dBackwardInputOp, [gy, g], { ...fwd, shape: x.shape as number[] })
        : null,
    ];
  },
};

/** conv2d and its backward ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const conv2dOps: readonly OpDef<any>[] = [
  conv2dOp,
  conv2dBackwardInputOp,
  conv2dBackwardWeightOp,
];

/** Runs the conv2d op (attributes already resolved and validated). */
export function conv2dRaw(x: Tensor, w: Tensor, b: Tensor | null, attrs: Conv2dAttrs): Tensor {
  return apply1(conv2dOp, b ? [x, w, b] : [x, w], attrs);
}
