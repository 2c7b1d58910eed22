/**
 * Warm-up and chaining (private to optim/; public through lr_scheduler.ts): {@linkcode LinearLR}
 * ramps the rate linearly, {@linkcode SequentialLR} switches between schedulers at milestones, and
 * {@linkcode warmup} puts a linear warm-up in front of another schedule.
 *
 * @module
 */

import { ValueError } from "../core/mod.ts";
import { options as checkKeys, show } from "../core/args.ts";
import { LRScheduler, type SchedulableOptimizer, type SchedulerStateDict } from "./_lr_base.ts";
import {
  checkMilestones,
  checkNumber,
  checkOptimizer,
  maxArgs,
  positiveInt,
  schedulerArgs,
} from "./_lr_args.ts";

/** Options of {@linkcode LinearLR}. */
export interface LinearLROptions {
  /** Factor of the base rate at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor reached at `totalIters`, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs of the linear ramp (default 5). */
  totalIters?: number;
  /** Epoch to resume from (default −1: start). */
  lastEpoch?: number;
}

/** Scales the learning rate linearly from startFactor to endFactor over totalIters (warm-up). */
export class LinearLR extends LRScheduler {
  /** Factor at epoch 0. */
  startFactor: number;
  /** Factor from totalIters on. */
  endFactor: number;
  /** Length of the ramp. */
  totalIters: number;

  /** Creates the scheduler and sets the epoch-0 learning rates. */
  constructor(optimizer: SchedulableOptimizer, options?: LinearLROptions);
  /**
   * PyTorch's positional form,
   * `LinearLR(optimizer, start_factor, end_factor, total_iters, last_epoch)`.
   */
  constructor(
    optimizer: SchedulableOptimizer,
    startFactor: number,
    endFactor?: number,
    totalIters?: number,
    lastEpoch?: number,
  );
  constructor(
    optimizer: SchedulableOptimizer,
    options: LinearLROptions | number = {},
    endFactor?: number,
    totalIters?: number,
    lastEpoch?: number,
  ) {
    const o = schedulerArgs("LinearLR", arguments, 5, options, [endFactor, totalIters, lastEpoch], [
      "startFactor",
      "endFactor",
      "totalIters",
      "lastEpoch",
    ]);
    const start = checkNumber(
      "LinearLR",
      "startFactor",
      o.startFactor ?? 1 / 3,
      (x) => x > 0 && x <= 1,
      "in (0, 1]",
    );
    const end = checkNumber(
      "LinearLR",
      "endFactor",
      o.endFactor ?? 1,
      (x) => x >= 0 && x <= 1,
      "in [0, 1]",
    );
    const iters = positiveInt("LinearLR", "totalIters", o.totalIters ?? 5);
    super(optimizer, o.lastEpoch ?? -1);
    this.startFactor = start;
    this.endFactor = end;
    this.totalIters = iters;
    this.initialStep();
  }

  /** The recursive ramp (PyTorch's `get_lr`). */
  getLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch: t } = this;
    const lrs = this.groupLrs();
    if (t === 0) return lrs.map((lr) => lr * s);
    if (t > n) return lrs;
    return lrs.map((lr) => lr * (1 + (e - s) / (n * s + (t - 1) * (e - s))));
  }

  /** base·(start + (end − start)·min(epoch, totalIters)/totalIters). */
  override closedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    const f = s + ((e - s) * Math.min(n, this.lastEpoch)) / n;
    return this.baseLrs.map((b) => b * f);
  }
}

/**
 * Runs `schedulers[i]` between `milestones[i − 1]` and `milestones[i]`; at a milestone the next
 * scheduler restarts from epoch 0 of its closed form. All must drive the same optimizer.
 */
export class SequentialLR extends LRScheduler {
  /** The chained schedulers. */
  readonly schedulers: LRScheduler[];
  /** Epochs at which the next scheduler takes over. */
  milestones: number[];

