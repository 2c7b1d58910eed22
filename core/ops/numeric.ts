/**
 * Tests and norms built from existing ops, with PyTorch's semantics: `any`/`all`, `isnan`,
 * `isinf`, `isfinite`, `nanToNum`, the vector `norm` (p = 1, 2, "fro", ±Infinity, 0 and any
 * p >= 1) and PyTorch's argument forms of `var`/`std` (`unbiased` or `correction`, positional
 * `keepdim`).
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import type { DType } from "../dtype.ts";
import { DTypeError, ShapeError, ValueError } from "../errors.ts";
import { finite, keepdimOf, options, show } from "../args.ts";
import { normalizeAxes } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { full } from "../creation.ts";
import { clone } from "./movement.ts";
import { where } from "./elementwise.ts";
import * as R from "./reduce.ts";
import { tensorArg } from "./_index_args.ts";
import { arity } from "./_arity.ts";

// ---------------------------------------------------------------- any, all

// The checks `any` and `all` share: at most 3 arguments, a tensor, a valid dim; the keepdim flag.
function logicalReduceArgs(
  fn: string,
  args: IArguments,
  x: Tensor,
  dim: number | readonly number[] | undefined,
  keepdim: boolean | R.ReduceOptions | undefined,
): boolean {
  arity(fn, args, 3);
  tensorArg(fn, "input", x);
  const keep = keepdimOf(fn, keepdim);
  normalizeAxes(fn, dim, x.ndim);
  return keep;
}

/**
 * Whether any entry is true (non-zero; NaN counts as non-zero) over `dim` (all dims when omitted),
 * as a bool tensor (PyTorch's `torch.any`). `keepdim` keeps reduced dims with size 1; it is given
 * positionally (`any(x, 1, true)`) or as `{ keepdim }`. An empty tensor gives false.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { any, tensor } from "../mod.ts";
 * any(tensor([[0, 1], [0, 0]]), 1); // [true, false]
 * ```
 */
export function any(
  x: Tensor,
  dim?: number | readonly number[],
  keepdim?: boolean | R.ReduceOptions,
): Tensor {
  const keep = logicalReduceArgs("any", arguments, x, dim, keepdim);
  // eq + logicalNot, not ne: webgpu's ne kernel answers false for NaN (IEEE's NaN != 0 is true).
  const nonzero = x.dtype === "bool" ? x : x.eq(0).logicalNot();
  return R.sum(nonzero, dim, keep).gt(0);
}

/**
 * Whether every entry is true (non-zero; NaN counts as non-zero) over `dim` (all dims when
 * omitted), as a bool tensor (PyTorch's `torch.all`); `keepdim` as in {@linkcode any}. An empty
 * tensor gives true.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { all, tensor } from "../mod.ts";
 * all(tensor([[1, 2], [0, 3]]), 1); // [true, false]
 * ```
 */
export function all(
  x: Tensor,
  dim?: number | readonly number[],
  keepdim?: boolean | R.ReduceOptions,
): Tensor {
  const keep = logicalReduceArgs("all", arguments, x, dim, keepdim);
  const zero = x.dtype === "bool" ? x.logicalNot() : x.eq(0);
  return R.sum(zero, dim, keep).eq(0);
}

// ---------------------------------------------------------------- isnan, isinf, isfinite

// A bool tensor of x's shape on its device, all `value` (integer tensors are never NaN or inf).
function constant(x: Tensor, value: 0 | 1): Tensor {
  return full(x.shape, value, { dtype: "bool", device: x.device });
}

/**
 * Where `x` is NaN, as a bool tensor (PyTorch's `torch.isnan`; false everywhere for integer and
 * bool tensors).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { isnan, tensor } from "../mod.ts";
 * isnan(tensor([1, NaN])); // [false, true]
 * ```
 */
export function isnan(x: Tensor): Tensor {
  arity("isnan", arguments, 1);
  tensorArg("isnan", "input", x);
  // Not x.ne(x): webgpu's ne kernel answers false for NaN on some drivers (lavapipe); eq is right.
  return isFloating(x.dtype) ? x.eq(x).logicalNot() : constant(x, 0);
}

/**
 * Where `x` is +Infinity or -Infinity, as a bool tensor (PyTorch's `torch.isinf`).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { isinf, tensor } from "../mod.ts";
 * isinf(tensor([1, Infinity, -Infinity, NaN])); // [false, true, true, false]
 * ```
 */
export function isinf(x: Tensor): Tensor {
  arity("isinf", arguments, 1);
  tensorArg("isinf", "input", x);
  return isFloating(x.dtype) ? x.abs().eq(Infinity) : constant(x, 0);
}

