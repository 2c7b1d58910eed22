/**
 * The loss functions of `F` (PyTorch's names in camelCase), all with `reduction: "mean" | "sum" |
 * "none"`. Cross-entropy uses log-softmax (the log-sum-exp trick) and BCE-with-logits the stable
 * softplus form, so extreme logits give finite losses and gradients.
 * The loss modules (`losses/*.ts`) call them.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { mseLoss } from "./functional.ts";
 * console.log(mseLoss(tensor([1, 2]), tensor([1, 4])).itemSync()); // 2
 * ```
 *
 * @module
 */

import {
  arange,
  cast,
  gather,
  isFloating,
  logSoftmax,
  sameShape,
  ShapeError,
  shapeStr,
  ValueError,
  where,
} from "../core/mod.ts";
import type { Reduction, Tensor } from "../core/mod.ts";
import { arity, lossOptions, tensorArg } from "./_options.ts";
// The argument checks the losses share live in _checks.ts.
import {
  checkClassTarget,
  checkProbabilities,
  checkReduction,
  classWeight,
  floatingWeight,
  keptShape,
  sameShapes,
  tensors,
  weighted,
} from "./_checks.ts";
import { crossEntropyFused, hasFusedCrossEntropy } from "./ops/cross_entropy.ts";

export type { Reduction };

/** Options shared by the losses. */
export interface LossOptions {
  /** Combine per-element losses (default "mean"). */
  reduction?: Reduction;
}

/** Applies a reduction to per-element losses. */
export function reduce(op: string, loss: Tensor, reduction: Reduction = "mean"): Tensor {
  arity("reduce", arguments, 3);
  tensorArg("reduce", "loss", loss);
  checkReduction(op, reduction);
  return reduction === "none" ? loss : reduction === "sum" ? loss.sum() : loss.mean();
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  arity("mseLoss", arguments, 3);
  tensors("mseLoss", input, target);
  options = lossOptions("mseLoss", options, ["reduction"]);
  sameShapes("mseLoss", input, target);
  const d = input.sub(target);
  return reduce("mseLoss", d.mul(d), options.reduction);
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  arity("l1Loss", arguments, 3);
  tensors("l1Loss", input, target);
  options = lossOptions("l1Loss", options, ["reduction"]);
  sameShapes("l1Loss", input, target);
  return reduce("l1Loss", input.sub(target).abs(), options.reduction);
}

/** Options of {@linkcode smoothL1Loss}. */
export interface SmoothL1Options extends LossOptions {
  /** Where the quadratic part turns linear (default 1; 0 gives the L1 loss). */
  beta?: number;
}

/** Smooth L1: ½d²/β where |d| < β, |d| − ½β elsewhere (d = input − target). */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  options: SmoothL1Options = {},
): Tensor {
  arity("smoothL1Loss", arguments, 3);
  tensors("smoothL1Loss", input, target);
  options = lossOptions("smoothL1Loss", options, ["reduction", "beta"]);
  sameShapes("smoothL1Loss", input, target);
  const beta = options.beta ?? 1;
  if (beta < 0) throw new ValueError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  const d = input.sub(target).abs();
  const l = beta === 0 ? d : where(d.lt(beta), d.mul(d).mul(0.5 / beta), d.sub(0.5 * beta));
  return reduce("smoothL1Loss", l, options.reduction);
}

/** Options of the classification losses. */
export interface NllOptions extends LossOptions {
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  /** Target value that contributes nothing (default −100). */
  ignoreIndex?: number;
}

