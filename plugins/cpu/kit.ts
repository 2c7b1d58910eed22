/**
 * The cpu kernel kit: typed access to a tensor's host array and the loops a plugin author's cpu
 * kernel needs — {@linkcode map} over one tensor, {@linkcode zip} over two with broadcasting,
 * {@linkcode reduceAxis} along one axis — plus {@linkcode outputArray} to allocate the array a
 * kernel returns for a {@linkcode TensorSpec}. Kernels written with it need no casts of
 * `storage.handle`, and a tensor that is not in host memory is a clear error instead of a wrong
 * answer.
 *
 * @example
 * ```ts
 * import { definePlugin } from "../../mod.ts";
 * import { map } from "./kit.ts";
 * import type { CpuKernel } from "./kit.ts";
 *
 * // softplus(x) = log(1 + exp(βx)) / β on the cpu backend.
 * const softplus: CpuKernel<{ beta: number }> = {
 *   dtypes: ["float32"],
 *   run: ([x], { beta }, out) => [map(x, (v) => Math.log1p(Math.exp(beta * v)) / beta, out[0])],
 * };
 * const plugin = definePlugin({
 *   name: "@acme/softplus-cpu",
 *   kind: "op",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   kernels: { cpu: { softplus } },
 * });
 * ```
 *
 * @module
 */

import {
  allocHost,
  broadcastShapes,
  broadcastStrides,
  DeviceError,
  DTypeError,
  normalizeAxis,
  sameShape,
  ShapeError,
  shapeStr,
  sizeOf,
} from "../../core/mod.ts";
import type { DType, KernelEntry, Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";

/** A kernel entry for the cpu backend: its context is `undefined`, it returns host arrays. */
export type CpuKernel<A = Record<string, unknown>> = KernelEntry<A, undefined, TypedArray>;

/** A cpu kernel table, op name → entry, attributes type-erased (as the registry keeps them). */
// deno-lint-ignore no-explicit-any
export type CpuKernelTable = Record<string, CpuKernel<any>>;

/** The host array type of each dtype (bool is one byte per element, 0 or 1). */
export interface HostArrays {
  /** float32 elements. */
  float32: Float32Array;
  /** float16 elements. */
  float16: Float16Array;
  /** int32 elements. */
  int32: Int32Array;
  /** bool elements as 0 or 1. */
  bool: Uint8Array;
}

/** The host array type of dtype `D`. */
export type HostArray<D extends DType> = HostArrays[D];

/**
 * The host array behind a tensor's storage, whatever its layout (its storage, not a copy): for
 * kernels whose entry sets `strided`, which index it through `t.offset` and `t.strides`. Throws a
 * {@linkcode DeviceError} when the tensor is not in host memory.
 */
export function hostStorage(t: Tensor): TypedArray {
  if (!t.storage.backend.hostMemory) {
    throw new DeviceError(
      `cpu kit: the ${shapeStr(t.shape)} ${t.dtype} tensor is on ${t.device}, not in host memory`,
    );
  }
  return t.storage.handle as TypedArray;
}

/**
 * A tensor's host array (its storage, not a copy: never write into an input). With `dtype`, checks
 * the tensor has it and returns the matching array type. Throws a {@linkcode DeviceError} when the
 * tensor is not in host memory, and a {@linkcode ShapeError} for a view, which a kernel only
 * receives when its entry sets `strided` (then use {@linkcode hostStorage}).
 */
export function hostArray<D extends DType = DType>(t: Tensor, dtype?: D): HostArray<D> {
  const a = hostStorage(t);
  if (!t.isDense) {
    throw new ShapeError(
      `cpu kit: the ${shapeStr(t.shape)} tensor is a view (offset ${t.offset}, strides ` +
        `${shapeStr(t.strides)}); kernels receive dense inputs unless their entry sets strided`,
    );
  }
  if (dtype !== undefined && t.dtype !== dtype) {
    throw new DTypeError(
      `cpu kit: expected a ${dtype} tensor, got ${t.dtype} of shape ${shapeStr(t.shape)}`,
    );
  }
  return a as HostArray<D>;
}

/** A zeroed host array for a kernel output; with `dtype`, checks the spec has it. */
export function outputArray<D extends DType = DType>(spec: TensorSpec, dtype?: D): HostArray<D> {
  if (dtype !== undefined && spec.dtype !== dtype) {
    throw new DTypeError(`cpu kit: the output is ${spec.dtype}, not ${dtype}`);
  }
  return allocHost(spec.dtype, sizeOf(spec.shape)) as HostArray<D>;
}

/**
 * Applies `f` to every element of `x` (with its flat index) into a new array for `out` (default:
 * `x`'s shape and dtype). Integer and bool outputs store what the typed array makes of the value.
 */
export function map(
  x: Tensor,
  f: (v: number, i: number) => number,
  out: TensorSpec = { shape: [...x.shape], dtype: x.dtype },
): TypedArray {
  const a = hostArray(x);
  const n = sizeOf(out.shape);
  if (n !== x.numel()) {
    throw new ShapeError(
      `cpu kit: map over ${shapeStr(x.shape)} into an output of shape ${shapeStr(out.shape)}`,
    );
  }
  const o = outputArray(out);
  for (let i = 0; i < n; i++) o[i] = f(a[i], i);
  return o;
}

/**
 * Applies `f` to the pairs of `a` and `b` broadcast together, into a new array for `out` (default:
 * the broadcast shape and `a`'s dtype). Same-shape and scalar operands take a direct loop; others
 * walk the output with per-operand strides.
 */
export function zip(
  [x, y]: readonly [Tensor, Tensor],
  f: (a: number, b: number) => number,
  out?: TensorSpec,
): TypedArray {
  const shape = out?.shape ?? broadcastShapes("cpu kit: zip", x.shape, y.shape);
  const o = outputArray(out ?? { shape: [...shape], dtype: x.dtype });
  const a = hostArray(x), b = hostArray(y), n = o.length;
  if (n === 0) return o;
  if (x.numel() === n && y.numel() === n && sameShape(x.shape, y.shape)) {
    for (let i = 0; i < n; i++) o[i] = f(a[i], b[i]);
    return o;
  }
  if (y.numel() === 1 && x.numel() === n) {
    const bv = b[0];
    for (let i = 0; i < n; i++) o[i] = f(a[i], bv);
    return o;
  }
  if (x.numel() === 1 && y.numel() === n) {
    const av = a[0];
    for (let i = 0; i < n; i++) o[i] = f(av, b[i]);
    return o;
  }
  const sa = broadcastStrides(x.shape, shape), sb = broadcastStrides(y.shape, shape);
  const d = shape.length;
  const idx = new Array<number>(d).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < n; i++) {
    o[i] = f(a[ia], b[ib]);
    // Odometer: step the last dim, carrying into earlier ones.
    for (let k = d - 1; k >= 0; k--) {
      ia += sa[k];
      ib += sb[k];
      if (++idx[k] < shape[k]) break;
      ia -= sa[k] * shape[k];
      ib -= sb[k] * shape[k];
      idx[k] = 0;
    }
  }
  return o;
}

