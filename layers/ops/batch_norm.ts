/**
 * Batch normalisation as fused ops: per-channel statistics, the normalisation and one backward op
 * computing dx, dweight and dbias, each with a decomposition for backends without kernels. They
 * are defined by the batch-norm plugin's manifest (`layers/batch_norm.ts`).
 *
 * @module
 */

import {
  apply,
  apply1,
  DTypeError,
  isFloating,
  isGradEnabled,
  ShapeError,
  shapeStr,
  ValueError,
} from "../../core/mod.ts";
import { reluBackward } from "../../core/ops/elementwise.ts";
import type { GradContext, OpDef, Tensor, TensorSpec } from "../../core/mod.ts";

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
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${op}: expected a floating-point tensor, got ${x.dtype}`);
  }
  if (x.ndim < 2) {
    throw new ShapeError(
      `${op}: expected input with at least 2 dims [N, C, ...], got ${shapeStr(x.shape)}`,
    );
  }
  const c = x.shape[1];
  for (const t of perChannel) {
    if (t.dtype !== x.dtype || t.ndim !== 1 || t.shape[0] !== c) {
      throw new ShapeError(
        `${op}: per-channel tensors must be ${x.dtype} (the input's dtype) of shape [${c}] for input ${
          shapeStr(x.shape)
        }, got ${shapeStr(t.shape)} ${t.dtype}`,
      );
    }
  }
  return c;
}

const bnDims = (x: Tensor): number[] => x.shape.map((_, i) => i).filter((i) => i !== 1);
const bnShape = (x: Tensor): number[] => x.shape.map((s, i) => (i === 1 ? s : 1));

/** Per-channel batch mean and biased variance (`"batchNormStats"`). */
export const batchNormStatsOp: OpDef<Record<string, never>> = {
  name: "batchNormStats",
  family: "batchNorm",
  differentiable: false,
  infer(inputs) {
    const c = bnCheck("batchNormStats", inputs[0], []);
    const dtype = inputs[0].dtype;
    return [{ shape: [c], dtype }, { shape: [c], dtype }];
  },
  decompose([x]) {
    const dims = bnDims(x);
    const m = x.mean(dims, { keepdim: true });
    const d = x.sub(m);
    return [m.reshape([x.shape[1]]), d.mul(d).mean(dims)];
  },
};

function bnInfer(op: string, inputs: readonly Tensor[]): TensorSpec[] {
  bnCheck(op, inputs[0], inputs.slice(1));
  if (inputs.length !== 5) {
    throw new ValueError(
      `${op}: expected 5 inputs (x, mean, var, weight, bias), got ${inputs.length}`,
    );
  }
  return [{ shape: inputs[0].shape as number[], dtype: inputs[0].dtype }];
}

// The gradients of x, mean, var, weight and bias from batchNormBackward's dx, dweight, dbias.
// Running statistics are constants of the normalisation; batch statistics are functions of x,
// already accounted for in dx, so they get no gradient of their own.
function bnInputGrads(
  ctx: GradContext<BatchNormAttrs>,
  [dx, dw, db]: Tensor[],
): (Tensor | null)[] {
  const [, , v, w] = ctx.inputs;
  const { training, eps } = ctx.attrs;
  const need = ctx.needsInputGrad;
  let dm: Tensor | null = null, dv: Tensor | null = null;
  if (!training && need[1]) dm = db.mul(w.mul(v.add(eps).rsqrt())).neg();
  if (!training && need[2]) dv = dw.mul(w).div(v.add(eps)).mul(-0.5);
  return [need[0] ? dx : null, dm, dv, need[3] ? dw : null, need[4] ? db : null];
}

/** Batch normalisation (`"batchNorm"`): inputs x, mean, var, weight and bias. */
export const batchNormOp: OpDef<BatchNormAttrs> = {
  name: "batchNorm",
  infer: (inputs) => bnInfer("batchNorm", inputs),
  grad(ctx, g) {
    const [x, mean, v, w] = ctx.inputs;
    return bnInputGrads(ctx, apply(batchNormBackwardOp, [g, x, mean, v, w], ctx.attrs));
  },
  decompose([x, mean, v, w, b], { eps }) {
    const bs = bnShape(x);
    const scale = w.mul(v.add(eps).rsqrt());
    const shift = b.sub(mean.mul(scale));
    return [x.mul(scale.reshape(bs)).add(shift.reshape(bs))];
  },
};

// No gradient rule: under grad mode (double backward) dispatch differentiates the decomposition.
/**
 * Batch normalisation's gradient (`"batchNormBackward"`): inputs g, x, mean, var and weight;
 * outputs dx, dweight and dbias.
 */
export const batchNormBackwardOp: OpDef<BatchNormAttrs> = {
  name: "batchNormBackward",
  family: "batchNorm",
  infer(inputs) {
    const [g, x] = inputs;
    const c = bnCheck("batchNormBackward", x, inputs.slice(2));
    if (g.dtype !== x.dtype || g.shape.some((s, i) => s !== x.shape[i]) || g.ndim !== x.ndim) {
      throw new ShapeError(
        `batchNormBackward: gradient ${shapeStr(g.shape)} ${g.dtype} must be ${x.dtype} of the ` +
          `input's shape ${shapeStr(x.shape)}`,
      );
    }
    return [
      { shape: x.shape as number[], dtype: x.dtype },
      { shape: [c], dtype: x.dtype },
      { shape: [c], dtype: x.dtype },
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
    const count = x.numel() / x.shape[1];
    const centred = g.sub(db.div(count).reshape(bs)).sub(xhat.mul(dw.div(count).reshape(bs)));
    return [centred.mul(k), dw, db];
  },
};

