/**
 * Neural-network ops with fused kernels where backends have them: softmax and logSoftmax (with
 * log-sum-exp stability and decompositions), conv2d and its two backward ops, max/avg pooling and
 * adaptive average pooling with their backward ops, and batch normalisation (statistics, forward and
 * a one-pass backward, each with a decomposition).
 *
 * @module
 */

import { isGradEnabled } from "../autograd.ts";
import { DTypeError, ShapeError, ValueError } from "../errors.ts";
import { apply, apply1, defineOp } from "../registry.ts";
import type { OpDef, TensorSpec } from "../registry.ts";
import { normalizeAxis, shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { max, sum } from "./reduce.ts";

/** Attributes of softmax/logSoftmax. */
export interface SoftmaxAttrs {
  /** Dimension normalised over (non-negative). */
  dim: number;
}

function inferFloatSame(name: string) {
  return (inputs: readonly Tensor[]): TensorSpec[] => {
    if (inputs[0].dtype !== "float32") {
      throw new DTypeError(`${name}: expected float32, got ${inputs[0].dtype}`);
    }
    return [{ shape: inputs[0].shape as number[], dtype: "float32" }];
  };
}

const softmaxOp: OpDef<SoftmaxAttrs> = defineOp<SoftmaxAttrs>({
  name: "softmax",
  infer: inferFloatSame("softmax"),
  savesInputs: false,
  savesOutputs: true,
  grad(ctx, g) {
    const y = ctx.outputs[0];
    const gy = g.mul(y);
    return [gy.sub(y.mul(sum(gy, ctx.attrs.dim, { keepdim: true })))];
  },
  decompose([x], { dim }) {
    const e = x.sub(max(x, dim, { keepdim: true })).exp();
    return [e.div(sum(e, dim, { keepdim: true }))];
  },
});

const logSoftmaxOp: OpDef<SoftmaxAttrs> = defineOp<SoftmaxAttrs>({
  name: "logSoftmax",
  infer: inferFloatSame("logSoftmax"),
  savesInputs: false,
  savesOutputs: true,
  grad(ctx, g) {
    const y = ctx.outputs[0];
    return [g.sub(y.exp().mul(sum(g, ctx.attrs.dim, { keepdim: true })))];
  },
  decompose([x], { dim }) {
    // log-sum-exp trick: log Σ exp x = c + log Σ exp(x − c) with c = max x.
    const s = x.sub(max(x, dim, { keepdim: true }));
    return [s.sub(sum(s.exp(), dim, { keepdim: true }).log())];
  },
});

/** Softmax along `dim`, computed stably. */
export function softmax(x: Tensor, dim: number): Tensor {
  return apply1(softmaxOp, [x], { dim: normalizeAxis("softmax", dim, x.ndim) });
}

/** Log-softmax along `dim`, computed with the log-sum-exp trick. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return apply1(logSoftmaxOp, [x], { dim: normalizeAxis("logSoftmax", dim, x.ndim) });
}

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
  if (x.dtype !== "float32" || w.dtype !== "float32" || (b && b.dtype !== "float32")) {
    throw new DTypeError(
      `${op}: expected float32 input, weight and bias, got ${x.dtype}, ${w.dtype}${
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
  return [{ shape: [n, o, oh, ow], dtype: "float32" }];
}

const conv2dOp: OpDef<Conv2dAttrs> = defineOp<Conv2dAttrs>({
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
});

const conv2dBackwardInputOp: OpDef<Conv2dBackwardAttrs> = defineOp<Conv2dBackwardAttrs>({
  name: "conv2dBackwardInput",
  family: "conv2d",
  infer: (_inputs, a) => [{ shape: a.shape, dtype: "float32" }],
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
});

const conv2dBackwardWeightOp: OpDef<Conv2dBackwardAttrs> = defineOp<Conv2dBackwardAttrs>({
  name: "conv2dBackwardWeight",
  family: "conv2d",
  infer: (_inputs, a) => [{ shape: a.shape, dtype: "float32" }],
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
});

/** Runs the conv2d op (attributes already resolved and validated). */
export function conv2dRaw(x: Tensor, w: Tensor, b: Tensor | null, attrs: Conv2dAttrs): Tensor {
  return apply1(conv2dOp, b ? [x, w, b] : [x, w], attrs);
}

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
  if (x.dtype !== "float32") throw new DTypeError(`${op}: expected float32, got ${x.dtype}`);
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
  return [{ shape: [n, c, oh, ow], dtype: "float32" }];
}

