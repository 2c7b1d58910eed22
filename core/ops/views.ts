/**
 * View ops: reshape/view, permute, expand and slice share their input's storage through an offset
 * and strides (no kernel runs), and the wrappers built on them (transpose, narrow, select,
 * squeeze, unsqueeze, flatten). Their gradient rules are written with other ops. reshape and view
 * are in reshape.ts (re-exported here).
 *
 * @module
 */

import { ShapeError, ValueError } from "../errors.ts";
import { options, show } from "../args.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { OpDef } from "../registry.ts";
import {
  broadcastStrides,
  checkShape,
  normalizeAxis,
  sameShape,
  shapeStr,
  sizeOf,
  stridesOf,
} from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { sumToShape } from "./reduce.ts";
import { reshape } from "./reshape.ts";

// `import * as V from "./ops/views.ts"` (tensor.ts) reaches reshape and view through this module.
export { reshape, view } from "./reshape.ts";

// ---------------------------------------------------------------- permute

/** Attributes of permute. */
export interface PermuteAttrs {
  /** Source dimension of each output dimension. */
  dims: number[];
}

const permuteOp: OpDef<PermuteAttrs> = defineOp<PermuteAttrs>({
  name: "permute",
  view: (x, a) => {
    const st = x.strides;
    return { offset: x.offset, strides: a.dims.map((d) => st[d]) };
  },
  savesInputs: false,
  infer: (inputs, a) => [{ shape: a.dims.map((d) => inputs[0].shape[d]), dtype: inputs[0].dtype }],
  grad: (ctx, g) => {
    const inv = new Array<number>(ctx.attrs.dims.length);
    ctx.attrs.dims.forEach((d, i) => (inv[d] = i));
    return [permute(g, inv)];
  },
});

/** Reorders dimensions (a view sharing `x`'s storage). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new ShapeError(
      `permute: got ${dims.length} dims [${dims.join(", ")}] for a ${x.ndim}-D tensor ${
        shapeStr(x.shape)
      }`,
    );
  }
  const d = dims.map((a) => normalizeAxis("permute", a, x.ndim));
  if (new Set(d).size !== d.length) {
    throw new ShapeError(`permute: dims [${dims.join(", ")}] repeat a dimension`);
  }
  if (d.every((v, i) => v === i)) return x;
  // Moving only size-1 dims keeps the memory order: a reshape suffices.
  const nonUnit = d.filter((v) => x.shape[v] !== 1);
  if (nonUnit.every((v, i) => i === 0 || v > nonUnit[i - 1])) {
    return reshape(
      x,
      d.map((v) => x.shape[v]),
    );
  }
  return apply1(permuteOp, [x], { dims: d });
}

/** Swaps two dimensions. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeAxis("transpose", dim0, x.ndim);
  const b = normalizeAxis("transpose", dim1, x.ndim);
  const dims = Array.from({ length: x.ndim }, (_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

// ---------------------------------------------------------------- expand

/** Attributes of expand. */
export interface ExpandAttrs {
  /** Target shape. */
  shape: number[];
}

const expandOp: OpDef<ExpandAttrs> = defineOp<ExpandAttrs>({
  name: "expand",
  view: (x, a) => ({ offset: x.offset, strides: broadcastStrides(x.shape, a.shape, x.strides) }),
  savesInputs: false,
  infer: (inputs, a) => [{ shape: a.shape, dtype: inputs[0].dtype }],
  grad: (ctx, g) => [sumToShape(g, ctx.inputShapes[0] as number[])],
});

