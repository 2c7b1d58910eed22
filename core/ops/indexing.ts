/**
 * Indexing and selection built from existing ops, with PyTorch's semantics: `split`, `chunk` and
 * `unbind` (views sharing one autograd node), `indexSelect` (a gather), `maskedFill` (a where), `repeat` (expand + copy),
 * `flip` (gathers), `roll` (cat of two narrows), `tril`/`triu` (a where with a host-built mask),
 * and numpy-style indexing (`index`: numbers, slices, new axes and an ellipsis, as one slice view).
 * No kernel is new: every backend that runs the underlying ops runs these, with their gradients.
 *
 * @module
 */

import { DisposedError, DTypeError, IndexError, ShapeError, ValueError } from "../errors.ts";
import { int, options, show } from "../args.ts";
import { broadcastShapes, normalizeAxes, normalizeAxis, shapeStr } from "../shape.ts";
import { Tensor, viewOf } from "../tensor.ts";
import { arange, fromData, scalar, zeros } from "../creation.ts";
import { recordOutputs } from "../autograd.ts";
import { defineOp } from "../catalogue.ts";
import { activeTrace, record } from "../registry.ts";
import type { OpDef } from "../registry.ts";
import { cat, clone, contiguous, gather, stack } from "./movement.ts";
import { expand, narrow, reshape, select, slice } from "./views.ts";
import type { SliceSpec } from "./views.ts";
import { cast, where } from "./elementwise.ts";
import { arity } from "./_arity.ts";

/** Throws a ValueError unless `v` is a Tensor (raw TypeErrors would follow otherwise). */
export function tensorArg(op: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) {
    throw new ValueError(`${op}: ${name} must be a Tensor, got ${show(v)}`);
  }
  return v;
}

// The dim an op that needs at least one dimension works on (PyTorch rejects 0-d tensors there).
function dimOf(op: string, x: Tensor, dim: number): number {
  if (x.ndim === 0) {
    throw new ShapeError(`${op}: expects a tensor with at least 1 dimension, got a 0-d tensor`);
  }
  return normalizeAxis(op, dim, x.ndim);
}

// A result that owns its memory: PyTorch's repeat, flip and roll always copy, so writing into the
// result must never reach the input (reshape/expand may have returned a view of it).
function owned(y: Tensor, x: Tensor): Tensor {
  if (y.storage !== x.storage) return y;
  return y.isContiguous() ? clone(y) : contiguous(y);
}

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

// ---------------------------------------------------------------- indexSelect, maskedFill

