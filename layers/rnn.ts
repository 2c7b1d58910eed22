/**
 * Recurrent layers with PyTorch's parameters, state-dict keys and gate order: `RNN`, `LSTM` (with
 * `projSize`), `GRU` (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `weight_hr_l0`,
 * `…_reverse`, `…_l1`), and the cells `RNNCell`, `LSTMCell`, `GRUCell` (`weight_ih`, `weight_hh`,
 * `bias_ih`, `bias_hh`), so PyTorch weights load unchanged. The input projection of a whole
 * sequence is one matrix product (with both biases), taken apart over time by `unbind` (one
 * autograd node); each LSTM step is then a product, an add and the fused `lstmCell` op (one kernel
 * each way where the backend has it, core ops elsewhere), each GRU step a product with its bias and
 * the fused `gruCell` op, each RNN step a product, an add and the nonlinearity, so every backend
 * runs and differentiates the recurrence.
 *
 * @example
 * ```ts
 * import { GRU, LSTM } from "./rnn.ts";
 * import { randn } from "../mod.ts";
 * const lstm = new LSTM(3, 8, { numLayers: 2, batchFirst: true });
 * const { output, h, c } = lstm.forward(randn([4, 10, 3])); // [batch, time, features]
 * console.log(output.shape, h.shape, c.shape); // [4, 10, 8] [2, 4, 8] [2, 4, 8]
 * const gru = new GRU(3, 5, { bidirectional: true });
 * console.log(gru.forward(randn([10, 4, 3])).output.shape); // [10, 4, 10]
 * ```
 *
 * @module
 */

import {
  cat,
  definePlugin,
  DTypeError,
  Generator,
  isFloating,
  mm,
  Module,
  sameShape,
  ShapeError,
  shapeStr,
  stack,
  Tensor,
  unbind,
  use,
  ValueError,
  zeros,
} from "../core/mod.ts";
import type { Plugin } from "../core/mod.ts";
import * as init from "./init.ts";
import { linear } from "./linear.ts";
import { dropout as dropoutFn } from "./dropout.ts";
import { gruCell, lstmCell, rnnCellOps } from "./ops/rnn_cell.ts";
import {
  bool,
  fail,
  int,
  knownKeys,
  oneOf,
  optionalTensor,
  probability,
  show,
  tensorArg,
} from "./_validate.ts";

type Mode = "tanh" | "relu" | "LSTM" | "GRU";

const GATES: Record<Mode, number> = { tanh: 1, relu: 1, LSTM: 4, GRU: 3 };

interface CellWeights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
  whr: Tensor | null;
}

// x·W_ihᵀ + b_ih for x [..., I], plus b_hh except for a GRU (whose b_hn is inside r·(…)): the input
// projection of a whole sequence is one matrix product, and both biases are added there once.
function inputProjection(mode: Mode, x: Tensor, w: CellWeights): Tensor {
  const bias = mode === "GRU" || !w.bhh ? w.bih : w.bih ? w.bih.add(w.bhh) : w.bhh;
  return linear(x, w.wih, bias);
}

// One step of the recurrence: `xi` is this step's input projection [N, G·H] (inputProjection), `h`
// and `c` the state [N, ·]. An LSTM step is the product h·W_hhᵀ, one add and the fused cell op; a
// GRU step the product with its bias and the fused cell op.
function step(
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

function initUniform(shape: number[], hidden: number): Tensor {
  const k = 1 / Math.sqrt(hidden);
  return init.uniform_(zeros(shape), -k, k);
}

function checkFloat(fn: string, name: string, t: Tensor, like?: Tensor): void {
  if (!isFloating(t.dtype) || (like && t.dtype !== like.dtype)) {
    throw new DTypeError(
      `${fn}: ${name} must be floating point${
        like ? ` like the input (${like.dtype})` : ""
      }, got ${t.dtype}`,
    );
  }
}

function checkState(fn: string, name: string, t: Tensor, want: number[], input: Tensor): void {
  checkFloat(fn, name, t, input);
  if (!sameShape(t.shape, want)) {
    throw new ShapeError(
      `${fn}: expected ${name} of shape ${shapeStr(want)} for input ${shapeStr(input.shape)}, got ${
        shapeStr(t.shape)
      }`,
    );
  }
}

// ---------------------------------------------------------------- RNN, LSTM, GRU

/** Options of {@linkcode RNN}, {@linkcode LSTM} and {@linkcode GRU}. */
export interface RNNBaseOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Learn the biases b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output are [N, L, ·] instead of [L, N, ·] (states stay [D·numLayers, N, ·]). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training (default 0). */
  dropout?: number;
  /** Run a second, reversed recurrence per layer and concatenate (default false). */
  bidirectional?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
  /** Generator of the dropout masks (default: the global one). */
  generator?: Generator;
}

