/**
 * Row normalisation as fused ops, serving layer norm and group norm: `normRows` normalises each
 * row of `rowSize` consecutive elements to zero mean and unit biased variance, keeps the row's mean
 * and 1/√(var + eps) (float32, whatever the input's dtype, as PyTorch keeps them in its
 * accumulation type), and applies an optional weight and bias; `normRowsBackward` gives dx,
 * dweight and dbias in one op. Layer norm is one row per normalised block with a per-element
 * affine (`groups` 1, `inner` 1); group norm of [N, C, *S] with G groups is N·G rows of C/G·S
 * elements with a per-channel affine (`groups` G, `inner` S). Element j of row r reads weight
 * element ((r mod groups)·rowSize + j) / inner (integer division).
 *
 * Both ops decompose into core ops (computed in float32), so a backend without the kernels, or a
 * dtype a kernel declines, still runs them, and with `createGraph` the backward runs as its
 * decomposition, so second derivatives work. Defined by the norm plugin's manifest
 * (`layers/norm.ts`).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../norm.ts";
 * import { tensor } from "../../core/mod.ts";
 * import { normRows } from "./layer_norm.ts";
 * const attrs = { rowSize: 2, groups: 1, inner: 1, eps: 0, weight: false, bias: false };
 * const [y, mean, rstd] = normRows(tensor([[1, 3], [2, 2]]), null, null, attrs);
 * console.log(y.toArraySync(), mean.toArraySync(), rstd.shape); // [[-1, 1], [0, 0]] [2, 2] [2]
 * ```
 *
 * @module
 */

import {
  apply,
  DTypeError,
  isFloating,
  isGradEnabled,
  ShapeError,
  shapeStr,
  ValueError,
} from "../../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";

/** Attributes of `normRows` and `normRowsBackward`. */
export interface NormRowsAttrs {
  /** Elements per row, normalised together (the input's element count is a multiple of it). */
  rowSize: number;
  /** Rows cycle through this many weight blocks: row r uses block r mod groups (1: one block). */
  groups: number;
  /** Consecutive elements sharing one weight element (1: per-element; group norm: spatial size). */
  inner: number;
  /** Added to the variance. */
  eps: number;
  /** Whether a weight is an input (after x; of groups·rowSize/inner elements). */
  weight: boolean;
  /** Whether a bias is an input (after the weight, if any; as the weight). */
  bias: boolean;
}

const posInt = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v > 0;

// Checks the attributes against x; returns [rows, weight elements].
function layout(op: string, x: Tensor, a: NormRowsAttrs): [number, number] {
  if (!posInt(a.rowSize) || !posInt(a.groups) || !posInt(a.inner)) {
    throw new ValueError(
      `${op}: rowSize, groups and inner must be positive integers, got ${a.rowSize}, ` +
        `${a.groups} and ${a.inner}`,
    );
  }
  if (typeof a.eps !== "number" || !(a.eps >= 0) || !Number.isFinite(a.eps)) {
    throw new ValueError(`${op}: eps must be a non-negative finite number, got ${a.eps}`);
  }
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${op}: expected a floating-point input, got ${x.dtype}`);
  }
  const n = x.numel();
  const rows = n / a.rowSize;
  if (!Number.isInteger(rows) || rows % a.groups !== 0 || a.rowSize % a.inner !== 0) {
    throw new ShapeError(
      `${op}: input ${shapeStr(x.shape)} (${n} elements) must hold a multiple of groups ` +
        `(${a.groups}) rows of rowSize (${a.rowSize}) elements, and inner (${a.inner}) must ` +
        `divide rowSize`,
    );
  }
  return [rows, a.groups * a.rowSize / a.inner];
}

function checkParams(op: string, x: Tensor, params: readonly Tensor[], count: number): void {
  for (const t of params) {
    if (t.dtype !== x.dtype || t.numel() !== count) {
      throw new ShapeError(
        `${op}: weight and bias must be ${x.dtype} (the input's dtype) with ${count} elements, ` +
          `got ${shapeStr(t.shape)} ${t.dtype}`,
      );
    }
  }
}

function checkArity(op: string, inputs: readonly Tensor[], want: number, what: string): void {
  if (inputs.length !== want) {
    throw new ValueError(`${op}: expected ${want} inputs (${what}), got ${inputs.length}`);
  }
}

