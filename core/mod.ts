/**
 * The denn core: Tensor, the op catalogue, the capability registry and dispatch, the autograd
 * scheduler, and the Module / Loss / Optimizer / Plugin interfaces. It contains no kernels: a
 * backend plugin (the cpu one is `@denn/denn/plugins/cpu`) supplies them.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * x.mul(x).sum().backward();
 * console.log(x.grad!.toArraySync()); // [[2, 4], [6, 8]]
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./dtype.ts";
export * from "./shape.ts";
export * from "./random.ts";
export * from "./registry.ts";
export * from "./autograd.ts";
export * as autograd from "./grad_api.ts";
export * from "./tensor.ts";
export * from "./creation.ts";
export * from "./plugin.ts";
export { cast, where } from "./ops/elementwise.ts";
export type { TensorLike } from "./ops/elementwise.ts";
export * from "./ops/reduce.ts";
export * from "./ops/movement.ts";
export * from "./ops/linalg.ts";
export * from "./ops/softmax.ts";
export * from "./module.ts";
export * from "./optimizer.ts";
export * from "./loss.ts";
