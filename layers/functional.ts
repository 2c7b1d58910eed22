/**
 * `F`: PyTorch's `torch.nn.functional` for the lecture's layers and losses. Each layer function
 * lives beside its layer in the layer plugin's file, so importing it registers the ops it runs
 * (`conv2d` comes with the Conv2d plugin, which defines the conv2d op); the losses come from
 * `losses/functional.ts`. Each function validates its options once, at this boundary, and then
 * runs the op with trusted attributes. Every function refuses extra arguments (JavaScript would drop
 * them: `F.softmax(x, 1, "float16")`) and a non-tensor where a tensor goes, naming itself.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn, tensor } from "../core/mod.ts";
 * import * as F from "./functional.ts";
 * const h = F.maxPool2d(F.relu(F.conv2d(randn([2, 1, 8, 8]), randn([4, 1, 3, 3]))), 2);
 * const loss = F.crossEntropy(h.flatten(1), tensor([0, 5], { dtype: "int32" }));
 * ```
 *
 * @module
 */

import { full, IndexError, scatterAdd, ValueError } from "../core/mod.ts";
import { arity, int, tensorArg } from "./_validate.ts";
import type { Tensor } from "../core/mod.ts";

export { linear } from "./linear.ts";
export { conv2d } from "./conv2d.ts";
export type { Conv2dOptions } from "./conv2d.ts";
export { adaptiveAvgPool2d, avgPool2d, maxPool2d, maxPool2dWithIndices } from "./pooling.ts";
export type { AvgPool2dOptions, MaxPool2dOptions } from "./pooling.ts";
export { gelu, leakyRelu, logSoftmax, relu, sigmoid, silu, softmax, tanh } from "./activations.ts";
export { dropout } from "./dropout.ts";
export type { DropoutOptions } from "./dropout.ts";
export { batchNorm } from "./batch_norm.ts";
export type { BatchNormOptions } from "./batch_norm.ts";
export { localResponseNorm } from "./local_response_norm.ts";
export { scaledDotProductAttention } from "./attention.ts";
export type { ScaledDotProductAttentionOptions } from "./attention.ts";
export { embedding } from "./embedding.ts";
export type { EmbeddingOptions } from "./embedding.ts";
export { groupNorm, instanceNorm, layerNorm, rmsNorm } from "./norm.ts";
export type {
  GroupNormOptions,
  InstanceNormOptions,
  LayerNormOptions,
  RMSNormOptions,
} from "./norm.ts";
export { conv1d } from "./conv1d.ts";
export type { Conv1dOptions } from "./conv1d.ts";
export { convTranspose2d } from "./conv_transpose2d.ts";
export type { ConvTranspose2dOptions } from "./conv_transpose2d.ts";
export { interpolate } from "./upsample.ts";
export type { InterpolateOptions } from "./upsample.ts";
export { adaptiveMaxPool2d } from "./adaptive_max_pool.ts";
export { dropout2d } from "./dropout.ts";
export {
  elu,
  hardsigmoid,
  hardswish,
  hardtanh,
  mish,
  prelu,
  relu6,
  softplus,
} from "./activations.ts";
export type { IntPair as Pair } from "./_validate.ts";
export * from "../losses/functional.ts";

/**
 * One-hot encoding of int32 class indices: shape [..., numClasses], int32. An index outside
 * [0, numClasses) is an IndexError (on device backends, at the next readback).
 */
export function oneHot(index: Tensor, numClasses: number): Tensor {
  arity("oneHot", arguments, 2);
  tensorArg("oneHot", "input", index);
  if (index.dtype !== "int32") {
    throw new ValueError(`oneHot: expected int32 class indices, got ${index.dtype}`);
  }
  int("oneHot", "numClasses", numClasses);
  const idx = index.unsqueeze(-1);
  const ones = full(idx.shape, 1, { dtype: "int32", device: index.device });
  try {
    return scatterAdd([...index.shape, numClasses], -1, idx, ones);
  } catch (e) {
    if (!(e instanceof IndexError)) throw e;
    throw new IndexError(`oneHot: class index out of range [0, ${numClasses}): ${e.message}`, {
      cause: e,
    });
  }
}
