/**
 * Learning-rate schedulers with PyTorch's semantics (`torch.optim.lr_scheduler`): construction
 * performs the initial step (epoch 0), `step()` advances one epoch using the recursive (chainable)
 * form, and `step(epoch)` (PyTorch's deprecated form, kept) jumps to a non-negative integer epoch
 * using the closed form. The schedulers: `StepLR`, `MultiStepLR`, `ExponentialLR`, `LambdaLR`,
 * `CosineAnnealingLR`, `LinearLR`, `OneCycleLR` (per batch, cycling the momentum too) and
 * `SequentialLR`, which switches between schedulers at milestones; {@linkcode warmup} builds the
 * usual linear warm-up in front of another schedule. `ReduceLROnPlateau` is apart, as in PyTorch:
 * its `step(metric)` takes the epoch's validation metric.
 *
 * Every argument is checked: the optimizer, positional numbers (`stepSize` a positive integer,
 * `gamma` a finite number > 0, ...), milestones, and the options object, whose unknown keys
 * (`{ gama: 0.5 }`, `{ eta_min: 0.01 }`) are ValueErrors naming the scheduler. PyTorch's positional
 * forms are accepted too: `new StepLR(opt, 2, 0.5)` is `new StepLR(opt, 2, { gamma: 0.5 })`.
 *
 * @example
 * ```ts
 * import { CosineAnnealingLR, SGD, warmup } from "./mod.ts";
 * import { tensor } from "../mod.ts";
 * const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
 * const sched = warmup(opt, new CosineAnnealingLR(opt, 95), { iters: 5, startFactor: 0.1 });
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   opt.step();
 *   sched.step();
 * }
 * console.log(sched.getLastLr()); // [0.064]
 * ```
 *
 * @module
 */

// The schedulers live in private files by kind; this module is their public entry point.
export * from "./_lr_base.ts";
export * from "./_lr_step.ts";
export * from "./_lr_sequential.ts";
export * from "./_lr_cosine.ts";
export * from "./_lr_cyclic.ts";
export * from "./_lr_plateau.ts";
