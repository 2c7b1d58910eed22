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
export type { IntPair } from "./_validate.ts";
export * from "../losses/mod.ts";
export { Module, Parameter } from "../core/mod.ts";
