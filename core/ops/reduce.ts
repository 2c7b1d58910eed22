/**
 * Reductions over dimensions: sum, amax and amin (with PyTorch's even split of the gradient among
 * ties), max and min along one dimension with their indices (the gradient goes to the selected
 * index, as PyTorch's), argmax, argmin, and the derived mean, var and std.
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import { DTypeError, ValueError } from "../errors.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef, TensorSpec } from "../registry.ts";
import { normalizeAxes, normalizeAxis, sameShape, shapeStr, sizeOf } from "../shape.ts";
import type { Shape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { binary, cast } from "./elementwise.ts";
import { finite, keepdimOf, show } from "../args.ts";
import { clone, gather } from "./movement.ts";
import { squeeze } from "./views.ts";
import { arity } from "./_arity.ts";

/** Attributes of sum/max/min: normalised, sorted dims and keepdim. */
export interface ReduceAttrs {
  /** Dimensions reduced (sorted, non-negative). */
  dims: number[];
  /** Keep reduced dimensions with size 1. */
  keepdim: boolean;
}

/** Options of the reductions. */
export interface ReduceOptions {
  /** Keep reduced dimensions with size 1 (default false). */
  keepdim?: boolean;
}

/**
 * A reduction's options: `{ keepdim }` or, as in PyTorch's `x.sum(1, true)`, the `keepdim` boolean
 * itself.
 */
export type ReduceArg = ReduceOptions | boolean;

/** Output shape of reducing `shape` over `dims`. */
export function reducedShape(shape: Shape, dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]);
  }
  return out;
}

function inferReduce(name: string) {
  return (inputs: readonly Tensor[], a: ReduceAttrs): TensorSpec[] => {
    const x = inputs[0];
    if (name !== "sum" && x.numel() === 0) {
      throw new DTypeError(
        `${name}: cannot reduce an empty ${shapeStr(x.shape)} tensor (no identity)`,
      );
    }
    return [{ shape: reducedShape(x.shape, a.dims, a.keepdim), dtype: x.dtype }];
  };
}

// Re-inserts reduced dims as size 1 so a gradient broadcasts back to the input's shape.
function keepShape(g: Tensor, inputShape: Shape, a: ReduceAttrs): Tensor {
  return a.keepdim ? g : g.reshape(reducedShape(inputShape, a.dims, true));
}

const sumOp: OpDef<ReduceAttrs> = defineOp<ReduceAttrs>({
  name: "sum",
  infer: inferReduce("sum"),
  savesInputs: false,
  grad: (
    ctx,
    g,
  ) => [keepShape(g, ctx.inputShapes[0], ctx.attrs).expand(ctx.inputShapes[0] as number[])],
});

function extremumOp(name: "max" | "min"): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name,
    infer: inferReduce(name),
    savesOutputs: true,
    grad: (ctx, g) => {
      const x = ctx.inputs[0];
      const y = keepShape(ctx.outputs[0], x.shape, ctx.attrs);
      const mask = cast(x.eq(y), g.dtype);
      const count = mask.sum(ctx.attrs.dims, { keepdim: true });
      return [keepShape(g, x.shape, ctx.attrs).mul(mask).div(count)];
    },
  });
}

const maxOp = extremumOp("max");
const minOp = extremumOp("min");

/** Attributes of argmax/argmin. */
export interface ArgReduceAttrs {
  /** Dimension, or null to reduce the flattened tensor. */
  dim: number | null;
  /** Keep the reduced dimension. */
  keepdim: boolean;
}

function argOp(name: "argmax" | "argmin"): OpDef<ArgReduceAttrs> {
  return defineOp<ArgReduceAttrs>({
    name,
    differentiable: false,
    infer(inputs, a) {
      const x = inputs[0];
      // As PyTorch: only an empty reduced extent has no answer ([0, 3].argmax(1) is empty).
      if (a.dim === null ? x.numel() === 0 : x.shape[a.dim] === 0) {
        throw new DTypeError(`${name}: cannot reduce an empty ${shapeStr(x.shape)} tensor`);
      }
      const shape = a.dim === null
        ? (a.keepdim ? x.shape.map(() => 1) : [])
        : reducedShape(x.shape, [a.dim], a.keepdim);
      return [{ shape, dtype: "int32" }];
    },
  });
}

const argmaxOp = argOp("argmax");
const argminOp = argOp("argmin");

/** Sums over `dims` (all when omitted). Bool tensors sum as int32. */
export function sum(
  x: Tensor,
  dims?: number | readonly number[],
  options?: ReduceArg,
): Tensor {
  const keepdim = keepdimOf("sum", options);
  const d = normalizeAxes("sum", dims, x.ndim);
  if (x.dtype === "bool") x = cast(x, "int32");
  if (d.length === 0 && dims !== undefined) return x;
  return apply1(sumOp, [x], { dims: d, keepdim });
}