/**
 * Negative log-likelihood of class indices given log-probabilities [N, C, ...] (or [C]).
 * With weights, "mean" divides by the total weight of the non-ignored targets, as PyTorch does.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NllOptions = {}): Tensor {
  arity("nllLoss", arguments, 3);
  tensors("nllLoss", input, target);
  options = lossOptions("nllLoss", options, ["reduction", "weight", "ignoreIndex"]);
  const reduction = options.reduction ?? "mean";
  checkReduction("nllLoss", reduction);
  checkClassTarget("nllLoss", input, target);
  const x = input.ndim === 1 ? input.unsqueeze(0) : input;
  const t = input.ndim === 1 ? target.unsqueeze(0) : target;
  const c = x.shape[1];
  if (options.weight) classWeight("nllLoss", options.weight, c);
  const ignore = options.ignoreIndex ?? -100;
  const valid = t.ne(ignore);
  const safe = where(valid, t, 0);
  const picked = gather(x, 1, safe.unsqueeze(1)).squeeze(1);
  let w = cast(valid, isFloating(input.dtype) ? input.dtype : "float32");
  if (options.weight) {
    w = w.mul(gather(options.weight, 0, safe.flatten()).reshape(safe.shape as number[]));
  }
  let l = picked.mul(w).neg();
  if (input.ndim === 1) l = l.squeeze(0);
  if (reduction === "none") return l;
  if (reduction === "sum") return l.sum();
  return l.sum().div(w.sum());
}

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions extends NllOptions {
  /** Mix the target with the uniform distribution (0 to 1). */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C, ...] against class indices (int32) or class probabilities
 * (float32, the input's shape): −log softmax(x)[class], with the log-sum-exp trick.
 *
 * @example
 * ```ts
 * import { F, tensor } from "../mod.ts";
 * const loss = F.crossEntropy(tensor([[2, 0.5, -1]]), tensor([0], { dtype: "int32" }));
 * ```
 */
export function crossEntropy(
  input: Tensor,
  target: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  arity("crossEntropy", arguments, 3);
  tensors("crossEntropy", input, target);
  options = lossOptions("crossEntropy", options, [
    "reduction",
    "weight",
    "ignoreIndex",
    "labelSmoothing",
  ]);
  const reduction = options.reduction ?? "mean";
  checkReduction("crossEntropy", reduction);
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) {
    throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  }
  if (input.ndim === 0) {
    throw new ShapeError("crossEntropy: input must have at least 1 dimension (classes)");
  }
  const cdim = input.ndim === 1 ? 0 : 1;
  const c = input.shape[cdim];
  if (options.weight) {
    floatingWeight("crossEntropy", "weight", options.weight);
    if (options.weight.ndim !== 1 || options.weight.shape[0] !== c) {
      throw new ShapeError(
        `crossEntropy: weight ${
          shapeStr(options.weight.shape)
        } must have shape [${c}] (one per class)`,
      );
    }
  }
  if (!isFloating(target.dtype) && eps === 0 && input.ndim <= 2 && isFloating(input.dtype)) {
    // Class indices of [N, C] or [C]: one fused op forward and one backward where the backend has
    // the kernels (a weight that needs a gradient keeps the composite, which differentiates it).
    const w = options.weight;
    // Inputs on different devices keep the composite too, which names them in its error.
    const same = target.device === input.device && (!w || w.device === input.device);
    if (same && !w?.requiresGrad && hasFusedCrossEntropy(input.device)) {
      checkClassTarget("nllLoss", input, target);
      const one = input.ndim === 1;
      const loss = crossEntropyFused(
        one ? input.unsqueeze(0) : input,
        one ? target.reshape([1]) : target,
        w ? (w.dtype === "float32" ? w : w.cast("float32")) : null,
        { reduction, ignoreIndex: options.ignoreIndex ?? -100, weight: !!w },
      );
      return one && reduction === "none" ? loss.squeeze(0) : loss;
    }
  }
  const logp = logSoftmax(input, cdim);
  const wshape = input.shape.map((s, i) => (i === cdim ? s : 1));
  const w = options.weight ? options.weight.reshape(wshape) : null;
  if (isFloating(target.dtype)) {
    if (!sameShape(target.shape, input.shape)) {
      throw new ShapeError(
        `crossEntropy: probability target ${shapeStr(target.shape)} must have the input's shape ${
          shapeStr(input.shape)
        }`,
      );
    }
    const t = eps > 0 ? target.mul(1 - eps).add(eps / c) : target;
    let prod = logp.mul(t);
    if (w) prod = prod.mul(w);
    const l = prod.sum(cdim).neg();
    if (reduction === "none") return l;
    if (reduction === "sum") return l.sum();
    return l.sum().div(input.ndim === 1 ? 1 : l.numel());
  }
  const nll = nllLoss(logp, target, {
    weight: options.weight,
    ignoreIndex: options.ignoreIndex,
    reduction,
  });
  if (eps === 0) return nll;
  const ignore = options.ignoreIndex ?? -100;
  const valid = target.ne(ignore);
  let smooth = (w ? logp.mul(w) : logp).sum(cdim).neg();
  smooth = where(valid, smooth, 0);
  let ret: Tensor;
  if (reduction === "none") ret = smooth;
  else if (reduction === "sum") ret = smooth.sum();
  else if (options.weight) {
    const safe = where(valid, target, 0);
    const tw = gather(options.weight, 0, safe.flatten()).reshape(safe.shape as number[]);
    ret = smooth.sum().div(where(valid, tw, 0).sum());
  } else ret = smooth.sum().div(cast(valid, logp.dtype).sum());
  return nll.mul(1 - eps).add(ret.mul(eps / c));
}

