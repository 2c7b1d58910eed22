/**
 * Reshape and view: the reshape op shares its input's storage through new strides where the input's
 * strides allow it (PyTorch's view rule), and `reshape` copies first where they do not. The other
 * view ops (permute, expand, slice and the wrappers built on them) are in views.ts.
 *
 * @module
 */

import { ShapeError } from "../errors.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef } from "../registry.ts";
import { checkShape, sameShape, shapeStr, sizeOf, stridesOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { contiguous } from "./movement.ts";

// ---------------------------------------------------------------- reshape

/** Attributes of reshape. */
export interface ReshapeAttrs {
  /** New shape (fully resolved). */
  shape: number[];
}

const reshapeOp: OpDef<ReshapeAttrs> = defineOp<ReshapeAttrs>({
  name: "reshape",
  view: (x, a) => ({ offset: x.offset, strides: viewStrides(x, a.shape)! }),
  savesInputs: false,
  infer: (inputs, a) => [{ shape: a.shape, dtype: inputs[0].dtype }],
  grad: (ctx, g) => [g.reshape(ctx.inputShapes[0] as number[])],
});

/**
 * Reshapes (one size may be -1): a view sharing `x`'s storage where its strides allow, else a copy
 * (PyTorch's `reshape`).
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return reshapeAs("reshape", x, shape);
}

/**
 * A view of `x` with another shape (one size may be -1), as PyTorch's `view`: a ShapeError where
 * `x`'s strides cannot express it (e.g. flattening a transposed matrix); use {@linkcode reshape},
 * or `contiguous()` first, to copy.
 */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  return reshapeAs("view", x, shape);
}

function reshapeAs(op: "reshape" | "view", x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    if (s.indexOf(-1, neg + 1) >= 0) {
      throw new ShapeError(`${op}: only one dimension can be -1, got ${shapeStr(shape)}`);
    }
    const rest = sizeOf(s.filter((_, i) => i !== neg));
    if (rest === 0 || x.numel() % rest !== 0) {
      throw new ShapeError(
        `${op}: shape ${shapeStr(shape)} is invalid for input of size ${x.numel()} ${
          shapeStr(x.shape)
        }`,
      );
    }
    s[neg] = x.numel() / rest;
  }
  checkShape(op, s);
  if (sizeOf(s) !== x.numel()) {
    throw new ShapeError(
      `${op}: shape ${shapeStr(shape)} is invalid for input of size ${x.numel()} ${
        shapeStr(x.shape)
      }`,
    );
  }
  if (sameShape(s, x.shape)) return x;
  const viewable = viewStrides(x, s) !== null;
  if (!viewable && op === "view") {
    throw new ShapeError(
      `view: shape ${shapeStr(s)} is not compatible with the ${
        shapeStr(x.shape)
      } tensor's strides ` +
        `[${x.strides.join(", ")}] (it spans non-contiguous dims); use reshape(), which copies, ` +
        `or contiguous() first`,
    );
  }
  // Where the strides cannot express the new shape (some transposed views), copy first.
  return apply1(reshapeOp, [viewable ? x : contiguous(x)], { shape: s });
}

/**
 * Strides that read `x`'s elements in row-major order under `shape`, or null where no strides can
 * (PyTorch's view rule: dims merged or split must be contiguous among themselves).
 */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  if (x.isContiguous() || x.numel() === 0) return stridesOf(shape);
  const st = x.strides, out = new Array<number>(shape.length);
  let v = shape.length - 1;
  let base = st[x.ndim - 1], have = 1, made = 1;
  // Runs of x's dims that are contiguous with each other ("chunks") may be split or merged freely;
  // each chunk of x must be covered exactly by whole dims of the new shape.
  for (let d = x.ndim - 1; d >= 0; d--) {
    have *= x.shape[d];
    const chunkEnds = d === 0 || (x.shape[d - 1] !== 1 && st[d - 1] !== have * base);
    if (!chunkEnds) continue;
    while (v >= 0 && (made < have || shape[v] === 1)) {
      out[v] = made * base;
      made *= shape[v--];
    }
    if (made !== have) return null;
    if (d > 0) {
      base = st[d - 1];
      have = 1;
      made = 1;
    }
  }
  return v === -1 ? out : null;
}
