/**
 * Validation of the option objects of the data plugin's loaders, datasets and transforms: an
 * unknown key, a wrong type or an out-of-range value throws a `ValueError` naming the function,
 * the option and what it accepts — nothing is silently clamped, rounded or ignored. An option
 * given as `undefined` counts as absent.
 *
 * @module
 */

import { Generator, ValueError } from "../../core/mod.ts";

/**
 * Checks that `options` is a plain object whose keys are all in `allowed`; returns it.
 *
 * @example
 * ```ts
 * import { checkOptions } from "./options.ts";
 * checkOptions("loadIdx", { limit: 5 }, ["labels", "limit"]);
 * ```
 */
export function checkOptions<T>(fn: string, options: T, allowed: readonly string[]): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ValueError(`${fn}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new ValueError(
        `${fn}: unknown option "${key}" (accepted: ${allowed.join(", ")})`,
      );
    }
  }
  return options;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "function") return "a function";
  const ctor = (v as object).constructor?.name;
  if (!ctor || ctor === "Object") return "an object";
  return `${/^[AEIOU]/.test(ctor) ? "an" : "a"} ${ctor}`;
}

/** An integer option in [min, max]; `undefined` gives `fallback`. */
export function intOption(
  fn: string,
  name: string,
  v: unknown,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max !== Number.MAX_SAFE_INTEGER
      ? `an integer in [${min}, ${max}]`
      : min === Number.MIN_SAFE_INTEGER
      ? "a safe integer"
      : `an integer >= ${min}`;
    throw new ValueError(`${fn}: ${name} must be ${range}, got ${describe(v)}`);
  }
  return v;
}

/** A boolean option; `undefined` gives `fallback`. */
export function boolOption(fn: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") {
    throw new ValueError(`${fn}: ${name} must be true or false, got ${describe(v)}`);
  }
  return v;
}

/** A finite number option; `undefined` gives `fallback`. */
export function finiteOption(fn: string, name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ValueError(`${fn}: ${name} must be a finite number, got ${describe(v)}`);
  }
  return v;
}

/** A non-empty string option, or undefined. */
export function stringOption(fn: string, name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new ValueError(`${fn}: ${name} must be a non-empty string, got ${describe(v)}`);
  }
  return v;
}

/** One of `choices`; `undefined` gives `fallback`. */
export function choiceOption<C extends string>(
  fn: string,
  name: string,
  v: unknown,
  choices: readonly C[],
  fallback: C,
): C {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
    throw new ValueError(
      `${fn}: ${name} must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${
        describe(v)
      }`,
    );
  }
  return v as C;
}

/** The generator of `options.generator`, else a fresh one seeded by `options.seed` (default 0). */
export function generatorOption(
  fn: string,
  options: { generator?: unknown; seed?: unknown },
): Generator {
  const seed = intOption(fn, "seed", options.seed, 0, Number.MIN_SAFE_INTEGER);
  if (options.generator === undefined) return new Generator(seed);
  if (!(options.generator instanceof Generator)) {
    throw new ValueError(
      `${fn}: generator must be a Generator, got ${describe(options.generator)}`,
    );
  }
  return options.generator;
}
