/**
 * Optimizer plugins and learning-rate schedulers.
 *
 * @example
 * ```ts
 * import { SGD } from "./mod.ts";
 * import { tensor } from "../mod.ts";
 * const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
 * ```
 *
 * @module
 */

export * from "./sgd.ts";
