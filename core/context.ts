/**
 * Dynamic context for `noGrad`, `scope`, `route` and `explain`: each runs its function inside a
 * frame that follows the function across `await`s (Node's AsyncLocalStorage, built into Deno), so
 * an async function sees its own settings and concurrent code does not.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** Settings visible to the code running inside one `noGrad`/`scope`/`route`/`explain` call. */
export interface Frame {
  /** Whether ops record autograd nodes (undefined: the global setting). */
  grad?: boolean;
  /** Tensors created here that the innermost scope disposes at its end. */
  scope?: Set<unknown>;
  /** Active routes (undefined: the global table). */
  routes?: Map<string, string>;
  /** Where dispatch records trace entries (undefined: not tracing). */
  trace?: unknown[];
}

const store = new AsyncLocalStorage<Frame>();
// The frame of the innermost call whose synchronous part is running (its async continuations find
// theirs through the store).
let syncFrame: Frame | undefined;

/**
 * How many scope() calls are running (sync or awaiting): while none is, a new tensor need not look
 * up the current frame to join a scope, which saves an AsyncLocalStorage lookup per op.
 */
export const liveScopes: { count: number } = { count: 0 };

/**
 * The outermost trusted module call running (module_frames.ts): while `open`, every new tensor is
 * appended to `created`, the tensors that call made.
 */
export const moduleFrames: { open: boolean; created: unknown[] } = { open: false, created: [] };

/** The innermost frame, or undefined outside every `noGrad`/`scope`/`route`/`explain`. */
export function currentFrame(): Frame | undefined {
  return syncFrame ?? store.getStore();
}

/** Runs `fn` in a child of the current frame with `patch` applied, across `fn`'s awaits too. */
export function runInFrame<T>(patch: Frame, fn: () => T): T {
  const frame = { ...currentFrame(), ...patch };
  return store.run(frame, () => {
    const prev = syncFrame;
    syncFrame = frame;
    try {
      return fn();
    } finally {
      syncFrame = prev;
    }
  });
}

/** Whether a value is a promise (an async function's result). */
export function isPromise(v: unknown): v is Promise<unknown> {
  return v !== null && typeof v === "object" &&
    typeof (v as { then?: unknown }).then === "function";
}