/**
 * Where `x` is neither NaN nor infinite, as a bool tensor (PyTorch's `torch.isfinite`).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { isfinite, tensor } from "../mod.ts";
 * isfinite(tensor([1, Infinity, NaN])); // [true, false, false]
 * ```
 */
export function isfinite(x: Tensor): Tensor {
  arity("isfinite", arguments, 1);
  tensorArg("isfinite", "input", x);
  return isFloating(x.dtype) ? x.abs().lt(Infinity) : constant(x, 1);
}

// ---------------------------------------------------------------- nanToNum

/** Replacement values of {@linkcode nanToNum}. */
export interface NanToNumOptions {
  /** Replaces NaN (default 0). */
  nan?: number;
  /** Replaces +Infinity (default the dtype's largest finite value). */
  posinf?: number;
  /** Replaces -Infinity (default the dtype's most negative finite value). */
  neginf?: number;
}

const FLOAT_MAX: Partial<Record<DType, number>> = {
  float32: 3.4028234663852886e38,
  float16: 65504,
};

/**
 * `x` with NaN, +Infinity and -Infinity replaced (PyTorch's `torch.nan_to_num`): by default with
 * 0 and the dtype's largest and smallest finite values. Takes `{ nan, posinf, neginf }` or
 * PyTorch's positional `(nan, posinf, neginf)`. Differentiable: the gradient passes where `x` is
 * finite and is zero elsewhere. Integer and bool tensors are copied unchanged.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { nanToNum, tensor } from "../mod.ts";
 * nanToNum(tensor([NaN, Infinity, -1]), { posinf: 9 }); // [0, 9, -1]
 * ```
 */
export function nanToNum(
  x: Tensor,
  nan?: number | NanToNumOptions | null,
  posinf?: number | null,
  neginf?: number | null,
): Tensor {
  arity("nanToNum", arguments, 4);
  tensorArg("nanToNum", "input", x);
  let o: NanToNumOptions;
  if (nan !== null && typeof nan === "object") {
    if (posinf !== undefined || neginf !== undefined) {
      throw new ValueError(
        "nanToNum: give the replacements as nanToNum({ nan, posinf, neginf }) or positionally, " +
          "not both",
      );
    }
    o = options("nanToNum", nan, ["nan", "posinf", "neginf"]);
  } else o = { nan: nan ?? undefined, posinf: posinf ?? undefined, neginf: neginf ?? undefined };
  for (const k of ["nan", "posinf", "neginf"] as const) {
    const v = o[k];
    if (v !== undefined && v !== null && typeof v !== "number") {
      throw new ValueError(`nanToNum: ${k} must be a number, got ${show(v)}`);
    }
  }
  if (!isFloating(x.dtype)) return clone(x);
  const max = FLOAT_MAX[x.dtype]!;
  let y = where(x.eq(Infinity), o.posinf ?? max, x);
  y = where(x.eq(-Infinity), o.neginf ?? -max, y);
  return where(isnan(x), o.nan ?? 0, y);
}

// ---------------------------------------------------------------- norm

/** The order of {@linkcode norm}: a number (0, >= 1, ±Infinity) or `"fro"` (the 2-norm). */
export type NormOrder = number | "fro";

/**
 * The vector p-norm of `x` over `dim` (all entries when omitted), PyTorch's `Tensor.norm`:
 * `p = 2` or `"fro"` (default) is √Σx², `1` is Σ|x|, `Infinity` max|x|, `-Infinity` min|x|, `0`
 * the count of non-zeros (not differentiable, as PyTorch), any other `p >= 1` (Σ|x|^p)^(1/p).
 * `"fro"` takes at most 2 dims. The gradient is PyTorch's: zero where the norm is zero, and split
 * evenly among ties for ±Infinity. `x` must be floating-point (float16 is computed in float32).
 * `0 < p < 1`, negative p and `"nuc"` are refused (a named error).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { norm, tensor } from "../mod.ts";
 * norm(tensor([[3, 4], [6, 8]]), 2, 1); // [5, 10]
 * norm(tensor([3, -4]), 1); // 7
 * ```
 */
