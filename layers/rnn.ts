/**
 * Recurrent layers with PyTorch's parameters, state-dict keys and gate order: `RNN`, `LSTM` (with
 * `projSize`), `GRU` (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `weight_hr_l0`,
 * `…_reverse`, `…_l1`), and the cells `RNNCell`, `LSTMCell`, `GRUCell` (`weight_ih`, `weight_hh`,
 * `bias_ih`, `bias_hh`), so PyTorch weights load unchanged. The input projection of a whole
 * sequence is one matrix product (with both biases), taken apart over time by `unbind` (one
 * autograd node); each LSTM step is then a product, an add and the fused `lstmCell` op (one kernel
 * each way where the backend has it, core ops elsewhere), each GRU step a product with its bias and
 * the fused `gruCell` op, each RNN step a product, an add and the nonlinearity, so every backend
 * runs and differentiates the recurrence. The layers are in `_rnn_layers.ts`, the cells in
 * `_rnn_cells.ts` and the recurrence they share in `_rnn_shared.ts`; this module re-exports them
 * and registers the rnn plugin.
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

import { definePlugin, use } from "../core/mod.ts";
import type { Plugin } from "../core/mod.ts";
import { rnnCellOps } from "./ops/rnn_cell.ts";
import { GRU, LSTM, RNN } from "./_rnn_layers.ts";
import { GRUCell, LSTMCell, RNNCell } from "./_rnn_cells.ts";

export type { LSTMState } from "./_rnn_shared.ts";
export { GRU, LSTM, RNN, RNNBase } from "./_rnn_layers.ts";
export type {
  LSTMOptions,
  LSTMOutput,
  RNNBaseOptions,
  RNNOptions,
  RNNOutput,
} from "./_rnn_layers.ts";
export { GRUCell, LSTMCell, RNNCell } from "./_rnn_cells.ts";
export type { LSTMCellOutput, RNNCellLayerOptions, RNNCellOptions } from "./_rnn_cells.ts";

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
