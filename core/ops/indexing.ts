/**
 * `split`, `chunk` and `unbind` with PyTorch's semantics: views of the input that share one autograd
 * node, whose backward concatenates (or stacks) the pieces' gradients once. The other indexing ops
 * live in selection.ts (`indexSelect`, `maskedFill`, `repeat`, `flip`, `roll`, `tril`/`triu`) and
 * basic_indexing.ts (`at`, `index`); this module re-exports them, as tensor.ts reaches every
 * indexing op through it.
 *
 * @module
 */

import { DisposedError, ShapeError, ValueError } from "../errors.ts";
import { int, show } from "../args.ts";
import { shapeStr } from "../shape.ts";
import { viewOf } from "../tensor.ts";
import type { Tensor } from "../tensor.ts";
import { zeros } from "../creation.ts";
import { recordOutputs } from "../autograd.ts";
import { defineOp } from "../catalogue.ts";
import { activeTrace, record } from "../explain.ts";
import type { OpDef } from "../registry.ts";
import { cat, stack } from "./movement.ts";
import { arity } from "./_arity.ts";
import { dimOf, tensorArg } from "./_index_args.ts";

export { flip, indexSelect, maskedFill, repeat, roll, tril, triu } from "./selection.ts";
export { at, index } from "./basic_indexing.ts";
export type { IndexSpec } from "./basic_indexing.ts";

// ---------------------------------------------------------------- split, chunk, unbind

/** Attributes of the split op (also behind chunk): the dimension and each piece's size along it. */
export interface SplitAttrs {
  /** The dimension split (non-negative). */
  dim: number;
  /** Size of each piece along `dim`; they sum to the dimension's size. */
  sizes: number[];
}

/** Attributes of the unbind op: the dimension removed (non-negative). */
export interface UnbindAttrs {
  /** The dimension taken apart (non-negative). */
  dim: number;
}

// The outputs' gradients, with zeros for outputs that received none; null when none did (the
// input's gradient is then zero, and nothing flows).
function piecesGrad(
  gs: readonly (Tensor | null)[],
  shapeOf: (i: number) => number[],
): Tensor[] | null {
  const ref = gs.find((g) => g !== null);
  if (!ref) return null;
  return gs.map((g, i) => g ?? zeros(shapeOf(i), { dtype: ref.dtype, device: ref.device }));
}

// One node for all the pieces (as PyTorch's SplitBackward): its rule concatenates the pieces'
// gradients once, instead of each piece's slice scattering into a zero tensor of the input's shape
// and those full-size tensors being summed (quadratic in the number of pieces).
const splitOp: OpDef<SplitAttrs> = defineOp<SplitAttrs>({
  name: "split",
  savesInputs: false,
  infer: (inputs, a) =>
    a.sizes.map((s) => ({
      shape: inputs[0].shape.map((n, i) => (i === a.dim ? s : n)),
      dtype: inputs[0].dtype,
    })),
  grad: (ctx, _g, gs) => {
    const shape = ctx.inputShapes[0];
    const { dim, sizes } = ctx.attrs;
    const parts = piecesGrad(gs, (i) => shape.map((n, k) => (k === dim ? sizes[i] : n)));
    return [parts && cat(parts, dim)];
  },
});

// unbind's node: its rule stacks the slices' gradients once (PyTorch's UnbindBackward).
const unbindOp: OpDef<UnbindAttrs> = defineOp<UnbindAttrs>({
  name: "unbind",
  savesInputs: false,
  infer: (inputs, a) =>
    Array.from({ length: inputs[0].shape[a.dim] }, () => ({
      shape: inputs[0].shape.filter((_, i) => i !== a.dim),
      dtype: inputs[0].dtype,
    })),
  grad: (ctx, _g, gs) => {
    const shape = ctx.inputShapes[0].filter((_, i) => i !== ctx.attrs.dim);
    const parts = piecesGrad(gs, () => shape);
    return [parts && stack(parts, ctx.attrs.dim)];
  },
});

// Views of `x` (shape and offset per piece, x's other strides), recorded as one view op in an
// explain() trace and, when gradients are recorded, as one autograd node with an output per view.
function pieces<A>(
  op: OpDef<A>,
  name: string,
  x: Tensor,
  attrs: A,
  layouts: readonly { shape: number[]; offset: number; strides: readonly number[] }[],
): Tensor[] {
  if (x.isReleased) {
    throw new DisposedError(
      `${name}: the input (${shapeStr(x.shape)} ${x.dtype} on ${x.device}) was disposed ` +
        `(by dispose(), a scope(), or zeroGrad() for a gradient) and cannot be used`,
    );
  }
  const outs = layouts.map((l) => viewOf(x, l.shape, l));
  record(activeTrace(), op.name, x.device, "view", [x]);
  recordOutputs(op, [x], attrs, outs);
  return outs;
}

