/**
 * denn: a deep-learning framework for Deno. This entry point registers the cpu backend and exports
 * the core API, the `nn` layers and losses, `F` (their functional forms), `init`, `optim`, and
 * safetensors `save`/`load`. Importing it registers the layer and optimizer plugins that define
 * ops (conv2d, pooling, batch norm, the fused optimizer updates).
 *
 * @example
 * ```ts
 * import { F, nn, optim, tensor } from "./mod.ts";
 * const model = new nn.Linear(2, 3);
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = tensor([0, 2], { dtype: "int32" });
 * const loss = F.crossEntropy(model.forward(x), y);
 * opt.zeroGrad();
 * loss.backward();
 * opt.step();
 * ```
 *
 * @module
 */

import "./plugins/cpu/mod.ts";
// PyTorch's torch.set_num_threads / get_num_threads: threads of the cpu backend's kernels.
export { getNumThreads, setNumThreads } from "./plugins/cpu/mod.ts";
export * from "./core/mod.ts";
export * as nn from "./layers/nn.ts";
export * as F from "./layers/functional.ts";
// One generated kernel for a chain of elementwise ops (in the spirit of torch.compile).
export { fuse, fusedBy } from "./layers/fuse.ts";
export type { FuseOptions } from "./layers/fuse.ts";
export { ModelSummary, summary } from "./layers/summary.ts";
export type { SummaryOptions, SummaryRow } from "./layers/summary.ts";
export * as init from "./layers/init.ts";
export * as optim from "./optim/mod.ts";
export { load, save } from "./plugins/train/mod.ts";
export type { Metadata, SaveOptions, TensorMap } from "./plugins/train/mod.ts";
