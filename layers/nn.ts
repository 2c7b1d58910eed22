/**
 * The `nn` namespace: every layer and loss module (the functional forms are `F`).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const fc = new nn.Linear(4, 2);
 * ```
 *
 * @module
 */

export { Linear } from "./linear.ts";
export type { InitScheme, LinearOptions } from "./linear.ts";
export { Conv2d } from "./conv2d.ts";
export type { Conv2dLayerOptions } from "./conv2d.ts";
export { GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh } from "./activations.ts";
export type { GELUOptions, ReLUOptions } from "./activations.ts";
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "./pooling.ts";
export type { AvgPool2dLayerOptions, MaxPool2dLayerOptions } from "./pooling.ts";
export { Dropout } from "./dropout.ts";
export type { DropoutLayerOptions } from "./dropout.ts";
export { BatchNorm1d, BatchNorm2d, BatchNormBase } from "./batch_norm.ts";
export type { BatchNormLayerOptions } from "./batch_norm.ts";
export { LocalResponseNorm } from "./local_response_norm.ts";
export type { LocalResponseNormOptions } from "./local_response_norm.ts";
export * from "./flatten.ts";
export * from "./identity.ts";
export * from "./sequential.ts";
export * from "./residual.ts";
export * from "./concat.ts";
// PyTorch's torch.nn.attention.sdpa_kernel.
export { MultiheadAttention, sdpaKernel } from "./attention.ts";
export type {
  MultiheadAttentionForwardOptions,
  MultiheadAttentionOptions,
  MultiheadAttentionOutput,
  SdpaBackend,
} from "./attention.ts";
export {
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
} from "./transformer.ts";
export type {
  TransformerActivation,
  TransformerDecoderLayerForwardOptions,
  TransformerEncoderForwardOptions,
  TransformerEncoderLayerForwardOptions,
  TransformerLayerOptions,
  TransformerStackOptions,
} from "./transformer.ts";
export { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell } from "./rnn.ts";
export type {
  LSTMCellOutput,
  LSTMOptions,
  LSTMOutput,
  LSTMState,
  RNNBaseOptions,
  RNNCellLayerOptions,
  RNNCellOptions,
  RNNOptions,
  RNNOutput,
} from "./rnn.ts";
export { Embedding } from "./embedding.ts";
export type { EmbeddingLayerOptions, FromPretrainedOptions } from "./embedding.ts";
export {
  GroupNorm,
  InstanceNorm1d,
  InstanceNorm2d,
  InstanceNormBase,
  LayerNorm,
  RMSNorm,
} from "./norm.ts";
export type {
  GroupNormLayerOptions,
  InstanceNormLayerOptions,
  LayerNormLayerOptions,
  NormalizedShape,
  RMSNormLayerOptions,
} from "./norm.ts";
export { Conv1d } from "./conv1d.ts";
export type { Conv1dLayerOptions } from "./conv1d.ts";
export { ConvTranspose2d } from "./conv_transpose2d.ts";
export type { ConvTranspose2dLayerOptions } from "./conv_transpose2d.ts";
export { Upsample, UpsamplingBilinear2d, UpsamplingNearest2d } from "./upsample.ts";
export type { InterpolateMode, UpsampleOptions, Upsampling2dOptions } from "./upsample.ts";
export { AdaptiveMaxPool2d } from "./adaptive_max_pool.ts";
export type { AdaptiveMaxPool2dOptions, AdaptiveSize } from "./adaptive_max_pool.ts";
export { Dropout2d } from "./dropout.ts";
export type { Dropout2dLayerOptions } from "./dropout.ts";
export {
  ELU,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  Mish,
  PReLU,
  ReLU6,
  SiLU,
  Softplus,
} from "./activations.ts";
export type { InplaceOptions, PReLUOptions } from "./activations.ts";
export { ModuleDict } from "./containers.ts";
/** `nn.init`, as `torch.nn.init`: `nn.init.kaimingUniform_(w, { a: Math.sqrt(5) })`. */
export * as init from "./init.ts";
export type { IntPair } from "./_validate.ts";
export * from "../losses/mod.ts";
export { Module, Parameter } from "../core/mod.ts";
/** `nn.utils`, as `torch.nn.utils`: `nn.utils.clipGradNorm_`, `nn.utils.clipGradValue_`. */
export * as utils from "./clip_grad.ts";
