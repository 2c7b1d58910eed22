/**
 * {@linkcode ReduceLROnPlateau} (private to optim/; public through lr_scheduler.ts): reduces the
 * rate when a validation metric stops improving. Apart from the other schedulers, as in PyTorch:
 * its `step(metric)` takes the epoch's metric.
 *
 * @module
 */

import { ValueError } from "../core/mod.ts";
import { guardArity, options as checkKeys, show } from "../core/args.ts";
import type { SchedulableOptimizer, SchedulerStateDict } from "./_lr_base.ts";
import {
  checkedState,
  checkInt,
  checkNumber,
  checkOptimizer,
  maxArgs,
  perGroup,
} from "./_lr_args.ts";

/** Options of {@linkcode ReduceLROnPlateau} (PyTorch's, in camelCase). */
export interface ReduceLROnPlateauOptions {
  /** "min": the metric should fall (a loss, default); "max": it should rise (an accuracy). */
  mode?: "min" | "max";
  /** Factor the rate is multiplied by at a plateau, in [0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Least change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /**
   * "rel" (default): better means below best·(1 − threshold) ("min") or above best·(1 + threshold)
   * ("max"); "abs": below best − threshold or above best + threshold.
   */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound of the rate (default 0), or one per group. */
  minLr?: number | readonly number[];
  /** A reduction smaller than eps is skipped (default 1e-8). */
  eps?: number;
}

const PLATEAU_KEYS = [
  "mode",
  "factor",
  "patience",
  "threshold",
  "thresholdMode",
  "cooldown",
  "minLr",
  "eps",
] as const;

/**
 * Reduces the learning rate by `factor` when a metric has stopped improving for more than
 * `patience` epochs: call `step(metric)` once per epoch with the validation loss (or, with
 * `mode: "max"`, an accuracy). It follows `torch.optim.lr_scheduler.ReduceLROnPlateau`; like
 * PyTorch's, it is not an {@linkcode LRScheduler} (its step takes the metric) and cannot be chained
 * in {@linkcode SequentialLR}. A NaN metric counts as no improvement, as in PyTorch.
 */
export class ReduceLROnPlateau {
  /** The optimizer whose groups' `lr` this scheduler sets. */
  readonly optimizer: SchedulableOptimizer;
  /** "min" or "max". */
  mode: "min" | "max";
  /** Multiplier of the rate at a plateau. */
  factor: number;
  /** Bad epochs tolerated. */
  patience: number;
  /** Least improvement. */
  threshold: number;
  /** "rel" or "abs". */
  thresholdMode: "rel" | "abs";
  /** Epochs of cooldown after a reduction. */
  cooldown: number;
  /** Cooldown epochs left. */
  cooldownCounter = 0;
  /** Lower bound of each group's rate. */
  minLrs: number[];
  /** Smallest reduction applied. */
  eps: number;
  /** Best metric so far (±Infinity before the first step). */
  best: number;
  /** Epochs since the last improvement (0 during cooldown). */
  numBadEpochs = 0;
  /** Number of `step` calls. */
  lastEpoch = 0;
  /** The learning rates after the last step. */
  lastLr: number[];

