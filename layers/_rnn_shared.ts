/**
 * The recurrence shared by the recurrent layers and cells of rnn.ts (`_rnn_layers.ts`,
 * `_rnn_cells.ts`): the gate counts, the input projection, one step of each mode, the parameter
 * initialisation, the input and state checks, and the LSTM state argument. Private to layers/.
 *
 * @module
 */

import {
  DTypeError,
  isFloating,
  mm,
  sameShape,
  ShapeError,
  shapeStr,
  Tensor,
  ValueError,
  zeros,
} from "../core/mod.ts";
import * as init from "./init.ts";
import { linear } from "./linear.ts";
import { gruCell, lstmCell } from "./ops/rnn_cell.ts";
import { knownKeys, show, tensorArg } from "./_validate.ts";

export type Mode = "tanh" | "relu" | "LSTM" | "GRU";

export const GATES: Record<Mode, number> = { tanh: 1, relu: 1, LSTM: 4, GRU: 3 };

export interface CellWeights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
  whr: Tensor | null;
}

// x·W_ihᵀ + b_ih for x [..., I], plus b_hh except for a GRU (whose b_hn is inside r·(…)): the input
// projection of a whole sequence is one matrix product, and both biases are added there once.
export function inputProjection(mode: Mode, x: Tensor, w: CellWeights): Tensor {
  const bias = mode === "GRU" || !w.bhh ? w.bih : w.bih ? w.bih.add(w.bhh) : w.bhh;
  return linear(x, w.wih, bias);
}

// One step of the recurrence: `xi` is this step's input projection [N, G·H] (inputProjection), `h`
// and `c` the state [N, ·]. An LSTM step is the product h·W_hhᵀ, one add and the fused cell op; a
// GRU step the product with its bias and the fused cell op.
export function step(
  mode: Mode,
  xi: Tensor,
  h: Tensor,
  c: Tensor | null,
  w: CellWeights,
): [Tensor, Tensor | null] {
  switch (mode) {
    case "tanh":
      return [xi.add(mm(h, w.whh, false, true)).tanh(), null];
    case "relu":
      return [xi.add(mm(h, w.whh, false, true)).relu(), null];
    case "LSTM": {
      const [h1, c1] = lstmCell(xi.add(mm(h, w.whh, false, true)), c!);
      return [w.whr ? mm(h1, w.whr, false, true) : h1, c1];
    }
    case "GRU":
      return [gruCell(xi, linear(h, w.whh, w.bhh), h), null];
  }
}

export function initUniform(shape: number[], hidden: number): Tensor {
  const k = 1 / Math.sqrt(hidden);
  return init.uniform_(zeros(shape), -k, k);
}

export function checkFloat(fn: string, name: string, t: Tensor, like?: Tensor): void {
  if (!isFloating(t.dtype) || (like && t.dtype !== like.dtype)) {
    throw new DTypeError(
      `${fn}: ${name} must be floating point${
        like ? ` like the input (${like.dtype})` : ""
      }, got ${t.dtype}`,
    );
  }
}

export function checkState(
  fn: string,
  name: string,
  t: Tensor,
  want: number[],
  input: Tensor,
): void {
  checkFloat(fn, name, t, input);
  if (!sameShape(t.shape, want)) {
    throw new ShapeError(
      `${fn}: expected ${name} of shape ${shapeStr(want)} for input ${shapeStr(input.shape)}, got ${
        shapeStr(t.shape)
      }`,
    );
  }
}

/** The initial state of an LSTM: PyTorch's tuple `[h0, c0]` or `{ h, c }`. */
export type LSTMState = readonly [Tensor, Tensor] | { h: Tensor; c: Tensor };

export function lstmState(fn: string, hx: unknown): [Tensor | null, Tensor | null] {
  if (hx === undefined || hx === null) return [null, null];
  let pair: unknown[] | null = null;
  if (Array.isArray(hx) && hx.length === 2) pair = hx;
  else if (typeof hx === "object" && !Array.isArray(hx) && !(hx instanceof Tensor)) {
    knownKeys(fn, hx, ["h", "c"]);
    pair = [(hx as { h: unknown }).h, (hx as { c: unknown }).c];
  }
  if (!pair) {
    throw new ValueError(`${fn}: the initial state must be [h0, c0] or { h, c }, got ${show(hx)}`);
  }
  return [tensorArg(fn, "h0", pair[0]), tensorArg(fn, "c0", pair[1])];
}
