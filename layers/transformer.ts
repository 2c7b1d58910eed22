/**
 * Transformer layers with PyTorch's structure and state-dict keys (`self_attn.in_proj_weight`,
 * `linear1.weight`, `norm1.weight`, ...): `TransformerEncoderLayer`, `TransformerDecoderLayer`, and
 * the stacks `TransformerEncoder` and `TransformerDecoder` (`layers.0.…`, `norm.…`), so PyTorch
 * weights load unchanged. Post-norm by default, pre-norm with `normFirst`. The encoder side is in
 * `_transformer_encoder.ts`, the decoder side in `_transformer_decoder.ts` and what they share in
 * `_transformer_shared.ts`; this module re-exports them.
 *
 * @example
 * ```ts
 * import { TransformerEncoder, TransformerEncoderLayer } from "./transformer.ts";
 * import { randn } from "../mod.ts";
 * const layer = new TransformerEncoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true });
 * const encoder = new TransformerEncoder(layer, 2);
 * const y = encoder.eval().forward(randn([2, 5, 16]), { isCausal: true });
 * console.log(y.shape); // [2, 5, 16]
 * ```
 *
 * @module
 */

export type {
  TransformerActivation,
  TransformerLayerOptions,
  TransformerStackOptions,
} from "./_transformer_shared.ts";
export { TransformerEncoder, TransformerEncoderLayer } from "./_transformer_encoder.ts";
export type {
  TransformerEncoderForwardOptions,
  TransformerEncoderLayerForwardOptions,
} from "./_transformer_encoder.ts";
export { TransformerDecoder, TransformerDecoderLayer } from "./_transformer_decoder.ts";
export type { TransformerDecoderLayerForwardOptions } from "./_transformer_decoder.ts";