/** Mean over `dims` (all when omitted); float result. */
export function mean(
  x: Tensor,
  dims?: number | readonly number[],
  options?: ReduceArg,
): Tensor {
  const keepdim = keepdimOf("mean", options);
  const d = normalizeAxes("mean", dims, x.ndim);
  let n = 1;
  for (const i of d) n *= x.shape[i];
  if (!isFloating(x.dtype)) x = cast(x, "float32");
  return sum(x, d, keepdim).div(n);
}

/**
 * Maximum over `dims` (all when omitted), as PyTorch's `amax`: a tensor, and the gradient is split
 * evenly among tied maxima. NaN propagates. {@linkcode max} with a dim also gives the indices.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { amax, tensor } from "../mod.ts";
 * const y = amax(tensor([[1, 5], [7, 2]]), 1); // [5, 7]
 * ```
 */
export function amax(
  x: Tensor,
  dims?: number | readonly number[],
  options?: ReduceArg,
): Tensor {
  arity("amax", arguments, 3);
  const keepdim = keepdimOf("amax", options);
  const d = normalizeAxes("amax", dims, x.ndim);
  if (d.length === 0 && dims !== undefined) return x;
  return apply1(maxOp, [x], { dims: d, keepdim });
}

/**
 * Minimum over `dims` (all when omitted), as PyTorch's `amin` (see {@linkcode amax}).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { amin, tensor } from "../mod.ts";
 * const y = amin(tensor([[1, 5], [7, 2]]), [0, 1]); // 1
 * ```
 */
export function amin(
  x: Tensor,
  dims?: number | readonly number[],
  options?: ReduceArg,
): Tensor {
  arity("amin", arguments, 3);
  const keepdim = keepdimOf("amin", options);
  const d = normalizeAxes("amin", dims, x.ndim);
  if (d.length === 0 && dims !== undefined) return x;
  return apply1(minOp, [x], { dims: d, keepdim });
}

/**
 * What PyTorch's `max(dim)`, `min(dim)`, `sort`, and `topk` return: the values and their int32
 * indices along the dimension. Destructures by name (`const { values, indices } = ...`) or, like
 * PyTorch's named tuple, by position (`const [values, indices] = ...`).
 */
export interface ValuesIndices {
  /** The selected (or sorted) values. */
  readonly values: Tensor;
  /** Their int32 indices along the dimension. */
  readonly indices: Tensor;
  /** Yields `values`, then `indices`. */
  [Symbol.iterator](): Iterator<Tensor>;
}

/** A {@linkcode ValuesIndices} pair (frozen). */
export function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return Object.freeze({
    values,
    indices,
    *[Symbol.iterator](): Iterator<Tensor> {
      yield values;
      yield indices;
    },
  });
}

// max(dim)/min(dim): the index of the first extremum (NaN counts as the extremum, as PyTorch's),
// and the values gathered there, so the gradient reaches the selected element only.
function extremumAlong(
  name: "max" | "min",
  x: Tensor,
  dim: unknown,
  options: ReduceArg | undefined,
): ValuesIndices {
  if (typeof dim !== "number") {
    throw new ValueError(
      `${name}: dim must be one integer, got ${show(dim)}` +
        (Array.isArray(dim) ? ` (a${name} reduces several dims and returns a tensor)` : ""),
    );
  }
  const keepdim = keepdimOf(name, options);
  const d = normalizeAxis(name, dim, x.ndim);
  if (x.ndim === 0) {
    return valuesIndices(clone(x), argmax(x.reshape([1]), 0).reshape([]));
  }
  if (x.shape[d] === 0) {
    throw new DTypeError(
      `${name}: cannot reduce an empty ${shapeStr(x.shape)} tensor (no identity)`,
    );
  }
  const index = name === "max" ? argmax(x, d, true) : argmin(x, d, true);
  const values = gather(x, d, index);
  return keepdim
    ? valuesIndices(values, index)
    : valuesIndices(squeeze(values, d), squeeze(index, d));
}

