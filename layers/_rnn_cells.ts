/**
 * The recurrent cells `RNNCell`, `LSTMCell` and `GRUCell` (parameters `weight_ih`, `weight_hh`,
 * `bias_ih`, `bias_hh`): one step of the recurrence of `_rnn_shared.ts`. Private to layers/:
 * rnn.ts re-exports them and registers the rnn plugin.
 *
 * @module
 */

import { Module, ShapeError, shapeStr, trustForward, zeros } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { bool, int, knownKeys, oneOf, optionalTensor, tensorArg } from "./_validate.ts";
import {
  checkFloat,
  checkState,
  GATES,
  initUniform,
  inputProjection,
  lstmState,
  step,
} from "./_rnn_shared.ts";
import type { CellWeights, LSTMState, Mode } from "./_rnn_shared.ts";

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

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(RNNCell, GRUCell, LSTMCell);