/**
 * The entries of `x` at `index` (a 1-D int32 tensor; a 0-d one counts as one entry) along `dim`,
 * as PyTorch's `torch.index_select`; differentiable (the gradient adds into repeated indices). It
 * runs as a gather: an index outside `[0, size)` is an IndexError, raised at once on the cpu and at
 * the next readback on webgpu (whose message names gather). Negative indices are out of range, as
 * in PyTorch.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { indexSelect, tensor } from "../mod.ts";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * indexSelect(x, 1, tensor([2, 0], { dtype: "int32" })); // [[3, 1], [6, 4]]
 * ```
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  arity("indexSelect", arguments, 3);
  tensorArg("indexSelect", "input", x);
  tensorArg("indexSelect", "index", index);
  if (index.dtype !== "int32") {
    throw new DTypeError(
      `indexSelect: index must be an int32 tensor, got ${index.dtype} (cast it with int())`,
    );
  }
  if (index.ndim > 1) {
    throw new ShapeError(
      `indexSelect: index must be 1-D (or 0-d), got shape ${shapeStr(index.shape)}`,
    );
  }
  const k = index.numel();
  if (x.ndim === 0) {
    normalizeAxis("indexSelect", dim, 0);
    if (k !== 1) {
      throw new ShapeError(`indexSelect: a 0-d input takes exactly 1 index, got ${k}`);
    }
    return reshape(gather(reshape(x, [1]), 0, reshape(index, [1])), []);
  }
  const d = normalizeAxis("indexSelect", dim, x.ndim);
  const n = x.shape[d];
  // Host indices are checked here, so the message names this op; elsewhere gather checks them.
  if (index.storage.backend.hostMemory && !index.isReleased) {
    const data = index.dataSync();
    for (const v of data) {
      if (v < 0 || v >= n) {
        throw new IndexError(
          `indexSelect: index ${v} is out of range for dimension ${d} with size ${n} (tensor ${
            shapeStr(x.shape)
          }; expected 0 to ${n - 1})`,
        );
      }
    }
  }
  const view = x.shape.map((_, i) => (i === d ? k : 1));
  const out = x.shape.map((s, i) => (i === d ? k : s));
  return gather(x, d, expand(reshape(index, view), out));
}

/**
 * `x` with `value` where `mask` is true (PyTorch's `masked_fill`): `mask` is a bool tensor that
 * broadcasts with `x`, `value` a number (converted to `x`'s dtype: truncated for int32, as
 * PyTorch) or a 0-d tensor (differentiable: it receives the sum of the masked gradient). The result
 * has `x`'s dtype and the broadcast shape.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { maskedFill, tensor } from "../mod.ts";
 * const x = tensor([1, -2, 3]);
 * maskedFill(x, x.lt(0), 0); // [1, 0, 3]
 * ```
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number | boolean | Tensor): Tensor {
  arity("maskedFill", arguments, 3);
  tensorArg("maskedFill", "input", x);
  tensorArg("maskedFill", "mask", mask);
  if (mask.dtype !== "bool") {
    throw new DTypeError(
      `maskedFill: mask must be a bool tensor, got ${mask.dtype} (compare it, e.g. mask.ne(0))`,
    );
  }
  broadcastShapes("maskedFill", x.shape, mask.shape);
  let v: Tensor;
  if (value instanceof Tensor) {
    if (value.ndim !== 0) {
      throw new ShapeError(
        `maskedFill: a tensor value must be 0-d, got shape ${shapeStr(value.shape)}`,
      );
    }
    v = cast(value.device === x.device ? value : value.to(x.device), x.dtype);
  } else if (typeof value === "number" || typeof value === "boolean") {
    if (x.dtype === "int32") {
      const t = Math.trunc(Number(value));
      if (!Number.isFinite(t) || t < -(2 ** 31) || t >= 2 ** 31) {
        throw new ValueError(`maskedFill: value ${value} cannot be converted to int32`);
      }
    }
    v = scalar(value, x.dtype, x.device);
  } else {
    throw new ValueError(
      `maskedFill: value must be a number, a boolean or a 0-d tensor, got ${show(value)}`,
    );
  }
  return where(mask, v, x);
}

// ---------------------------------------------------------------- repeat, flip, roll

/**
 * `x` tiled `sizes[i]` times along each dimension (PyTorch's `Tensor.repeat`): `sizes` has at
 * least one entry per dimension, extra leading entries add dimensions. Always a copy.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { tensor } from "../mod.ts";
 * tensor([1, 2]).repeat(2, 2); // [[1, 2, 1, 2], [1, 2, 1, 2]]
 * ```
 */
export function repeat(x: Tensor, sizes: readonly number[]): Tensor {
  arity("repeat", arguments, 2);
  tensorArg("repeat", "input", x);
  if (!Array.isArray(sizes)) {
    throw new ValueError(`repeat: sizes must be numbers like repeat(2, 1), got ${show(sizes)}`);
  }
  const reps = sizes.map((s, i) => int("repeat", `size ${i}`, s));
  if (reps.length < x.ndim) {
    throw new ShapeError(
      `repeat: ${reps.length} repeat sizes ${show(reps)} for a ${x.ndim}-D tensor ${
        shapeStr(x.shape)
      }; give at least one per dimension`,
    );
  }
  const src = [...new Array<number>(reps.length - x.ndim).fill(1), ...x.shape];
  // [s0, s1] → [1, s0, 1, s1] → expand to [r0, s0, r1, s1] → [r0·s0, r1·s1].
  const y = expand(reshape(x, src.flatMap((s) => [1, s])), src.flatMap((s, i) => [reps[i], s]));
  return owned(reshape(y, src.map((s, i) => s * reps[i])), x);
}