const maxPool2dOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "maxPool2d",
  infer: (inputs, a) => {
    const [s] = checkPool("maxPool2d", inputs[0], a);
    return [s, { shape: s.shape, dtype: "int32" }];
  },
  savesInputs: false,
  savesOutputs: true,
  grad: (ctx, g) => [
    apply1(maxPool2dBackwardOp, [g, ctx.outputs[1]], {
      ...ctx.attrs,
      shape: ctx.inputShapes[0] as number[],
    }),
  ],
});

const maxPool2dBackwardOp: OpDef<Pool2dBackwardAttrs> = defineOp<Pool2dBackwardAttrs>({
  name: "maxPool2dBackward",
  family: "maxPool2d",
  infer: (_i, a) => [{ shape: a.shape, dtype: "float32" }],
  grad: (ctx, g) => [apply1(gatherPooledOp, [g, ctx.inputs[1]], {}), null],
});

// Double backward of max pooling: gather the gradient at the argmax positions.
const gatherPooledOp: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
  name: "maxPool2dGather",
  family: "maxPool2d",
  infer: (inputs) => [{ shape: inputs[1].shape as number[], dtype: "float32" }],
  differentiable: false,
});

const avgPool2dOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "avgPool2d",
  infer: (inputs, a) => checkPool("avgPool2d", inputs[0], a),
  savesInputs: false,
  grad: (
    ctx,
    g,
  ) => [apply1(avgPool2dBackwardOp, [g], { ...ctx.attrs, shape: ctx.inputShapes[0] as number[] })],
});

const avgPool2dBackwardOp: OpDef<Pool2dBackwardAttrs> = defineOp<Pool2dBackwardAttrs>({
  name: "avgPool2dBackward",
  family: "avgPool2d",
  savesInputs: false,
  infer: (_i, a) => [{ shape: a.shape, dtype: "float32" }],
  grad: (ctx, g) => {
    const { shape: _s, ...fwd } = ctx.attrs;
    return [apply1(avgPool2dOp, [g], fwd)];
  },
});

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