/** Options of the binary cross-entropy losses. */
export interface BceOptions extends LossOptions {
  /** Per-element weight (broadcast). */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy of probabilities; log terms are clamped at −100 like PyTorch. An input
 * outside [0, 1] is a ValueError on cpu (as in PyTorch); on device backends it gives NaN.
 */
export function bceLoss(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  arity("bceLoss", arguments, 3);
  tensors("bceLoss", input, target);
  options = lossOptions("bceLoss", options, ["reduction", "weight"]);
  sameShapes("bceLoss", input, target);
  checkProbabilities(input);
  const logP = input.log().maximum(-100);
  const log1mP = input.neg().add(1).log().maximum(-100);
  let l = target.mul(logP).add(target.neg().add(1).mul(log1mP)).neg();
  if (options.weight) l = weighted("bceLoss", l, options.weight, input);
  return reduce("bceLoss", l, options.reduction);
}

/** Options of {@linkcode bceWithLogits}. */
export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of positive examples per class (broadcast over the last dim). */
  posWeight?: Tensor | null;
}

/**
 * Sigmoid + binary cross-entropy in one stable expression:
 * (1 − t)·x + (1 + (pw − 1)·t)·(log(1 + e^(−|x|)) + max(−x, 0)); finite for |x| > 50.
 */
export function bceWithLogits(
  input: Tensor,
  target: Tensor,
  options: BceWithLogitsOptions = {},
): Tensor {
  arity("bceWithLogits", arguments, 3);
  tensors("bceWithLogits", input, target);
  options = lossOptions("bceWithLogits", options, ["reduction", "weight", "posWeight"]);
  sameShapes("bceWithLogits", input, target);
  const softplusNeg = input.abs().neg().exp().log1p().add(input.neg().maximum(0));
  let coef: Tensor | null = null;
  if (options.posWeight) {
    floatingWeight("bceWithLogits", "posWeight", options.posWeight);
    coef = target.mul(options.posWeight.sub(1)).add(1);
    keptShape("bceWithLogits", "posWeight", options.posWeight, coef, input);
  }
  let l = target.neg().add(1).mul(input).add(coef ? coef.mul(softplusNeg) : softplusNeg);
  if (options.weight) l = weighted("bceWithLogits", l, options.weight, input);
  return reduce("bceWithLogits", l, options.reduction);
}

/** Options of {@linkcode klDiv}. */
export interface KlDivOptions {
  /** "mean" (over elements), "batchmean" (over the batch, the true KL), "sum" or "none". */
  reduction?: Reduction | "batchmean";
  /** The target is given as log-probabilities. */
  logTarget?: boolean;
}

