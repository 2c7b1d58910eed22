/**
 * softmax and logSoftmax: fused where a backend has a kernel, decomposed with the log-sum-exp
 * trick elsewhere.
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import { DTypeError } from "../errors.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef, TensorSpec } from "../registry.ts";
import { normalizeAxis } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { amax, sum } from "./reduce.ts";

/** Attributes of softmax/logSoftmax. */
export interface SoftmaxAttrs {
  /** Dimension normalised over (non-negative). */
  dim: number;
}

function inferFloatSame(name: string) {
  return (inputs: readonly Tensor[]): TensorSpec[] => {
    if (!isFloating(inputs[0].dtype)) {
      throw new DTypeError(`${name}: expected a floating-point tensor, got ${inputs[0].dtype}`);
    }
    return [{ shape: inputs[0].shape as number[], dtype: inputs[0].dtype }];
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
    const e = x.sub(amax(x, dim, { keepdim: true })).exp();
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
    const s = x.sub(amax(x, dim, { keepdim: true }));
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
