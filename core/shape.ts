/**
 * Shape arithmetic: sizes, strides, broadcasting and axis normalisation.
 *
 * @module
 */

import { ShapeError } from "./errors.ts";

/** A tensor shape: one non-negative integer per dimension. */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a 0-d tensor). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Formats a shape like PyTorch's `torch.Size`: `[2, 3]`. */
export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Whether two shapes are equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcasting of two shapes; throws naming `op` when they are incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  if (sameShape(a, b)) return a as number[];
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else {
      throw new ShapeError(
        `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together ` +
          `(dimension ${i} is ${da} vs ${db}; sizes must match or one must be 1)`,
      );
    }
  }
  return out;
}

/**
 * Strides for reading a tensor of `shape` as if broadcast to `outShape` (0 where broadcast); a view
 * passes its own `strides` (default: row-major).
 */
export function broadcastStrides(
  shape: Shape,
  outShape: Shape,
  strides: Shape = stridesOf(shape),
): number[] {
  const st = strides;
  const out = new Array<number>(outShape.length).fill(0);
  const off = outShape.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[i + off] = shape[i] === 1 ? 0 : st[i];
  return out;
}

/**
 * Merges adjacent dims that are contiguous in every stride list and drops size-1 dims, so that an
 * elementwise walk over `shape` reading each operand through its `strides` needs the fewest
 * index computations. Returns the merged shape and stride lists; a 0-d walk becomes rank 1 of size
 * 1 (backends' elementwise kernels share it).
 *
 * @example
 * ```ts
 * import { coalesce } from "./shape.ts";
 * console.log(coalesce([2, 3, 4], [[12, 4, 1], [0, 0, 1]])); // [[6, 4], [[4, 1], [0, 1]]]
 * ```
 */
export function coalesce(
  shape: Shape,
  strides: readonly Shape[],
): [number[], number[][]] {
  const s: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = s.length - 1;
    if (k >= 0 && strides.every((l, j) => st[j][k] === l[d] * shape[d])) {
      s[k] *= shape[d];
      strides.forEach((l, j) => (st[j][k] = l[d]));
    } else {
      s.push(shape[d]);
      strides.forEach((l, j) => st[j].push(l[d]));
    }
  }
  if (!s.length) return [[1], strides.map(() => [0])];
  return [s, st];
}

/** Normalises a possibly negative axis for a tensor of rank `ndim`; throws naming `op`. */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(axis) || axis < lo || axis > hi) {
    throw new ShapeError(
      `${op}: dimension ${
        typeof axis === "object" ? JSON.stringify(axis) : String(axis)
      } is out of range for a ${ndim}-D tensor (expected an integer from ${lo} to ${hi})`,
    );
  }
  return axis < 0 ? axis + Math.max(ndim, 1) : axis;
}

/** Normalises a list of axes (or all axes when undefined), sorted and without duplicates. */
export function normalizeAxes(
  op: string,
  axes: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axes !== "number" && !Array.isArray(axes)) {
    throw new ShapeError(
      `${op}: dims must be a number or a list of numbers, got ${JSON.stringify(axes)}`,
    );
  }
  // PyTorch reduces every dimension for an empty list (x.sum([]) is x.sum()).
  if (Array.isArray(axes) && axes.length === 0) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  const uniq = [...new Set(out)].sort((x, y) => x - y);
  if (uniq.length !== out.length) {
    throw new ShapeError(`${op}: dimension list [${list.join(", ")}] repeats a dimension`);
  }
  return uniq;
}

/** Checks a shape is a list of non-negative integers; throws naming `op`. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${op}: invalid shape ${shapeStr(shape)}; sizes must be non-negative integers`,
      );
    }
  }
}