/** Broadcasts to a larger shape (-1 keeps a size); a view with stride 0 along broadcast dims. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const n = shape.length;
  if (n < x.ndim) {
    throw new ShapeError(
      `expand: target ${shapeStr(shape)} has fewer dimensions than the tensor ${shapeStr(x.shape)}`,
    );
  }
  const s = [...shape];
  for (let i = 0; i < n; i++) {
    const src = i - (n - x.ndim);
    const cur = src >= 0 ? x.shape[src] : 1;
    if (s[i] === -1) {
      if (src < 0) {
        throw new ShapeError(
          `expand: -1 is not allowed for a new leading dimension in ${shapeStr(shape)}`,
        );
      }
      s[i] = cur;
    } else if (cur !== 1 && cur !== s[i]) {
      throw new ShapeError(
        `expand: the size ${cur} at dimension ${src} of ${shapeStr(x.shape)} must match ${
          s[i]
        } in ${shapeStr(shape)} (or be 1)`,
      );
    }
  }
  checkShape("expand", s);
  if (sameShape(s, x.shape)) return x;
  if (sizeOf(s) === x.numel()) return reshape(x, s);
  return apply1(expandOp, [x], { shape: s });
}

// ---------------------------------------------------------------- slice

/** Attributes of slice: per-dimension start and step, and the output shape. */
export interface SliceAttrs {
  /** Start index per dimension (non-negative). */
  starts: number[];
  /** Step per dimension (positive). */
  steps: number[];
  /** Output shape. */
  shape: number[];
}

/** Attributes of sliceBackward: scatter into zeros of `inputShape`. */
export interface SliceBackwardAttrs extends SliceAttrs {
  /** Shape of the sliced tensor. */
  inputShape: number[];
}

/**
 * Where a slice reads in a contiguous tensor of `shape`: the flat offset of its first element and
 * the stride of each dimension (kernels of every backend walk this view).
 */
export function sliceView(
  shape: readonly number[],
  a: Pick<SliceAttrs, "starts" | "steps">,
): [number, number[]] {
  const st = stridesOf(shape);
  let off = 0;
  for (let i = 0; i < shape.length; i++) off += a.starts[i] * st[i];
  return [off, st.map((s, i) => s * a.steps[i])];
}

const sliceOp: OpDef<SliceAttrs> = defineOp<SliceAttrs>({
  name: "slice",
  view: (x, a) => {
    const st = x.strides;
    let offset = x.offset;
    for (let i = 0; i < st.length; i++) offset += a.starts[i] * st[i];
    return { offset, strides: st.map((s, i) => s * a.steps[i]) };
  },
  savesInputs: false,
  infer: (inputs, a) => [{ shape: a.shape, dtype: inputs[0].dtype }],
  grad: (
    ctx,
    g,
  ) => [apply1(sliceBackwardOp, [g], { ...ctx.attrs, inputShape: ctx.inputShapes[0] as number[] })],
});

const sliceBackwardOp: OpDef<SliceBackwardAttrs> = defineOp<SliceBackwardAttrs>({
  name: "sliceBackward",
  family: "slice",
  savesInputs: false,
  infer: (inputs, a) => [{ shape: a.inputShape, dtype: inputs[0].dtype }],
  grad: (
    ctx,
    g,
  ) => [
    apply1(sliceOp, [g], {
      starts: ctx.attrs.starts,
      steps: ctx.attrs.steps,
      shape: ctx.attrs.shape,
    }),
  ],
});

/** One dimension's slice: `[start, end)` with a step, Python-style negatives allowed. */
export interface SliceSpec {
  /** First index (default 0). */
  start?: number;
  /** One past the last index (default the size). */
  end?: number;
  /** Step (default 1, must be positive). */
  step?: number;
}

/**
 * Slices along several dimensions: `specs[i]` is `{ start, end, step }` for dimension i (null keeps
 * it whole), as Python's `x[1:6:2, :]` is `slice(x, [{ start: 1, end: 6, step: 2 }, null])`. A view.
 * A plain number is rejected: `t.slice(0, 8)` reads as rows 0..8 to some and as `t[0][8]` to
 * others; use `select(dim, index)` to pick one index or `narrow(dim, start, length)`.
 */
export function slice(x: Tensor, specs: readonly (SliceSpec | null)[]): Tensor {
  const i = specs.findIndex((sp) => typeof sp === "number");
  if (i >= 0) {
    throw new ValueError(
      `slice: spec ${i} is the number ${specs[i]}; slice takes { start, end, step } or null per ` +
        `dimension (rows 0..7 are slice({ start: 0, end: 8 })); pick one index with ` +
        `select(${i}, ${specs[i]}) or narrow(${i}, start, length)`,
    );
  }
  return sliceSpecs(x, specs);
}

