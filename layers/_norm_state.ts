/**
 * The parameters and buffers shared by the batch and instance norms (layers/batch_norm.ts,
 * layers/norm.ts), under PyTorch's names. Private to layers/.
 *
 * @module
 */

import { ones, Parameter, zeros } from "../core/mod.ts";
import type { Module, Tensor } from "../core/mod.ts";

/** The per-channel `weight` (ones) and `bias` (zeros) [c] when `affine`, else nulls. */
export function affineParams(
  c: number,
  affine: boolean,
): { weight: Tensor | null; bias: Tensor | null } {
  return {
    weight: affine ? Parameter(ones([c])) : null,
    bias: affine ? Parameter(zeros([c])) : null,
  };
}

/**
 * Registers `m`'s `running_mean`, `running_var` and `num_batches_tracked` buffers [c] when
 * `track`, else as null buffers (as PyTorch does).
 */
export function registerRunningStats(m: Module, c: number, track: boolean): void {
  m.registerBuffer("running_mean", track ? zeros([c]) : null);
  m.registerBuffer("running_var", track ? ones([c]) : null);
  m.registerBuffer("num_batches_tracked", track ? zeros([], { dtype: "int32" }) : null);
}
