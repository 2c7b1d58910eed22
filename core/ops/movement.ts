/**
 * Movement ops that copy: cat, stack, pad, gather and scatterAdd, clone, and the two ops behind
 * views: `contiguous` (a view read into dense storage) and `copyInto` (a write through a view).
 * The view ops themselves are in views.ts and reshape.ts.
 *
 * @module
 */

import { DTypeError, ShapeError, ValueError } from "../errors.ts";
import { apply, apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef } from "../registry.ts";
import { normalizeAxis, sameShape, shapeStr } from "../shape.ts";
import { shapeArg, show } from "../args.ts";
import { Tensor } from "../tensor.ts";
import { narrow, slice, unsqueeze } from "./views.ts";

type NoAttrs = Record<string, never>;

// ---------------------------------------------------------------- cat / stack

/** Attributes of cat. */
export interface CatAttrs {
  /** Dimension joined along (non-negative). */
  dim: number;
}

const catOp: OpDef<CatAttrs> = defineOp<CatAttrs>({
  name: "cat",
  savesInputs: false,
  infer(inputs, a) {
    const first = inputs[0];
    const shape = [...first.shape];
    for (let k = 1; k < inputs.length; k++) {
      const t = inputs[k];
      if (t.dtype !== first.dtype) {
        throw new DTypeError(`cat: tensor ${k} is ${t.dtype}, expected ${first.dtype}`);
      }
      if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== a.dim && s !== first.shape[i])) {
        throw new ShapeError(
          `cat: tensor ${k} has shape ${shapeStr(t.shape)}, expected ${
            shapeStr(first.shape)
          } except in dimension ${a.dim}`,
        );
      }
      shape[a.dim] += t.shape[a.dim];
    }
    return [{ shape, dtype: first.dtype }];
  },
  grad(ctx, g) {
    let off = 0;
    return ctx.inputShapes.map((s) => {
      const piece = narrow(g, ctx.attrs.dim, off, s[ctx.attrs.dim]);
      off += s[ctx.attrs.dim];
      return piece;
    });
  },
});

// cat's and stack's first argument: a non-empty array of Tensors (not cat(a, b)).
function tensorList(op: string, tensors: readonly Tensor[]): void {
  if (!Array.isArray(tensors)) {
    throw new ValueError(
      `${op}: expected an array of tensors like ${op}([a, b], dim), got ${show(tensors)}`,
    );
  }
  if (tensors.length === 0) throw new ValueError(`${op}: expected a non-empty list of tensors`);
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`${op}: element ${i} of the list is ${show(t)}, expected a Tensor`);
    }
  });
}

/** Concatenates tensors along an existing dimension. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  tensorList("cat", tensors);
  const d = normalizeAxis("cat", dim, tensors[0].ndim);
  if (tensors.length === 1) return tensors[0];
  return apply1(catOp, tensors, { dim: d });
}

/** Stacks tensors along a new dimension. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  tensorList("stack", tensors);
  const d = normalizeAxis("stack", dim, tensors[0].ndim + 1);
  for (const t of tensors) {
    if (!sameShape(t.shape, tensors[0].shape)) {
      throw new ShapeError(
        `stack: all tensors must have the same shape, got ${shapeStr(tensors[0].shape)} and ${
          shapeStr(t.shape)
        }`,
      );
    }
  }
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

// ---------------------------------------------------------------- pad

/** Attributes of pad: (before, after) per dimension, constant value. */
export interface PadAttrs {
  /** Elements added before each dimension. */
  before: number[];
  /** Elements added after each dimension. */
  after: number[];
  /** Fill value. */
  value: number;
}

const padOp: OpDef<PadAttrs> = defineOp<PadAttrs>({
  name: "pad",
  savesInputs: false,
  infer: (
    inputs,
    a,
  ) => [{
    shape: inputs[0].shape.map((s, i) => s + a.before[i] + a.after[i]),
    dtype: inputs[0].dtype,
  }],
  grad: (
    ctx,
    g,
  ) => [
    slice(
      g,
      ctx.inputShapes[0].map((s, i) => ({
        start: ctx.attrs.before[i],
        end: ctx.attrs.before[i] + s,
      })),
    ),
  ],
});

/**
 * Constant padding, PyTorch's `F.pad` order: `[left, right, top, bottom, ...]` starting from the last
 * dimension. Padding must be non-negative.
 */
export function pad(x: Tensor, padding: readonly number[], value = 0): Tensor {
  if (!Array.isArray(padding)) {
    throw new ValueError(
      `pad: padding must be an array like [left, right, top, bottom], got ${show(padding)}`,
    );
  }
  if (typeof value !== "number") {
    throw new ValueError(`pad: value must be a number, got ${show(value)}`);
  }
  if (padding.length % 2 !== 0 || padding.length / 2 > x.ndim) {
    throw new ShapeError(
      `pad: padding of length ${padding.length} does not fit a ${x.ndim}-D tensor (pairs, at most ${x.ndim})`,
    );
  }
  const before = new Array<number>(x.ndim).fill(0);
  const after = new Array<number>(x.ndim).fill(0);
  for (let k = 0; k < padding.length / 2; k++) {
    const p0 = padding[2 * k], p1 = padding[2 * k + 1];
    if (!Number.isInteger(p0) || !Number.isInteger(p1) || p0 < 0 || p1 < 0) {
      throw new ValueError(
        `pad: padding must be non-negative integers, got [${padding.join(", ")}] for a ${
          shapeStr(x.shape)
        } tensor`,
      );
    }
    before[x.ndim - 1 - k] = p0;
    after[x.ndim - 1 - k] = p1;
  }
  if (before.every((v) => v === 0) && after.every((v) => v === 0)) return x;
  return apply1(padOp, [x], { before, after, value });
}

