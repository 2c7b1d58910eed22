/**
 * The fused recurrent cell ops. `lstmCell`: from the gates' preactivation `[…, 4H]`
 * (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh, gates i, f, g, o in PyTorch's order) and the cell state
 * `c […, H]` it gives `h' = σ(o)·tanh(c')` and `c' = σ(f)·c + σ(i)·tanh(g)` in one kernel, and its
 * backward (the `lstmCellBackward` op, which reads the activated gates the forward kept) in one
 * more, instead of a dozen elementwise ops each way. `gruCell` does the same for a GRU step from
 * the input and hidden projections and h (its backward, `gruCellBackward`, recomputes the gates).
 * Every op decomposes into core ops, so a backend without the kernels (or a dtype a kernel
 * declines) still runs them, and with `createGraph` the backwards run as their decompositions, so
 * second derivatives work. Defined by the rnn plugin's manifest (`layers/rnn.ts`).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../rnn.ts";
 * import { randn } from "../../core/mod.ts";
 * import { lstmCell } from "./rnn_cell.ts";
 * const [h, c] = lstmCell(randn([2, 12]), randn([2, 3]));
 * console.log(h.shape, c.shape); // [2, 3] [2, 3]
 * ```
 *
 * @module
 */

import {
  apply,
  cat,
  chunk,
  DTypeError,
  isFloating,
  sameShape,
  ShapeError,
  shapeStr,
  zerosLike,
} from "../../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";
import { arity, tensorArg } from "../_validate.ts";

/** Attributes of the fused LSTM cell op (it has none). */
export type LstmCellAttrs = Record<string, never>;

/** Attributes of the LSTM cell's backward op: which output gradients are among its inputs. */
export interface LstmCellBackwardAttrs {
  /** Whether the gradient of h' is an input (after the workspace, c and c'). */
  dh: boolean;
  /** Whether the gradient of c' is an input (after the gradient of h', if any). */
  dc: boolean;
}

// Checks gates [..., k·H] against a state [..., H] (same dtype, floating, same leading dims).
function checkCell(
  op: string,
  gates: Tensor,
  c: Tensor,
  k = 4,
  what = "gates",
  state = "cell state",
): void {
  if (!isFloating(gates.dtype) || gates.dtype !== c.dtype) {
    throw new DTypeError(
      `${op}: expected floating-point ${what} and ${state} of one dtype, got ${gates.dtype} and ` +
        `${c.dtype}`,
    );
  }
  const h = c.ndim === 0 ? 0 : c.shape[c.ndim - 1];
  if (
    c.ndim === 0 || gates.ndim !== c.ndim || gates.shape[gates.ndim - 1] !== k * h ||
    !sameShape(gates.shape.slice(0, -1), c.shape.slice(0, -1))
  ) {
    throw new ShapeError(
      `${op}: expected ${what} [..., ${k}·H] and ${state} [..., H] with the same leading ` +
        `dimensions, got ${what} ${shapeStr(gates.shape)} and ${state} ${shapeStr(c.shape)}`,
    );
  }
}

// Checks that each of `ts` has `like`'s shape and dtype.
function checkLike(op: string, names: string, like: Tensor, ts: readonly Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== like.dtype || !sameShape(t.shape, like.shape)) {
      throw new ShapeError(
        `${op}: ${names} must be ${shapeStr(like.shape)} ${like.dtype}, got ${shapeStr(t.shape)} ` +
          `${t.dtype}`,
      );
    }
  }
}

const sig1 = (s: Tensor): Tensor => s.mul(s.neg().add(1)); // σ' from σ: σ(1 − σ)
const tanh1 = (t: Tensor): Tensor => t.mul(t).neg().add(1); // tanh' from tanh: 1 − tanh²

/**
 * The LSTM cell's backward (`"lstmCellBackward"`): inputs the forward's workspace (the activated
 * gates σ(i), σ(f), tanh(g), σ(o), `[…, 4H]`), c, c' and the gradients of h' and/or c' (as the
 * attributes say); outputs the gradients of the gates' preactivation and of c. Not differentiable
 * itself: with `createGraph` it runs as its decomposition, whose ops are.
 */