/** Options of {@linkcode RNN}. */
export interface RNNOptions extends RNNBaseOptions {
  /** Nonlinearity: "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
}

/** Options of {@linkcode LSTM}. */
export interface LSTMOptions extends RNNBaseOptions {
  /** Project h to this size with `weight_hr_l*` (0, the default, for none; < hiddenSize). */
  projSize?: number;
}

/** Result of {@linkcode RNN.forward} and {@linkcode GRU.forward}. */
export interface RNNOutput {
  /** Last layer's h at every step: [L, N, D·Hout] ([N, L, ·] batch-first, [L, ·] unbatched). */
  output: Tensor;
  /** Final h of every layer and direction: [D·numLayers, N, Hout] ([D·numLayers, Hout] unbatched). */
  h: Tensor;
}

/** Result of {@linkcode LSTM.forward}. */
export interface LSTMOutput extends RNNOutput {
  /** Final cell state of every layer and direction: [D·numLayers, N, H]. */
  c: Tensor;
}

/** The initial state of an LSTM: PyTorch's tuple `[h0, c0]` or `{ h, c }`. */
export type LSTMState = readonly [Tensor, Tensor] | { h: Tensor; c: Tensor };

const BASE_KEYS = [
  "numLayers",
  "bias",
  "batchFirst",
  "dropout",
  "bidirectional",
  "device",
  "generator",
] as const;

/** Shared implementation of {@linkcode RNN}, {@linkcode LSTM} and {@linkcode GRU}. */
export abstract class RNNBase<
  H = Tensor,
  O extends RNNOutput = RNNOutput,
> extends Module<[input: Tensor, hx?: H | null], O> {
  /** Features of the input. */
  readonly inputSize: number;
  /** Features of the hidden state H (of the cell state, for an LSTM with projSize). */
  readonly hiddenSize: number;
  /** Stacked layers. */
  readonly numLayers: number;
  /** Whether b_ih and b_hh are learnt. */
  readonly bias: boolean;
  /** Whether input and output are batch-first. */
  readonly batchFirst: boolean;
  /** Dropout between layers in training. */
  readonly dropout: number;
  /** Whether each layer also runs backwards. */
  readonly bidirectional: boolean;
  /** Size of the projected h (LSTM), or 0. */
  readonly projSize: number;
  #mode: Mode;
  #name: string;
  #generator: Generator | undefined;

  /** Validates the options and creates the parameters in PyTorch's order. */
  protected constructor(
    name: string,
    mode: Mode,
    inputSize: number,
    hiddenSize: number,
    options: RNNBaseOptions & { projSize?: number },
    keys: readonly string[],
  ) {
    super();
    this.#name = name;
    this.#mode = mode;
    knownKeys(name, options, keys);
    this.inputSize = int(name, "inputSize", inputSize);
    this.hiddenSize = int(name, "hiddenSize", hiddenSize);
    this.numLayers = options.numLayers === undefined
      ? 1
      : int(name, "numLayers", options.numLayers);
    this.bias = bool(name, "bias", options.bias, true);
    this.batchFirst = bool(name, "batchFirst", options.batchFirst, false);
    this.dropout = options.dropout === undefined
      ? 0
      : probability(name, "dropout", options.dropout);
    this.bidirectional = bool(name, "bidirectional", options.bidirectional, false);
    this.projSize = options.projSize === undefined ? 0 : int(name, "projSize", options.projSize, 0);
    if (this.projSize >= hiddenSize) {
      fail(name, "projSize", `must be smaller than hiddenSize (${hiddenSize})`, this.projSize);
    }
    if (options.generator !== undefined && !(options.generator instanceof Generator)) {
      fail(name, "generator", "must be a Generator", options.generator);
    }
    this.#generator = options.generator;
    const g = GATES[mode] * hiddenSize, out = this.projSize || hiddenSize;
    const dirs = this.bidirectional ? 2 : 1;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${layer}${d ? "_reverse" : ""}`;
        const inF = layer === 0 ? inputSize : out * dirs;
        this.registerParameter(`weight_ih${sfx}`, initUniform([g, inF], hiddenSize));
        this.registerParameter(`weight_hh${sfx}`, initUniform([g, out], hiddenSize));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, initUniform([g], hiddenSize));
          this.registerParameter(`bias_hh${sfx}`, initUniform([g], hiddenSize));
        }
        if (this.projSize) {
          this.registerParameter(
            `weight_hr${sfx}`,
            initUniform([this.projSize, hiddenSize], hiddenSize),
          );
        }
      }
    }
    if (options.device && options.device !== "cpu") this.to(options.device);
  }

  #param(name: string): Tensor | null {
    return ((this as unknown as Record<string, Tensor | undefined>)[name]) ?? null;
  }

  #weights(layer: number, d: number): CellWeights {
    const sfx = `_l${layer}${d ? "_reverse" : ""}`;
    return {
      wih: this.#param(`weight_ih${sfx}`)!,
      whh: this.#param(`weight_hh${sfx}`)!,
      bih: this.#param(`bias_ih${sfx}`),
      bhh: this.#param(`bias_hh${sfx}`),
      whr: this.#param(`weight_hr${sfx}`),
    };
  }

  /** Runs the layers; `h0`/`c0` are checked [D·numLayers, N, ·] or null. */
  protected run(input: Tensor, h0: Tensor | null, c0: Tensor | null): LSTMOutput {
    const fn = `${this.#name}.forward`;
    const lstm = this.#mode === "LSTM";
    const dirs = this.bidirectional ? 2 : 1;
    const hOut = this.projSize || this.hiddenSize;
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new ShapeError(
        `${fn}: expected input of 3 dimensions ${
          this.batchFirst ? "[N, L, inputSize]" : "[L, N, inputSize]"
        } or 2 (unbatched [L, inputSize]), got ${shapeStr(input.shape)}`,
      );
    }
    checkFloat(fn, "input", input);
    if (input.shape[input.ndim - 1] !== this.inputSize) {
      throw new ShapeError(
        `${fn}: input ${
          shapeStr(input.shape)
        } must have ${this.inputSize} features (inputSize) in its last dimension`,
      );
    }
    const batched = input.ndim === 3;
    let x = !batched ? input.unsqueeze(1) : this.batchFirst ? input.transpose(0, 1) : input;
    const [len, n] = x.shape;
    if (len === 0) {
      throw new ShapeError(
        `${fn}: expected a sequence length larger than 0, got input ${shapeStr(input.shape)}`,
      );
    }
    const states = dirs * this.numLayers;
    const want = (f: number) => (batched ? [states, n, f] : [states, f]);
    if (h0) checkState(fn, lstm ? "h0" : "hx", h0, want(hOut), input);
    if (c0) checkState(fn, "c0", c0, want(this.hiddenSize), input);
    const opts = { dtype: x.dtype, device: x.device };
    const h0b = h0 ? (batched ? h0 : h0.unsqueeze(1)) : zeros([states, n, hOut], opts);
    const c0b = !lstm ? null : c0 ? (batched ? c0 : c0.unsqueeze(1)) : zeros(
      [states, n, this.hiddenSize],
      opts,
    );
    const hn: Tensor[] = [], cn: Tensor[] = [];
    // unbind: one autograd node per sequence, whose backward stacks the steps' gradients once.
    const h0s = unbind(h0b, 0), c0s = c0b && unbind(c0b, 0);
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const w = this.#weights(layer, d);
        const xs = unbind(inputProjection(this.#mode, x, w), 0); // L steps of [N, G·H]
        let h = h0s[layer * dirs + d];
        let c = c0s ? c0s[layer * dirs + d] : null;
        const ys: Tensor[] = new Array(len);
        for (let s = 0; s < len; s++) {
          const t = d ? len - 1 - s : s;
          [h, c] = step(this.#mode, xs[t], h, c, w);
          ys[t] = h;
        }
        outs.push(stack(ys, 0));
        hn.push(h);
        if (c) cn.push(c);
      }
      x = dirs === 2 ? cat(outs, -1) : outs[0];
      if (this.training && this.dropout > 0 && layer < this.numLayers - 1) {
        x = dropoutFn(x, this.dropout, true, this.#generator ? { generator: this.#generator } : {});
      }
    }
    let h = stack(hn, 0), c = lstm ? stack(cn, 0) : null;
    if (!batched) {
      x = x.squeeze(1);
      h = h.squeeze(1);
      c = c && c.squeeze(1);
    } else if (this.batchFirst) x = x.transpose(0, 1);
    return { output: x, h, c: c! };
  }
}

/**
 * Elman RNN, PyTorch's `nn.RNN`: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh) (or relu).
 * `forward(input, hx?)` gives `{ output, h }`.
 *
 * @example
 * ```ts
 * import { RNN } from "./rnn.ts";
 * import { randn } from "../mod.ts";
 * const rnn = new RNN(4, 6, { nonlinearity: "relu" });
 * const { output, h } = rnn.forward(randn([7, 2, 4]));
 * console.log(output.shape, h.shape); // [7, 2, 6] [1, 2, 6]
 * ```
 */
export class RNN extends RNNBase {
  /** The nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";

  /** Creates the layer for `inputSize` features and hidden size `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const nl = oneOf("RNN", "nonlinearity", options?.nonlinearity, ["tanh", "relu"] as const);
    super("RNN", nl, inputSize, hiddenSize, options, [...BASE_KEYS, "nonlinearity"]);
    this.nonlinearity = nl;
  }

  /** Runs the sequence; `hx` [D·numLayers, N, H] defaults to zeros. */
  forward(input: Tensor, hx?: Tensor | null): RNNOutput {
    tensorArg("RNN.forward", "input", input);
    const { output, h } = this.run(input, optionalTensor("RNN.forward", "hx", hx), null);
    return { output, h };
  }
}

/**
 * Long short-term memory, PyTorch's `nn.LSTM` (gates i, f, g, o in that order in the weights;
 * `projSize` projects h with `weight_hr_l*`). `forward(input, [h0, c0]?)` gives
 * `{ output, h, c }` (PyTorch's `output, (h_n, c_n)`).
 *
 * @example
 * ```ts
 * import { LSTM } from "./rnn.ts";
 * import { randn, zeros } from "../mod.ts";
 * const lstm = new LSTM(4, 6, { projSize: 3 });
 * const { output, h, c } = lstm.forward(randn([7, 2, 4]), [zeros([1, 2, 3]), zeros([1, 2, 6])]);
 * console.log(output.shape, h.shape, c.shape); // [7, 2, 3] [1, 2, 3] [1, 2, 6]
 * ```
 */
export class LSTM extends RNNBase<LSTMState, LSTMOutput> {
  /** Creates the layer for `inputSize` features and hidden size `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super("LSTM", "LSTM", inputSize, hiddenSize, options, [...BASE_KEYS, "projSize"]);
  }

  /** Runs the sequence; the initial state `[h0, c0]` (or `{ h, c }`) defaults to zeros. */
  forward(input: Tensor, hx?: LSTMState | null): LSTMOutput {
    const fn = "LSTM.forward";
    tensorArg(fn, "input", input);
    const [h0, c0] = lstmState(fn, hx);
    return this.run(input, h0, c0);
  }
}

function lstmState(fn: string, hx: unknown): [Tensor | null, Tensor | null] {
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

/**
 * Gated recurrent unit, PyTorch's `nn.GRU` (gates r, z, n in that order in the weights;
 * n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h' = (1 − z)·n + z·h). `forward(input, hx?)` gives
 * `{ output, h }`.
 *
 * @example
 * ```ts
 * import { GRU } from "./rnn.ts";
 * import { randn } from "../mod.ts";
 * const gru = new GRU(4, 6, { numLayers: 2 });
 * console.log(gru.forward(randn([7, 4])).h.shape); // [2, 6] (unbatched)
 * ```
 */
export class GRU extends RNNBase {
  /** Creates the layer for `inputSize` features and hidden size `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super("GRU", "GRU", inputSize, hiddenSize, options, BASE_KEYS);
  }

  /** Runs the sequence; `hx` [D·numLayers, N, H] defaults to zeros. */
  forward(input: Tensor, hx?: Tensor | null): RNNOutput {
    tensorArg("GRU.forward", "input", input);
    const { output, h } = this.run(input, optionalTensor("GRU.forward", "hx", hx), null);
    return { output, h };
  }
}

// ---------------------------------------------------------------- cells

/** Options of {@linkcode RNNCell}, {@linkcode LSTMCell} and {@linkcode GRUCell}. */
export interface RNNCellOptions {
  /** Learn the biases b_ih and b_hh (default true). */
  bias?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Options of {@linkcode RNNCell}. */
export interface RNNCellLayerOptions extends RNNCellOptions {
  /** Nonlinearity: "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
}

interface CellConfig {
  name: string;
  mode: Mode;
  inputSize: number;
  hiddenSize: number;
}

// Creates a cell's parameters (PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh).
function cellInit(m: Module, c: CellConfig, options: RNNCellOptions, keys: string[]): void {
  knownKeys(c.name, options, keys);
  int(c.name, "inputSize", c.inputSize);
  int(c.name, "hiddenSize", c.hiddenSize);
  const g = GATES[c.mode] * c.hiddenSize;
  m.registerParameter("weight_ih", initUniform([g, c.inputSize], c.hiddenSize));
  m.registerParameter("weight_hh", initUniform([g, c.hiddenSize], c.hiddenSize));
  if (bool(c.name, "bias", options.bias, true)) {
    m.registerParameter("bias_ih", initUniform([g], c.hiddenSize));
    m.registerParameter("bias_hh", initUniform([g], c.hiddenSize));
  }
  if (options.device && options.device !== "cpu") m.to(options.device);
}

// One step of a cell on [N, I] or unbatched [I] input, with states checked against it.
function cellRun(
  m: Module,
  c: CellConfig,
  input: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
): [Tensor, Tensor | null] {
  const fn = `${c.name}.forward`;
  const p = m as unknown as Record<string, Tensor | undefined>;
  if (input.ndim !== 1 && input.ndim !== 2) {
    throw new ShapeError(
      `${fn}: expected input [N, inputSize] or unbatched [inputSize], got ${shapeStr(input.shape)}`,
    );
  }
  checkFloat(fn, "input", input);
  if (input.shape[input.ndim - 1] !== c.inputSize) {
    throw new ShapeError(
      `${fn}: input ${shapeStr(input.shape)} must have ${c.inputSize} features (inputSize)`,
    );
  }
  const batched = input.ndim === 2;
  const x = batched ? input : input.unsqueeze(0);
  const n = x.shape[0];
  const want = batched ? [n, c.hiddenSize] : [c.hiddenSize];
  const lstm = c.mode === "LSTM";
  if (h0) checkState(fn, lstm ? "h0" : "hx", h0, want, input);
  if (c0) checkState(fn, "c0", c0, want, input);
  const opts = { dtype: x.dtype, device: x.device };
  const h = h0 ? (batched ? h0 : h0.unsqueeze(0)) : zeros([n, c.hiddenSize], opts);
  const cs = !lstm ? null : c0 ? (batched ? c0 : c0.unsqueeze(0)) : zeros([n, c.hiddenSize], opts);
  const w: CellWeights = {
    wih: p.weight_ih!,
    whh: p.weight_hh!,
    bih: p.bias_ih ?? null,
    bhh: p.bias_hh ?? null,
    whr: null,
  };
  const [h1, c1] = step(c.mode, inputProjection(c.mode, x, w), h, cs, w);
  return batched ? [h1, c1] : [h1.squeeze(0), c1 && c1.squeeze(0)];
}

/**
 * One step of an Elman RNN, PyTorch's `nn.RNNCell`: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).
 *
 * @example
 * ```ts
 * import { RNNCell } from "./rnn.ts";
 * import { randn } from "../mod.ts";
 * console.log(new RNNCell(3, 5).forward(randn([2, 3])).shape); // [2, 5]
 * ```
 */
export class RNNCell extends Module {
  /** Features of the input. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;
  /** The nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";

  /** Creates the cell. */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellLayerOptions = {}) {
    super();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.nonlinearity = oneOf(
      "RNNCell",
      "nonlinearity",
      options?.nonlinearity,
      [
        "tanh",
        "relu",
      ] as const,
    );
    cellInit(this, this.#config(), options, ["bias", "device", "nonlinearity"]);
  }

  #config(): CellConfig {
    const { inputSize, hiddenSize } = this;
    return { name: "RNNCell", mode: this.nonlinearity, inputSize, hiddenSize };
  }

  /** The next hidden state [N, H] ([H] unbatched); `hx` defaults to zeros. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    tensorArg("RNNCell.forward", "input", input);
    const h = optionalTensor("RNNCell.forward", "hx", hx);
    return cellRun(this, this.#config(), input, h, null)[0];
  }
}

/**
 * One step of a GRU, PyTorch's `nn.GRUCell`.
 *
 * @example
 * ```ts
 * import { GRUCell } from "./rnn.ts";
 * import { randn } from "../mod.ts";
 * const cell = new GRUCell(3, 5);
 * let h = cell.forward(randn([2, 3]));
 * h = cell.forward(randn([2, 3]), h);
 * console.log(h.shape); // [2, 5]
 * ```
 */
export class GRUCell extends Module {
  /** Features of the input. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;

  /** Creates the cell. */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    cellInit(this, this.#config(), options, ["bias", "device"]);
  }

  #config(): CellConfig {
    const { inputSize, hiddenSize } = this;
    return { name: "GRUCell", mode: "GRU", inputSize, hiddenSize };
  }

  /** The next hidden state [N, H] ([H] unbatched); `hx` defaults to zeros. */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    tensorArg("GRUCell.forward", "input", input);
    const h = optionalTensor("GRUCell.forward", "hx", hx);
    return cellRun(this, this.#config(), input, h, null)[0];
  }
}

/** Result of {@linkcode LSTMCell.forward}. */
export interface LSTMCellOutput {
  /** Next hidden state [N, H] ([H] unbatched). */
  h: Tensor;
  /** Next cell state [N, H] ([H] unbatched). */
  c: Tensor;
}

/**
 * One step of an LSTM, PyTorch's `nn.LSTMCell`: `forward(input, [h, c]?)` gives `{ h, c }`
 * (PyTorch's `(h_1, c_1)`).
 *
 * @example
 * ```ts
 * import { LSTMCell } from "./rnn.ts";
 * import { randn } from "../mod.ts";
 * const cell = new LSTMCell(3, 5);
 * const s = cell.forward(randn([2, 3]));
 * console.log(cell.forward(randn([2, 3]), s).c.shape); // [2, 5]
 * ```
 */
export class LSTMCell extends Module<[input: Tensor, hx?: LSTMState | null], LSTMCellOutput> {
  /** Features of the input. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;

  /** Creates the cell. */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    cellInit(this as unknown as Module, this.#config(), options, ["bias", "device"]);
  }

  #config(): CellConfig {
    const { inputSize, hiddenSize } = this;
    return { name: "LSTMCell", mode: "LSTM", inputSize, hiddenSize };
  }

  /** The next state; `hx` (`[h, c]` or `{ h, c }`) defaults to zeros. */
  forward(input: Tensor, hx?: LSTMState | null): LSTMCellOutput {
    const fn = "LSTMCell.forward";
    tensorArg(fn, "input", input);
    const [h0, c0] = lstmState(fn, hx);
    const [h, c] = cellRun(this as unknown as Module, this.#config(), input, h0, c0);
    return { h, c: c! };
  }
}

/**
 * The rnn plugin, registered when this module is imported: its manifest defines the fused cell
 * ops `lstmCell`, `lstmCellBackward`, `gruCell` and `gruCellBackward` (see `ops/rnn_cell.ts`),
 * whose kernels the cpu and webgpu backends supply.
 */
export const rnnPlugin: Plugin = use(definePlugin({
  name: "@denn/rnn",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: rnnCellOps,
  exports: { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell },
}));