/**
 * Splits `x` along `dim` into views: pieces of `sizeOrSections` elements (the last may be smaller),
 * or, given an array, pieces of exactly those sizes (they must sum to the dimension's size), as
 * PyTorch's `torch.split`. The pieces share one autograd node, whose backward concatenates their
 * gradients (zeros for pieces that got none).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { arange, split } from "../mod.ts";
 * const [a, b, c] = split(arange(5), 2); // [0, 1], [2, 3], [4]
 * const [p, q] = split(arange(6).reshape(2, 3), [1, 2], 1); // shapes [2, 1] and [2, 2]
 * ```
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  arity("split", arguments, 3);
  tensorArg("split", "input", x);
  const d = dimOf("split", x, dim);
  const n = x.shape[d];
  let sizes: number[];
  if (Array.isArray(sizeOrSections)) {
    sizes = sizeOrSections.map((s, i) => int("split", `section ${i}`, s));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) {
      throw new ShapeError(
        `split: sections ${show(sizes)} sum to ${total}, but dimension ${d} of ${
          shapeStr(x.shape)
        } has size ${n}`,
      );
    }
  } else if (typeof sizeOrSections === "number") {
    const s = int("split", "splitSize", sizeOrSections);
    if (s === 0 && n > 0) {
      throw new ValueError(
        `split: splitSize 0 cannot split dimension ${d} of size ${n} (expected a positive size)`,
      );
    }
    const count = n === 0 ? 1 : Math.ceil(n / s);
    sizes = Array.from({ length: count }, (_, i) => Math.min(s, n - i * s));
  } else {
    throw new ValueError(
      `split: expected a split size or an array of section sizes, got ${show(sizeOrSections)}`,
    );
  }
  return splitViews("split", x, d, sizes);
}

// The views of split and chunk (sizes checked), one autograd node for all of them.
function splitViews(name: string, x: Tensor, d: number, sizes: number[]): Tensor[] {
  const strides = x.strides;
  let off = 0;
  const layouts = sizes.map((s) => {
    const l = {
      shape: x.shape.map((n, i) => (i === d ? s : n)),
      offset: x.offset + off * strides[d],
      strides,
    };
    off += s;
    return l;
  });
  return pieces(splitOp, name, x, { dim: d, sizes }, layouts);
}

/**
 * Splits `x` along `dim` into `chunks` views of `ceil(n / chunks)` elements (the last may be
 * smaller, and there may be fewer than `chunks` of them), as PyTorch's `torch.chunk`. Like
 * {@linkcode split}, the pieces share one autograd node.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { arange, chunk } from "../mod.ts";
 * console.log(chunk(arange(6), 4).map((c) => c.shape)); // [[2], [2], [2]]
 * ```
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  arity("chunk", arguments, 3);
  tensorArg("chunk", "input", x);
  const c = int("chunk", "chunks", chunks, 1);
  const d = dimOf("chunk", x, dim);
  const n = x.shape[d];
  // An empty dimension gives `chunks` empty pieces, as PyTorch's does.
  if (n === 0) return splitViews("chunk", x, d, new Array<number>(c).fill(0));
  const s = Math.ceil(n / c);
  return splitViews(
    "chunk",
    x,
    d,
    Array.from({ length: Math.ceil(n / s) }, (_, i) => Math.min(s, n - i * s)),
  );
}

/**
 * The slices of `x` along `dim`, each without that dimension (views), as PyTorch's `torch.unbind`.
 * The slices share one autograd node, whose backward stacks their gradients (zeros for slices that
 * got none): iterating over a sequence this way costs one gradient op, not one per step.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { tensor, unbind } from "../mod.ts";
 * const [r0, r1] = unbind(tensor([[1, 2], [3, 4]])); // [1, 2] and [3, 4]
 * ```
 */
export function unbind(x: Tensor, dim = 0): Tensor[] {
  arity("unbind", arguments, 2);
  tensorArg("unbind", "input", x);
  const d = dimOf("unbind", x, dim);
  const st = x.strides;
  const shape = x.shape.filter((_, i) => i !== d);
  const strides = st.filter((_, i) => i !== d);
  const layouts = Array.from(
    { length: x.shape[d] },
    (_, i) => ({ shape, offset: x.offset + i * st[d], strides }),
  );
  return pieces(unbindOp, "unbind", x, { dim: d }, layouts);
}
