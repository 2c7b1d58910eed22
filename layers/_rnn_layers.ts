/**
 * The multi-layer recurrent modules `RNN`, `LSTM` and `GRU` and their base `RNNBase` (parameters
 * `weight_ih_l0`, ..., `…_reverse`, `weight_hr_l*`). Private to layers/: rnn.ts re-exports them and
 * registers the rnn plugin.
 *
 * @module
 */

import {
  cat,
  Generator,
  Module,
  ShapeError,
  shapeStr,
  stack,
  trustForward,
  unbind,
  zeros,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { dropout as dropoutFn } from "./dropout.ts";
import {
  bool,
  fail,
  int,
  knownKeys,
  oneOf,
  optionalTensor,
  probability,
  tensorArg,
} from "./_validate.ts";
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

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(RNN, LSTM, GRU);
