/**
 * Sorting and selection along one dimension: `sort` (stable; NaN sorts last ascending and first
 * descending, as PyTorch's), `argsort` and `topk`. One primitive op, `sort`, returns the values and
 * their int32 indices; its gradient scatters the values' gradient back through the indices.
 *
 * @module
 */

import { ValueError } from "../errors.ts";
import { apply } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef } from "../registry.ts";
import { normalizeAxis, shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { options as optionsOf, show } from "../args.ts";
import { contiguous, scatterAdd } from "./movement.ts";
import { narrow, squeeze, unsqueeze } from "./views.ts";
import { valuesIndices } from "./reduce.ts";
import type { ValuesIndices } from "./reduce.ts";
import { arity } from "./_arity.ts";

/** Attributes of the `sort` op. */
export interface SortAttrs {
  /** Dimension sorted along (non-negative). */
  dim: number;
  /** Largest first (NaN first) instead of smallest first (NaN last). */
  descending: boolean;
}

const sortOp: OpDef<SortAttrs> = defineOp<SortAttrs>({
  name: "sort",
  savesInputs: false,
  savesOutputs: true,
  infer: ([x]) => [
    { shape: [...x.shape], dtype: x.dtype },
    { shape: [...x.shape], dtype: "int32" },
  ],
  // Each input element lands at exactly one output position: its gradient is the one there.
  grad: (ctx, g) => [scatterAdd(ctx.inputShapes[0], ctx.attrs.dim, ctx.outputs[1], g)],
});

/** Options of {@linkcode sort} and {@linkcode argsort}. */
export interface SortOptions {
  /** Largest first (default false). NaN sorts first then, and last ascending. */
  descending?: boolean;
  /**
   * PyTorch's `stable` flag (default false). denn's sort is always stable (equal elements keep
   * their order), which satisfies both settings.
   */
  stable?: boolean;
}

function checkTensor(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor, got ${show(x)}`);
}

function flag(op: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") {
    throw new ValueError(`${op}: ${name} must be a boolean, got ${show(v)}`);
  }
  return v;
}

function dimArg(op: string, dim: unknown, ndim: number): number {
  if (typeof dim !== "number") {
    throw new ValueError(`${op}: dim must be an integer, got ${show(dim)}`);
  }
  return normalizeAxis(op, dim, ndim);
}

// `descending` given positionally (PyTorch's `x.sort(0, True)`) or as `{ descending, stable }`.
function descendingOf(op: string, o: SortOptions | boolean | undefined): boolean {
  if (typeof o === "boolean") return o;
  const opts = optionsOf(op, o, ["descending", "stable"]);
  flag(op, "stable", opts.stable, false);
  return flag(op, "descending", opts.descending, false);
}

// The sort op along `d` of a tensor with at least one dimension.
function sortAlong(x: Tensor, d: number, descending: boolean): [Tensor, Tensor] {
  if (x.ndim === 0) {
    const [v, i] = apply(sortOp, [unsqueeze(x, 0)], { dim: 0, descending });
    return [squeeze(v, 0), squeeze(i, 0)];
  }
  const [v, i] = apply(sortOp, [x], { dim: d, descending });
  return [v, i];
}

/**
 * Sorts along `dim` (default the last), stably: equal elements keep their order, NaN sorts last
 * (first when descending), as PyTorch's `sort(stable=True)`. Returns the values and their int32
 * indices in the input; the gradient of the values flows back to the elements they came from.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { sort, tensor } from "../mod.ts";
 * const { values, indices } = sort(tensor([3, 1, 2, 1])); // [1, 1, 2, 3] and [1, 3, 2, 0]
 * const [desc] = sort(tensor([[3, 1], [0, 4]]), 1, { descending: true }); // [[3, 1], [4, 0]]
 * ```
 */
export function sort(x: Tensor, dim = -1, options?: SortOptions | boolean): ValuesIndices {
  arity("sort", arguments, 3);
  checkTensor("sort", x);
  const d = dimArg("sort", dim, x.ndim);
  const [values, indices] = sortAlong(x, d, descendingOf("sort", options));
  return valuesIndices(values, indices);
}

/**
 * The int32 indices that sort `x` along `dim` (default the last): `sort(x, dim, options).indices`,
 * stable, NaN last ascending.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { argsort, tensor } from "../mod.ts";
 * const order = argsort(tensor([0.5, -1, 2]), 0, true); // [2, 0, 1]
 * ```
 */
export function argsort(x: Tensor, dim = -1, options?: SortOptions | boolean): Tensor {
  arity("argsort", arguments, 3);
  checkTensor("argsort", x);
  const d = dimArg("argsort", dim, x.ndim);
  return sortAlong(x, d, descendingOf("argsort", options))[1];
}

/** Options of {@linkcode topk}. */
export interface TopkOptions {
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
  /**
   * Return them in sorted order (default true). With false PyTorch leaves the order unspecified;
   * denn returns them sorted either way.
   */
  sorted?: boolean;
}

/**
 * The `k` largest (or smallest) elements along `dim` (default the last), largest first, and their
 * int32 indices, as PyTorch's `topk`. NaN counts as larger than every number. Equal elements come
 * in index order (PyTorch leaves their order unspecified). `largest` and `sorted` may also be given
 * positionally, as in PyTorch: `topk(x, 2, 0, false)`.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { tensor, topk } from "../mod.ts";
 * const { values, indices } = topk(tensor([1, 9, 3, 7]), 2); // [9, 7] and [1, 3]
 * const smallest = topk(tensor([1, 9, 3, 7]), 2, 0, { largest: false }).values; // [1, 3]
 * ```
 */
export function topk(
  x: Tensor,
  k: number,
  dim = -1,
  options?: TopkOptions | boolean,
  sorted?: boolean,
): ValuesIndices {
  arity("topk", arguments, 5);
  checkTensor("topk", x);
  const d = dimArg("topk", dim, x.ndim);
  let largest: boolean;
  if (typeof options === "boolean") {
    largest = options;
    flag("topk", "sorted", sorted, true);
  } else {
    if (sorted !== undefined) {
      throw new ValueError(
        `topk: a positional sorted (${show(sorted)}) needs a positional largest before it ` +
          `(topk(x, k, dim, largest, sorted)); with an options object give { largest, sorted }`,
      );
    }
    const o = optionsOf("topk", options, ["largest", "sorted"]);
    largest = flag("topk", "largest", o.largest, true);
    flag("topk", "sorted", o.sorted, true);
  }
  const n = x.ndim === 0 ? 1 : x.shape[d];
  if (typeof k !== "number" || !Number.isSafeInteger(k) || k < 0 || k > n) {
    throw new ValueError(
      `topk: k must be an integer from 0 to ${n} (the size of dimension ${d} of the ${
        shapeStr(x.shape)
      } tensor), got ${show(k)}`,
    );
  }
  const [v, i] = sortAlong(x, d, largest);
  // A 0-d input gives itself for k = 0 too, as in PyTorch.
  if (k === n || x.ndim === 0) return valuesIndices(v, i);
  // Copies, so the k selected do not keep the whole sorted rows alive.
  return valuesIndices(contiguous(narrow(v, d, 0, k)), contiguous(narrow(i, d, 0, k)));
}
