/**
 * Parameters and the state dict: {@linkcode Parameter}, which marks a tensor as trainable, the
 * types of `Module.stateDict`/`loadStateDict`, and the in-place moves and gradient releases that
 * `Module` and `Optimizer` apply to parameter tensors. `Module` itself is in module.ts.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/** Marks a tensor as a trainable parameter (a leaf that requires grad) and returns it. */
export function Parameter(t: Tensor): Tensor {
  const p = t.isLeaf ? t : t.detach();
  p.requiresGrad = true;
  p.isParameter = true;
  return p;
}

/** Options of {@linkcode Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). */
  strict?: boolean;
}

/** Result of {@linkcode Module.loadStateDict}. */
export interface LoadStateDictResult {
  /** Keys the module has but the state dict lacked. */
  missingKeys: string[];
  /** Keys in the state dict the module does not have. */
  unexpectedKeys: string[];
}

/** An ordered map from PyTorch-style keys to tensors. */
export type StateDict = Record<string, Tensor>;

/** Points `t` at `moved`'s storage and device, keeping the tensor object; `moved` is released. */
export function moveInPlace(t: Tensor, moved: Tensor): void {
  t.setData_(moved);
  moved.dispose();
}

/** Drops a parameter's gradient and releases its memory now. */
export function releaseGrad(p: Tensor): void {
  const g = p.grad;
  p.grad = null;
  g?.dispose();
}
