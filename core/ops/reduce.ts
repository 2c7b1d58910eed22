/**
 * Reductions over dimensions: sum, max, min (with PyTorch's even split of the gradient among ties),
 * argmax, argmin, and the derived mean, var and std.
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import { DTypeError } from "../errors.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef, TensorSpec } from "../registry.ts";
import { normalizeAxes, normalizeAxis, sameShape, shapeStr, sizeOf } from "../shape.ts";
import type { Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { cast } from "./elementwise.ts";
import { finite, keepdimOf } from "../args.ts";

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
    if (name !== "sum" && x.size === 0) {
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
      if (x.size === 0) {
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

/** Maximum over `dims` (all when omitted). */
export function max(
  x: Tensor,
  dims?: number | readonly number[],
  options?: ReduceArg,
): Tensor {
  const keepdim = keepdimOf("max", options);
  const d = normalizeAxes("max", dims, x.ndim);
  if (d.length === 0 && dims !== undefined) return x;
  return apply1(maxOp, [x], { dims: d, keepdim });
}

/** Minimum over `dims` (all when omitted). */
export function min(
  x: Tensor,
  dims?: number | readonly number[],
  options?: ReduceArg,
): Tensor {
  const keepdim = keepdimOf("min", options);
  const d = normalizeAxes("min", dims, x.ndim);
  if (d.length === 0 && dims !== undefined) return x;
  return apply1(minOp, [x], { dims: d, keepdim });
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