const adaptiveAvgPool2dOp: OpDef<AdaptivePoolAttrs> = defineOp<AdaptivePoolAttrs>({
  name: "adaptiveAvgPool2d",
  savesInputs: false,
  infer(inputs, a) {
    const x = inputs[0];
    if (x.dtype !== "float32") {
      throw new DTypeError(`adaptiveAvgPool2d: expected float32, got ${x.dtype}`);
    }
    if (x.ndim !== 4) {
      throw new ShapeError(
        `adaptiveAvgPool2d: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    return [{
      shape: [x.shape[0], x.shape[1], a.outputSize[0], a.outputSize[1]],
      dtype: "float32",
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
});

const adaptiveAvgPool2dBackwardOp: OpDef<AdaptivePoolAttrs & { shape: number[] }> = defineOp<
  AdaptivePoolAttrs & { shape: number[] }
>({
  name: "adaptiveAvgPool2dBackward",
  family: "adaptiveAvgPool2d",
  savesInputs: false,
  infer: (_i, a) => [{ shape: a.shape, dtype: "float32" }],
  grad: (ctx, g) => [apply1(adaptiveAvgPool2dOp, [g], { outputSize: ctx.attrs.outputSize })],
});

/** Adaptive average pooling to a fixed output size. */
export function adaptiveAvgPool2dRaw(x: Tensor, outputSize: [number, number]): Tensor {
  return apply1(adaptiveAvgPool2dOp, [x], { outputSize });
}

// ---------------------------------------------------------------- batch norm

/** Attributes of batchNorm and batchNormBackward. */
export interface BatchNormAttrs {
  /**
   * True when `mean` and `var` are the input's own batch statistics (their dependence on the input
   * enters the gradient); false when they are running statistics (constants, as in eval mode).
   */
  training: boolean;
  /** Added to the variance. */
  eps: number;
}

// Input [N, C, ...] is seen as channels of count = size / C values each.
function bnCheck(op: string, x: Tensor, perChannel: readonly Tensor[]): number {
  if (x.dtype !== "float32") throw new DTypeError(`${op}: expected float32, got ${x.dtype}`);
  if (x.ndim < 2) {
    throw new ShapeError(
      `${op}: expected input with at least 2 dims [N, C, ...], got ${shapeStr(x.shape)}`,
    );
  }
  const c = x.shape[1];
  for (const t of perChannel) {
    if (t.dtype !== "float32" || t.ndim !== 1 || t.shape[0] !== c) {
      throw new ShapeError(
        `${op}: per-channel tensors must be float32 of shape [${c}] for input ${
          shapeStr(x.shape)
        }, got ${shapeStr(t.shape)} ${t.dtype}`,
      );
    }
  }
  return c;
}

const bnDims = (x: Tensor): number[] => x.shape.map((_, i) => i).filter((i) => i !== 1);
const bnShape = (x: Tensor): number[] => x.shape.map((s, i) => (i === 1 ? s : 1));

const batchNormStatsOp: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
  name: "batchNormStats",
  family: "batchNorm",
  differentiable: false,
  infer(inputs) {
    const c = bnCheck("batchNormStats", inputs[0], []);
    return [{ shape: [c], dtype: "float32" }, { shape: [c], dtype: "float32" }];
  },
  decompose([x]) {
    const dims = bnDims(x);
    const m = x.mean(dims, { keepdim: true });
    const d = x.sub(m);
    return [m.reshape([x.shape[1]]), d.mul(d).mean(dims)];
  },
});

const batchNormOp: OpDef<BatchNormAttrs> = defineOp<BatchNormAttrs>({
  name: "batchNorm",
  infer(inputs) {
    bnCheck("batchNorm", inputs[0], inputs.slice(1));
    if (inputs.length !== 5) {
      throw new ValueError(
        `batchNorm: expected 5 inputs (x, mean, var, weight, bias), got ${inputs.length}`,
      );
    }
    return [{ shape: inputs[0].shape as number[], dtype: "float32" }];
  },
  grad(ctx, g) {
    const [x, mean, v, w] = ctx.inputs;
    const { training, eps } = ctx.attrs;
    const need = ctx.needsInputGrad;
    const [dx, dw, db] = apply(batchNormBackwardOp, [g, x, mean, v, w], ctx.attrs);
    // Running statistics are constants of the normalisation; batch statistics are functions of x,
    // already accounted for in dx, so they get no gradient of their own.
    let dm: Tensor | null = null, dv: Tensor | null = null;
    if (!training && need[1]) dm = db.mul(w.mul(v.add(eps).rsqrt())).neg();
    if (!training && need[2]) dv = dw.mul(w).div(v.add(eps)).mul(-0.5);
    return [need[0] ? dx : null, dm, dv, need[3] ? dw : null, need[4] ? db : null];
  },
  decompose([x, mean, v, w, b], { eps }) {
    const bs = bnShape(x);
    const scale = w.mul(v.add(eps).rsqrt());
    const shift = b.sub(mean.mul(scale));
    return [x.mul(scale.reshape(bs)).add(shift.reshape(bs))];
  },
});

// No gradient rule: under grad mode (double backward) dispatch differentiates the decomposition.
const batchNormBackwardOp: OpDef<BatchNormAttrs> = defineOp<BatchNormAttrs>({
  name: "batchNormBackward",
  family: "batchNorm",
  infer(inputs) {
    const [g, x] = inputs;
    const c = bnCheck("batchNormBackward", x, inputs.slice(2));
    if (g.dtype !== "float32" || g.shape.some((s, i) => s !== x.shape[i]) || g.ndim !== x.ndim) {
      throw new ShapeError(
        `batchNormBackward: gradient ${shapeStr(g.shape)} ${g.dtype} must be float32 of the ` +
          `input's shape ${shapeStr(x.shape)}`,
      );
    }
    return [
      { shape: x.shape as number[], dtype: "float32" },
      { shape: [c], dtype: "float32" },
      { shape: [c], dtype: "float32" },
    ];
  },
  decompose([g, x, mean, v, w], { training, eps }) {
    const dims = bnDims(x), bs = bnShape(x);
    if (training && isGradEnabled()) {
      // Differentiated: the batch statistics must be traced back to x.
      [mean, v] = batchNormStatsOp.decompose!([x], {});
    }
    const invstd = v.add(eps).rsqrt();
    const xhat = x.sub(mean.reshape(bs)).mul(invstd.reshape(bs));
    const db = g.sum(dims);
    const dw = g.mul(xhat).sum(dims);
    const k = w.mul(invstd).reshape(bs);
    if (!training) return [g.mul(k), dw, db];
    const count = x.size / x.shape[1];
    const centred = g.sub(db.div(count).reshape(bs)).sub(xhat.mul(dw.div(count).reshape(bs)));
    return [centred.mul(k), dw, db];
  },
});

/** Per-channel batch mean and biased variance of [N, C, ...] input (over every dim but 1). */
export function batchNormStats(x: Tensor): [Tensor, Tensor] {
  const [m, v] = apply(batchNormStatsOp, [x], {});
  return [m, v];
}

/**
 * Batch normalisation with given per-channel statistics, weight and bias (all of shape [C]):
 * `(x − mean) / √(var + eps) · weight + bias`. With `training`, `mean` and `var` must be
 * {@linkcode batchNormStats} of `x`, and the gradient includes their dependence on `x`.
 */
export function batchNormRaw(
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  weight: Tensor,
  bias: Tensor,
  attrs: BatchNormAttrs,
): Tensor {
  return apply1(batchNormOp, [x, mean, variance, weight, bias], attrs);
}
