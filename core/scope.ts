/**
 * `scope()`: disposes the device tensors a function created that are not part of its result (sync
 * or async), and `keep()` to exempt a tensor.
 *
 * @module
 */

import { currentFrame, isPromise, liveScopes, runInFrame } from "./context.ts";
import { Tensor } from "./tensor.ts";

/** Tensors or structures of tensors a scope may return. */
export type Keepable = Tensor | readonly Keepable[] | { readonly [k: string]: Keepable } | unknown;

/**
 * Runs `fn` and disposes every device tensor created inside it that is not part of the result
 * (like TF.js `tidy`). Parameters, gradients assigned by backward and optimizer state are kept.
 * `fn` may be async: tensors its continuations create belong to this scope (and only they), and
 * disposal happens when its promise resolves.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { scope, tensor } from "./mod.ts";
 * const y = scope(() => tensor([1, 2]).mul(2).add(1)); // intermediates freed at once
 * ```
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<unknown>();
  liveScopes.count++;
  let result: T;
  try {
    result = runInFrame({ scope: mine }, fn);
  } catch (e) {
    liveScopes.count--;
    throw e;
  }
  if (isPromise(result)) {
    return result.then(
      (r) => {
        liveScopes.count--;
        return endScope(mine as Set<Tensor>, r);
      },
      (e) => {
        liveScopes.count--;
        throw e;
      },
    ) as T;
  }
  liveScopes.count--;
  return endScope(mine as Set<Tensor>, result);
}

function endScope<T>(mine: Set<Tensor>, result: T): T {
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of mine) {
    if (keep.has(t) || t.isParameter || keepAlive.has(t)) continue;
    t.dispose();
  }
  const outer = currentFrame()?.scope;
  if (outer) { for (const t of keep) if (mine.has(t)) outer.add(t); }
  return result;
}

const keepAlive = new WeakSet<Tensor>();

/** Whether {@linkcode keep} exempted `t`. Core-internal. */
export function isKept(t: Tensor): boolean {
  return keepAlive.has(t);
}

/** Exempts a tensor from disposal by enclosing scopes (optimizer state, gradients). */
export function keep<T extends Tensor>(t: T): T {
  keepAlive.add(t);
  return t;
}

function collect(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) {
    out.add(v);
    if (v.grad) out.add(v.grad);
  } else if (Array.isArray(v)) { for (const e of v) collect(e, out); }
  else if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const e of Object.values(v)) collect(e, out);
  }
}
