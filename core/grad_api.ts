/**
 * Functional autograd, as `torch.autograd`: {@linkcode grad} returns the gradients of outputs with
 * respect to chosen tensors (leaves or intermediates) without touching any `.grad`, and with
 * `createGraph` those gradients can be differentiated again (gradient penalties, Hessian-vector
 * products). Imported as a namespace: `import { autograd } from "@denn/denn"`.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "../mod.ts";
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const y = x.pow(3).sum();
 * const g = autograd.grad(y, x, { createGraph: true }); // 3x² = [3, 12, 27]
 * const h = autograd.grad(g.sum(), x); // 6x = [6, 12, 18]
 * console.log(g.toArraySync(), h.toArraySync(), x.grad); // ... null
 * ```
 *
 * @module
 */

import { AutogradError, ValueError } from "./errors.ts";
import { backward, checkBooleanOptions } from "./autograd.ts";
import { runBackward, seedGradient } from "./backward_engine.ts";
import type { BackwardOptions } from "./autograd.ts";
import { shapeStr } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { options as checkKeys, show } from "./args.ts";

const GRAD_KEYS = ["gradOutputs", "createGraph", "retainGraph", "allowUnused"];

export { backward };
export type { BackwardOptions };

/** Options of {@linkcode grad}. */
export interface GradOptions {
  /**
   * The gradient of each output (the "vector" of a vector-Jacobian product); null or omitted
   * entries default to ones, allowed only for one-element outputs. One tensor when there is one
   * output.
   */
  gradOutputs?: Tensor | readonly (Tensor | null | undefined)[];
  /**
   * Record the gradient computation, so the returned gradients have a graph and can be
   * differentiated again. Implies `retainGraph`.
   */
  createGraph?: boolean;
  /** Keep the graph's saved tensors so it can be back-propagated through again. */
  retainGraph?: boolean;
  /**
   * Return null for an input the outputs do not depend on, instead of throwing an
   * {@linkcode AutogradError}.
   */
  allowUnused?: boolean;
}

/** {@linkcode GradOptions} without `allowUnused`, so every gradient is returned non-null. */
export type GradOptionsUsed = GradOptions & { allowUnused?: false };

/**
 * The gradient of `outputs` with respect to one tensor `input` (see the array form).
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "../mod.ts";
 * const x = tensor([1, 2], { requiresGrad: true });
 * const h = x.mul(x);
 * console.log(autograd.grad(h.exp().sum(), h).toArraySync()); // exp(h) = [e, e⁴]
 * ```
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  input: Tensor,
  options?: GradOptionsUsed,
): Tensor;
/** The gradient of `outputs` w.r.t. `input`, or null where unused and `allowUnused` is set. */
export function grad(
  outputs: Tensor | readonly Tensor[],
  input: Tensor,
  options: GradOptions,
): Tensor | null;
/**
 * The gradients of `outputs` (summed, each weighted by its `gradOutputs` entry) with respect to
 * each of `inputs`, like `torch.autograd.grad`. Inputs may be leaves or intermediate tensors, but
 * must require grad and, unless `allowUnused`, be used to compute the outputs; the result holds one
 * gradient per input, in order. No tensor's `.grad` changes. The graph is freed afterwards unless
 * `retainGraph` or `createGraph` is set.
 *
 * @example
 * ```ts
 * import { autograd, tensor } from "../mod.ts";
 * const w = tensor([2, 3], { requiresGrad: true });
 * const x = tensor([4, 5], { requiresGrad: true });
 * const [gw, gx] = autograd.grad(w.mul(x).sum(), [w, x]); // [4, 5] and [2, 3]
 * ```
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  options?: GradOptionsUsed,
): Tensor[];
/** The gradients of `outputs` w.r.t. `inputs`, null for unused ones when `allowUnused` is set. */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  options: GradOptions,
): (Tensor | null)[];
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): Tensor | null | (Tensor | null)[] {
  const outs = tensorList("outputs", outputs);
  const ins = tensorList("inputs", inputs);
  if (outs.length === 0) throw new ValueError("grad: expected at least one output, got none");
  if (ins.length === 0) {
    throw new ValueError("grad: expected at least one input to differentiate with respect to");
  }
  options = checkKeys("grad", options, GRAD_KEYS);
  const { gradOutputs: _g, ...flags } = options;
  checkBooleanOptions("grad", flags, GRAD_KEYS);
  const go = options.gradOutputs;
  const given: readonly (Tensor | null | undefined)[] = go === undefined || go === null
    ? []
    : Array.isArray(go)
    ? go
    : [go as Tensor];
  if (go !== undefined && go !== null && !Array.isArray(go) && !(go instanceof Tensor)) {
    throw new ValueError(
      `grad: gradOutputs must be a Tensor or an array of them (null for ones), got ${show(go)}`,
    );
  }
  if (go !== undefined && go !== null && given.length !== outs.length) {
    throw new ValueError(
      `grad: got ${given.length} gradOutputs for ${outs.length} outputs (one per output expected)`,
    );
  }
  given.forEach((g, i) => {
    if (g !== undefined && g !== null && !(g instanceof Tensor)) {
      throw new ValueError(
        `grad: gradOutputs[${i}] must be a Tensor (or null for ones), got ${show(g)}`,
      );
    }
  });
  const seeds = outs.map((o, i) => {
    if (!o.requiresGrad) {
      throw new AutogradError(
        `grad: output ${i} (${
          shapeStr(o.shape)
        }) does not require grad and has no grad_fn (computed under noGrad, ` +
          `or from tensors without requiresGrad?)`,
      );
    }
    return seedGradient(`grad: output ${i}`, o, given[i]);
  });
  ins.forEach((t, i) => {
    if (!t.requiresGrad) {
      throw new AutogradError(
        `grad: input ${i} (${shapeStr(t.shape)} ${t.dtype}) does not require grad, so it has no ` +
          `gradient (create it with requiresGrad: true, or pick a tensor computed from one)`,
      );
    }
  });
  const grads = runBackward(outs, seeds, {
    inputs: ins,
    createGraph: options.createGraph,
    retainGraph: options.retainGraph,
  });
  if (!options.allowUnused) {
    grads.forEach((g, i) => {
      if (g === null) {
        throw new AutogradError(
          `grad: input ${i} (${
            shapeStr(ins[i].shape)
          }) was not used to compute the outputs, so it has no gradient ` +
            `(pass allowUnused: true to get null for it)`,
        );
      }
    });
  }
  return Array.isArray(inputs) ? grads : grads[0];
}

// `outputs` or `inputs` of grad: a Tensor or an array of Tensors.
function tensorList(what: string, v: unknown): readonly Tensor[] {
  if (v instanceof Tensor) return [v];
  if (!Array.isArray(v)) {
    throw new ValueError(`grad: ${what} must be a Tensor or an array of Tensors, got ${show(v)}`);
  }
  v.forEach((t, i) => {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`grad: ${what}[${i}] must be a Tensor, got ${show(t)}`);
    }
  });
  return v;
}
