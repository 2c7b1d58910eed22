/**
 * `conv2dMaxPool2x2`: a 2-D convolution followed by 2 × 2 max pooling with stride 2 (no padding,
 * floor mode), as one op, so that a backend can pool the conv's output before it ever leaves its
 * scratch memory (the cpu backend's direct wasm kernel does, for LeNet-like layers). Outputs are
 * exactly those of `maxPool2d(conv2d(x, w, b))`: the pooled values and each one's flat index in
 * its conv output plane; with the `relu` attribute the values are those of `relu(...)` (ReLU
 * commutes with max pooling, so this is also `maxPool2d(relu(conv2d(x, w, b)))`). The gradient
 * is ReLU's mask, max pooling's scatter and conv2d's backward ops, and the op decomposes into
 * conv2d, maxPool2d and relu, so every backend runs it (the blas provider still takes the large
 * convs there). Sequential uses it for a plain Conv2d, ReLU and MaxPool2d(2) in a row
 * (layers/_relu_pool.ts).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../conv2d.ts";
 * import "../pooling.ts";
 * import { randn } from "../../core/mod.ts";
 * import { conv2dMaxPool2x2 } from "./conv_pool.ts";
 * const [y, idx] = conv2dMaxPool2x2(randn([2, 1, 28, 28]), randn([6, 1, 5, 5]), null, {
 *   stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1,
 * });
 * console.log(y.shape, idx.dtype); // [2, 6, 14, 14] "int32"
 * ```
 *
 * @module
 */

import { apply, apply1, ShapeError, shapeStr, sum, ValueError } from "../../core/mod.ts";
import { reluBackward } from "../../core/ops/elementwise.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";
import {
  conv2dBackwardInputOp,
  conv2dBackwardWeightOp,
  conv2dOp,
  windowOutputSize,
} from "./conv.ts";
import type { Conv2dAttrs } from "./conv.ts";
import { maxPool2dBackwardOp, maxPool2dOp } from "./pool.ts";
import type { Pool2dAttrs } from "./pool.ts";

/** The pooling `conv2dMaxPool2x2` applies: 2 × 2 windows, stride 2, no padding, floor mode. */
export function maxPool2x2Attrs(): Pool2dAttrs {
  return {
    kernelSize: [2, 2],
    stride: [2, 2],
    padding: [0, 0],
    dilation: [1, 1],
    ceilMode: false,
    countIncludePad: true,
    divisorOverride: null,
  };
}

/** The conv's output shape [N, O, OH, OW] for inputs x and w (already checked by conv2d's infer). */
function convShape(x: readonly number[], w: readonly number[], a: Conv2dAttrs): number[] {
  return [
    x[0],
    w[0],
    windowOutputSize(x[2], w[2], a.stride[0], a.padding[0], a.dilation[0]),
    windowOutputSize(x[3], w[3], a.stride[1], a.padding[1], a.dilation[1]),
  ];
}

/** Attributes of `conv2dMaxPool2x2`: the conv's, and whether ReLU follows the pooling. */
export interface Conv2dMaxPoolAttrs extends Conv2dAttrs {
  /** Apply ReLU to the pooled values (default false). */
  relu?: boolean;
}

function checkRelu(op: string, a: Conv2dMaxPoolAttrs): void {
  if (a.relu !== undefined && typeof a.relu !== "boolean") {
    throw new ValueError(`${op}: relu must be a boolean, got ${String(a.relu)}`);
  }
}

