/**
 * Routes and strict mode: which backend runs an op (or op family) by the user's choice, globally or
 * only while a function runs, and whether dispatch may fall back to another backend. Dispatch
 * (dispatch.ts) reads them; the capability registry (registry.ts) drops routes to a backend it
 * removes.
 *
 * @module
 */

import { currentFrame, runInFrame } from "./context.ts";

/** Routes set without a function (route(table)). */
export const globalRoutes: Map<string, string> = new Map();
let strict = false;

// The routes in force: those of the innermost route(table, fn) call, else the global table.
export function activeRoutes(): Map<string, string> {
  return currentFrame()?.routes ?? globalRoutes;
}

/**
 * Routes ops (or op families) to backends. With a function, the routes apply only while it runs
 * (an async function: across its awaits, and only for it).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { route, tensor } from "./mod.ts";
 * route({ matmul: "cpu" });
 * const y = tensor([[1, 2]]).matmul(tensor([[3], [4]]));
 * route({ matmul: null }); // removes the route
 * const z = route({ matmul: "cpu" }, () => y.matmul(tensor([[1]])));
 * ```
 */
export function route(table: Record<string, string | null>): void;
/** Applies routes only while `fn` runs and returns its result. */
export function route<T>(table: Record<string, string | null>, fn: () => T): T;
export function route<T>(table: Record<string, string | null>, fn?: () => T): T | void {
  const target = fn ? new Map(activeRoutes()) : globalRoutes;
  for (const [op, dev] of Object.entries(table)) {
    if (dev === null) target.delete(op);
    else target.set(op, dev);
  }
  if (fn) return runInFrame({ routes: target }, fn);
}

/** Current routes, op → backend. */
export function getRoutes(): Record<string, string> {
  return Object.fromEntries(activeRoutes());
}

/** Turns strict dispatch on or off: in strict mode no op silently falls back to another backend. */
export function setStrict(on: boolean): void {
  strict = on;
}

/** Whether strict dispatch is on. */
export function isStrict(): boolean {
  return strict;
}
