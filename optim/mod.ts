/**
 * Optimizer plugins (SGD, Adam, AdamW, RMSprop, Adagrad) and learning-rate schedulers, each file
 * importable alone.
 *
 * @example
 * ```ts
 * import { Adam, StepLR } from "./mod.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1], { requiresGrad: true });
 * const opt = new Adam([w], { lr: 0.01 });
 * const sched = new StepLR(opt, 10, { gamma: 0.5 });
 * w.mul(w).sum().backward();
 * opt.step();
 * sched.step();
 * ```
 *
 * @module
 */

export * from "./sgd.ts";
export * from "./adam.ts";
export * from "./adamw.ts";
export * from "./rmsprop.ts";
export * from "./adagrad.ts";
export * from "./lr_scheduler.ts";
export * from "./ops.ts";
