/**
 * Learning-rate schedulers with PyTorch's semantics (`torch.optim.lr_scheduler`): construction
 * performs the initial step (epoch 0), `step()` advances one epoch using the recursive (chainable)
 * form, and `step(epoch)` jumps using the closed form. `SequentialLR` switches between schedulers
 * at milestones; {@linkcode warmup} builds the usual linear warm-up in front of another schedule.
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

import { ValueError } from "../core/mod.ts";

/** The part of an optimizer a scheduler drives: parameter groups with a learning rate. */
export interface SchedulableOptimizer {
  /** Parameter groups; schedulers set `lr` and record `initialLr`. */
  paramGroups: { lr: number; initialLr?: number }[];
}

/** Serialized scheduler state: every public field but the optimizer. */
export type SchedulerStateDict = Record<string, unknown>;

/**
 * Base of the schedulers. Subclasses implement {@linkcode LRScheduler.getLr} (the recursive form)
 * and optionally {@linkcode LRScheduler.closedFormLr}, and end their constructor with
 * `this.initialStep()` (it needs their fields, which exist only after `super()` returns).
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this scheduler sets. */
  readonly optimizer: SchedulableOptimizer;
  /** Each group's `initialLr`. */
  baseLrs: number[];
  /** Index of the last epoch stepped (0 after construction). */
  lastEpoch: number;
  /** Number of `step()` calls since the initial step, counting it. */
  stepCount = 0;
  /** The learning rates set by the last step. */
  lastLr: number[] = [];

  /**
   * Records each group's `initialLr` (keeping one already there) or, when resuming
   * (`lastEpoch` ≥ 0), requires it.
   */
  constructor(optimizer: SchedulableOptimizer, lastEpoch = -1) {
    this.optimizer = optimizer;
    const name = new.target.name;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (g.initialLr === undefined) {
        throw new ValueError(
          `${name}: resuming at lastEpoch ${lastEpoch} needs initialLr in parameter group ${i}`,
        );
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rates of the next epoch from the current ones (PyTorch's `get_lr`). */
  abstract getLr(): number[];

  /** The learning rates at `lastEpoch` from the base rates, where a closed form exists. */
  closedFormLr?(): number[];

  /** Resets the step count and performs the step to epoch `lastEpoch + 1`. */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch (recursive form), or jumps to `epoch` (closed form where available). */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr ? this.closedFormLr() : this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = values[i]));
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates set by the last step, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The current learning rates of the groups. */
  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Fields that are references, not state (left out of `stateDict`). */
  protected referenceKeys(): string[] {
    return ["optimizer"];
  }

  /** Every public field but the optimizer (PyTorch's `state_dict`). */
  stateDict(): SchedulerStateDict {
    const skip = this.referenceKeys();
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) if (!skip.includes(k)) out[k] = structuredClone(v);
    return out;
  }

  /** Restores fields saved by {@linkcode LRScheduler.stateDict}. */
  loadStateDict(sd: SchedulerStateDict): void {
    const skip = this.referenceKeys();
    for (const [k, v] of Object.entries(sd)) {
      if (!skip.includes(k)) (this as Record<string, unknown>)[k] = structuredClone(v);
    }
  }
}

function positiveInt(name: string, what: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) {
    throw new ValueError(`${name}: ${what} must be a positive integer, got ${v}`);
  }
}

/** Options of {@linkcode StepLR} and {@linkcode MultiStepLR}. */
export interface DecayOptions {
  /** Multiplicative factor of the decay (default 0.1). */
  gamma?: number;
  /** Epoch to resume from (default −1: start). */
  lastEpoch?: number;
}

/** Multiplies the learning rate by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  /** Period of the decay in epochs. */
  stepSize: number;
  /** Decay factor. */
  gamma: number;

  /** Creates the scheduler and sets the epoch-0 learning rates. */
  constructor(optimizer: SchedulableOptimizer, stepSize: number, options: DecayOptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    positiveInt("StepLR", "stepSize", stepSize);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
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

  /** Creates the scheduler and sets the epoch-0 learning rates. */
  constructor(
    optimizer: SchedulableOptimizer,
    milestones: readonly number[],
    options: DecayOptions = {},
  ) {
    super(optimizer, options.lastEpoch ?? -1);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
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

/** Options of {@linkcode CosineAnnealingLR}. */
export interface CosineAnnealingOptions {
  /** Minimum learning rate (default 0). */
  etaMin?: number;
  /** Epoch to resume from (default −1: start). */
  lastEpoch?: number;
}

/**
 * Cosine annealing (SGDR without restarts): η = η_min + (η₀ − η_min)(1 + cos(π·t/T_max))/2, in
 * PyTorch's recursive form, which keeps following the cosine past T_max.
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Half-period in epochs. */
  tMax: number;
  /** Minimum learning rate. */
  etaMin: number;

  /** Creates the scheduler and sets the epoch-0 learning rates. */
  constructor(
    optimizer: SchedulableOptimizer,
    tMax: number,
    options: CosineAnnealingOptions = {},
  ) {
    super(optimizer, options.lastEpoch ?? -1);
    positiveInt("CosineAnnealingLR", "tMax", tMax);
    this.tMax = tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }

  /** The recursive cosine update (PyTorch's `get_lr`). */
  getLr(): number[] {
    const { lastEpoch: t, tMax: T, etaMin } = this;
    const lrs = this.groupLrs();
    if (t === 0) return lrs;
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map((b) => etaMin + (b - etaMin) * (1 + Math.cos((t * Math.PI) / T)) / 2);
    }
    if ((t - 1 - T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + (this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T));
    return lrs.map((lr) => ratio * (lr - etaMin) + etaMin);
  }

  /** η_min + (base − η_min)(1 + cos(π·epoch/T_max))/2. */
  override closedFormLr(): number[] {
    const c = (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax)) / 2;
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * c);
  }
}

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
  constructor(optimizer: SchedulableOptimizer, options: LinearLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) {
      throw new ValueError(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    }
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) {
      throw new ValueError(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    }
    positiveInt("LinearLR", "totalIters", this.totalIters);
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

  /** Resets the rates to `initialLr` and re-runs the first scheduler's initial step. */
  constructor(
    optimizer: SchedulableOptimizer,
    schedulers: LRScheduler[],
    milestones: readonly number[],
    lastEpoch = -1,
  ) {
    super(optimizer, lastEpoch);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new ValueError(
          `SequentialLR: scheduler ${i} drives a different optimizer than the one given`,
        );
      }
    });
    if (schedulers.length === 0 || milestones.length !== schedulers.length - 1) {
      throw new ValueError(
        `SequentialLR: expected one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`,
      );
    }
    this.schedulers = schedulers;
    this.milestones = [...milestones];
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
    super.loadStateDict(sd);
    const subs = (sd.schedulers ?? []) as SchedulerStateDict[];
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
  const iters = options.iters ?? 5;
  const linear = new LinearLR(optimizer, {
    startFactor: options.startFactor ?? 0.1,
    totalIters: iters,
  });
  return new SequentialLR(optimizer, [linear, after], [iters]);
}
