/**
 * The base of the learning-rate schedulers (private to optim/; public through lr_scheduler.ts):
 * {@linkcode LRScheduler} with its initial step, `step()` / `step(epoch)`, `getLastLr()` and state
 * dicts, and the optimizer interface a scheduler drives.
 *
 * @module
 */

import { ValueError } from "../core/mod.ts";
import { guardArity, guardSubclass, show } from "../core/args.ts";
import { checkedState, checkInt, checkOptimizer } from "./_lr_args.ts";

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
    const name = new.target.name;
    guardSubclass(new.target.prototype, LRScheduler.prototype);
    checkOptimizer(name, optimizer);
    checkInt(name, "lastEpoch", lastEpoch, -1);
    this.optimizer = optimizer;
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

  /**
   * Advances one epoch (recursive form), or jumps to `epoch` (closed form where available), a
   * non-negative integer: PyTorch's deprecated `step(epoch)`, kept because it is unambiguous. Any
   * other argument is a ValueError.
   */
  step(epoch?: number): void {
    if (epoch !== undefined && !(Number.isSafeInteger(epoch) && epoch >= 0)) {
      throw new ValueError(
        `${this.constructor.name}.step: epoch must be a non-negative integer (PyTorch's deprecated ` +
          `step(epoch)), or omitted to advance one epoch; got ${show(epoch)}`,
      );
    }
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

  /**
   * Restores fields saved by {@linkcode LRScheduler.stateDict} of a scheduler of the same kind:
   * a key this scheduler lacks, or a value of another type, is a ValueError (checked before any
   * field changes).
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const entries = checkedState(this, sd, this.referenceKeys());
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of entries) self[k] = structuredClone(v);
  }
}

guardArity(LRScheduler.prototype, "LRScheduler");