// ---------------------------------------------------------------- batch norm then ReLU

/**
 * Batch normalisation followed by ReLU (`"batchNormRelu"`): relu(batchNorm(x, mean, var, weight,
 * bias)) as one op, the same bits as the two ops. It saves its output, from which its gradient is
 * one `batchNormReluBackward` (ReLU's mask applied as the batch-norm backward reads g), so neither
 * the normalised tensor nor ReLU's gradient is ever made.
 */
export const batchNormReluOp: OpDef<BatchNormAttrs> = {
  name: "batchNormRelu",
  family: "batchNorm",
  savesOutputs: true,
  infer: (inputs) => bnInfer("batchNormRelu", inputs),
  grad(ctx, g) {
    const [x, mean, v, w] = ctx.inputs;
    const y = ctx.outputs[0];
    return bnInputGrads(ctx, apply(batchNormReluBackwardOp, [g, x, mean, v, w, y], ctx.attrs));
  },
  decompose: (inputs, attrs) => [apply1(batchNormOp, inputs, attrs).relu()],
};

// No gradient rule: under grad mode (double backward) dispatch differentiates the decomposition.
/**
 * The gradient of {@linkcode batchNormReluOp} (`"batchNormReluBackward"`): inputs g, x, mean, var,
 * weight and ReLU's output y; outputs dx, dweight and dbias: batchNormBackward of g masked where
 * y ≤ 0 (as `reluBackward`).
 */
export const batchNormReluBackwardOp: OpDef<BatchNormAttrs> = {
  name: "batchNormReluBackward",
  family: "batchNorm",
  infer(inputs, attrs) {
    if (inputs.length !== 6) {
      throw new ValueError(
        `batchNormReluBackward: expected 6 inputs (g, x, mean, var, weight, y), got ${inputs.length}`,
      );
    }
    const [, x, , , , y] = inputs;
    if (y.dtype !== x.dtype || y.ndim !== x.ndim || y.shape.some((s, i) => s !== x.shape[i])) {
      throw new ShapeError(
        `batchNormReluBackward: ReLU's output ${shapeStr(y.shape)} ${y.dtype} must be ${x.dtype} ` +
          `of the input's shape ${shapeStr(x.shape)}`,
      );
    }
    return batchNormBackwardOp.infer(inputs.slice(0, 5), attrs);
  },
  decompose: ([g, x, mean, v, w, y], attrs) =>
    apply(batchNormBackwardOp, [reluBackward(g, y), x, mean, v, w], attrs),
};

/** The batch-norm ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const batchNormOps: readonly OpDef<any>[] = [
  batchNormStatsOp,
  batchNormOp,
  batchNormBackwardOp,
  batchNormReluOp,
  batchNormReluBackwardOp,
];

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

/**
 * `relu(batchNormRaw(x, mean, variance, weight, bias, attrs))` as the one `batchNormRelu` op: the
 * same values and gradients, without the normalised tensor or ReLU's gradient in between.
 */
export function batchNormReluRaw(
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  weight: Tensor,
  bias: Tensor,
  attrs: BatchNormAttrs,
): Tensor {
  return apply1(batchNormReluOp, [x, mean, variance, weight, bias], attrs);
}
