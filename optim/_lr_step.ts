/**
 * The decay schedulers (private to optim/; public through lr_scheduler.ts): {@linkcode StepLR} and
 * {@linkcode MultiStepLR} multiply the rate by `gamma` at fixed epochs, {@linkcode ExponentialLR}
 * every epoch, and {@linkcode LambdaLR} sets it to a user function's factor of the base rate.
 *
 * @module
 */

import { ValueError } from "../core/mod.ts";
import { show } from "../core/args.ts";
import { LRScheduler, type SchedulableOptimizer } from "./_lr_base.ts";
import { checkMilestones, positive, positiveInt, schedulerArgs } from "./_lr_args.ts";

/** Options of {@linkcode StepLR} and {@linkcode MultiStepLR}. */
export interface DecayOptions {
  /** Multiplicative factor of the decay (default 0.1). */
  gamma?: number;
  /** Epoch to resume from (default −1: start). */
  lastEpoch?: number;
}

const DECAY_KEYS = ["gamma", "lastEpoch"] as const;

/** Multiplies the learning rate by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  /** Period of the decay in epochs. */
  stepSize: number;
  /** Decay factor. */
  gamma: number;

  /** Creates the scheduler and sets the epoch-0 learning rates. */
  constructor(optimizer: SchedulableOptimizer, stepSize: number, options?: DecayOptions);
  /** PyTorch's positional form, `StepLR(optimizer, step_size, gamma, last_epoch)`. */
  constructor(
    optimizer: SchedulableOptimizer,
    stepSize: number,
    gamma: number,
    lastEpoch?: number,
  );
  constructor(
    optimizer: SchedulableOptimizer,
    stepSize: number,
    options: DecayOptions | number = {},
    lastEpoch?: number,
  ) {
    const o = schedulerArgs("StepLR", arguments, 4, options, [lastEpoch], DECAY_KEYS);
    const size = positiveInt("StepLR", "stepSize", stepSize);
    const gamma = positive("StepLR", "gamma", o.gamma ?? 0.1);
    super(optimizer, o.lastEpoch ?? -1);
    this.stepSize = size;
    this.gamma = gamma;
    this.initialStep();
  }

  /** lr·γ at multiples of stepSize, else unchanged. */
  getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  /** base·γ^⌊epoch / stepSize⌋. */
  override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiplies the learning rate by `gamma` at each milestone (repeated milestones compound). */
export class MultiStepLR extends LRScheduler {
  /** Epochs at which to decay, sorted. */
  milestones: number[];
  /** Decay factor. */
  gamma: number;

  /**
   * Creates the scheduler and sets the epoch-0 learning rates. `milestones` are epochs in
   * increasing order (a repeated one decays twice).
   */
  constructor(
    optimizer: SchedulableOptimizer,
    milestones: readonly number[],
    options?: DecayOptions,
  );
  /** PyTorch's positional form, `MultiStepLR(optimizer, milestones, gamma, last_epoch)`. */
  constructor(
    optimizer: SchedulableOptimizer,
    milestones: readonly number[],
    gamma: number,
    lastEpoch?: number,
  );
  constructor(
    optimizer: SchedulableOptimizer,
    milestones: readonly number[],
    options: DecayOptions | number = {},
    lastEpoch?: number,
  ) {
    const o = schedulerArgs("MultiStepLR", arguments, 4, options, [lastEpoch], DECAY_KEYS);
    const ms = checkMilestones("MultiStepLR", milestones);
    const gamma = positive("MultiStepLR", "gamma", o.gamma ?? 0.1);
    super(optimizer, o.lastEpoch ?? -1);
    this.milestones = ms;
    this.gamma = gamma;
    this.initialStep();
  }

  /** lr·γ^k where the epoch appears k times among the milestones. */
  getLr(): number[] {
    const k = this.milestones.filter((m) => m === this.lastEpoch).length;
    return this.groupLrs().map((lr) => (k === 0 ? lr : lr * this.gamma ** k));
  }

  /** base·γ^(number of milestones ≤ epoch). */
  override closedFormLr(): number[] {
    const k = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** k);
  }
}

/** Options of {@linkcode ExponentialLR} and {@linkcode LambdaLR}. */
export interface ResumeOptions {
  /** Epoch to resume from (default −1: start). */
  lastEpoch?: number;
}

