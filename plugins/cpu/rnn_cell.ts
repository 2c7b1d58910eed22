/**
 * cpu kernels of the fused LSTM and GRU cells (`lstmCell`, `lstmCellBackward`, `gruCell`,
 * `gruCellBackward`): one pass over the rows, each element's gates read from the `[R, 4H]` (`[R, 3H]`)
 * projections and computed in double precision (rounded once when stored), so a step costs one
 * kernel forward and one backward instead of a dozen elementwise ops each. The LSTM forward keeps
 * the activated gates (the workspace), so its backward computes only tanh(c') again; the GRU
 * backward recomputes its gates.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import { outputF32 } from "../../core/host_pool.ts";
import type { Tensor } from "../../core/mod.ts";
import {
  gruCellBackwardOp,
  gruCellOp,
  lstmCellBackwardOp,
  lstmCellOp,
} from "../../layers/ops/rnn_cell.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

// tanh with one exp (V8's Math.tanh costs about two); near 0 the series x − x³/3 avoids the
// cancellation in 1 − 2/(e^{2x} + 1). ±∞ give ±1 and NaN gives NaN, as Math.tanh.
function tanh(x: number): number {
  if (Math.abs(x) < 1e-4) return x - (x * x * x) / 3;
  return 1 - 2 / (Math.exp(2 * x) + 1);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// Rows and hidden size of a cell call: c is [..., H], so R = numel / H.
function dims(c: Tensor): [number, number] {
  const h = c.shape[c.ndim - 1];
  return [h === 0 ? 0 : c.numel() / h, h];
}

/**
 * h' = σ(o)·tanh(c') and c' = σ(f)·c + σ(i)·tanh(g) for dense gates [R, 4H] and c [R, H], and the
 * workspace [R, 4H] of activated gates σ(i), σ(f), tanh(g), σ(o).
 */
export function lstmCellForward(
  gates: Float32Array,
  c: Float32Array,
  rows: number,
  hidden: number,
): { h: Float32Array; c: Float32Array; workspace: Float32Array } {
  // Each kernel below writes every element of its outputs (pooled arrays are not zeroed).
  const h1 = outputF32(rows * hidden), c1 = outputF32(rows * hidden);
  const ws = outputF32(rows * 4 * hidden);
  for (let r = 0; r < rows; r++) {
    const g0 = r * 4 * hidden, o0 = r * hidden;
    for (let j = 0; j < hidden; j++) {
      const a = g0 + j, b = a + hidden, d = b + hidden, e = d + hidden;
      const i = (ws[a] = sigmoid(gates[a]));
      const f = (ws[b] = sigmoid(gates[b]));
      const g = (ws[d] = tanh(gates[d]));
      const o = (ws[e] = sigmoid(gates[e]));
      // h' from c' as stored (float32), as the decomposition computes it.
      const cn = (c1[o0 + j] = f * c[o0 + j] + i * g);
      h1[o0 + j] = o * tanh(cn);
    }
  }
  return { h: h1, c: c1, workspace: ws };
}

/**
 * The gradients of the gates' preactivation [R, 4H] and of c [R, H], from the workspace, c, c'
 * and the gradients of h' and/or c' (null where absent: zero). The activations are read as the
 * workspace stored them (float32), as the decomposition reads them.
 */
export function lstmCellBackward(
  ws: Float32Array,
  c: Float32Array,
  c1: Float32Array,
  dh: Float32Array | null,
  dc: Float32Array | null,
  rows: number,
  hidden: number,
): { dgates: Float32Array; dc: Float32Array } {
  const dgates = outputF32(rows * 4 * hidden), dcp = outputF32(rows * hidden);
  for (let r = 0; r < rows; r++) {
    const g0 = r * 4 * hidden, o0 = r * hidden;
    for (let j = 0; j < hidden; j++) {
      const a = g0 + j, b = a + hidden, d = b + hidden, e = d + hidden, k = o0 + j;
      const i = ws[a], f = ws[b], g = ws[d], o = ws[e];
      const tc = tanh(c1[k]);
      const gh = dh === null ? 0 : dh[k];
      const dct = (dc === null ? 0 : dc[k]) + gh * o * (1 - tc * tc);
      dgates[a] = dct * g * i * (1 - i);
      dgates[b] = dct * c[k] * f * (1 - f);
      dgates[d] = dct * i * (1 - g * g);
      dgates[e] = gh * tc * o * (1 - o);
      dcp[k] = dct * f;
    }
  }
  return { dgates, dc: dcp };
}

