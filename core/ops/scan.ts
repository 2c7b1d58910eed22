/**
 * Scans and products along one dimension: `cumsum`, `cumprod` and `prod`. Two primitive scan ops
 * (`cumsum`, `cumprod`, each with a `reverse` flag that their gradients use) and the `prod`
 * reduction. The gradients of `cumprod` and `prod` are PyTorch's zero-safe ones: no division by an
 * element that is zero.
 *
 * @module
 */

import { DTypeError, ValueError } from "../errors.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef } from "../registry.ts";
import { normalizeAxis } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { keepdimOf, show } from "../args.ts";
import { zeros } from "../creation.ts";
import { cast, where } from "./elementwise.ts";
import { pad } from "./movement.ts";
import { narrow, squeeze, unsqueeze } from "./views.ts";
import { reshape } from "./reshape.ts";
import { reducedShape } from "./reduce.ts";
import type { ReduceArg } from "./reduce.ts";
import { arity } from "./_arity.ts";

/** Attributes of the `cumsum` and `cumprod` ops. */
export interface ScanAttrs {
  /** Dimension scanned along (non-negative). */
  dim: number;
  /** Scan from the last element to the first (`out[i]` combines `x[i..n)`). */
  reverse: boolean;
}

/** Attributes of the `prod` op. */
export interface ProdAttrs {
  /** Dimension reduced (non-negative). */
  dim: number;
  /** Keep it with size 1. */
  keepdim: boolean;
}

function inferScan(name: string) {
  return ([x]: readonly Tensor[]) => {
    if (x.dtype === "bool") {
      throw new DTypeError(`${name}: bool tensors are scanned as int32; cast first`);
    }
    return [{ shape: [...x.shape], dtype: x.dtype }];
  };
}

const cumsumOp: OpDef<ScanAttrs> = defineOp<ScanAttrs>({
  name: "cumsum",
  savesInputs: false,
  infer: inferScan("cumsum"),
  // out[j] = Σ_{i ≤ j} x[i], so dx[i] = Σ_{j ≥ i} g[j]: the same scan the other way.
  grad: (ctx, g) => [scan(cumsumOp, g, ctx.attrs.dim, !ctx.attrs.reverse)],
});

const cumprodOp: OpDef<ScanAttrs> = defineOp<ScanAttrs>({
  name: "cumprod",
  savesOutputs: true,
  infer: inferScan("cumprod"),
  grad: (ctx, g) => [cumprodGrad(ctx.inputs[0], ctx.outputs[0], g, ctx.attrs)],
});

function scan(op: OpDef<ScanAttrs>, x: Tensor, dim: number, reverse: boolean): Tensor {
  return apply1(op, [x], { dim, reverse });
}

// PyTorch's cumprod backward. With y = cumprod(x) (in scan order) and R the reverse scan,
// dx[k] = Σ_{j ≥ k} g[j]·Π_{i ≤ j, i ≠ k} x[i]. Before the first zero of a row that is
// R(g·y)[k] / x[k]; at the first zero it is R(g·y')[k] with y' the cumprod of x with that zero
// replaced by 1; after it every product holds the zero, so it is 0. No element is divided by zero.
function cumprodGrad(x: Tensor, y: Tensor, g: Tensor, a: ScanAttrs): Tensor {
  const { dim, reverse } = a;
  const isZero = x.eq(0);
  const count = scan(cumsumOp, cast(isZero, "int32"), dim, reverse);
  const before = count.eq(0);
  const firstZero = isZero.logicalAnd(count.eq(1));
  const beforeZero = scan(cumsumOp, g.mul(y), dim, !reverse).div(where(before, x, 1));
  const y1 = scan(cumprodOp, where(firstZero, 1, x), dim, reverse);
  const atZero = scan(cumsumOp, g.mul(y1), dim, !reverse);
  return where(before, beforeZero, where(firstZero, atZero, 0));
}

// Padding `pad` takes (last dimension first) that adds one element before (or after) `dim`.
function padOne(ndim: number, dim: number, after: boolean): number[] {
  const p = new Array<number>(2 * (ndim - dim)).fill(0);
  p[2 * (ndim - 1 - dim) + (after ? 1 : 0)] = 1;
  return p;
}

// Exclusive products along `dim` in one direction: Π_{i < k} x[i] (or Π_{i > k} x[i] reversed).
function exclusiveProd(x: Tensor, dim: number, reverse: boolean): Tensor {
  const n = x.shape[dim];
  const y = scan(cumprodOp, x, dim, reverse);
  const kept = narrow(y, dim, reverse ? 1 : 0, n - 1);
  return pad(kept, padOne(x.ndim, dim, reverse), 1);
}