const f32 = (t: Tensor): Tensor => (t.dtype === "float32" ? t : t.cast("float32"));

// Rows [R, D] of x in float32, with each row's mean and rstd [R, 1].
function rowStats(x: Tensor, a: NormRowsAttrs): [Tensor, Tensor, Tensor] {
  const rows = f32(x).reshape([x.numel() / a.rowSize, a.rowSize]);
  const mean = rows.mean(1, { keepdim: true });
  const d = rows.sub(mean);
  const rstd = d.mul(d).mean(1, { keepdim: true }).add(a.eps).rsqrt();
  return [rows, mean, rstd];
}

// [R, D] seen as [R / groups, weight elements, inner]: element (n, k, s) uses weight element k.
const byParam = (t: Tensor, a: NormRowsAttrs, count: number): Tensor =>
  t.reshape([t.numel() / (a.groups * a.rowSize), count, a.inner]);

const column = (p: Tensor, count: number): Tensor => f32(p).reshape([count, 1]);

/**
 * Row normalisation (`"normRows"`): inputs x, then the weight and the bias where the attributes
 * say; outputs y (x's shape and dtype), and each row's mean and 1/√(var + eps) ([rows], float32).
 * Its gradient is one `normRowsBackward` (plus terms for gradients sent to the mean or rstd).
 */
export const normRowsOp: OpDef<NormRowsAttrs> = {
  name: "normRows",
  savesOutputs: true,
  infer(inputs, a): TensorSpec[] {
    const x = inputs[0];
    checkArity("normRows", inputs, 1 + Number(a.weight) + Number(a.bias), "x, weight?, bias?");
    const [rows, count] = layout("normRows", x, a);
    checkParams("normRows", x, inputs.slice(1), count);
    return [
      { shape: [...x.shape], dtype: x.dtype },
      { shape: [rows], dtype: "float32" },
      { shape: [rows], dtype: "float32" },
    ];
  },
  grad(ctx, g, gouts) {
    const a = ctx.attrs, need = ctx.needsInputGrad;
    const [x, ...params] = ctx.inputs;
    const [, mean, rstd] = ctx.outputs;
    const w = a.weight ? [params[0]] : [];
    const grads = apply(normRowsBackwardOp, [g, x, mean, rstd, ...w], a);
    let dx: Tensor | null = need[0] ? grads[0] : null;
    const gm = gouts[1], gr = gouts[2];
    if (dx && (gm || gr)) {
      // d mean / dx = 1/D; d rstd / dx = −rstd²·x̂/D, for the rare caller that uses the statistics.
      const [rows, m, rs] = rowStats(x, a);
      let extra = rows.mul(0);
      if (gm) extra = extra.add(gm.reshape([-1, 1]).div(a.rowSize));
      if (gr) {
        const xhat = rows.sub(m).mul(rs);
        extra = extra.sub(xhat.mul(rs.mul(rs)).mul(gr.reshape([-1, 1])).div(a.rowSize));
      }
      dx = dx.add(extra.reshape([...x.shape]).cast(x.dtype));
    }
    const out: (Tensor | null)[] = [dx];
    let k = 1;
    for (const flag of [a.weight, a.bias]) {
      if (!flag) continue;
      const p = params[k - 1];
      out.push(need[k] ? grads[k].reshape([...p.shape]) : null);
      k++;
    }
    return out;
  },
  decompose(inputs, a) {
    const [x, ...params] = inputs;
    const [rows, mean, rstd] = rowStats(x, a);
    let y = rows.sub(mean).mul(rstd);
    if (a.weight || a.bias) {
      const count = a.groups * a.rowSize / a.inner;
      y = byParam(y, a, count);
      if (a.weight) y = y.mul(column(params[0], count));
      if (a.bias) y = y.add(column(params[Number(a.weight)], count));
    }
    return [y.reshape([...x.shape]).cast(x.dtype), mean.reshape([-1]), rstd.reshape([-1])];
  },
};

// No gradient rule: under grad mode (double backward) dispatch differentiates the decomposition.
/**
 * Row normalisation's gradient (`"normRowsBackward"`): inputs g (y's gradient), x, the forward's
 * mean and rstd, and the weight where `attrs.weight`; outputs dx, then dweight where
 * `attrs.weight` and dbias where `attrs.bias` (flat, of the weight's element count).
 */