/** KL divergence with `input` as log-probabilities: Σ t·(log t − input), 0 where t = 0. */
export function klDiv(input: Tensor, target: Tensor, options: KlDivOptions = {}): Tensor {
  arity("klDiv", arguments, 3);
  tensors("klDiv", input, target);
  options = lossOptions("klDiv", options, ["reduction", "logTarget"]);
  sameShapes("klDiv", input, target);
  const reduction = options.reduction ?? "mean";
  checkReduction("klDiv", reduction, ["batchmean"]);
  const l = options.logTarget
    ? target.exp().mul(target.sub(input))
    : where(target.gt(0), target.mul(where(target.gt(0), target, 1).log().sub(input)), 0);
  if (reduction === "batchmean") return l.sum().div(input.ndim ? input.shape[0] : 1);
  return reduce("klDiv", l, reduction);
}

/** Options of {@linkcode multiMarginLoss}. */
export interface MultiMarginOptions extends LossOptions {
  /** 1 or 2 (default 1). */
  p?: 1 | 2;
  /** Margin (default 1). */
  margin?: number;
  /** Per-class weights [C]. */
  weight?: Tensor | null;
}

/** The multiclass SVM hinge: Σ_{j≠y} max(0, margin − x_y + x_j)^p / C. */
export function multiMarginLoss(
  input: Tensor,
  target: Tensor,
  options: MultiMarginOptions = {},
): Tensor {
  arity("multiMarginLoss", arguments, 3);
  tensors("multiMarginLoss", input, target);
  options = lossOptions("multiMarginLoss", options, ["reduction", "p", "margin", "weight"]);
  const p = options.p ?? 1;
  if (p !== 1 && p !== 2) throw new ValueError(`multiMarginLoss: p must be 1 or 2, got ${p}`);
  checkClassTarget("multiMarginLoss", input, target);
  const x = input.ndim === 1 ? input.unsqueeze(0) : input;
  const t = input.ndim === 1 ? target.unsqueeze(0) : target;
  if (x.ndim !== 2) {
    throw new ShapeError(
      `multiMarginLoss: expected input [N, C] or [C], got ${shapeStr(input.shape)}`,
    );
  }
  const c = x.shape[1];
  if (options.weight) classWeight("multiMarginLoss", options.weight, c);
  const xy = gather(x, 1, t.unsqueeze(1));
  let h = xy.neg().add(x).add(options.margin ?? 1).relu();
  if (p === 2) h = h.mul(h);
  if (options.weight) h = h.mul(gather(options.weight, 0, t).unsqueeze(1));
  const mask = t.unsqueeze(1).ne(arange(c, undefined, 1, { device: x.device }));
  let l = h.mul(mask).sum(1).div(c);
  if (input.ndim === 1) l = l.squeeze(0);
  return reduce("multiMarginLoss", l, options.reduction);
}

/** Options of {@linkcode hingeEmbeddingLoss}. */
export interface HingeEmbeddingOptions extends LossOptions {
  /** Margin (default 1). */
  margin?: number;
}

/**
 * x where y = 1, max(0, margin − x) where y = −1 (the binary hinge on distances). Like PyTorch, a
 * label that is neither gets both terms.
 */
export function hingeEmbeddingLoss(
  input: Tensor,
  target: Tensor,
  options: HingeEmbeddingOptions = {},
): Tensor {
  arity("hingeEmbeddingLoss", arguments, 3);
  tensors("hingeEmbeddingLoss", input, target);
  options = lossOptions("hingeEmbeddingLoss", options, ["reduction", "margin"]);
  sameShapes("hingeEmbeddingLoss", input, target);
  const margin = options.margin ?? 1;
  const neg = input.neg().add(margin).relu();
  const l = where(target.ne(-1), input, 0).add(where(target.ne(1), neg, 0));
  return reduce("hingeEmbeddingLoss", l, options.reduction);
}
