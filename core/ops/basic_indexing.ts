/**
 * NumPy-style basic indexing as views: `at` (`x[i]`) and `index` (numbers, slices, new axes and an
 * ellipsis, as one slice view and a reshape).
 *
 * @module
 */

import { IndexError, ValueError } from "../errors.ts";
import { options, show } from "../args.ts";
import { shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { select, slice } from "./views.ts";
import type { SliceSpec } from "./views.ts";
import { reshape } from "./reshape.ts";
import { arity } from "./_arity.ts";
import { tensorArg } from "./_index_args.ts";

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