export function norm(
  x: Tensor,
  p?: NormOrder | null,
  dim?: number | readonly number[] | null,
  keepdim?: boolean | R.ReduceOptions,
): Tensor {
  arity("norm", arguments, 4);
  tensorArg("norm", "input", x);
  const ord = p ?? 2;
  const ok = ord === "fro" ||
    (typeof ord === "number" && (ord === 0 || ord >= 1 || ord === -Infinity));
  if (!ok) {
    throw new ValueError(
      `norm: p must be "fro", 0, a number >= 1, Infinity or -Infinity, got ${show(ord)}` +
        ((ord as unknown) === "nuc"
          ? " (the nuclear norm needs an SVD, which denn does not have)"
          : ""),
    );
  }
  if (!isFloating(x.dtype)) {
    throw new DTypeError(
      `norm: expects a floating-point tensor, got ${x.dtype} (cast it with float())`,
    );
  }
  const keep = keepdimOf("norm", keepdim);
  const dims = dim === null || dim === undefined ? undefined : dim;
  const list = normalizeAxes("norm", dims, x.ndim);
  if (ord === "fro" && dims !== undefined && list.length > 2) {
    throw new ShapeError(
      `norm: the Frobenius norm takes at most 2 dims, got ${show(dims)} (use p = 2 for more)`,
    );
  }
  // float16 squares overflow past 256 (and sums lose digits): compute in float32, as PyTorch
  // accumulates half-precision norms in float.
  if (x.dtype === "float16") return norm(x.float(), ord, dims, keep).half();
  const a = x.abs();
  if (ord === 0) return R.sum(x.eq(0).logicalNot(), dims, keep).cast(x.dtype);
  if (ord === Infinity) return R.amax(a, dims, keep);
  if (ord === -Infinity) return R.amin(a, dims, keep);
  if (ord === 1) return R.sum(a, dims, keep);
  const two = ord === 2 || ord === "fro";
  const s = R.sum(two ? x.mul(x) : a.pow(ord), dims, keep);
  // PyTorch's gradient is zero where the norm is; √ and ^(1/p) would give 0·∞ = NaN there.
  const zero = s.eq(0);
  const safe = where(zero, 1, s);
  return where(zero, 0, two ? safe.sqrt() : safe.pow(1 / (ord as number)));
}

// ---------------------------------------------------------------- var / std argument forms

/** Options of `var`/`std` in PyTorch's keyword form. */
export interface VarianceOptions {
  /** Bessel's correction as a boolean: true divides by N − 1 (default), false by N. */
  unbiased?: boolean;
  /** Divide by N − correction (default 1); the newer spelling of `unbiased`. */
  correction?: number;
  /** Keep reduced dimensions with size 1 (default false). */
  keepdim?: boolean;
}

/** The resolved arguments of a `var`/`std` call. */
export interface VarianceArgs {
  /** Dims reduced (undefined: all). */
  dims: number | readonly number[] | undefined;
  /** Divide by N − correction. */
  correction: number;
  /** Keep reduced dimensions. */
  keepdim: boolean;
}

/**
 * Resolves PyTorch's forms of `var`/`std`: `(dim?, unbiased?, keepdim?)` positionally,
 * `(unbiased)` alone, or `(dim?, { unbiased | correction, keepdim })`. A boolean after `dim` is
 * `unbiased`, as in PyTorch (`x.var(1, true)` is the unbiased variance over dim 1, not keepdim).
 */
export function varianceArgs(
  op: "var" | "std",
  dim?: number | readonly number[] | boolean | null,
  unbiased?: boolean | VarianceOptions,
  keepdim?: boolean,
): VarianceArgs {
  if (typeof dim === "boolean") {
    if (unbiased !== undefined || keepdim !== undefined) {
      throw new ValueError(
        `${op}: ${op}(unbiased) takes no further arguments; use ${op}(dim, unbiased, keepdim)`,
      );
    }
    return { dims: undefined, correction: dim ? 1 : 0, keepdim: false };
  }
  const dims = dim === null ? undefined : dim;
  if (typeof unbiased === "boolean" || unbiased === undefined) {
    if (keepdim !== undefined && typeof keepdim !== "boolean") {
      throw new ValueError(`${op}: keepdim must be a boolean, got ${show(keepdim)}`);
    }
    return { dims, correction: unbiased === false ? 0 : 1, keepdim: keepdim ?? false };
  }
  if (keepdim !== undefined) {
    throw new ValueError(
      `${op}: give keepdim in the options object or positionally (${op}(dim, unbiased, ` +
        `keepdim)), not both`,
    );
  }
  const o = options(op, unbiased, ["unbiased", "correction", "keepdim"]);
  if (o.unbiased !== undefined && o.correction !== undefined) {
    throw new ValueError(`${op}: give either unbiased or correction, not both`);
  }
  if (o.unbiased !== undefined && typeof o.unbiased !== "boolean") {
    throw new ValueError(`${op}: unbiased must be a boolean, got ${show(o.unbiased)}`);
  }
  if (o.keepdim !== undefined && typeof o.keepdim !== "boolean") {
    throw new ValueError(`${op}: keepdim must be a boolean, got ${show(o.keepdim)}`);
  }
  const correction = o.correction !== undefined
    ? finite(op, "correction", o.correction)
    : o.unbiased === false
    ? 0
    : 1;
  return { dims, correction, keepdim: o.keepdim ?? false };
}
