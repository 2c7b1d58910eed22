/**
 * Fused optimizer updates: one op per parameter update of SGD, Adam/AdamW, RMSprop and Adagrad,
 * so a backend can run the whole update in one pass over the data instead of several elementwise
 * ops each allocating a full-size intermediate; each also over all of a group's parameters at
 * once (`sgdUpdateForeach`, `adamUpdateForeach`, `rmspropUpdateForeach`, `adagradUpdateForeach`:
 * one op dispatch a step, see {@linkcode foreachKernel} for a backend's kernel). Each op decomposes into the elementwise ops the
 * optimizers used before (the same formulas, in the same order; Adagrad's are PyTorch's), so a
 * backend without the kernel still runs it. The ops are defined by the optimizer plugins'
 * manifests (`sgd.ts`, `adam.ts`, `rmsprop.ts`, `adagrad.ts`, which also export the `sgdUpdate`,
 * `adamUpdate`, `rmspropUpdate` and `adagradUpdate` functions); backends supply kernels by op
 * name. The ops are not differentiable and return new tensors; {@linkcode assignStorage} then
 * moves a result into the parameter's (or state's) storage without a copy, keeping tensor
 * identities and views.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { assignStorage, sgdUpdate } from "./mod.ts";
 * const p = tensor([1, 2]);
 * const [next] = sgdUpdate(p, tensor([0.5, -1]), null, { lr: 0.1 });
 * assignStorage(p, next);
 * console.log(p.toArraySync()); // [0.95, 2.1]
 * ```
 *
 * @module
 */

import { z } from "zod";
import { apply, DTypeError, isFloating, sameShape, shapeStr, ValueError } from "../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../core/mod.ts";
import { foreachEach, foreachInputs } from "./_ops_foreach.ts";
import type { ForeachAttrs } from "./_ops_foreach.ts";

// ForeachAttrs, foreachEach, foreachKernel and foreachInputs live in _ops_foreach.ts.
export * from "./_ops_foreach.ts";

/** Attributes of {@linkcode sgdUpdate} (as `torch.optim.SGD`'s options, plus `first`). */
export interface SgdUpdateAttrs {
  /** Learning rate η. */
  lr: number;
  /** Momentum μ (0: no momentum buffer). */
  momentum: number;
  /** Dampening τ. */
  dampening: number;
  /** Weight decay λ, added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
  /** First step with momentum: the buffer starts as the gradient (no buffer input). */
  first: boolean;
  /**
   * A host kernel may write the new values into the parameter's and the buffer's own arrays and
   * return those (default false). Only for a caller that writes the results back into those very
   * tensors, as the SGD optimizer does: other callers of the op get new arrays.
   */
  inPlace?: boolean;
}

/** Attributes of `"sgdUpdateForeach"`. */
export type SgdUpdateForeachAttrs = ForeachAttrs<SgdUpdateAttrs>;

/** Attributes of `"adamUpdateForeach"`. */
export type AdamUpdateForeachAttrs = ForeachAttrs<AdamUpdateAttrs>;

/** Attributes of {@linkcode adamUpdate} (as `torch.optim.Adam`'s options, plus the step count). */
export interface AdamUpdateAttrs {
  /** Learning rate η. */
  lr: number;
  /** Decay rate β₁ of the first moment. */
  beta1: number;
  /** Decay rate β₂ of the second moment. */
  beta2: number;
  /** Added to the denominator. */
  eps: number;
  /** Weight decay λ. */
  weightDecay: number;
  /** Decoupled weight decay (AdamW: w ← w·(1 − ηλ)) instead of adding λw to the gradient. */
  decoupled: boolean;
  /** Use the running maximum of the second moment (AMSGrad; needs the `vmax` input). */
  amsgrad: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
  /** The step number t ≥ 1 of this update (bias correction). */
  step: number;
}

