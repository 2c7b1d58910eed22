/** Shared by the PyTorch sequence-model interop tests (cpu and webgpu). */

import { nn } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

/** What tools/gen_seq_safetensors.py writes beside each state dict. */
export interface Io {
  torch: string;
  keys: string[];
  input_shape: number[];
  input: number[];
  logits_shape: number[];
  logits: number[];
  h_shape?: number[];
  h?: number[];
  c_shape?: number[];
  c?: number[];
}

/** PyTorch's SeqLSTM with bidirectional=True: the head reads the last step of both directions. */
export class BiLSTM extends nn.Module {
  lstm: nn.LSTM = new nn.LSTM(28, 16, { numLayers: 2, batchFirst: true, bidirectional: true });
  head: nn.Linear = new nn.Linear(32, 10);

  forward(x: Tensor): Tensor {
    const { output } = this.lstm.forward(x); // [N, steps, 2·16]
    return this.head.forward(output.select(1, output.shape[1] - 1));
  }
}
