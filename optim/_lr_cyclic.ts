/**
 * {@linkcode OneCycleLR} (private to optim/; public through lr_scheduler.ts), an annealing
 * schedule: the 1cycle policy, which raises then anneals the rate once per training (stepped per
 * batch) while cycling the momentum the opposite way. The other annealing schedule,
 * `CosineAnnealingLR`, is in _lr_cosine.ts.
 *
 * @module
 */

import { ValueError } from "../core/mod.ts";
import { show } from "../core/args.ts";
import { LRScheduler, type SchedulableOptimizer } from "./_lr_base.ts";
import {
  checkBool,
  checkInt,
  checkNumber,
  perGroup,
  positive,
  positiveInt,
  schedulerArgs,
} from "./_lr_args.ts";

/** Options of {@linkcode OneCycleLR} (PyTorch's, in camelCase). */
export interface OneCycleLROptions {
  /** Steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  /** Epochs, with `stepsPerEpoch`: totalSteps = epochs·stepsPerEpoch. */
  epochs?: number;
  /** Steps per epoch, with `epochs`. */
  stepsPerEpoch?: number;
  /**
   * Fraction of the cycle spent raising the rate, in [0, 1] (default 0.3; at most 0.5 with
   * threePhase).
   */
  pctStart?: number;
  /** How the rate moves within a phase: "cos" (default) or "linear". */
  annealStrategy?: "cos" | "linear";
  /**
   * Cycle the momentum inversely to the rate between `maxMomentum` and `baseMomentum` (default
   * true): SGD's and RMSprop's `momentum`, Adam's `betas[0]`.
   */
  cycleMomentum?: boolean;
  /** Lowest momentum, reached at the peak rate (default 0.85), or one per group. */
  baseMomentum?: number | readonly number[];
  /** Highest momentum, at the start and end of the cycle (default 0.95), or one per group. */
  maxMomentum?: number | readonly number[];
  /** The starting rate is maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The final rate is the starting rate / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /**
   * Three phases: up to maxLr, back down to the starting rate, then down to the final rate
   * (default false: up, then down to the final rate).
   */
  threePhase?: boolean;
  /** Step to resume from (default −1: start; the groups must then hold the cycle's rates). */
  lastEpoch?: number;
}

const ONE_CYCLE_KEYS = [
  "totalSteps",
  "epochs",
  "stepsPerEpoch",
  "pctStart",
  "annealStrategy",
  "cycleMomentum",
  "baseMomentum",
  "maxMomentum",
  "divFactor",
  "finalDivFactor",
  "threePhase",
  "lastEpoch",
] as const;

/** One phase of a {@linkcode OneCycleLR} cycle: from the previous phase's end to `endStep`. */
export interface OneCyclePhase {
  /** Last step of the phase (fractional, as in PyTorch). */
  endStep: number;
  /** Group field holding the rate at the phase's start. */
  startLr: "initialLr" | "maxLr";
  /** Group field holding the rate at the phase's end. */
  endLr: "initialLr" | "maxLr" | "minLr";
  /** Group field holding the momentum at the phase's start. */
  startMomentum: "maxMomentum" | "baseMomentum";
  /** Group field holding the momentum at the phase's end. */
  endMomentum: "maxMomentum" | "baseMomentum";
}

/**
 * The 1cycle policy (Smith & Topsakal): the rate rises from maxLr/divFactor to maxLr over the first
 * `pctStart` of `totalSteps`, then anneals to maxLr/(divFactor·finalDivFactor), while the
 * momentum moves the opposite way; step it after every batch. As in PyTorch, the cycle's rates and
 * momenta live in the parameter groups (`initialLr`, `maxLr`, `minLr`, `maxMomentum`,
 * `baseMomentum`), so the optimizer's state dict carries them, and a step past `totalSteps` is an
 * error. The last allowed step (the `totalSteps`-th after construction) continues the last phase's
 * curve one step beyond its end, as PyTorch does.
 *
 * Where PyTorch would divide by zero (`pctStart`·`totalSteps` = 1, or `pctStart` 1) or run its
 * three phases out of order (`threePhase` with `pctStart` > 0.5), construction is a ValueError; so
 * is `cycleMomentum` with an optimizer that has neither `momentum` nor `betas` (Adagrad: pass
 * `cycleMomentum: false`).
 */
export class OneCycleLR extends LRScheduler {
  /** Steps in the cycle. */
  totalSteps: number;
  /** The phases of the cycle. */
  phases: OneCyclePhase[];
  /** "cos" or "linear". */
  annealStrategy: "cos" | "linear";
  /** Whether the momentum cycles too. */
  cycleMomentum: boolean;
  /** Whether the momentum is Adam's `betas[0]` (else the group's `momentum`). */
  useBeta1: boolean;