/** Attributes of {@linkcode rmspropUpdate} (as `torch.optim.RMSprop`'s options). */
export interface RmspropUpdateAttrs {
  /** Learning rate η. */
  lr: number;
  /** Smoothing constant α. */
  alpha: number;
  /** Added to the denominator. */
  eps: number;
  /** Weight decay λ, added to the gradient. */
  weightDecay: number;
  /** Momentum μ (0: no momentum buffer input). */
  momentum: number;
  /** Normalise by the estimated variance (needs the gradient-average input). */
  centered: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/** Attributes of {@linkcode adagradUpdate} (as `torch.optim.Adagrad`'s options, plus the step). */
export interface AdagradUpdateAttrs {
  /** Learning rate η. */
  lr: number;
  /** Learning-rate decay: the step uses η / (1 + (t − 1)·lrDecay). */
  lrDecay: number;
  /** Weight decay λ, added to the gradient. */
  weightDecay: number;
  /** Added to the denominator. */
  eps: number;
  /** Ascend instead of descend. */
  maximize: boolean;
  /** The step number t ≥ 1 of this update (learning-rate decay). */
  step: number;
}

const num = z.number();
const sgdSchema = z.object({
  lr: num,
  momentum: num.default(0),
  dampening: num.default(0),
  weightDecay: num.default(0),
  nesterov: z.boolean().default(false),
  maximize: z.boolean().default(false),
  first: z.boolean().default(false),
  inPlace: z.boolean().default(false),
});
const adamSchema = z.object({
  lr: num,
  beta1: num.default(0.9),
  beta2: num.default(0.999),
  eps: num.default(1e-8),
  weightDecay: num.default(0),
  decoupled: z.boolean().default(false),
  amsgrad: z.boolean().default(false),
  maximize: z.boolean().default(false),
  step: z.number().int().min(1),
});
const rmspropSchema = z.object({
  lr: num,
  alpha: num.default(0.99),
  eps: num.default(1e-8),
  weightDecay: num.default(0),
  momentum: num.default(0),
  centered: z.boolean().default(false),
  maximize: z.boolean().default(false),
});

// Strict: the functional form validates its attributes, and an unknown key is a typo, not ignored.
const adagradSchema = z.strictObject({
  lr: num,
  lrDecay: num.default(0),
  weightDecay: num.default(0),
  eps: num.default(1e-10),
  maximize: z.boolean().default(false),
  step: z.number().int().min(1),
});

// Every input is a float tensor of the parameter's shape and dtype; there are `count` outputs like it.
function inferLike(name: string, inputs: readonly Tensor[], want: number, count: number) {
  if (inputs.length !== want) {
    throw new ValueError(
      `${name}: expected ${want} input tensors for these attributes, got ${inputs.length}`,
    );
  }
  const p = inputs[0];
  if (!isFloating(p.dtype)) {
    throw new DTypeError(`${name}: expected floating-point tensors, got ${p.dtype}`);
  }
  for (let i = 1; i < inputs.length; i++) {
    const t = inputs[i];
    if (t.dtype !== p.dtype || !sameShape(t.shape, p.shape)) {
      throw new ValueError(
        `${name}: input ${i} is ${t.dtype} ${shapeStr(t.shape)}, expected ${p.dtype} ${
          shapeStr(p.shape)
        } like the parameter`,
      );
    }
  }
  const spec: TensorSpec = { shape: p.shape as number[], dtype: p.dtype };
  return Array.from({ length: count }, () => spec);
}

/** The fused SGD update op (`"sgdUpdate"`), defined by the SGD plugin's manifest. */
export const sgdUpdateOp: OpDef<SgdUpdateAttrs> = {
  name: "sgdUpdate",
  attrs: sgdSchema,
  differentiable: false,
  infer(inputs, a): TensorSpec[] {
    const m = a.momentum !== 0;
    return inferLike("sgdUpdate", inputs, m && !a.first ? 3 : 2, m ? 2 : 1);
  },
  // Exactly the formulas SGD.step used before the fused op.
  decompose([p, grad, buf], a): Tensor[] {
    let d = a.maximize ? grad.neg() : grad;
    if (a.weightDecay !== 0) d = d.add(p.mul(a.weightDecay));
    if (a.momentum === 0) return [p.sub(d.mul(a.lr))];
    const damp = 1 - a.dampening;
    const b = a.first ? d.clone() : buf.mul(a.momentum).add(damp === 1 ? d : d.mul(damp));
    d = a.nesterov ? d.add(b.mul(a.momentum)) : b;
    return [p.sub(d.mul(a.lr)), b];
  },
};

/**
 * The op that applies the one-parameter update `op` to `count` parameters at once
 * (`"<op>Foreach"`): its inputs are role-major (every parameter, then every gradient, then every
 * state tensor of each role, as `op` takes them), and so are its outputs. Parameters may differ in
 * shape and dtype. A backend's kernel runs the whole set in one call (no dispatch between
 * parameters, see {@linkcode foreachKernel}); elsewhere it decomposes into one `op` per parameter.
 * Routes set for `op` apply to it.
 */
function foreachOf<A>(
  op: OpDef<A>,
  schema: z.ZodObject<z.ZodRawShape>,
  inputsPer: (a: A) => number,
): OpDef<ForeachAttrs<A>> {
  const name = `${op.name}Foreach`;
  return {
    name,
    family: op.family ?? op.name,
    attrs: schema.extend({ count: z.number().int().min(1) }) as unknown as OpDef<
      ForeachAttrs<A>
    >["attrs"],
    differentiable: false,
    infer(inputs, a): TensorSpec[] {
      const k = a.count, per = inputsPer(a);
      if (inputs.length !== per * k) {
        throw new ValueError(
          `${name}: expected ${per * k} input tensors for ${k} parameters with these ` +
            `attributes, got ${inputs.length}`,
        );
      }
      const { count: _, ...one } = a;
      const specs = Array.from({ length: k }, (_, i) => {
        try {
          return op.infer(Array.from({ length: per }, (_, j) => inputs[j * k + i]), one as A);
        } catch (e) {
          if (e instanceof Error) e.message = `${name} (parameter ${i}): ${e.message}`;
          throw e;
        }
      });
      return Array.from({ length: specs[0].length * k }, (_, x) => specs[x % k][(x / k) | 0]);
    },
    decompose(inputs, a): Tensor[] {
      return foreachEach(inputsPer(a), inputs, a, [], (ins, attrs) => apply(op, ins, attrs));
    },
  };
}

/** The fused Adam/AdamW update op (`"adamUpdate"`), defined by the Adam plugin's manifest. */
export const adamUpdateOp: OpDef<AdamUpdateAttrs> = {
  name: "adamUpdate",
  attrs: adamSchema,
  differentiable: false,
  infer(inputs, a): TensorSpec[] {
    return inferLike("adamUpdate", inputs, a.amsgrad ? 5 : 4, a.amsgrad ? 4 : 3);
  },
  // Exactly the formulas Adam.step used before the fused op.
  decompose([p, grad, m, v, vmax], a): Tensor[] {
    let g = a.maximize ? grad.neg() : grad;
    if (a.weightDecay !== 0) {
      if (a.decoupled) p = p.mul(1 - a.lr * a.weightDecay);
      else g = g.add(p.mul(a.weightDecay));
    }
    const m2 = m.mul(a.beta1).add(g.mul(1 - a.beta1));
    const v2 = v.mul(a.beta2).add(g.mul(g).mul(1 - a.beta2));
    const vmax2 = a.amsgrad ? vmax.maximum(v2) : null;
    const stepSize = a.lr / (1 - a.beta1 ** a.step);
    const denom = (vmax2 ?? v2).sqrt().div(Math.sqrt(1 - a.beta2 ** a.step)).add(a.eps);
    const p2 = p.sub(m2.div(denom).mul(stepSize));
    return vmax2 ? [p2, m2, v2, vmax2] : [p2, m2, v2];
  },
};

/** SGD over several parameters in one op (`"sgdUpdateForeach"`, see {@linkcode foreachOf}). */
export const sgdUpdateForeachOp: OpDef<SgdUpdateForeachAttrs> = foreachOf(
  sgdUpdateOp,
  sgdSchema,
  foreachInputs.sgdUpdate,
);

/** Adam/AdamW over several parameters in one op (`"adamUpdateForeach"`). */
export const adamUpdateForeachOp: OpDef<AdamUpdateForeachAttrs> = foreachOf(
  adamUpdateOp,
  adamSchema,
  foreachInputs.adamUpdate,
);

/** The fused RMSprop update op (`"rmspropUpdate"`), defined by the RMSprop plugin's manifest. */
export const rmspropUpdateOp: OpDef<RmspropUpdateAttrs> = {
  name: "rmspropUpdate",
  attrs: rmspropSchema,
  differentiable: false,
  infer(inputs, a): TensorSpec[] {
    const n = 3 + (a.momentum > 0 ? 1 : 0) + (a.centered ? 1 : 0);
    return inferLike("rmspropUpdate", inputs, n, n - 1);
  },
  // Exactly the formulas RMSprop.step used before the fused op.
  decompose(inputs, a): Tensor[] {
    const [p, grad, sq] = inputs;
    const buf = a.momentum > 0 ? inputs[3] : null;
    const ga = a.centered ? inputs[a.momentum > 0 ? 4 : 3] : null;
    let g = a.maximize ? grad.neg() : grad;
    if (a.weightDecay !== 0) g = g.add(p.mul(a.weightDecay));
    const sq2 = sq.mul(a.alpha).add(g.mul(g).mul(1 - a.alpha));
    const ga2 = ga ? ga.mul(a.alpha).add(g.mul(1 - a.alpha)) : null;
    const avg = (ga2 ? sq2.sub(ga2.mul(ga2)) : sq2).sqrt().add(a.eps);
    const out = [p, sq2];
    if (buf) {
      const buf2 = buf.mul(a.momentum).add(g.div(avg));
      out[0] = p.sub(buf2.mul(a.lr));
      out.push(buf2);
    } else out[0] = p.sub(g.div(avg).mul(a.lr));
    if (ga2) out.push(ga2);
    return out;
  },
};

/** The fused Adagrad update op (`"adagradUpdate"`), defined by the Adagrad plugin's manifest. */
export const adagradUpdateOp: OpDef<AdagradUpdateAttrs> = {
  name: "adagradUpdate",
  attrs: adagradSchema,
  differentiable: false,
  infer(inputs): TensorSpec[] {
    return inferLike("adagradUpdate", inputs, 3, 2);
  },
  // torch.optim.Adagrad's formulas, in its order: s ← s + g²; w ← w − clr·g / (√s + ε).
  decompose([p, grad, sum], a): Tensor[] {
    let g = a.maximize ? grad.neg() : grad;
    if (a.weightDecay !== 0) g = g.add(p.mul(a.weightDecay));
    const clr = a.lr / (1 + (a.step - 1) * a.lrDecay);
    const sum2 = sum.add(g.mul(g));
    return [p.sub(g.div(sum2.sqrt().add(a.eps)).mul(clr)), sum2];
  },
};

/** RMSprop over several parameters in one op (`"rmspropUpdateForeach"`). */
export const rmspropUpdateForeachOp: OpDef<ForeachAttrs<RmspropUpdateAttrs>> = foreachOf(
  rmspropUpdateOp,
  rmspropSchema,
  foreachInputs.rmspropUpdate,
);

/** Adagrad over several parameters in one op (`"adagradUpdateForeach"`). */
export const adagradUpdateForeachOp: OpDef<ForeachAttrs<AdagradUpdateAttrs>> = foreachOf(
  adagradUpdateOp,
  adagradSchema,
  foreachInputs.adagradUpdate,
);

// The single storage-write path (core) does the swap; re-exported for optimizer authors.
export { assignStorage, setStorageRecycler } from "../core/mod.ts";
