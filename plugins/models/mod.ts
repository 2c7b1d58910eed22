/**
 * Model builders with torchvision's architectures, state-dict keys and parameter counts: LeNet-5,
 * AlexNet, VGG-11/13/16/19 (± batch norm), GoogLeNet and ResNet-18/34/50/101/152. Each takes
 * `numClasses` and `inChannels`; LeNet-5 also `inputSize`.
 *
 * @example
 * ```ts
 * import "../cpu/mod.ts";
 * import { lenet5, resnet } from "./mod.ts";
 * const small = lenet5();
 * const big = resnet(18, { numClasses: 10 });
 * console.log(small.numParameters(), big.numParameters()); // 61706 11181642
 * ```
 *
 * @module
 */

import type { Module } from "../../core/mod.ts";
import { alexnet } from "./alexnet.ts";
import { googlenet } from "./googlenet.ts";
import { lenet5 } from "./lenet.ts";
import { resnet } from "./resnet.ts";
import type { ResNetDepth } from "./resnet.ts";
import { vgg } from "./vgg.ts";
import type { VGGDepth } from "./vgg.ts";

export * from "./lenet.ts";
export * from "./alexnet.ts";
export * from "./vgg.ts";
export * from "./googlenet.ts";
export * from "./resnet.ts";
export type { ModelOptions } from "./_common.ts";

/** Model names accepted by {@linkcode createModel}. */
export const MODEL_NAMES: readonly string[] = [
  "lenet5",
  "alexnet",
  "vgg11",
  "vgg13",
  "vgg16",
  "vgg19",
  "vgg11_bn",
  "vgg13_bn",
  "vgg16_bn",
  "vgg19_bn",
  "googlenet",
  "resnet18",
  "resnet34",
  "resnet50",
  "resnet101",
  "resnet152",
];

/**
 * Builds a model by torchvision-style name (`"resnet18"`, `"vgg16_bn"`, `"lenet5"`, ...).
 *
 * @example
 * ```ts
 * import "../cpu/mod.ts";
 * import { createModel } from "./mod.ts";
 * const net = createModel("lenet5", { numClasses: 10 });
 * ```
 */
export function createModel(
  name: string,
  options: { numClasses?: number; inChannels?: number; inputSize?: number } = {},
): Module {
  const m = /^(vgg)(11|13|16|19)(_bn)?$|^resnet(18|34|50|101|152)$/.exec(name);
  if (name === "lenet5" || name === "lenet") return lenet5(options);
  if (name === "alexnet") return alexnet(options);
  if (name === "googlenet") return googlenet(options);
  if (m?.[1]) return vgg(Number(m[2]) as VGGDepth, { ...options, batchNorm: !!m[3] });
  if (m?.[4]) return resnet(Number(m[4]) as ResNetDepth, options);
  throw new RangeError(
    `createModel: unknown model "${name}" (expected one of ${MODEL_NAMES.join(", ")})`,
  );
}
