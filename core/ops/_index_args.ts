/**
 * The argument checks the indexing ops share (indexing.ts, selection.ts, basic_indexing.ts; also
 * numeric.ts): a Tensor argument, and the dimension of an op that needs at least one. Core-internal,
 * not exported from core/mod.ts.
 *
 * @module
 */

import { ShapeError, ValueError } from "../errors.ts";
import { show } from "../args.ts";
import { normalizeAxis } from "../shape.ts";
import { Tensor } from "../tensor.ts";

/** Throws a ValueError unless `v` is a Tensor (raw TypeErrors would follow otherwise). */
export function tensorArg(op: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) {
    throw new ValueError(`${op}: ${name} must be a Tensor, got ${show(v)}`);
  }
  return v;
}

// The dim an op that needs at least one dimension works on (PyTorch rejects 0-d tensors there).
export function dimOf(op: string, x: Tensor, dim: number): number {
  if (x.ndim === 0) {
    throw new ShapeError(`${op}: expects a tensor with at least 1 dimension, got a 0-d tensor`);
  }
  return normalizeAxis(op, dim, x.ndim);
}