  /**
   * Resets the rates to `initialLr` and re-runs the first scheduler's initial step. `schedulers`
   * must all drive `optimizer`; `milestones` are increasing epochs, one fewer than schedulers.
   */
  constructor(
    optimizer: SchedulableOptimizer,
    schedulers: LRScheduler[],
    milestones: readonly number[],
    lastEpoch = -1,
  ) {
    maxArgs("SequentialLR", arguments.length, 4);
    checkOptimizer("SequentialLR", optimizer);
    if (!Array.isArray(schedulers) || schedulers.length === 0) {
      throw new ValueError(
        `SequentialLR: schedulers must be a non-empty array of schedulers, got ${show(schedulers)}`,
      );
    }
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) {
        throw new ValueError(`SequentialLR: scheduler ${i} is not a scheduler, got ${show(s)}`);
      }
      if (s.optimizer !== optimizer) {
        throw new ValueError(
          `SequentialLR: scheduler ${i} drives a different optimizer than the one given`,
        );
      }
    });
    const ms = checkMilestones("SequentialLR", milestones);
    if (ms.length !== schedulers.length - 1) {
      throw new ValueError(
        `SequentialLR: expected one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${ms.length} milestones`,
      );
    }
    super(optimizer, lastEpoch);
    this.schedulers = [...schedulers];
    this.milestones = ms;
    this.lastEpoch = lastEpoch + 1;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    // Undo the initial step each scheduler took when constructed, then redo the first one.
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].initialStep();
    this.lastLr = schedulers[0].getLastLr();
  }

  /** The rates as they stand (the chained schedulers compute the real ones). */
  getLr(): number[] {
    return this.groupLrs();
  }

  /** Advances the scheduler in charge of the next epoch. */
  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  /** The chained schedulers are saved by value, not as references. */
  protected override referenceKeys(): string[] {
    return ["optimizer", "schedulers"];
  }

  /** Own fields plus each chained scheduler's state (as PyTorch's `_schedulers`). */
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /** Restores own fields and each chained scheduler's state. */
  override loadStateDict(sd: SchedulerStateDict): void {
    const subs = (sd?.schedulers ?? []) as SchedulerStateDict[];
    if (!Array.isArray(subs)) {
      throw new ValueError(
        `SequentialLR.loadStateDict: schedulers must be an array of state dicts, got ${show(subs)}`,
      );
    }
    super.loadStateDict(sd);
    if (subs.length !== this.schedulers.length) {
      throw new ValueError(
        `SequentialLR.loadStateDict: ${subs.length} schedulers saved, ${this.schedulers.length} here`,
      );
    }
    subs.forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}

/** Options of {@linkcode warmup}. */
export interface WarmupOptions {
  /** Epochs of linear warm-up (default 5). */
  iters?: number;
  /** Factor of the base rate at epoch 0 (default 0.1). */
  startFactor?: number;
}

/**
 * A linear warm-up from `startFactor`·lr to lr over `iters` epochs, then `after` (from its epoch
 * 0): `SequentialLR([LinearLR, after], [iters])`.
 */
export function warmup(
  optimizer: SchedulableOptimizer,
  after: LRScheduler,
  options: WarmupOptions = {},
): SequentialLR {
  maxArgs("warmup", arguments.length, 3);
  const o = checkKeys("warmup", options, ["iters", "startFactor"]);
  if (!(after instanceof LRScheduler)) {
    throw new ValueError(
      `warmup: after must be the scheduler to run after the warm-up, got ${show(after)}`,
    );
  }
  const iters = positiveInt("warmup", "iters", o.iters ?? 5);
  const startFactor = checkNumber(
    "warmup",
    "startFactor",
    o.startFactor ?? 0.1,
    (x) => x > 0 && x <= 1,
    "in (0, 1]",
  );
  const linear = new LinearLR(optimizer, { startFactor, totalIters: iters });
  return new SequentialLR(optimizer, [linear, after], [iters]);
}
