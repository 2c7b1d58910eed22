/**
 * Learning-rate schedulers with PyTorch's semantics (`torch.optim.lr_scheduler`): construction
 * performs the initial step (epoch 0), `step()` advances one epoch using the recursive (chainable)
 * form, and `step(epoch)` (PyTorch's deprecated form, kept) jumps to a non-negative integer epoch
 * using the closed form. `SequentialLR` switches between schedulers at milestones;
 * {@linkcode warmup} builds the usual linear warm-up in front of another schedule.
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

import { ValueError } from "../core/mod.ts";
import { guardArity, options as checkKeys, show } from "../core/args.ts";

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
    guardSubclass(new.target.prototype);
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
    const name = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== "object" || Array.isArray(sd)) {
      throw new ValueError(
        `${name}: expected a scheduler state dict (from scheduler.stateDict()), got ${show(sd)}`,
      );
    }
    const skip = this.referenceKeys();
    const self = this as unknown as Record<string, unknown>;
    const entries = Object.entries(sd).filter(([k]) => !skip.includes(k));
    for (const [k, v] of entries) {
      if (!Object.hasOwn(this, k)) {
        throw new ValueError(
          `${name}: unknown key "${k}" (expected ${
            Object.keys(this).filter((x) => !skip.includes(x)).join(", ")
          }; a state dict of another kind of scheduler?)`,
        );
      }
      const cur = self[k];
      if (typeof v !== typeof cur || Array.isArray(v) !== Array.isArray(cur)) {
        throw new ValueError(
          `${name}: ${k} must be ${Array.isArray(cur) ? "an array" : `a ${typeof cur}`}, got ${
            show(v)
          }`,
        );
      }
    }
    for (const [k, v] of entries) self[k] = structuredClone(v);
  }
}

// Subclass prototypes whose methods are already guarded against extra arguments.
const guarded = new WeakSet<object>();

function guardSubclass(proto: object): void {
  while (proto && proto !== LRScheduler.prototype && !guarded.has(proto)) {
    guarded.add(proto);
    guardArity(proto, proto.constructor.name);
    proto = Object.getPrototypeOf(proto);
  }
}

guardArity(LRScheduler.prototype, "LRScheduler");

// An optimizer (anything with parameter groups that have a numeric lr).
function checkOptimizer(name: string, optimizer: unknown): void {
  const groups = (optimizer as Partial<SchedulableOptimizer> | null)?.paramGroups;
  if (
    optimizer === null || typeof optimizer !== "object" || !Array.isArray(groups) ||
    groups.length === 0
  ) {
    throw new ValueError(
      `${name}: optimizer must be an optimizer (an object with paramGroups, such as new SGD(...)), ` +
        `got ${show(optimizer)}`,
    );
  }
  groups.forEach((g, i) => {
    if (g === null || typeof g !== "object" || typeof g.lr !== "number") {
      throw new ValueError(
        `${name}: parameter group ${i} of the optimizer has no numeric lr, got ${show(g?.lr)}`,
      );
    }
  });
}

function checkInt(name: string, what: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    const which = min === 1 ? "a positive integer" : `an integer >= ${min}`;
    throw new ValueError(`${name}: ${what} must be ${which}, got ${show(v)}`);
  }
  return v;
}

function positiveInt(name: string, what: string, v: unknown): number {
  return checkInt(name, what, v, 1);
}

function checkNumber(
  name: string,
  what: string,
  v: unknown,
  ok: (x: number) => boolean,
  expected: string,
): number {
  if (typeof v !== "number" || !ok(v)) {
    throw new ValueError(`${name}: ${what} must be ${expected}, got ${show(v)}`);
  }
  return v;
}

// A finite number > 0 (a decay factor).
function positive(name: string, what: string, v: unknown): number {
  return checkNumber(name, what, v, (x) => Number.isFinite(x) && x > 0, "a finite number > 0");
}

// Milestones: an array of non-negative integers in non-decreasing order (a repeated milestone
// compounds, as in PyTorch).
function checkMilestones(name: string, v: unknown): number[] {
  const ok = Array.isArray(v) &&
    v.every((m, i) =>
      typeof m === "number" && Number.isSafeInteger(m) && m >= 0 && (i === 0 || m >= v[i - 1])
    );
  if (!ok) {
    throw new ValueError(
      `${name}: milestones must be an array of increasing non-negative integers (epochs), got ${
        show(v)
      }`,
    );
  }
  return [...v];
}

/**
 * The options of a scheduler's constructor, given as an object (checked against `keys`) or in
 * PyTorch's positional form: `given` a number, then `rest`, in the order of `keys`.
 */
function schedulerOptions<O extends object>(
  name: string,
  given: O | number | undefined,
  rest: readonly unknown[],
  keys: readonly (keyof O & string)[],
): O {
  if (typeof given === "number") {
    const out: Record<string, unknown> = {};
    [given, ...rest].forEach((v, i) => {
      if (v !== undefined) out[keys[i]] = v;
    });
    return out as O;
  }
  const extra = rest.findIndex((v) => v !== undefined);
  if (extra >= 0) {
    throw new ValueError(
      `${name}: got ${show(rest[extra])} after the options object; pass ${
        keys[1 + extra]
      } in it ({ ${keys.join(", ")} })`,
    );
  }
  return checkKeys(name, given, keys);
}

function maxArgs(name: string, n: number, max: number): void {
  if (n > max) {
    throw new ValueError(`${name}: takes at most ${max} arguments, got ${n}`);
  }
}

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
    maxArgs("StepLR", arguments.length, 4);
    const o = schedulerOptions<DecayOptions>("StepLR", options, [lastEpoch], DECAY_KEYS);
    checkOptimizer("StepLR", optimizer);
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
    maxArgs("MultiStepLR", arguments.length, 4);
    const o = schedulerOptions<DecayOptions>("MultiStepLR", options, [lastEpoch], DECAY_KEYS);
    checkOptimizer("MultiStepLR", optimizer);
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
    maxArgs(name, arguments.length, 4);
    const o = schedulerOptions<CosineAnnealingOptions>(name, options, [lastEpoch], [
      "etaMin",
      "lastEpoch",
    ]);
    checkOptimizer(name, optimizer);
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
    maxArgs("LinearLR", arguments.length, 5);
    const o = schedulerOptions<LinearLROptions>(
      "LinearLR",
      options,
      [endFactor, totalIters, lastEpoch],
      ["startFactor", "endFactor", "totalIters", "lastEpoch"],
    );
    checkOptimizer("LinearLR", optimizer);
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
