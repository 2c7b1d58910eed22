// Option checks shared by the layer plugins, run once at the API boundary: hand-written checks for
// the layers' constructors and zod schemas (built once, at module load) for the functional forms.
// Every message names the layer or function and the option, so `new Conv2d(3, 0, 3)` fails with
// "Conv2d: outChannels must be a positive integer, got 0" instead of a shape error deep inside a
// kernel. Internal: not exported from layers/mod.ts.

import { z } from "zod";
import { shapeStr, Tensor, ValueError } from "../core/mod.ts";

/** An int or an (height, width) pair, as the layers accept it. */
export type IntPair = number | readonly [number, number];

/** Formats a value for an error message (long or deeply nested arrays are elided). */
export function show(v: unknown, depth = 0): string {
  if (Array.isArray(v)) {
    if (depth > 3) return "[...]";
    const items = v.slice(0, 8).map((e) => show(e, depth + 1));
    if (v.length > 8) items.push(`... ${v.length - 8} more`);
    return `[${items.join(", ")}]`;
  }
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "function") return `function ${v.name || "(anonymous)"}`;
  if (v !== null && typeof v === "object") return v.constructor?.name ?? "an object";
  return String(v);
}

/**
 * Throws a ValueError when a functional form is called with more than `max` arguments, which
 * JavaScript would otherwise drop silently (`F.sigmoid(x, 1)`, PyTorch's `F.softmax(x, 1, dtype)`).
 * Call it first in every function of `F`, with that function's `arguments`.
 */
export function arity(fn: string, args: IArguments, max: number): void {
  if (args.length > max) {
    throw new ValueError(
      `${fn}: takes at most ${max} argument${max === 1 ? "" : "s"}, got ${args.length} (${
        Array.from(args, (a) => show(a)).join(", ")
      })`,
    );
  }
}

function notTensor(fn: string, name: string, v: unknown, orNull = false): never {
  throw new ValueError(
    `${fn}: expected a Tensor${orNull ? " or null" : ""} as ${name}, got ${show(v)}` +
      (Array.isArray(v) || typeof v === "number" ? " (wrap values with tensor(...))" : ""),
  );
}

/**
 * Requires a Tensor: a plain array, a number, null or a missing argument is a ValueError
 * "<fn>: expected a Tensor as <name>, got <value>" instead of a raw TypeError deep inside an op.
 */
export function tensorArg(fn: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) notTensor(fn, name, v);
  return v;
}

/** Requires a Tensor, null or undefined (an optional tensor such as a bias); returns it or null. */
export function optionalTensor(fn: string, name: string, v: unknown): Tensor | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Tensor)) notTensor(fn, name, v, true);
  return v;
}

/** Throws a ValueError "<layer>: <option> <what>, got <value>". */
export function fail(layer: string, option: string, what: string, got: unknown): never {
  throw new ValueError(`${layer}: ${option} ${what}, got ${show(got)}`);
}

/** Requires an integer ≥ min (default 1). */
export function int(layer: string, option: string, v: unknown, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    fail(
      layer,
      option,
      min === 1
        ? "must be a positive integer"
        : min === -Infinity
        ? "must be an integer"
        : `must be an integer >= ${min}`,
      v,
    );
  }
  return v;
}

/** Requires an int or a pair of ints, each ≥ min; returns the pair. */
export function pair(layer: string, option: string, v: unknown, min = 1): [number, number] {
  const p = typeof v === "number" ? [v, v] : v;
  const ok = Array.isArray(p) && p.length === 2 &&
    p.every((e) => typeof e === "number" && Number.isInteger(e) && e >= min);
  if (!ok) {
    const what = min === 1
      ? "positive integer"
      : min === 0
      ? "non-negative integer"
      : `integer >= ${min}`;
    fail(layer, option, `must be a ${what} or a pair of them`, v);
  }
  return [p[0], p[1]];
}

/** Requires a finite number. */
export function finite(layer: string, option: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    fail(layer, option, "must be a finite number", v);
  }
  return v;
}

/** Requires a number in [0, 1]. */
export function probability(layer: string, option: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
    fail(layer, option, "must be a probability between 0 and 1", v);
  }
  return v;
}

/** Requires a boolean (undefined gives the default). */
export function bool(layer: string, option: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") fail(layer, option, "must be a boolean", v);
  return v;
}

/** Requires one of the listed strings (undefined gives the first). */
export function oneOf<T extends string>(
  layer: string,
  option: string,
  v: unknown,
  allowed: readonly T[],
): T {
  if (v === undefined) return allowed[0];
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    fail(layer, option, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}`, v);
  }
  return v as T;
}

/** Rejects option keys the layer does not know (catches typos like `{ strides: 2 }`). */
export function knownKeys(layer: string, options: object, keys: readonly string[]): void {
  if (options === null || typeof options !== "object") {
    throw new ValueError(`${layer}: options must be an object, got ${show(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!keys.includes(k)) {
      throw new ValueError(
        `${layer}: unknown option "${k}" (expected one of ${keys.join(", ")})`,
      );
    }
  }
}

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
/** Zod schema of a positive int or a pair of them. */
export const posIntPair: z.ZodType<IntPair> = z.union([posInt, z.tuple([posInt, posInt])]);
/** Zod schema of a non-negative int or a pair of them. */
export const nonNegIntPair: z.ZodType<IntPair> = z.union([
  nonNegInt,
  z.tuple([nonNegInt, nonNegInt]),
]);

// Each schema's result for empty options, parsed once (frozen: callers share it). Most calls pass
// none, and a parse costs 0.2–0.3 µs, about what the op itself costs on a small input.
const emptyParsed = new WeakMap<z.ZodType, unknown>();

/**
 * Parses a functional form's options with a schema built at module load. `x` (the input) is named
 * in the message so a bad option is tied to the call that passed it.
 */
export function parseOptions<T>(op: string, schema: z.ZodType<T>, v: unknown, x?: Tensor): T {
  const empty = v !== null && typeof v === "object" &&
    Object.getPrototypeOf(v) === Object.prototype &&
    Object.keys(v).length === 0;
  if (empty && emptyParsed.has(schema)) return emptyParsed.get(schema) as T;
  const r = schema.safeParse(v);
  if (r.success && empty) emptyParsed.set(schema, Object.freeze(r.data));
  if (r.success) return r.data;
  throw new ValueError(
    `${op}: invalid options${x ? ` for input ${shapeStr(x.shape)}` : ""}: ${
      r.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ")
    }`,
  );
}

/** An int or a pair as a pair (already validated). */
export function toPair(v: IntPair): [number, number] {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}
