/**
 * Gradient mode: whether ops record autograd nodes, switched by `noGrad`/`enableGrad` (for exactly
 * their duration, across an async function's awaits too) or globally by `setGradEnabled`.
 *
 * @module
 */

import { AutogradError, ValueError } from "./errors.ts";
import { show } from "./args.ts";
import { currentFrame, isPromise, runInFrame } from "./context.ts";

let gradEnabled = true;
// Set by the synchronous part of noGrad/enableGrad (innermost wins); null outside them, where an
// async function's frame (see context.ts) or the global setting applies.
let override: boolean | null = null;

/** Whether ops currently record autograd nodes. */
export function isGradEnabled(): boolean {
  return override ?? currentFrame()?.grad ?? gradEnabled;
}

/**
 * Turns gradient recording on or off globally (outside `noGrad`/`enableGrad`, which take
 * precedence while they run); returns the previous global setting.
 */
export function setGradEnabled(on: boolean): boolean {
  if (typeof on !== "boolean") {
    throw new ValueError(`setGradEnabled: on must be a boolean, got ${show(on)}`);
  }
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

/**
 * Runs `fn` with gradient recording set to `on` for exactly its duration: synchronously and, when
 * `fn` is async, across its awaits (other code running meanwhile is not affected).
 */
function withGrad<T>(on: boolean, fn: () => T): T {
  if (typeof fn !== "function") {
    const op = on ? "enableGrad" : "noGrad";
    throw new ValueError(
      `${op}: expected a function to run ${on ? "with" : "without"} gradient recording, got ${
        show(fn)
      } (${op}(() => ...))`,
    );
  }
  // The frame that follows awaits costs a few hundred ns, so plain functions (inference steps,
  // optimizer updates) skip it; a plain function that returns a promise is refused, since its
  // continuations would run without the setting.
  if (isAsyncFunction(fn)) return runInFrame({ grad: on }, () => withGradSync(on, fn));
  const result = withGradSync(on, fn);
  if (isPromise(result)) {
    result.then(undefined, () => {});
    throw new AutogradError(
      `${on ? "enableGrad" : "noGrad"}: the function returned a promise but is not declared ` +
        `async; declare it \`async\` so the setting follows it across its awaits`,
    );
  }
  return result;
}

function isAsyncFunction(fn: unknown): boolean {
  return (fn as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "AsyncFunction";
}

/** Synchronous-only {@linkcode withGrad} for core internals (no frame). */
export function withGradSync<T>(on: boolean, fn: () => T): T {
  const prev = override;
  override = on;
  try {
    return fn();
  } finally {
    override = prev;
  }
}

/**
 * Runs `fn` without recording gradients (inference, optimizer updates). `fn` may be an `async`
 * function: the setting then holds across its awaits and only for it.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { noGrad, tensor } from "./mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const y = noGrad(() => w.mul(2));
 * console.log(y.requiresGrad); // false
 * const z = await noGrad(async () => {
 *   await Promise.resolve();
 *   return w.mul(3);
 * });
 * console.log(z.requiresGrad); // false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  return withGrad(false, fn);
}

/** Runs `fn` with gradient recording on, even inside {@linkcode noGrad} (async functions too). */
export function enableGrad<T>(fn: () => T): T {
  return withGrad(true, fn);
}