const prodOp: OpDef<ProdAttrs> = defineOp<ProdAttrs>({
  name: "prod",
  infer([x], a) {
    if (x.dtype === "bool") {
      throw new DTypeError(`prod: bool tensors are multiplied as int32; cast first`);
    }
    return [{ shape: reducedShape(x.shape, [a.dim], a.keepdim), dtype: x.dtype }];
  },
  // dx[k] = g·Π_{i ≠ k} x[i] = g·(Π_{i < k} x[i])·(Π_{i > k} x[i]): exact with zeros, as PyTorch's.
  grad(ctx, g) {
    const x = ctx.inputs[0];
    const { dim, keepdim } = ctx.attrs;
    if (x.shape[dim] === 0) return [zeros(x.shape, { dtype: g.dtype, device: g.device })];
    const gk = keepdim ? g : unsqueeze(g, dim);
    return [gk.mul(exclusiveProd(x, dim, false)).mul(exclusiveProd(x, dim, true))];
  },
});

function checkTensor(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor, got ${show(x)}`);
}

function dimArg(op: string, dim: unknown, ndim: number): number {
  if (typeof dim !== "number") {
    throw new ValueError(`${op}: dim must be an integer, got ${show(dim)}`);
  }
  return normalizeAxis(op, dim, ndim);
}

function scanPublic(op: OpDef<ScanAttrs>, x: Tensor, dim: number): Tensor {
  checkTensor(op.name, x);
  const d = dimArg(op.name, dim, x.ndim);
  // PyTorch scans bool as an integer type (int64 there; int32, denn's widest, here).
  if (x.dtype === "bool") x = cast(x, "int32");
  if (x.ndim === 0) return squeeze(scan(op, unsqueeze(x, 0), 0, false), 0);
  return scan(op, x, d, false);
}

/**
 * Cumulative sum along `dim`: `out[..., j, ...] = Σ_{i ≤ j} x[..., i, ...]`, as PyTorch's
 * `cumsum`. bool is summed as int32 (PyTorch gives int64, which denn does not have); int32 wraps
 * on overflow.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { cumsum, tensor } from "../mod.ts";
 * const y = cumsum(tensor([[1, 2, 3], [4, 5, 6]]), 1); // [[1, 3, 6], [4, 9, 15]]
 * ```
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  arity("cumsum", arguments, 2);
  return scanPublic(cumsumOp, x, dim);
}

/**
 * Cumulative product along `dim`, as PyTorch's `cumprod`, with PyTorch's gradient (correct where
 * elements are zero). bool is multiplied as int32.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { cumprod, tensor } from "../mod.ts";
 * const y = cumprod(tensor([1, 2, 3, 4]), 0); // [1, 2, 6, 24]
 * ```
 */
export function cumprod(x: Tensor, dim: number): Tensor {
  arity("cumprod", arguments, 2);
  return scanPublic(cumprodOp, x, dim);
}

/**
 * Product of all elements (a 0-d tensor), or along `dim` (`keepdim` as PyTorch's, positional or
 * `{ keepdim }`), as PyTorch's `prod`. The product of nothing is 1. The gradient is exact where
 * elements are zero (one zero: the others' product there and 0 elsewhere; two: all 0). bool is
 * multiplied as int32.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { prod, tensor } from "../mod.ts";
 * const all = prod(tensor([[1, 2], [3, 4]])); // 24
 * const rows = prod(tensor([[1, 2], [3, 4]]), 1, true); // [[2], [12]]
 * ```
 */
export function prod(x: Tensor, dim?: number, options?: ReduceArg): Tensor {
  arity("prod", arguments, 3);
  checkTensor("prod", x);
  if (x.dtype === "bool") x = cast(x, "int32");
  if (dim === undefined || dim === null) {
    if (options !== undefined) {
      throw new ValueError(
        `prod: keepdim needs a dim (prod(dim, keepdim)), got ${show(options)} without one`,
      );
    }
    return apply1(prodOp, [reshape(x, [x.numel()])], { dim: 0, keepdim: false });
  }
  const d = dimArg("prod", dim, x.ndim);
  const keepdim = keepdimOf("prod", options);
  if (x.ndim === 0) return apply1(prodOp, [reshape(x, [1])], { dim: 0, keepdim: false });
  return apply1(prodOp, [x], { dim: d, keepdim });
}