  /**
   * Creates the scheduler: records each group's cycle (`initialLr` = maxLr/divFactor, `maxLr`,
   * `minLr` = initialLr/finalDivFactor, and the momenta) and sets the step-0 rates. `maxLr` is a
   * finite number > 0, or one per group; PyTorch's positional `totalSteps` may stand in for the
   * options.
   *
   * @example
   * ```ts
   * import { OneCycleLR, SGD } from "./mod.ts";
   * import { tensor } from "../mod.ts";
   * const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
   * const sched = new OneCycleLR(opt, 1, { totalSteps: 100 });
   * console.log(sched.getLastLr(), opt.paramGroups[0].momentum); // [0.04] 0.95
   * for (let i = 0; i < 30; i++) sched.step();
   * console.log(sched.getLastLr()); // [1]
   * ```
   */
  constructor(
    optimizer: SchedulableOptimizer,
    maxLr: number | readonly number[],
    options: OneCycleLROptions | number = {},
  ) {
    const name = "OneCycleLR";
    const o = schedulerArgs(name, arguments, 3, options, [], ONE_CYCLE_KEYS);
    let total: number;
    if (o.totalSteps !== undefined) {
      if (o.epochs !== undefined || o.stepsPerEpoch !== undefined) {
        throw new ValueError(
          `${name}: give totalSteps, or epochs and stepsPerEpoch, not both (got totalSteps ${
            show(o.totalSteps)
          } and ${o.epochs !== undefined ? `epochs ${show(o.epochs)}` : ""}${
            o.epochs !== undefined && o.stepsPerEpoch !== undefined ? " and " : ""
          }${o.stepsPerEpoch !== undefined ? `stepsPerEpoch ${show(o.stepsPerEpoch)}` : ""})`,
        );
      }
      total = positiveInt(name, "totalSteps", o.totalSteps);
    } else if (o.epochs === undefined && o.stepsPerEpoch === undefined) {
      throw new ValueError(
        `${name}: the cycle's length is required: give totalSteps, or epochs and stepsPerEpoch`,
      );
    } else {
      if (o.epochs === undefined || o.stepsPerEpoch === undefined) {
        throw new ValueError(
          `${name}: epochs and stepsPerEpoch go together (totalSteps = epochs × stepsPerEpoch); ` +
            `got only ${o.epochs === undefined ? "stepsPerEpoch" : "epochs"}`,
        );
      }
      total = positiveInt(name, "epochs", o.epochs) *
        positiveInt(name, "stepsPerEpoch", o.stepsPerEpoch);
    }
    const pct = checkNumber(
      name,
      "pctStart",
      o.pctStart ?? 0.3,
      (x) => x >= 0 && x <= 1,
      "in [0, 1]",
    );
    const anneal = o.annealStrategy ?? "cos";
    if (anneal !== "cos" && anneal !== "linear") {
      throw new ValueError(
        `${name}: annealStrategy must be "cos" or "linear", got ${show(anneal)}`,
      );
    }
    const three = checkBool(name, "threePhase", o.threePhase, false);
    const cycle = checkBool(name, "cycleMomentum", o.cycleMomentum, true);
    const div = positive(name, "divFactor", o.divFactor ?? 25);
    const finalDiv = positive(name, "finalDivFactor", o.finalDivFactor ?? 1e4);
    const lastEpoch = checkInt(name, "lastEpoch", o.lastEpoch ?? -1, -1);
    const groups = optimizer.paramGroups as unknown as Record<string, unknown>[];
    const maxLrs = perGroup(
      name,
      "maxLr",
      maxLr,
      groups.length,
      (x) => Number.isFinite(x) && x > 0,
      "a finite number > 0",
    );
    const phases = oneCyclePhases(pct, total, three);
    // Where PyTorch divides by zero or runs its phases out of order.
    if (three && pct > 0.5) {
      throw new ValueError(
        `${name}: threePhase needs pctStart <= 0.5 (the rise and the fall back take 2·pctStart of ` +
          `the cycle), got ${pct}`,
      );
    }
    if (phases[0].endStep === 0) {
      throw new ValueError(
        `${name}: pctStart ${pct} × totalSteps ${total} = 1 makes the rising phase end at step 0 ` +
          `(PyTorch divides by zero there); choose another pctStart`,
      );
    }
    if (!three && pct === 1) {
      throw new ValueError(
        `${name}: pctStart 1 leaves no annealing phase (PyTorch divides by zero at the last step); ` +
          `use pctStart < 1`,
      );
    }
    let useBeta1 = false;
    let momenta: [number[], number[]] | null = null;
    if (cycle) {
      const defaults = (optimizer as { defaults?: unknown }).defaults;
      const has = (k: string) =>
        defaults !== null && typeof defaults === "object"
          ? k in defaults
          : groups.every((g) => k in g);
      if (!has("momentum") && !has("betas")) {
        throw new ValueError(
          `${name}: cycleMomentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam, ` +
            `AdamW), got ${optimizer.constructor.name}; pass cycleMomentum: false`,
        );
      }
      useBeta1 = has("betas");
      // Adam's beta1 must stay in [0, 1); a momentum only >= 0.
      const ok = useBeta1
        ? (x: number) => x >= 0 && x < 1
        : (x: number) => Number.isFinite(x) && x >= 0;
      const expected = useBeta1 ? "in [0, 1) (Adam's betas[0])" : "a finite number >= 0";
      momenta = [
        perGroup(name, "maxMomentum", o.maxMomentum ?? 0.95, groups.length, ok, expected),
        perGroup(name, "baseMomentum", o.baseMomentum ?? 0.85, groups.length, ok, expected),
      ];
    } else {
      for (const k of ["maxMomentum", "baseMomentum"] as const) {
        if (o[k] !== undefined) {
          throw new ValueError(`${name}: ${k} is only used with cycleMomentum (it is false)`);
        }
      }
    }
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / div;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDiv;
        if (momenta) {
          setMomentum(g, momenta[0][i], useBeta1);
          g.maxMomentum = momenta[0][i];
          g.baseMomentum = momenta[1][i];
        }
      });
    } else {
      const need = ["initialLr", "maxLr", "minLr"];
      if (cycle) need.push("maxMomentum", "baseMomentum");
      groups.forEach((g, i) => {
        const missing = need.filter((k) => typeof g[k] !== "number");
        if (missing.length) {
          throw new ValueError(
            `${name}: resuming at lastEpoch ${lastEpoch} needs ${
              missing.join(", ")
            } in parameter group ${i} (load the optimizer's state dict first)`,
          );
        }
      });
    }
    super(optimizer, lastEpoch);
    this.totalSteps = total;
    this.phases = phases;
    this.annealStrategy = anneal;
    this.cycleMomentum = cycle;
    this.useBeta1 = useBeta1;
    this.initialStep();
  }

  /**
   * Advances one step (or jumps to step `epoch`); past `totalSteps` is a ValueError, raised before
   * anything changes.
   */
  override step(epoch?: number): void {
    const next = epoch ?? this.lastEpoch + 1;
    if (typeof next === "number" && next > this.totalSteps) {
      throw new ValueError(
        `OneCycleLR.step: tried to step ${
          next + 1
        } times; the cycle has totalSteps ${this.totalSteps}`,
      );
    }
    super.step(epoch);
  }

  /** The rates of step `lastEpoch` (and, with cycleMomentum, sets the groups' momentum). */
  getLr(): number[] {
    const t = this.lastEpoch;
    const anneal = this.annealStrategy === "cos"
      ? (a: number, b: number, pct: number) => b + (a - b) / 2 * (Math.cos(Math.PI * pct) + 1)
      : (a: number, b: number, pct: number) => (b - a) * pct + a;
    const groups = this.optimizer.paramGroups as unknown as Record<string, number>[];
    return groups.map((g) => {
      let start = 0;
      for (const [i, ph] of this.phases.entries()) {
        if (t <= ph.endStep || i === this.phases.length - 1) {
          const pct = (t - start) / (ph.endStep - start);
          if (this.cycleMomentum) {
            const m = anneal(g[ph.startMomentum], g[ph.endMomentum], pct);
            setMomentum(g, m, this.useBeta1);
          }
          return anneal(g[ph.startLr], g[ph.endLr], pct);
        }
        start = ph.endStep;
      }
      throw new Error("unreachable");
    });
  }
}

function oneCyclePhases(pct: number, total: number, three: boolean): OneCyclePhase[] {
  const up: OneCyclePhase = {
    endStep: pct * total - 1,
    startLr: "initialLr",
    endLr: "maxLr",
    startMomentum: "maxMomentum",
    endMomentum: "baseMomentum",
  };
  if (!three) {
    return [up, {
      endStep: total - 1,
      startLr: "maxLr",
      endLr: "minLr",
      startMomentum: "baseMomentum",
      endMomentum: "maxMomentum",
    }];
  }
  return [up, {
    endStep: 2 * pct * total - 2,
    startLr: "maxLr",
    endLr: "initialLr",
    startMomentum: "baseMomentum",
    endMomentum: "maxMomentum",
  }, {
    endStep: total - 1,
    startLr: "initialLr",
    endLr: "minLr",
    startMomentum: "maxMomentum",
    endMomentum: "maxMomentum",
  }];
}

// Sets a group's momentum: Adam's betas[0], else `momentum`.
function setMomentum(g: Record<string, unknown>, m: number, useBeta1: boolean): void {
  if (useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
  else g.momentum = m;
}