/** `conv2dMaxPool2x2`: inputs x, weight and optional bias; outputs the pooled values and indices. */
export const conv2dMaxPool2x2Op: OpDef<Conv2dMaxPoolAttrs> = {
  name: "conv2dMaxPool2x2",
  infer(inputs, a): TensorSpec[] {
    checkRelu("conv2dMaxPool2x2", a);
    const [conv] = conv2dOp.infer(inputs, a);
    const [n, o, oh, ow] = conv.shape;
    if (oh < 2 || ow < 2) {
      throw new ShapeError(
        `conv2dMaxPool2x2: the conv output ${shapeStr(conv.shape)} is smaller than the 2x2 ` +
          `pooling window (input ${shapeStr(inputs[0].shape)}, weight ${
            shapeStr(inputs[1].shape)
          })`,
      );
    }
    const shape = [n, o, oh >> 1, ow >> 1];
    return [{ shape, dtype: conv.dtype }, { shape: [...shape], dtype: "int32" }];
  },
  savesOutputs: true,
  // Output 1 (the int32 indices) carries no gradient; output 0's goes to one backward op.
  grad(ctx, g) {
    const [x, w] = ctx.inputs;
    const need = ctx.needsInputGrad;
    const a: Conv2dMaxPoolBackwardAttrs = {
      ...ctx.attrs,
      inputGrad: need[0],
      weightGrad: need[1],
      biasGrad: ctx.inputs.length > 2 && need[2],
    };
    if (!a.inputGrad && !a.weightGrad && !a.biasGrad) return [null, null, null];
    const ins = [g, ctx.outputs[1], x, w];
    if (a.relu) ins.push(ctx.outputs[0]);
    const outs = apply(conv2dMaxPool2x2BackwardOp, ins, a);
    let k = 0;
    return [
      a.inputGrad ? outs[k++] : null,
      a.weightGrad ? outs[k++] : null,
      a.biasGrad ? outs[k++] : null,
    ];
  },
  decompose(inputs, a): Tensor[] {
    const [y, idx] = apply(maxPool2dOp, [apply1(conv2dOp, inputs, a)], maxPool2x2Attrs());
    return a.relu ? [y.relu(), idx] : [y, idx];
  },
};

/** Attributes of `conv2dMaxPool2x2Backward`: the forward's, and which gradients to produce. */
export interface Conv2dMaxPoolBackwardAttrs extends Conv2dMaxPoolAttrs {
  /** Produce the input's gradient. */
  inputGrad: boolean;
  /** Produce the weight's gradient. */
  weightGrad: boolean;
  /** Produce the bias's gradient. */
  biasGrad: boolean;
}

// No gradient rule: under grad mode (double backward) dispatch differentiates the decomposition.
/**
 * The gradient of `conv2dMaxPool2x2` (`"conv2dMaxPool2x2Backward"`): inputs the pooled output's
 * gradient, the pooling indices, x, the weight and (with `relu`) the forward's output; outputs,
 * in this order and where the attributes ask, the gradients of x, of the weight and of the bias.
 * It is ReLU's backward (the gradient kept where the output is positive), max pooling's scatter
 * then conv2d's backward ops (the bias's gradient sums the pooled gradient, which holds the same
 * values as the scattered one), so a backend can keep the scattered gradient in scratch memory.
 */
export const conv2dMaxPool2x2BackwardOp: OpDef<Conv2dMaxPoolBackwardAttrs> = {
  name: "conv2dMaxPool2x2Backward",
  family: "conv2dMaxPool2x2",
  infer(inputs, a): TensorSpec[] {
    checkRelu("conv2dMaxPool2x2Backward", a);
    const expected = a.relu ? 5 : 4;
    if (inputs.length !== expected) {
      throw new ValueError(
        `conv2dMaxPool2x2Backward: expected ${expected} inputs (gradient, indices, x, weight` +
          `${a.relu ? ", forward output" : ""}), got ${inputs.length}`,
      );
    }
    const [g, , x, w] = inputs;
    const specs: TensorSpec[] = [];
    if (a.inputGrad) specs.push({ shape: [...x.shape], dtype: g.dtype });
    if (a.weightGrad) specs.push({ shape: [...w.shape], dtype: g.dtype });
    if (a.biasGrad) specs.push({ shape: [w.shape[0]], dtype: g.dtype });
    return specs;
  },
  decompose(inputs, a): Tensor[] {
    const [gOut, idx, x, w, y] = inputs;
    const g = a.relu ? reluBackward(gOut, y) : gOut;
    const { inputGrad, weightGrad, biasGrad, relu: _relu, ...conv } = a;
    const gy = apply1(maxPool2dBackwardOp, [g, idx], {
      ...maxPool2x2Attrs(),
      shape: convShape(x.shape, w.shape, conv),
    });
    const outs: Tensor[] = [];
    if (inputGrad) {
      outs.push(apply1(conv2dBackwardInputOp, [gy, w], { ...conv, shape: [...x.shape] }));
    }
    if (weightGrad) {
      outs.push(apply1(conv2dBackwardWeightOp, [gy, x], { ...conv, shape: [...w.shape] }));
    }
    if (biasGrad) outs.push(sum(g, [0, 2, 3]));
    return outs;
  },
};

/** Runs `conv2dMaxPool2x2` (attributes already resolved and validated): [values, indices]. */
export function conv2dMaxPool2x2(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  attrs: Conv2dMaxPoolAttrs,
): [Tensor, Tensor] {
  const [y, i] = apply(conv2dMaxPool2x2Op, b ? [x, w, b] : [x, w], attrs);
  return [y, i];
}
