/**
 * The argument checks the learning-rate schedulers share (private to optim/): the optimizer,
 * integers, numbers, milestones, per-group values, booleans, the options object or PyTorch's
 * positional form, the argument count, and a state dict before it is loaded. Each throws a
 * ValueError naming the scheduler and what was expected.
 *
 * @module
 */

import { ValueError } from "../core/mod.ts";
import { options as checkKeys, show } from "../core/args.ts";
import type { SchedulableOptimizer } from "./_lr_base.ts";

/**
 * The entries of a scheduler state dict `sd` to load into `target`, checked before any field
 * changes: `sd` must be an object whose keys (but `skip`) are fields of `target`, each value of the
 * field's current type. Throws a ValueError naming `target`'s class.
 */
export function checkedState(
  target: object,
  sd: unknown,
  skip: readonly string[],
): [string, unknown][] {
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

// An optimizer (anything with parameter groups that have a numeric lr).
export function checkOptimizer(name: string, optimizer: unknown): void {
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

export function checkInt(name: string, what: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    const which = min === 1 ? "a positive integer" : `an integer >= ${min}`;
    throw new ValueError(`${name}: ${what} must be ${which}, got ${show(v)}`);
  }
  return v;
}

export function positiveInt(name: string, what: string, v: unknown): number {
  return checkInt(name, what, v, 1);
}

export function checkNumber(
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
export function positive(name: string, what: string, v: unknown): number {
  return checkNumber(name, what, v, (x) => Number.isFinite(x) && x > 0, "a finite number > 0");
}

// Milestones: an array of non-negative integers in non-decreasing order (a repeated milestone
// compounds, as in PyTorch).
export function checkMilestones(name: string, v: unknown): number[] {
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
export function schedulerOptions<O extends object>(
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

export function maxArgs(name: string, n: number, max: number): void {
  if (n > max) {
    throw new ValueError(`${name}: takes at most ${max} arguments, got ${n}`);
  }
}

// A number, or one per group, each passing `ok`.
export function perGroup(
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

export function checkBool(name: string, what: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") {
    throw new ValueError(`${name}: ${what} must be a boolean, got ${show(v)}`);
  }
  return v;
}

/**
 * The checks a scheduler's constructor opens with, in this order: the number of its `args` (its
 * `arguments`, the optimizer first) is at most `max`, its options (`given` and `rest`, as
 * {@link schedulerOptions} reads them), then the optimizer. Returns the options.
 */
export function schedulerArgs<O extends object>(
  name: string,
  args: IArguments,
  max: number,
  given: O | number | undefined,
  rest: readonly unknown[],
  keys: readonly (keyof O & string)[],
): O {
  maxArgs(name, args.length, max);
  const o = schedulerOptions(name, given, rest, keys);
  checkOptimizer(name, args[0]);
  return o;
}