/** Multiplies the learning rate by `gamma` every epoch: lr = base·γ^epoch. */
export class ExponentialLR extends LRScheduler {
  /** Decay factor per epoch. */
  gamma: number;

  /**
   * Creates the scheduler and sets the epoch-0 learning rates. `gamma` is a finite number > 0
   * (above 1 the rate grows); PyTorch's positional `lastEpoch` may stand in for the options.
   *
   * @example
   * ```ts
   * import { ExponentialLR, SGD } from "./mod.ts";
   * import { tensor } from "../mod.ts";
   * const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.5 });
   * const sched = new ExponentialLR(opt, 0.5);
   * sched.step();
   * sched.step();
   * console.log(sched.getLastLr()); // [0.125]
   * ```
   */
  constructor(
    optimizer: SchedulableOptimizer,
    gamma: number,
    options: ResumeOptions | number = {},
  ) {
    const o = schedulerArgs("ExponentialLR", arguments, 3, options, [], ["lastEpoch"]);
    const g = positive("ExponentialLR", "gamma", gamma);
    super(optimizer, o.lastEpoch ?? -1);
    this.gamma = g;
    this.initialStep();
  }

  /** lr·γ (unchanged at epoch 0). */
  getLr(): number[] {
    const lrs = this.groupLrs();
    return this.lastEpoch === 0 ? lrs : lrs.map((lr) => lr * this.gamma);
  }

  /** base·γ^epoch. */
  override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/** A learning-rate factor as a function of the epoch (an integer ≥ 0). */
export type LrLambda = (epoch: number) => number;

/**
 * Sets each group's learning rate to base·λ(epoch), with one function for every group or one per
 * group. Each factor must be a finite number >= 0: anything else is a ValueError naming the
 * group and the epoch (a factor of NaN or a negative rate would silently wreck the training).
 * The functions are not part of `stateDict()` (as in PyTorch, where plain functions are skipped).
 */
export class LambdaLR extends LRScheduler {
  /** The factor functions, one per group. */
  readonly lrLambdas: LrLambda[];

  /**
   * Creates the scheduler and sets the epoch-0 learning rates (base·λ(0)).
   *
   * @example
   * ```ts
   * import { LambdaLR, SGD } from "./mod.ts";
   * import { tensor } from "../mod.ts";
   * const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
   * const sched = new LambdaLR(opt, (epoch) => 1 / (epoch + 1));
   * sched.step();
   * console.log(sched.getLastLr()); // [0.05]
   * ```
   */
  constructor(
    optimizer: SchedulableOptimizer,
    lrLambda: LrLambda | readonly LrLambda[],
    options: ResumeOptions | number = {},
  ) {
    const name = "LambdaLR";
    const o = schedulerArgs(name, arguments, 3, options, [], ["lastEpoch"]);
    const n = optimizer.paramGroups.length;
    let fns: LrLambda[];
    if (typeof lrLambda === "function") fns = Array(n).fill(lrLambda);
    else if (Array.isArray(lrLambda) && lrLambda.every((f) => typeof f === "function")) {
      if (lrLambda.length !== n) {
        throw new ValueError(
          `${name}: expected ${n} lrLambda functions (one per parameter group), got ${lrLambda.length}`,
        );
      }
      fns = [...lrLambda];
    } else {
      throw new ValueError(
        `${name}: lrLambda must be a function of the epoch or an array of them (one per ` +
          `parameter group), got ${show(lrLambda)}`,
      );
    }
    super(optimizer, o.lastEpoch ?? -1);
    this.lrLambdas = fns;
    this.initialStep();
  }

  /** base·λ(epoch) for each group. */
  getLr(): number[] {
    return this.baseLrs.map((b, i) => {
      const f = this.lrLambdas[i](this.lastEpoch);
      if (typeof f !== "number" || !Number.isFinite(f) || f < 0) {
        throw new ValueError(
          `LambdaLR: lrLambda of parameter group ${i} returned ${
            show(f)
          } at epoch ${this.lastEpoch} (expected a finite number >= 0, the factor of the base lr)`,
        );
      }
      return b * f;
    });
  }

  /** The same as {@linkcode LambdaLR.getLr}: the rule is already in closed form. */
  override closedFormLr(): number[] {
    return this.getLr();
  }

  /** The functions are references, not state. */
  protected override referenceKeys(): string[] {
    return ["optimizer", "lrLambdas"];
  }
}