// ---------------------------------------------------------------- gather / scatterAdd

/** Attributes of gather. */
export interface GatherAttrs {
  /** Dimension indexed. */
  dim: number;
}

/** Attributes of scatterAdd. */
export interface ScatterAddAttrs {
  /** Dimension indexed. */
  dim: number;
  /** Output shape. */
  shape: number[];
}

// gather's and scatterAdd's index: int32, of the indexed tensor's rank, no larger than it outside `dim`.
function checkIndex(
  op: string,
  what: string,
  idx: Tensor,
  shape: readonly number[],
  dim: number,
): void {
  if (idx.dtype !== "int32") throw new DTypeError(`${op}: index must be int32, got ${idx.dtype}`);
  if (idx.ndim !== shape.length) {
    throw new ShapeError(
      `${op}: index ${shapeStr(idx.shape)} must have as many dimensions as the ${what} ${
        shapeStr(shape)
      }`,
    );
  }
  for (let i = 0; i < idx.ndim; i++) {
    if (i !== dim && idx.shape[i] > shape[i]) {
      throw new ShapeError(
        `${op}: index ${shapeStr(idx.shape)} is larger than the ${what} ${
          shapeStr(shape)
        } at dimension ${i}`,
      );
    }
  }
}

const gatherOp: OpDef<GatherAttrs> = defineOp<GatherAttrs>({
  name: "gather",
  infer(inputs, a) {
    const [x, idx] = inputs;
    checkIndex("gather", "input", idx, x.shape, a.dim);
    return [{ shape: idx.shape as number[], dtype: x.dtype }];
  },
  grad: (ctx, g) => [
    apply1(scatterAddOp, [ctx.inputs[1], g], {
      dim: ctx.attrs.dim,
      shape: ctx.inputShapes[0] as number[],
    }),
    null,
  ],
});

const scatterAddOp: OpDef<ScatterAddAttrs> = defineOp<ScatterAddAttrs>({
  name: "scatterAdd",
  family: "gather",
  infer: (inputs, a) => {
    const [idx, src] = inputs;
    checkIndex("scatterAdd", "output", idx, a.shape, a.dim);
    if (!sameShape(idx.shape, src.shape)) {
      throw new ShapeError(
        `scatterAdd: index ${shapeStr(idx.shape)} and src ${
          shapeStr(src.shape)
        } must have the same shape`,
      );
    }
    return [{ shape: a.shape, dtype: src.dtype }];
  },
  grad: (ctx, g) => [null, apply1(gatherOp, [g, ctx.inputs[0]], { dim: ctx.attrs.dim })],
});

/** `out[i][j] = x[i][index[i][j]]` along `dim` (PyTorch's gather); index values are bounds-checked by kernels. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeAxis("gather", dim, x.ndim);
  return apply1(gatherOp, [x, index], { dim: d });
}

/** Adds `src` into zeros of `shape` at `index` along `dim` (the transpose of gather). */
export function scatterAdd(
  shape: readonly number[],
  dim: number,
  index: Tensor,
  src: Tensor,
): Tensor {
  const s = shapeArg("scatterAdd", shape, src.dtype);
  const d = normalizeAxis("scatterAdd", dim, s.length);
  return apply1(scatterAddOp, [index, src], { dim: d, shape: s });
}

const copyOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "copy",
  savesInputs: false,
  infer: (inputs) => [{ shape: inputs[0].shape as number[], dtype: inputs[0].dtype }],
  grad: (_ctx, g) => [g],
});

/** A copy with its own storage (differentiable). */
export function clone(x: Tensor): Tensor {
  return apply1(copyOp, [x], {});
}

const contiguousOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "contiguous",
  savesInputs: false,
  infer: (inputs) => [{ shape: inputs[0].shape as number[], dtype: inputs[0].dtype }],
  grad: (_ctx, g) => [g],
});

/**
 * A dense copy of a view: the elements `x.offset`/`x.strides` address, in row-major order. Every
 * backend's `contiguous` kernel is `strided`; dispatch calls it for kernels that need dense inputs.
 */
export function contiguous(x: Tensor): Tensor {
  return apply1(contiguousOp, [x], {});
}

const copyIntoOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "copyInto",
  differentiable: false,
  infer: (inputs) => {
    const [dst, src] = inputs;
    if (!sameShape(dst.shape, src.shape) || dst.dtype !== src.dtype) {
      throw new ShapeError(
        `copyInto: source ${shapeStr(src.shape)} ${src.dtype} must match the destination ${
          shapeStr(dst.shape)
        } ${dst.dtype}`,
      );
    }
    if (dst.strides.some((st, i) => st === 0 && dst.shape[i] > 1)) {
      throw new ValueError(
        `copyInto: the ${shapeStr(dst.shape)} destination is an expanded view (stride 0 in ` +
          `[${dst.strides.join(", ")}]): several of its elements share one memory location; ` +
          `clone() it before writing`,
      );
    }
    return [];
  },
});

/**
 * Writes `src`'s values into the elements `dst` addresses (through its offset and strides) in
 * `dst`'s storage; no output. Backends' `copyInto` kernels are `strided` and write in place. Users
 * write through views with `copy_`, `fill_` and the in-place ops.
 */
export function copyInto(dst: Tensor, src: Tensor): void {
  apply(copyIntoOp, [dst, src], {});
}