export const lstmCellBackwardOp: OpDef<LstmCellBackwardAttrs> = {
  name: "lstmCellBackward",
  family: "lstmCell",
  infer(inputs, a): TensorSpec[] {
    const given = 3 + Number(a.dh) + Number(a.dc);
    if (inputs.length !== given || !(a.dh || a.dc)) {
      throw new ShapeError(
        `lstmCellBackward: expected the workspace, c, c' and at least one of dh, dc (${given} ` +
          `inputs), got ${inputs.length}`,
      );
    }
    const [ws, c] = inputs;
    checkCell("lstmCellBackward", ws, c, 4, "workspace");
    checkLike("lstmCellBackward", "c', dh and dc", c, inputs.slice(2));
    return [
      { shape: [...ws.shape], dtype: ws.dtype },
      { shape: [...c.shape], dtype: c.dtype },
    ];
  },
  // dc_total = dc + dh·σ(o)·(1 − tanh²c'); the preactivations' gradients follow from it.
  decompose(inputs, a): Tensor[] {
    const [ws, c, c1] = inputs;
    const dh = a.dh ? inputs[3] : null, dc = a.dc ? inputs[3 + Number(a.dh)] : null;
    const [i, f, g, o] = chunk(ws, 4, -1);
    const tc = c1.tanh();
    let dct = dc, dgo: Tensor;
    if (dh) {
      const viaH = dh.mul(o).mul(tanh1(tc));
      dct = dct ? dct.add(viaH) : viaH;
      dgo = dh.mul(tc).mul(sig1(o));
    } else dgo = zerosLike(c);
    const d = dct!;
    const dgates = cat([
      d.mul(g).mul(sig1(i)),
      d.mul(c).mul(sig1(f)),
      d.mul(i).mul(tanh1(g)),
      dgo,
    ], -1);
    return [dgates, d.mul(f)];
  },
};

/**
 * The fused LSTM cell (`"lstmCell"`): inputs the gates' preactivation `[…, 4H]` (i, f, g, o) and
 * the cell state `[…, H]`; outputs h', c' and a workspace, the activated gates `[…, 4H]` its
 * backward reads (as PyTorch's fused cell). Its gradient is one `lstmCellBackward`.
 */
export const lstmCellOp: OpDef<LstmCellAttrs> = {
  name: "lstmCell",
  savesOutputs: true,
  infer(inputs): TensorSpec[] {
    if (inputs.length !== 2) {
      throw new ShapeError(`lstmCell: expected 2 inputs (gates, c), got ${inputs.length}`);
    }
    const [gates, c] = inputs;
    checkCell("lstmCell", gates, c);
    return [
      { shape: [...c.shape], dtype: c.dtype },
      { shape: [...c.shape], dtype: c.dtype },
      { shape: [...gates.shape], dtype: gates.dtype },
    ];
  },
  grad(ctx, _g, gs) {
    const [dh, dc, dws] = gs;
    const c = ctx.inputs[1], [, c1, ws] = ctx.outputs;
    let dgates: Tensor | null = null, dcPrev: Tensor | null = null;
    if (dh || dc) {
      const given = [ws, c, c1];
      if (dh) given.push(dh);
      if (dc) given.push(dc);
      [dgates, dcPrev] = apply(lstmCellBackwardOp, given, { dh: !!dh, dc: !!dc });
    }
    // The workspace is an output too: a gradient reaches it only where it was used (it is under
    // createGraph, through the backward's decomposition).
    if (dws) {
      const [i, f, g, o] = chunk(ws, 4, -1);
      const viaWs = dws.mul(cat([sig1(i), sig1(f), tanh1(g), sig1(o)], -1));
      dgates = dgates ? dgates.add(viaWs) : viaWs;
    }
    return [ctx.needsInputGrad[0] ? dgates : null, ctx.needsInputGrad[1] ? dcPrev : null];
  },
  decompose([gates, c]): Tensor[] {
    const [gi, gf, gg, go] = chunk(gates, 4, -1);
    const i = gi.sigmoid(), f = gf.sigmoid(), g = gg.tanh(), o = go.sigmoid();
    const c1 = f.mul(c).add(i.mul(g));
    return [o.mul(c1.tanh()), c1, cat([i, f, g, o], -1)];
  },
};

/** Attributes of the fused GRU cell op and of its backward (they have none). */
export type GruCellAttrs = Record<string, never>;

// r, z, n and h' of a GRU step from xi [..., 3H], hh [..., 3H] and h [..., H] (PyTorch's formulas).
function gruGates(xi: Tensor, hh: Tensor, h: Tensor): [Tensor, Tensor, Tensor, Tensor, Tensor] {
  const [xr, xz, xn] = chunk(xi, 3, -1);
  const [hr, hz, hn] = chunk(hh, 3, -1);
  const r = xr.add(hr).sigmoid(), z = xz.add(hz).sigmoid();
  const n = xn.add(r.mul(hn)).tanh();
  // h' = (1 − z)·n + z·h = n + z·(h − n)
  return [r, z, n, hn, n.add(z.mul(h.sub(n)))];
}

function checkGru(op: string, inputs: readonly Tensor[], count: number, names: string): void {
  if (inputs.length !== count) {
    throw new ShapeError(`${op}: expected ${count} inputs (${names}), got ${inputs.length}`);
  }
  const [xi, hh, h] = inputs;
  checkCell(op, xi, h, 3, "input projection", "hidden state");
  checkLike(op, "the hidden projection", xi, [hh]);
  checkLike(op, "the hidden state's gradient", h, inputs.slice(3));
}