/** h' = n + z·(h − n), n = tanh(xn + r·hn), for dense xi, hh [R, 3H] and h [R, H]. */
export function gruCellForward(
  xi: Float32Array,
  hh: Float32Array,
  h: Float32Array,
  rows: number,
  hidden: number,
): Float32Array {
  const out = outputF32(rows * hidden);
  for (let row = 0; row < rows; row++) {
    const g0 = row * 3 * hidden, o0 = row * hidden;
    for (let j = 0; j < hidden; j++) {
      const a = g0 + j, b = a + hidden, d = b + hidden, k = o0 + j;
      const r = sigmoid(xi[a] + hh[a]), z = sigmoid(xi[b] + hh[b]);
      const n = tanh(xi[d] + r * hh[d]);
      out[k] = n + z * (h[k] - n);
    }
  }
  return out;
}

/** The gradients of xi [R, 3H], hh [R, 3H] and h [R, H] of a GRU step, given that of h'. */
export function gruCellBackward(
  xi: Float32Array,
  hh: Float32Array,
  h: Float32Array,
  gh: Float32Array,
  rows: number,
  hidden: number,
): { dxi: Float32Array; dhh: Float32Array; dh: Float32Array } {
  const dxi = outputF32(rows * 3 * hidden), dhh = outputF32(rows * 3 * hidden);
  const dh = outputF32(rows * hidden);
  for (let row = 0; row < rows; row++) {
    const g0 = row * 3 * hidden, o0 = row * hidden;
    for (let j = 0; j < hidden; j++) {
      const a = g0 + j, b = a + hidden, d = b + hidden, k = o0 + j;
      const r = sigmoid(xi[a] + hh[a]), z = sigmoid(xi[b] + hh[b]);
      const n = tanh(xi[d] + r * hh[d]);
      const g = gh[k];
      const dpn = g * (1 - z) * (1 - n * n);
      const dpz = g * (h[k] - n) * z * (1 - z);
      const dpr = dpn * hh[d] * r * (1 - r);
      dxi[a] = dhh[a] = dpr;
      dxi[b] = dhh[b] = dpz;
      dxi[d] = dpn;
      dhh[d] = dpn * r;
      dh[k] = g * z;
    }
  }
  return { dxi, dhh, dh };
}

/** Fused LSTM and GRU cell kernels of the cpu backend (float32; float16 through its wrapper). */
export const rnnCellKernels: CpuKernelTable = {
  ...kernelFor(lstmCellOp, {
    dtypes: ["float32"],
    run([gates, c]) {
      const [rows, hidden] = dims(c);
      const r = lstmCellForward(
        hostArray(gates, "float32"),
        hostArray(c, "float32"),
        rows,
        hidden,
      );
      return [r.h, r.c, r.workspace];
    },
  }),
  ...kernelFor(lstmCellBackwardOp, {
    dtypes: ["float32"],
    run(inputs, a) {
      const [ws, c, c1] = inputs;
      const [rows, hidden] = dims(c);
      const r = lstmCellBackward(
        hostArray(ws, "float32"),
        hostArray(c, "float32"),
        hostArray(c1, "float32"),
        a.dh ? hostArray(inputs[3], "float32") : null,
        a.dc ? hostArray(inputs[3 + Number(a.dh)], "float32") : null,
        rows,
        hidden,
      );
      return [r.dgates, r.dc];
    },
  }),
  ...kernelFor(gruCellOp, {
    dtypes: ["float32"],
    run([xi, hh, h]) {
      const [rows, hidden] = dims(h);
      const f = (t: Tensor) => hostArray(t, "float32");
      return [gruCellForward(f(xi), f(hh), f(h), rows, hidden)];
    },
  }),
  ...kernelFor(gruCellBackwardOp, {
    dtypes: ["float32"],
    run([xi, hh, h, gh]) {
      const [rows, hidden] = dims(h);
      const f = (t: Tensor) => hostArray(t, "float32");
      const r = gruCellBackward(f(xi), f(hh), f(h), f(gh), rows, hidden);
      return [r.dxi, r.dhh, r.dh];
    },
  }),
};