/**
 * The `[outer, n, inner]` blocks of a contiguous shape around `axis`: element `(p, r, q)` is at
 * `(p·n + r)·inner + q`. Handy for hand-written loops along one axis.
 */
export function axisBlocks(shape: readonly number[], axis: number): [number, number, number] {
  const a = normalizeAxis("cpu kit: axisBlocks", axis, shape.length);
  if (!shape.length) return [1, 1, 1];
  return [sizeOf(shape.slice(0, a)), shape[a], sizeOf(shape.slice(a + 1))];
}

/** What {@linkcode reduceAxis} computes. */
export interface ReduceAxisOptions {
  /** The axis reduced (negative counts from the end). */
  axis: number;
  /** Starting value of each accumulator (an identity of `combine`). */
  init: number;
  /** Folds one element into the accumulator (computed in float64). */
  combine: (acc: number, v: number) => number;
  /** Turns the accumulator and the axis length into the result (default: the accumulator). */
  finish?: (acc: number, n: number) => number;
  /** Keep the reduced axis as size 1 in the default output shape. */
  keepdim?: boolean;
}

/**
 * Reduces `x` along one axis into a new array for `out` (default: `x`'s dtype and shape without
 * the axis, or with it as 1 under `keepdim`).
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { reduceAxis } from "./kit.ts";
 * const sumSq = reduceAxis(tensor([[1, 2], [3, 4]]), {
 *   axis: 1,
 *   init: 0,
 *   combine: (acc, v) => acc + v * v,
 * });
 * console.log([...sumSq]); // [5, 25]
 * ```
 */
export function reduceAxis(x: Tensor, options: ReduceAxisOptions, out?: TensorSpec): TypedArray {
  const a = hostArray(x);
  const axis = normalizeAxis("cpu kit: reduceAxis", options.axis, x.ndim);
  const [outer, n, inner] = axisBlocks(x.shape, axis);
  const shape = options.keepdim
    ? x.shape.map((s, i) => (i === axis ? 1 : s))
    : x.shape.filter((_, i) => i !== axis);
  const o = outputArray(out ?? { shape, dtype: x.dtype });
  if (o.length !== outer * inner) {
    throw new ShapeError(
      `cpu kit: reduceAxis of ${shapeStr(x.shape)} along axis ${axis} gives ${
        outer * inner
      } elements, but the output has ${o.length}`,
    );
  }
  const { init, combine, finish } = options;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      let acc = init;
      for (let r = 0, k = p * n * inner + q; r < n; r++, k += inner) acc = combine(acc, a[k]);
      o[p * inner + q] = finish ? finish(acc, n) : acc;
    }
  }
  return o;
}
