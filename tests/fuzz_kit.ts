// Shared by the fuzz tests (tests/data/fuzz_test.ts, tests/train/safetensors_fuzz_test.ts): a seeded
// random source for mutations and the environment knobs of longer campaigns. Not a test file.

import { Generator } from "../mod.ts";

/** A seeded random source: `next()` in [0, 1), `int(n)` in [0, n), `pick(xs)`. */
export function rng(seed: number): {
  next: () => number;
  int: (n: number) => number;
  pick: <T>(xs: readonly T[]) => T;
} {
  const g = new Generator(seed);
  const next = () => g.uniform();
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}

/** A numeric environment variable (DENN_FUZZ_SCALE, DENN_FUZZ_SEED), or the fallback when unset or not permitted. */
export function envNumber(name: string, fallback: number): number {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  const v = granted ? Deno.env.get(name) : undefined;
  return v === undefined ? fallback : Number(v);
}
