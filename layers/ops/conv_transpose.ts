/**
 * The transposed 2-D convolution op (`"convTranspose2d"`): the input gradient of a conv2d,
 * exposed as a layer. Its forward is the Conv2d plugin's `conv2dBackwardInput` op (so every
 * backend with that kernel runs it) and its gradient rule is written here: the input gradient is a
 * conv2d of the output gradient and the weight gradient is `conv2dBackwardWeight` with the roles
 * of input and output gradient swapped, both differentiable again. Defined by the
 * conv-transpose2d plugin's manifest (`layers/conv_transpose2d.ts`).
 *
 * @module
 */

import {
  apply1,
  DTypeError,
  isFloating,
  narrow,
  pad,
  ShapeError,
  shapeStr,
} from "../../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";
import {
  conv2dBackwardInputOp,
  conv2dBackwardWeightOp,
  conv2dOp,
  windowOutputSize,
} from "./conv.ts";
import type { Conv2dAttrs } from "./conv.ts";

/** Resolved attributes of a transposed convolution (pairs are [height, width]). */
export interface ConvTranspose2dAttrs extends Conv2dAttrs {
  /** Extra rows / columns added at the bottom / right of the output. */
  outputPadding: [number, number];
}

/** Output size of a transposed convolution along one dimension (PyTorch's formula). */
export function convTransposeOutputSize(
  size: number,
  k: number,
  stride: number,
  pad: number,
  dilation: number,
  outputPadding: number,
): number {
  return (size - 1) * stride - 2 * pad + dilation * (k - 1) + outputPadding + 1;
}

function check(x: Tensor, w: Tensor, a: ConvTranspose2dAttrs): TensorSpec[] {
  const op = "convTranspose2d";
  if (!isFloating(x.dtype) || w.dtype !== x.dtype) {
    throw new DTypeError(
      `${op}: expected floating-point input and weight of one dtype, got ${x.dtype} and ${w.dtype}`,
    );
  }
  if (x.ndim !== 4) {
    throw new ShapeError(`${op}: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`);
  }
  if (w.ndim !== 4 || w.shape.some((s) => s === 0)) {
    throw new ShapeError(
      `${op}: expected a 4-D weight [C, O/groups, KH, KW] with no zero-size dimension, got ${
        shapeStr(w.shape)
      }`,
    );
  }
  const [n, c, h, wd] = x.shape;
  const [cw, og, kh, kw] = w.shape;
  if (c !== cw || c % a.groups !== 0) {
    throw new ShapeError(
      `${op}: weight ${
        shapeStr(w.shape)
      } expects ${cw} input channels divisible by groups=${a.groups}, ` +
        `got input ${shapeStr(x.shape)}`,
    );
  }
  for (let i = 0; i < 2; i++) {
    const op_ = a.outputPadding[i];
    if (op_ >= Math.max(a.stride[i], a.dilation[i])) {
      throw new ShapeError(
        `${op}: outputPadding [${a.outputPadding.join(", ")}] must be smaller than stride [${
          a.stride.join(", ")
        }] or ` +
          `dilation [${a.dilation.join(", ")}] in each dimension`,
      );
    }
  }
  const oh = convTransposeOutputSize(
    h,
    kh,
    a.stride[0],
    a.padding[0],
    a.dilation[0],
    a.outputPadding[0],
  );
  const ow = convTransposeOutputSize(
    wd,
    kw,
    a.stride[1],
    a.padding[1],
    a.dilation[1],
    a.outputPadding[1],
  );
  if (oh < 1 || ow < 1) {
    throw new ShapeError(
      `${op}: output size ${oh}x${ow} is too small for input ${
        shapeStr(x.shape)
      }, kernel ${kh}x${kw}, ` +
        `stride [${a.stride.join(", ")}], padding [${a.padding.join(", ")}], dilation [${
          a.dilation.join(", ")
        }], outputPadding ` +
        `[${a.outputPadding.join(", ")}]`,
    );
  }
  return [{ shape: [n, og * a.groups, oh, ow], dtype: x.dtype }];
}

const conv2dAttrs = (a: ConvTranspose2dAttrs): Conv2dAttrs => ({
  stride: a.stride,
  padding: a.padding,
  dilation: a.dilation,
  groups: a.groups,
});

/** Transposed convolution (`"convTranspose2d"`): inputs x [N, C, H, W] and weight [C, O/g, KH, KW]. */
export const convTranspose2dOp: OpDef<ConvTranspose2dAttrs> = {
  name: "convTranspose2d",
  infer: (inputs, a) => check(inputs[0], inputs[1], a),
  decompose([x, w], a) {
    const [, , h, wd] = x.shape;
    const [, og, kh, kw] = w.shape;
    const shape = [
      x.shape[0],
      og * a.groups,
      convTransposeOutputSize(h, kh, a.stride[0], a.padding[0], a.dilation[0], a.outputPadding[0]),
      convTransposeOutputSize(wd, kw, a.stride[1], a.padding[1], a.dilation[1], a.outputPadding[1]),
    ];
    return [apply1(conv2dBackwardInputOp, [x, w], { ...conv2dAttrs(a), shape })];
  },
  // With outputPadding ≥ stride (possible when dilation > stride) a conv2d over the output covers
  // rows or columns past the input: the input gradient drops them, and the weight gradient sees
  // the input zero-padded to them, so that every conv op keeps consistent shapes (and its own
  // gradient rule stays right for double backward).
  grad(ctx, g) {
    const [x, w] = ctx.inputs;
    const a = ctx.attrs, fwd = conv2dAttrs(a);
    const [, , h, wd] = x.shape;
    const [, , kh, kw] = w.shape;
    const hc = windowOutputSize(g.shape[2], kh, a.stride[0], a.padding[0], a.dilation[0]);
    const wc = windowOutputSize(g.shape[3], kw, a.stride[1], a.padding[1], a.dilation[1]);
    let dx: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      dx = apply1(conv2dOp, [g, w], fwd);
      if (hc !== h) dx = narrow(dx, 2, 0, h);
      if (wc !== wd) dx = narrow(dx, 3, 0, wd);
    }
    let dw: Tensor | null = null;
    if (ctx.needsInputGrad[1]) {
      const xe = hc !== h || wc !== wd ? pad(x, [0, wc - wd, 0, hc - h]) : x;
      dw = apply1(conv2dBackwardWeightOp, [xe, g], { ...fwd, shape: w.shape as number[] });
    }
    return [dx, dw];
  },
};

/** The transposed convolution op, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const convTransposeOps: readonly OpDef<any>[] = [convTranspose2dOp];

/** Runs the transposed convolution (attributes already validated); no bias. */
export function convTranspose2dRaw(x: Tensor, w: Tensor, attrs: ConvTranspose2dAttrs): Tensor {
  return apply1(convTranspose2dOp, [x, w], attrs);
}