// max()/min() with no dim, max(dim, keepdim) and max(other) share one entry point each, as in
// PyTorch; the argument decides which.
function extremum(
  name: "max" | "min",
  x: Tensor,
  dim: number | Tensor | undefined,
  options: ReduceArg | undefined,
): Tensor | ValuesIndices {
  if (dim instanceof Tensor) {
    if (options !== undefined) {
      throw new ValueError(
        `${name}: keepdim does not apply to the elementwise ${name}(other); got ${show(options)}`,
      );
    }
    return binary(name === "max" ? "maximum" : "minimum", x, dim);
  }
  if (dim === undefined || dim === null) {
    if (options !== undefined) {
      throw new ValueError(
        `${name}: keepdim needs a dim (${name}(dim, keepdim)); a${name}(undefined, ` +
          `{ keepdim: true }) keeps every dimension`,
      );
    }
    return apply1(name === "max" ? maxOp : minOp, [x], {
      dims: normalizeAxes(name, undefined, x.ndim),
      keepdim: false,
    });
  }
  return extremumAlong(name, x, dim, options);
}

/**
 * PyTorch's `max`: of all elements (a 0-d tensor) when no dim is given; along `dim`, the values
 * and the int32 indices of the maxima (the first on ties; NaN counts as the maximum), whose
 * gradient goes to the selected elements; given a tensor, the elementwise maximum. For several
 * dims at once see {@linkcode amax}.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { max, tensor } from "../mod.ts";
 * const x = tensor([[1, 5, 5], [7, 2, 0]]);
 * const all = max(x); // 7
 * const { values, indices } = max(x, 1); // [5, 7] and [1, 0]
 * ```
 */
export function max(x: Tensor): Tensor;
/** Maximum along `dim` with its indices; `keepdim` as in PyTorch (`max(x, 1, true)`). */
export function max(x: Tensor, dim: number, options?: ReduceArg): ValuesIndices;
/** Elementwise maximum with broadcasting (PyTorch's `max(input, other)`). */
export function max(x: Tensor, other: Tensor): Tensor;
export function max(
  x: Tensor,
  dim?: number | Tensor,
  options?: ReduceArg,
): Tensor | ValuesIndices {
  arity("max", arguments, 3);
  return extremum("max", x, dim, options);
}

/**
 * PyTorch's `min`: of all elements when no dim is given; along `dim`, the values and the int32
 * indices of the minima (the first on ties; NaN counts as the minimum); given a tensor, the
 * elementwise minimum. For several dims at once see {@linkcode amin}.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { min, tensor } from "../mod.ts";
 * const [values, indices] = min(tensor([[4, 1], [0, 3]]), 0); // [0, 1] and [1, 0]
 * ```
 */
export function min(x: Tensor): Tensor;
/** Minimum along `dim` with its indices; `keepdim` as in PyTorch (`min(x, 1, true)`). */
export function min(x: Tensor, dim: number, options?: ReduceArg): ValuesIndices;
/** Elementwise minimum with broadcasting (PyTorch's `min(input, other)`). */
export function min(x: Tensor, other: Tensor): Tensor;
export function min(
  x: Tensor,
  dim?: number | Tensor,
  options?: ReduceArg,
): Tensor | ValuesIndices {
  arity("min", arguments, 3);
  return extremum("min", x, dim, options);
}

/** Index of the maximum along `dim` (of the flattened tensor when omitted); first index on ties. */
export function argmax(x: Tensor, dim?: number, options?: ReduceArg): Tensor {
  const keepdim = keepdimOf("argmax", options);
  const d = dim === undefined || dim === null ? null : normalizeAxis("argmax", dim, x.ndim);
  return apply1(argmaxOp, [x], { dim: d, keepdim });
}

/** Index of the minimum along `dim` (of the flattened tensor when omitted); first index on ties. */
export function argmin(x: Tensor, dim?: number, options?: ReduceArg): Tensor {
  const keepdim = keepdimOf("argmin", options);
  const d = dim === undefined || dim === null ? null : normalizeAxis("argmin", dim, x.ndim);
  return apply1(argminOp, [x], { dim: d, keepdim });
}

/** Options of var/std. */
export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: divide by N - correction (default 1, unbiased). */
  correction?: number;
}

/** Variance over `dims`. */
export function variance(
  x: Tensor,
  dims?: number | readonly number[],
  options?: VarOptions | boolean,
): Tensor {
  const keepdim = keepdimOf("var", options, ["correction"]);
  const correction = typeof options === "object" && options.correction !== undefined
    ? finite("var", "correction", options.correction)
    : 1;
  const d = normalizeAxes("var", dims, x.ndim);
  let n = 1;
  for (const i of d) n *= x.shape[i];
  const c = x.sub(mean(x, d, { keepdim: true }));
  return sum(c.mul(c), d, keepdim).div(Math.max(n - correction, 0));
}

/** Reduces a broadcast gradient back to `shape` (sums over broadcast dimensions). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const r = dims.length ? apply1(sumOp, [g], { dims, keepdim: true }) : g;
  return sizeOf(r.shape) === sizeOf(shape) && !sameShape(r.shape, shape)
    ? r.reshape(shape as number[])
    : r;
}