/**
 * `x` with the order of the entries along `dims` reversed (PyTorch's `torch.flip`; a copy). An
 * empty list copies `x` unchanged.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { flip, tensor } from "../mod.ts";
 * flip(tensor([[1, 2], [3, 4]]), [1]); // [[2, 1], [4, 3]]
 * ```
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  arity("flip", arguments, 2);
  tensorArg("flip", "input", x);
  if (typeof dims !== "number" && !Array.isArray(dims)) {
    throw new ValueError(`flip: dims must be a dimension or a list of them, got ${show(dims)}`);
  }
  const list = typeof dims === "number" ? [dims] : dims;
  const d = list.length === 0 ? [] : normalizeAxes("flip", list, x.ndim);
  let y = x;
  for (const a of d) {
    const n = x.ndim === 0 ? 1 : x.shape[a];
    if (n < 2) continue;
    y = indexSelect(y, a, arange(n - 1, -1, -1, { dtype: "int32", device: x.device }));
  }
  return owned(y, x);
}

/**
 * `x` shifted circularly by `shifts` along `dims` (PyTorch's `torch.roll`; a copy): entries
 * pushed past the end come back at the start. Without `dims`, the flattened tensor is rolled by
 * one shift and the shape restored.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { roll, tensor } from "../mod.ts";
 * roll(tensor([1, 2, 3, 4]), 1); // [4, 1, 2, 3]
 * roll(tensor([[1, 2], [3, 4]]), [1, -1], [0, 1]); // [[4, 3], [2, 1]]
 * ```
 */
export function roll(
  x: Tensor,
  shifts: number | readonly number[],
  dims?: number | readonly number[] | null,
): Tensor {
  arity("roll", arguments, 3);
  tensorArg("roll", "input", x);
  const list = (what: string, v: unknown): number[] => {
    if (typeof v === "number") return [v];
    if (Array.isArray(v)) return v;
    throw new ValueError(`roll: ${what} must be a number or a list of numbers, got ${show(v)}`);
  };
  const sh = list("shifts", shifts).map((s, i) => int("roll", `shift ${i}`, s, -Infinity));
  if (dims === undefined || dims === null) {
    if (sh.length !== 1) {
      throw new ValueError(
        `roll: without dims, shifts must be one number, got ${show(sh)} (give dims to roll ` +
          `several dimensions)`,
      );
    }
    return reshape(roll(reshape(x, [x.numel()]), sh[0], 0), x.shape);
  }
  const ds = list("dims", dims);
  if (ds.length !== sh.length || ds.length === 0) {
    throw new ValueError(
      `roll: shifts ${show(sh)} and dims ${show(ds)} must have the same, non-zero length`,
    );
  }
  let y = x;
  ds.forEach((dim, i) => {
    const d = dimOf("roll", x, dim);
    const n = x.shape[d];
    const s = n === 0 ? 0 : ((sh[i] % n) + n) % n;
    if (s !== 0) y = cat([narrow(y, d, n - s, s), narrow(y, d, 0, n - s)], d);
  });
  return owned(y, x);
}

// ---------------------------------------------------------------- tril, triu

function triangle(op: "tril" | "triu", x: Tensor, diagonal: number): Tensor {
  tensorArg(op, "input", x);
  const k = int(op, "diagonal", diagonal, -Infinity);
  if (x.ndim < 2) {
    throw new ShapeError(
      `${op}: expects a tensor with at least 2 dimensions, got shape ${shapeStr(x.shape)}`,
    );
  }
  const rows = x.shape[x.ndim - 2], cols = x.shape[x.ndim - 1];
  const keep = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      keep[i * cols + j] = (op === "tril" ? j - i <= k : j - i >= k) ? 1 : 0;
    }
  }
  const mask = fromData(keep, [rows, cols], { dtype: "bool", device: x.device });
  return where(mask, x, scalar(0, x.dtype, x.device));
}

/**
 * The lower triangle of the last two dimensions of `x` (PyTorch's `torch.tril`): entries with
 * `col − row <= diagonal` are kept, the others are zero. Batched over leading dimensions.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { ones, tril } from "../mod.ts";
 * tril(ones([3, 3])); // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
 * ```
 */
export function tril(x: Tensor, diagonal = 0): Tensor {
  arity("tril", arguments, 2);
  return triangle("tril", x, diagonal);
}

/**
 * The upper triangle of the last two dimensions of `x` (PyTorch's `torch.triu`): entries with
 * `col − row >= diagonal` are kept, the others are zero. Batched over leading dimensions.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { ones, triu } from "../mod.ts";
 * triu(ones([3, 3]), 1); // [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
 * ```
 */
export function triu(x: Tensor, diagonal = 0): Tensor {
  arity("triu", arguments, 2);
  return triangle("triu", x, diagonal);
}

// ---------------------------------------------------------------- at, index

/** One entry of {@linkcode index}: an index, a slice, `null` (a new axis) or `"..."`. */
export type IndexSpec = number | SliceSpec | null | "...";

/**
 * `x[i]`: the entry `i` along dimension 0 (negative counts from the end), a view without that
 * dimension. An index out of range is an IndexError.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { tensor } from "../mod.ts";
 * tensor([[1, 2], [3, 4]]).at(-1); // [3, 4]
 * ```
 */
