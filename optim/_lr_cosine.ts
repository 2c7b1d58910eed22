/**
 * {@linkcode CosineAnnealingLR} (private to optim/; public through lr_scheduler.ts), an annealing
 * schedule: follows a cosine between the base rate and `etaMin`. The other annealing schedule,
 * `OneCycleLR`, is in _lr_cyclic.ts.
 *
 * @module
 */

import { LRScheduler, type SchedulableOptimizer } from "./_lr_base.ts";
import { checkNumber, positiveInt, schedulerArgs } from "./_lr_args.ts";

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
    options?: CosineAnnealingOptions,
  );
  /** PyTorch's positional form, `CosineAnnealingLR(optimizer, T_max, eta_min, last_epoch)`. */
  constructor(
    optimizer: SchedulableOptimizer,
    tMax: number,
    etaMin: number,
    lastEpoch?: number,
  );
  constructor(
    optimizer: SchedulableOptimizer,
    tMax: number,
    options: CosineAnnealingOptions | number = {},
    lastEpoch?: number,
  ) {
    const name = "CosineAnnealingLR";
    const o = schedulerArgs(name, arguments, 4, options, [lastEpoch], ["etaMin", "lastEpoch"]);
    const T = positiveInt(name, "tMax", tMax);
    const etaMin = checkNumber(
      name,
      "etaMin",
      o.etaMin ?? 0,
      (x) => Number.isFinite(x) && x >= 0,
      "a finite number >= 0",
    );
    super(optimizer, o.lastEpoch ?? -1);
    this.tMax = T;
    this.etaMin = etaMin;
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
