/**
 * Layer plugins: each file is one layer (or a small family such as the activations or pooling
 * layers) with its functional form, and can be imported alone with only the core and a backend.
 * The conv2d, pooling and batch-norm plugins define their ops when imported; a backend author
 * finds their attribute types (`Conv2dAttrs`, `Pool2dAttrs`, ...) and raw op entry points
 * (`conv2dRaw`, ...) here.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from "./mod.ts";
 * const net = new Sequential(
 *   new Conv2d(1, 6, 5, { padding: 2 }),
 *   new BatchNorm2d(6),
 *   new ReLU({ inplace: true }),
 *   new MaxPool2d(2),
 *   new Flatten(),
 *   new Linear(6 * 14 * 14, 10),
 * );
 * ```
 *
 * @module
 */

export * from "./linear.ts";
export * from "./conv2d.ts";
export * from "./activations.ts";
export * from "./pooling.ts";
export * from "./dropout.ts";
export * from "./batch_norm.ts";
export * from "./local_response_norm.ts";
export * from "./flatten.ts";
export * from "./identity.ts";
export * from "./sequential.ts";
export * from "./residual.ts";
export * from "./concat.ts";
export * from "./attention.ts";
export * from "./transformer.ts";
export * from "./rnn.ts";
export * from "./embedding.ts";
export * from "./norm.ts";
export * from "./conv1d.ts";
export * from "./conv_transpose2d.ts";
export * from "./upsample.ts";
export * from "./adaptive_max_pool.ts";
export * from "./containers.ts";
export type { IntPair } from "./_validate.ts";
export * as init from "./init.ts";