  /**
   * Creates the scheduler. Every option is checked: `mode` and `thresholdMode` from their lists,
   * `factor` in [0, 1), `patience` and `cooldown` integers >= 0, `threshold` a finite number >= 0
   * (below 1 with "rel"), `minLr` finite numbers >= 0 (one, or one per group), `eps` a finite
   * number >= 0. PyTorch's positional `mode` is accepted: `new ReduceLROnPlateau(opt, "max")`.
   *
   * @example
   * ```ts
   * import { ReduceLROnPlateau, SGD } from "./mod.ts";
   * import { tensor } from "../mod.ts";
   * const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
   * const sched = new ReduceLROnPlateau(opt, { patience: 1, factor: 0.5 });
   * for (const valLoss of [1.0, 0.8, 0.8, 0.8]) sched.step(valLoss);
   * console.log(sched.getLastLr()); // [0.05]
   * ```
   */
  constructor(optimizer: SchedulableOptimizer, options?: ReduceLROnPlateauOptions);
  /** PyTorch's positional mode: `ReduceLROnPlateau(optimizer, "max", { patience: 3 })`. */
  constructor(
    optimizer: SchedulableOptimizer,
    mode: "min" | "max",
    options?: Omit<ReduceLROnPlateauOptions, "mode">,
  );
  constructor(
    optimizer: SchedulableOptimizer,
    options: ReduceLROnPlateauOptions | "min" | "max" = {},
    more?: Omit<ReduceLROnPlateauOptions, "mode">,
  ) {
    const name = "ReduceLROnPlateau";
    maxArgs(name, arguments.length, 3);
    let o: ReduceLROnPlateauOptions;
    if (typeof options === "string") {
      o = { ...checkKeys(name, more, PLATEAU_KEYS.filter((k) => k !== "mode")), mode: options };
    } else {
      if (more !== undefined) {
        throw new ValueError(
          `${name}: got ${show(more)} after the options object; pass everything in it ` +
            `({ ${PLATEAU_KEYS.join(", ")} })`,
        );
      }
      o = checkKeys(name, options, PLATEAU_KEYS);
    }
    checkOptimizer(name, optimizer);
    const mode = o.mode ?? "min";
    if (mode !== "min" && mode !== "max") {
      throw new ValueError(`${name}: mode must be "min" or "max", got ${show(mode)}`);
    }
    const thresholdMode = o.thresholdMode ?? "rel";
    if (thresholdMode !== "rel" && thresholdMode !== "abs") {
      throw new ValueError(
        `${name}: thresholdMode must be "rel" or "abs", got ${show(thresholdMode)}`,
      );
    }
    this.optimizer = optimizer;
    this.mode = mode;
    this.thresholdMode = thresholdMode;
    this.factor = checkNumber(name, "factor", o.factor ?? 0.1, (x) => x >= 0 && x < 1, "in [0, 1)");
    this.patience = checkInt(name, "patience", o.patience ?? 10, 0);
    this.threshold = checkNumber(
      name,
      "threshold",
      o.threshold ?? 1e-4,
      (x) => Number.isFinite(x) && x >= 0 && (thresholdMode === "abs" || x < 1),
      thresholdMode === "rel" ? 'in [0, 1) with thresholdMode "rel"' : "a finite number >= 0",
    );
    this.cooldown = checkInt(name, "cooldown", o.cooldown ?? 0, 0);
    this.minLrs = perGroup(
      name,
      "minLr",
      o.minLr ?? 0,
      optimizer.paramGroups.length,
      (x) => Number.isFinite(x) && x >= 0,
      "a finite number >= 0",
    );
    this.eps = checkNumber(
      name,
      "eps",
      o.eps ?? 1e-8,
      (x) => Number.isFinite(x) && x >= 0,
      "a finite number >= 0",
    );
    this.best = this.#worst();
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  #worst(): number {
    return this.mode === "min" ? Infinity : -Infinity;
  }

  #isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === "min") {
      return this.thresholdMode === "rel" ? a < best * (1 - threshold) : a < best - threshold;
    }
    return this.thresholdMode === "rel" ? a > best * (threshold + 1) : a > best + threshold;
  }

  /**
   * Records one epoch's metric (a number: read a tensor with `await loss.item()` first) and
   * reduces the rates of all groups when it has not improved for more than `patience` epochs.
   */
  step(metric: number): void {
    if (typeof metric !== "number") {
      throw new ValueError(
        `ReduceLROnPlateau.step: metric must be a number (the epoch's validation loss or ` +
          `accuracy), got ${show(metric)}${
            metric !== null && typeof metric === "object"
              ? "; read a tensor with await t.item()"
              : ""
          }`,
      );
    }
    this.lastEpoch++;
    if (this.#isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const lr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - lr > this.eps) g.lr = lr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Whether a reduction's cooldown is running. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** The learning rates after the last step (the groups' rates before the first), one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Every field but the optimizer (PyTorch's `state_dict`). */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) if (k !== "optimizer") out[k] = structuredClone(v);
    return out;
  }

  /**
   * Restores fields saved by {@linkcode ReduceLROnPlateau.stateDict}, checked before any field
   * changes: unknown keys, values of another type, an unknown mode or thresholdMode, and minLrs of
   * another length than the groups are ValueErrors.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const name = "ReduceLROnPlateau.loadStateDict";
    const entries = checkedState(this, sd, ["optimizer"]);
    const v = Object.fromEntries(entries) as Partial<ReduceLROnPlateau>;
    if (v.mode !== undefined && v.mode !== "min" && v.mode !== "max") {
      throw new ValueError(`${name}: mode must be "min" or "max", got ${show(v.mode)}`);
    }
    if (v.thresholdMode !== undefined && v.thresholdMode !== "rel" && v.thresholdMode !== "abs") {
      throw new ValueError(
        `${name}: thresholdMode must be "rel" or "abs", got ${show(v.thresholdMode)}`,
      );
    }
    const groups = this.optimizer.paramGroups.length;
    for (const k of ["minLrs", "lastLr"] as const) {
      const a = v[k];
      if (a !== undefined && (a.length !== groups || a.some((x) => typeof x !== "number"))) {
        throw new ValueError(
          `${name}: ${k} must be ${groups} numbers (one per parameter group), got ${show(a)}`,
        );
      }
    }
    const self = this as unknown as Record<string, unknown>;
    for (const [k, x] of entries) self[k] = structuredClone(x);
  }
}

// Its methods refuse extra arguments (it is not an LRScheduler, whose subclasses are guarded).
guardArity(ReduceLROnPlateau.prototype, "ReduceLROnPlateau");
