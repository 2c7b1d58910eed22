/**
 * Selection and rearranging copies built from existing ops, with PyTorch's semantics: `indexSelect`
 * (a gather), `maskedFill` (a where), `repeat` (expand + copy), `flip` (gathers), `roll` (cat of two
 * narrows) and `tril`/`triu` (a where with a host-built mask). No kernel is new: every backend that
 * runs the underlying ops runs these, with their gradients.
 *
 * @module
 */

import { DTypeError, IndexError, ShapeError, ValueError } from "../errors.ts";
import { int, show } from "../args.ts";
import { broadcastShapes, normalizeAxes, normalizeAxis, shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { fromData, scalar } from "../creation.ts";
import { arange } from "../ranges.ts";
import { cat, clone, contiguous, gather } from "./movement.ts";
import { expand, narrow } from "./views.ts";
import { reshape } from "./reshape.ts";
import { cast, where } from "./elementwise.ts";
import { arity } from "./_arity.ts";
import { dimOf, tensorArg } from "./_index_args.ts";

// A result that owns its memory: PyTorch's repeat, flip and roll always copy, so writing into the
// result must never reach the input (reshape/expand may have returned a view of it).
function owned(y: Tensor, x: Tensor): Tensor {
  if (y.storage !== x.storage) return y;
  return y.isContiguous() ? clone(y) : contiguous(y);
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