/**
 * The GRU cell's backward (`"gruCellBackward"`): inputs xi, hh, h (as the forward) and the gradient
 * of h'; outputs the gradients of xi, hh and h. It recomputes the gates. Not differentiable itself:
 * with `createGraph` it runs as its decomposition, whose ops are.
 */
export const gruCellBackwardOp: OpDef<GruCellAttrs> = {
  name: "gruCellBackward",
  family: "gruCell",
  infer(inputs): TensorSpec[] {
    checkGru("gruCellBackward", inputs, 4, "xi, hh, h, dh");
    return inputs.slice(0, 3).map((t) => ({ shape: [...t.shape], dtype: t.dtype }));
  },
  // dn = dh'·(1 − z), dz = dh'·(h − n), dh = dh'·z; then through tanh and σ to the projections
  // (hh's n part is scaled by r, and r's gradient comes through hn).
  decompose([xi, hh, h, gh]): Tensor[] {
    const [r, z, n, hn] = gruGates(xi, hh, h);
    const dpn = gh.mul(z.neg().add(1)).mul(tanh1(n));
    const dpz = gh.mul(h.sub(n)).mul(sig1(z));
    const dpr = dpn.mul(hn).mul(sig1(r));
    return [cat([dpr, dpz, dpn], -1), cat([dpr, dpz, dpn.mul(r)], -1), gh.mul(z)];
  },
};

/**
 * The fused GRU cell (`"gruCell"`): inputs the input projection `xi […, 3H]` (x·W_ihᵀ + b_ih),
 * the hidden projection `hh […, 3H]` (h·W_hhᵀ + b_hh), gates r, z, n in PyTorch's order, and the
 * hidden state `h […, H]`; outputs h'. Its gradient is one `gruCellBackward`.
 */
export const gruCellOp: OpDef<GruCellAttrs> = {
  name: "gruCell",
  infer(inputs): TensorSpec[] {
    checkGru("gruCell", inputs, 3, "xi, hh, h");
    return [{ shape: [...inputs[2].shape], dtype: inputs[2].dtype }];
  },
  grad(ctx, g) {
    const grads = apply(gruCellBackwardOp, [...ctx.inputs, g], {});
    return grads.map((d, i) => (ctx.needsInputGrad[i] ? d : null));
  },
  decompose([xi, hh, h]): Tensor[] {
    return [gruGates(xi, hh, h)[4]];
  },
};

/** The rnn plugin's ops, for its manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const rnnCellOps: readonly OpDef<any>[] = [
  lstmCellOp,
  lstmCellBackwardOp,
  gruCellOp,
  gruCellBackwardOp,
];

/**
 * One LSTM step after the matrix products: from the gates' preactivation `gates [N, 4H]` (the
 * input and hidden projections with both biases, gates in PyTorch's order i, f, g, o) and the cell
 * state `c [N, H]`, returns `[h', c']` (any leading dimensions work, the same for both). One fused
 * kernel forward and one backward where the backend has them, else core ops.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../rnn.ts";
 * import { tensor, zeros } from "../../core/mod.ts";
 * import { lstmCell } from "./rnn_cell.ts";
 * // i = f = o = σ(0) = 0.5, g = tanh(0) = 0: c' = 0.5·c, h' = 0.5·tanh(c').
 * const [h, c] = lstmCell(zeros([1, 4]), tensor([[2]]));
 * console.log(c.toArraySync()); // [[1]]
 * ```
 */
export function lstmCell(gates: Tensor, c: Tensor): [Tensor, Tensor] {
  arity("lstmCell", arguments, 2);
  tensorArg("lstmCell", "gates", gates);
  tensorArg("lstmCell", "c", c);
  const [h1, c1] = apply(lstmCellOp, [gates, c], {});
  return [h1, c1];
}

/**
 * One GRU step after the matrix products: from the input projection `xi [N, 3H]` (x·W_ihᵀ + b_ih),
 * the hidden projection `hh [N, 3H]` (h·W_hhᵀ + b_hh), gates in PyTorch's order r, z, n, and the
 * hidden state `h [N, H]`, returns h' = (1 − z)·n + z·h with n = tanh(xi_n + r·hh_n) (any leading
 * dimensions work, the same for all three). One fused kernel forward and one backward where the
 * backend has them, else core ops.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../rnn.ts";
 * import { tensor, zeros } from "../../core/mod.ts";
 * import { gruCell } from "./rnn_cell.ts";
 * // r = z = σ(0) = 0.5, n = tanh(0) = 0: h' = 0.5·h.
 * console.log(gruCell(zeros([1, 3]), zeros([1, 3]), tensor([[4]])).toArraySync()); // [[2]]
 * ```
 */
export function gruCell(xi: Tensor, hh: Tensor, h: Tensor): Tensor {
  arity("gruCell", arguments, 3);
  tensorArg("gruCell", "xi", xi);
  tensorArg("gruCell", "hh", hh);
  tensorArg("gruCell", "h", h);
  return apply(gruCellOp, [xi, hh, h], {})[0];
}
