/**
 * Attention: `scaledDotProductAttention` (`F.scaledDotProductAttention`, PyTorch 2.x semantics)
 * and `MultiheadAttention` with PyTorch's parameters and state-dict keys (`in_proj_weight`,
 * `in_proj_bias`, `out_proj.weight`, `out_proj.bias`; `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when `kdim`/`vdim` differ from `embedDim`; `bias_k`, `bias_v` with
 * `addBiasKv`), so PyTorch weights load unchanged. Where the tensors' backend has a kernel for
 * the fused `scaledDotProductAttention` op (cpu and webgpu do; see `ops/attention.ts`), attention
 * runs as that op: one flash-attention style kernel each way, memory linear in L and S. Elsewhere,
 * and where the attention weights themselves are needed (dropout, `needWeights`), it is a
 * composite of core ops (batched matmul, softmax, where), so it runs and differentiates on every
 * backend. `explain()` shows which ran: the fused op, or matmul and softmax. Importing this module
 * registers the attention plugin, whose manifest defines the fused ops. The functional form is in
 * `_attention_sdpa.ts`, the module in `_attention_mha.ts`.
 *
 * @example
 * ```ts
 * import { MultiheadAttention, scaledDotProductAttention } from "./attention.ts";
 * import { randn } from "../mod.ts";
 * const q = randn([2, 4, 5, 8]); // [batch, heads, length, headDim]
 * console.log(scaledDotProductAttention(q, q, q, { isCausal: true }).shape); // [2, 4, 5, 8]
 * const mha = new MultiheadAttention(16, 4, { batchFirst: true });
 * const x = randn([2, 5, 16]);
 * const { output, weights } = mha.forward(x, x, x);
 * console.log(output.shape, weights!.shape); // [2, 5, 16] [2, 5, 5]
 * ```
 *
 * @module
 */

import { definePlugin, use } from "../core/mod.ts";
import type { Plugin } from "../core/mod.ts";
import { attentionOps } from "./ops/attention.ts";
import { MultiheadAttention } from "./_attention_mha.ts";

export {
  FUSED_ATTENTION_MIN_SCORES,
  scaledDotProductAttention,
  sdpaKernel,
} from "./_attention_sdpa.ts";
export type { ScaledDotProductAttentionOptions, SdpaBackend } from "./_attention_sdpa.ts";
export { MultiheadAttention } from "./_attention_mha.ts";
export type {
  MultiheadAttentionForwardOptions,
  MultiheadAttentionOptions,
  MultiheadAttentionOutput,
} from "./_attention_mha.ts";

/**
 * The attention plugin, registered when this module is imported: its manifest defines the fused
 * `scaledDotProductAttention` op and its backward (see `ops/attention.ts`), whose kernels the cpu
 * and webgpu backends supply.
 */
export const attentionPlugin: Plugin = use(definePlugin({
  name: "@denn/attention",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: attentionOps,
  exports: { MultiheadAttention },
}));