// slice with number specs too: a number picks one index and removes the dimension (select uses it).
function sliceSpecs(x: Tensor, specs: readonly (SliceSpec | number | null)[]): Tensor {
  if (specs.length > x.ndim) {
    throw new ShapeError(
      `slice: ${specs.length} indices for a ${x.ndim}-D tensor ${shapeStr(x.shape)}`,
    );
  }
  const starts: number[] = [], steps: number[] = [], shape: number[] = [], drop: boolean[] = [];
  for (let i = 0; i < x.ndim; i++) {
    const n = x.shape[i];
    const sp = specs[i] ?? null;
    if (sp !== null && typeof sp !== "number" && (typeof sp !== "object" || Array.isArray(sp))) {
      throw new ValueError(
        `slice: spec ${i} must be { start, end, step }, an index or null, got ${show(sp)}`,
      );
    }
    if (sp !== null && typeof sp === "object") options("slice", sp, ["start", "end", "step"]);
    if (typeof sp === "number") {
      const idx = sp < 0 ? sp + n : sp;
      if (!Number.isInteger(sp) || idx < 0 || idx >= n) {
        throw new ShapeError(
          `slice: index ${sp} is out of bounds for dimension ${i} with size ${n}`,
        );
      }
      starts.push(idx);
      steps.push(1);
      shape.push(1);
      drop.push(true);
      continue;
    }
    const step = sp?.step ?? 1;
    if (!Number.isInteger(step) || step <= 0) {
      throw new ValueError(`slice: step must be a positive integer, got ${step}`);
    }
    for (const k of ["start", "end"] as const) {
      const v = sp?.[k];
      if (v !== undefined && v !== null && !Number.isInteger(v)) {
        throw new ValueError(`slice: ${k} must be an integer, got ${show(v)}`);
      }
    }
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const s = clamp(sp?.start ?? 0);
    const e = clamp(sp?.end ?? n);
    starts.push(s);
    steps.push(step);
    shape.push(e > s ? Math.ceil((e - s) / step) : 0);
    drop.push(false);
  }
  let out = sameShape(shape, x.shape) ? x : apply1(sliceOp, [x], { starts, steps, shape });
  if (drop.some((d) => d)) out = reshape(out, shape.filter((_, i) => !drop[i]));
  return out;
}

/** Slice of one dimension: `narrow(x, dim, start, length)`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeAxis("narrow", dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(start) || start < -n || start > n) {
    throw new ShapeError(
      `narrow: start ${show(start)} is out of range for dimension ${d} of size ${n} in ${
        shapeStr(x.shape)
      } (expected an integer from ${-n} to ${n})`,
    );
  }
  if (start < 0) start += n;
  if (!Number.isInteger(length) || length < 0 || start + length > n) {
    throw new ShapeError(
      `narrow: start ${start} + length ${show(length)} exceeds dimension ${d} of size ${n} in ${
        shapeStr(x.shape)
      } (expected a non-negative integer length <= ${n - start})`,
    );
  }
  const specs: (SliceSpec | null)[] = new Array(d + 1).fill(null);
  specs[d] = { start, end: start + length };
  return sliceSpecs(x, specs);
}

/** `x[..., index, ...]` along `dim` (negative counts from the end): a view without that dim. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeAxis("select", dim, x.ndim);
  const n = x.shape[d];
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(index) || i < 0 || i >= n) {
    throw new ShapeError(
      `select: index ${index} is out of range for dimension ${d} of size ${n} in ${
        shapeStr(x.shape)
      }`,
    );
  }
  const specs: (SliceSpec | number | null)[] = new Array(d + 1).fill(null);
  specs[d] = i;
  return sliceSpecs(x, specs);
}

// ---------------------------------------------------------------- squeeze / unsqueeze / flatten

/** Inserts a size-1 dimension. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeAxis("unsqueeze", dim, x.ndim + 1);
  const s = [...x.shape];
  s.splice(d, 0, 1);
  return reshape(x, s);
}

/** Removes size-1 dimensions (all, or the given one). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const d = normalizeAxis("squeeze", dim, x.ndim);
  if (x.shape[d] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

/** Flattens dimensions `startDim..endDim` into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const a = normalizeAxis("flatten", startDim, x.ndim);
  const b = normalizeAxis("flatten", endDim, x.ndim);
  if (a > b) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const s = [...x.shape.slice(0, a), sizeOf(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)];
  return reshape(x, s);
}