export const normRowsBackwardOp: OpDef<NormRowsAttrs> = {
  name: "normRowsBackward",
  family: "normRows",
  infer(inputs, a): TensorSpec[] {
    const op = "normRowsBackward";
    checkArity(op, inputs, 4 + Number(a.weight), "g, x, mean, rstd, weight?");
    const [g, x, mean, rstd] = inputs;
    const [rows, count] = layout(op, x, a);
    if (g.dtype !== x.dtype || g.ndim !== x.ndim || g.shape.some((s, i) => s !== x.shape[i])) {
      throw new ShapeError(
        `${op}: gradient ${shapeStr(g.shape)} ${g.dtype} must be ${x.dtype} of the input's ` +
          `shape ${shapeStr(x.shape)}`,
      );
    }
    for (const t of [mean, rstd]) {
      if (t.dtype !== "float32" || t.numel() !== rows) {
        throw new ShapeError(
          `${op}: mean and rstd must be float32 with ${rows} elements (one per row), got ` +
            `${shapeStr(t.shape)} ${t.dtype}`,
        );
      }
    }
    checkParams(op, x, inputs.slice(4), count);
    const out: TensorSpec[] = [{ shape: [...x.shape], dtype: x.dtype }];
    if (a.weight) out.push({ shape: [count], dtype: x.dtype });
    if (a.bias) out.push({ shape: [count], dtype: x.dtype });
    return out;
  },
  // With x̂ = (x − mean)·rstd and ĝ = g·weight: dbias = Σg, dweight = Σg·x̂ (over the elements
  // sharing a weight element), dx = rstd·(ĝ − mean_row(ĝ) − x̂·mean_row(ĝ·x̂)).
  decompose(inputs, a) {
    const [g, x] = inputs;
    let [, , mean, rstd] = inputs;
    const count = a.groups * a.rowSize / a.inner;
    let rows: Tensor;
    if (isGradEnabled()) {
      // Differentiated: the statistics must be traced back to x.
      [rows, mean, rstd] = rowStats(x, a);
    } else {
      rows = f32(x).reshape([-1, a.rowSize]);
      mean = mean.reshape([-1, 1]);
      rstd = rstd.reshape([-1, 1]);
    }
    const gr = f32(g).reshape([-1, a.rowSize]);
    const xhat = rows.sub(mean).mul(rstd);
    const gw = a.weight
      ? byParam(gr, a, count).mul(column(inputs[4], count)).reshape([-1, a.rowSize])
      : gr;
    const m1 = gw.mean(1, { keepdim: true }), m2 = gw.mul(xhat).mean(1, { keepdim: true });
    const dx = gw.sub(m1).sub(xhat.mul(m2)).mul(rstd).reshape([...x.shape]).cast(x.dtype);
    const out = [dx];
    if (a.weight) out.push(byParam(gr.mul(xhat), a, count).sum([0, 2]).cast(x.dtype));
    if (a.bias) out.push(byParam(gr, a, count).sum([0, 2]).cast(x.dtype));
    return out;
  },
};

/** The row-normalisation ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const layerNormOps: readonly OpDef<any>[] = [normRowsOp, normRowsBackwardOp];

/**
 * Runs `normRows`: y (x's shape and dtype), and each row's mean and rstd ([rows], float32).
 * `weight` and `bias` (x's dtype, groups·rowSize/inner elements) must be given exactly where
 * `attrs.weight` and `attrs.bias` say.
 */
export function normRows(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  attrs: NormRowsAttrs,
): [Tensor, Tensor, Tensor] {
  if (!!weight !== attrs.weight || !!bias !== attrs.bias) {
    throw new ValueError(
      `normRows: a weight and bias must be given exactly where attrs.weight (${attrs.weight}) ` +
        `and attrs.bias (${attrs.bias}) say`,
    );
  }
  const inputs = [x];
  if (weight) inputs.push(weight);
  if (bias) inputs.push(bias);
  const [y, mean, rstd] = apply(normRowsOp, inputs, attrs);
  return [y, mean, rstd];
}
