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
    const entries = checkedState(this, sd, this.referenceKeys());
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of entries) self[k] = structuredClone(v);
  }
}

/**
 * The entries of a scheduler state dict `sd` to load into `target`, checked before any field
 * changes: `sd` must be an object whose keys (but `skip`) are fields of `target`, each value of the
 * field's current type. Throws a ValueError naming `target`'s class.
 */
function checkedState(target: object, sd: unknown, skip: readonly string[]): [string, unknown][] {
  const name = `${target.constructor.name}.loadStateDict`;
  if (sd === null || typeof sd !== "object" || Array.isArray(sd)) {
    throw new ValueError(
      `${name}: expected a scheduler state dict (from scheduler.stateDict()), got ${show(sd)}`,
    );
  }
  const self = target as Record<string, unknown>;
  const entries = Object.entries(sd).filter(([k]) => !skip.includes(k));
  for (const [k, v] of entries) {
    if (!Object.hasOwn(target, k)) {
      throw new ValueError(
        `${name}: unknown key "${k}" (expected ${
          Object.keys(target).filter((x) => !skip.includes(x)).join(", ")
        }; a state dict of another kind of scheduler?)`,
      );
    }
    const cur = self[k];
    if (typeof v !== typeof cur || Array.isArray(v) !== Array.isArray(cur)) {
      throw new ValueError(
        `${name}: ${k} must be ${Array.isArray(cur) ? "an array" : `a ${typeof cur}`}, got ${
          show(v)
        }${
          v === null && typeof cur === "number"
            ? " (JSON turns NaN and ±Infinity into null: keep the state dict as an object, or " +
              "save it with plugins/train's checkpoints, which keep non-finite numbers)"
            : ""
        }`,
      );
    }
  }
  return entries;
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
    maxArgs("ExponentialLR", arguments.length, 3);
    const o = schedulerOptions<ResumeOptions>("ExponentialLR", options, [], ["lastEpoch"]);
    checkOptimizer("ExponentialLR", optimizer);
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
    maxArgs(name, arguments.length, 3);
    const o = schedulerOptions<ResumeOptions>(name, options, [], ["lastEpoch"]);
    checkOptimizer(name, optimizer);
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

// A number, or one per group, each passing `ok`.
function perGroup(
  name: string,
  what: string,
  v: unknown,
  groups: number,
  ok: (x: number) => boolean,
  expected: string,
): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) {
      throw new ValueError(
        `${name}: expected ${groups} values for ${what} (one per parameter group), got ${v.length}`,
      );
    }
    return v.map((x, i) => checkNumber(name, `${what}[${i}]`, x, ok, expected));
  }
  return Array(groups).fill(checkNumber(name, what, v, ok, expected));
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
    maxArgs(name, arguments.length, 3);
    const o = schedulerOptions<OneCycleLROptions>(name, options, [], ONE_CYCLE_KEYS);
    checkOptimizer(name, optimizer);
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

function checkBool(name: string, what: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") {
    throw new ValueError(`${name}: ${what} must be a boolean, got ${show(v)}`);
  }
  return v;
}

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