export function at(x: Tensor, i: number): Tensor {
  arity("at", arguments, 2);
  tensorArg("at", "input", x);
  if (x.ndim === 0) throw new IndexError("at: a 0-d tensor cannot be indexed");
  if (typeof i !== "number" || !Number.isInteger(i)) {
    throw new ValueError(`at: index must be an integer, got ${show(i)}`);
  }
  return select(x, 0, bound("at", i, 0, x.shape[0]));
}

function bound(op: string, i: number, dim: number, n: number): number {
  if (i < -n || i >= n) {
    throw new IndexError(
      `${op}: index ${i} is out of bounds for dimension ${dim} with size ${n} (expected ${-n} to ${
        n - 1
      })`,
    );
  }
  return i < 0 ? i + n : i;
}

/**
 * NumPy/PyTorch basic indexing, `x[specs...]`, as one view of `x`: a number picks one entry and
 * removes the dimension (negative counts from the end), `{ start, end, step }` slices it (Python's
 * `start:end:step`, bounds clamped, step positive), `null` inserts a new axis of size 1 (Python's
 * `None`) and `"..."` stands for as many whole dimensions as needed (at most one). Dimensions not
 * indexed are kept whole. Writes through the result reach `x` (`x.index(0).fill_(1)`).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { arange } from "../mod.ts";
 * const x = arange(24).reshape(2, 3, 4);
 * x.index(1, { start: 1 }, -1).shape; // x[1, 1:, -1] → [2]
 * x.index("...", null, 0).shape; // x[..., None, 0] → [2, 3, 1]
 * ```
 */
export function index(x: Tensor, ...specs: IndexSpec[]): Tensor {
  tensorArg("index", "input", x);
  let ellipsis = -1, used = 0;
  specs.forEach((s, k) => {
    if (s === "...") {
      if (ellipsis >= 0) {
        throw new IndexError(`index: an index can have only one ellipsis ("..."), got two`);
      }
      ellipsis = k;
    } else if (typeof s === "number") {
      if (!Number.isInteger(s)) {
        throw new ValueError(`index: spec ${k} must be an integer index, got ${s}`);
      }
      used++;
    } else if (s !== null && typeof s === "object" && !Array.isArray(s) && !(s instanceof Tensor)) {
      options("index", s, ["start", "end", "step"]);
      for (const key of ["start", "end", "step"] as const) {
        const v = s[key];
        if (v !== undefined && v !== null && !Number.isInteger(v)) {
          throw new ValueError(`index: spec ${k} has ${key} ${show(v)}; expected an integer`);
        }
      }
      if (s.step !== undefined && s.step !== null && s.step <= 0) {
        throw new ValueError(
          `index: spec ${k} has step ${s.step}; steps must be positive (use flip() to reverse)`,
        );
      }
      used++;
    } else if (s !== null) {
      const hint = s instanceof Tensor
        ? " (index with tensors through indexSelect, gather or maskedFill)"
        : "";
      throw new ValueError(
        `index: spec ${k} must be an integer, { start, end, step }, null or "...", got ${
          show(s)
        }${hint}`,
      );
    }
  });
  if (used > x.ndim) {
    throw new IndexError(
      `index: too many indices for a ${x.ndim}-D tensor ${shapeStr(x.shape)}: ${used} given`,
    );
  }
  const whole = new Array<SliceSpec>(x.ndim - used).fill({});
  const full: (number | SliceSpec | null)[] = ellipsis >= 0
    ? [...specs.slice(0, ellipsis), ...whole, ...specs.slice(ellipsis + 1)] as (
      | number
      | SliceSpec
      | null
    )[]
    : [...specs as (number | SliceSpec | null)[], ...whole];
  // One slice view over x's dims (a picked index is a range of one), then a reshape that drops
  // the picked dims and inserts the new axes: both views.
  const ranges: SliceSpec[] = [];
  let d = 0;
  for (const s of full) {
    if (s === null) continue;
    if (typeof s === "number") {
      const i = bound("index", s, d, x.shape[d]);
      ranges.push({ start: i, end: i + 1 });
    } else ranges.push(s);
    d++;
  }
  const y = slice(x, ranges);
  const shape: number[] = [];
  d = 0;
  for (const s of full) {
    if (s === null) shape.push(1);
    else {
      if (typeof s !== "number") shape.push(y.shape[d]);
      d++;
    }
  }
  return reshape(y, shape);
}
