/**
 * Intermediates of trusted module calls freed without waiting for the garbage collector.
 *
 * In a training loop written the obvious way (`loss = lossFn(model.forward(x), y); loss.backward()`)
 * a model's forward activations are tensors nobody but the autograd graph holds once forward has
 * returned: backward drops the graph's references, but the tensors (and their memory) stay until a
 * garbage collection, and the next step allocates new ones. For the classes declared with
 * {@linkcode trustForward} denn knows more: their `forward` only runs ops and their children's
 * `forward`s and keeps none of the tensors it makes. So when the outermost call of such a module
 * returns (one made from code that is not a trusted forward, and whose whole module tree is
 * trusted and has no hooks), every tensor made during it that is not part of its result is
 * disposed: at once when no graph node saved it, else when backward releases the last node that
 * did. Disposing frees nothing another tensor still uses (views and in-place results hold their own
 * references to the storage); a tensor this frees cannot be reached from user code, and an op on a
 * disposed tensor is a `DisposedError`, never a read of reused memory.
 *
 * Not trusted, so nothing is freed early: a subclass of a trusted class (its own `forward` or
 * methods may keep tensors), a module with hooks or with an untrusted module anywhere below it,
 * and anything whose result holds tensors in objects other than arrays and plain objects.
 *
 * @module
 */

import { moduleFrames } from "./context.ts";
import { ValueError } from "./errors.ts";
import { frameState, Tensor } from "./tensor.ts";
import { isKept } from "./scope.ts";
import { guardSubclass } from "./args.ts";
import { Module } from "./module.ts";
import type { AnyModule } from "./module.ts";

// frameState values (see tensor.ts).
const OPEN = 1, CLOSED = 2, HANDED = 3;

// Prototypes of the trusted classes (exact classes: a subclass is not trusted).
const trusted = new WeakSet<object>();

/**
 * Declares that instances of exactly these `Module` classes may have their intermediates freed
 * early (see the module documentation): their `forward` calls only ops and the `forward` of their
 * children (modules held in their own enumerable properties), stores no tensor it makes anywhere
 * (in the module, a cache or a closure), and returns tensors only in its result (a tensor, or
 * arrays and plain objects of tensors). denn's layers and models declare theirs; a plugin author
 * may declare classes that keep these rules.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { Module, randn, trustForward } from "./mod.ts";
 * import type { Tensor } from "./mod.ts";
 *
 * class Square extends Module {
 *   forward(x: Tensor): Tensor {
 *     return x.mul(x).add(1); // x·x is freed as soon as forward returns
 *   }
 * }
 * trustForward(Square);
 * console.log(new Square().forward(randn([2])).shape); // [2]
 * ```
 */
export function trustForward(...classes: (abstract new (...args: never[]) => AnyModule)[]): void {
  for (const cls of classes) {
    const proto = cls?.prototype;
    if (!(proto instanceof Module) || typeof proto.forward !== "function") {
      throw new ValueError(`trustForward: expected Module classes, got ${String(cls)}`);
    }
    if (trusted.has(proto)) continue;
    // The class's methods get their argument-count guards first (as on its first construction),
    // so that the wrapper installed below is not wrapped again.
    guardSubclass(proto, Module.prototype);
    const inner = proto.forward as (...args: unknown[]) => unknown;
    const forward = function (this: Module, ...args: unknown[]): unknown {
      // Inside an open frame the whole tree is trusted already: a plain call.
      return moduleFrames.open || Object.getPrototypeOf(this) !== proto
        ? Reflect.apply(inner, this, args)
        : outermost(this, inner, args);
    };
    Object.defineProperty(forward, "name", { value: "forward" });
    Object.defineProperty(proto, "forward", {
      value: forward,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    trusted.add(proto);
  }
}

// The outermost call of a trusted module: its tree decides whether intermediates are tracked.
function outermost(m: Module, inner: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  if (!treeTrusted(m, null)) return Reflect.apply(inner, m, args);
  moduleFrames.open = true;
  let result: unknown;
  try {
    result = Reflect.apply(inner, m, args);
  } catch (e) {
    closeFrame(null, false);
    throw e;
  }
  closeFrame(result, true);
  return result;
}

// Whether m and every module below it are of a trusted class and have no hooks (hooks put an own
// `forward` on the instance). `seen` (made at the first child) guards against shared modules.
function treeTrusted(m: Module, seen: Set<Module> | null): boolean {
  if (!trusted.has(Object.getPrototypeOf(m)) || Object.hasOwn(m, "forward")) return false;
  for (const v of Object.values(m)) {
    if (!(v instanceof Module)) continue;
    seen ??= new Set([m]);
    if (seen.has(v)) continue;
    seen.add(v);
    if (!treeTrusted(v, seen)) return false;
  }
  return true;
}

// Ends the outermost call: marks what its result holds as handed out, then disposes the other
// tensors it made that no graph node saved; those saved are disposed by `releaseSaves`.
function closeFrame(result: unknown, ok: boolean): void {
  const made = moduleFrames.created as Tensor[];
  moduleFrames.created = [];
  moduleFrames.open = false;
  if (!ok || !handOut(result, 0)) {
    for (const t of made) frameState.set(t, HANDED);
    return;
  }
  for (const t of made) {
    if (frameState.get(t) !== OPEN) continue;
    if (t.isParameter || isKept(t)) frameState.set(t, HANDED);
    else if (frameState.saves(t, 0) > 0) frameState.set(t, CLOSED);
    else {
      frameState.set(t, HANDED);
      t.dispose();
    }
  }
}

// Marks the tensors of a forward's result (and the tensors whose storage they view) as handed out;
// false where the result holds something this cannot see into.
function handOut(v: unknown, level: number): boolean {
  if (v instanceof Tensor) {
    for (let t: Tensor | null = v; t !== null; t = t.base) frameState.set(t, HANDED);
    if (v.grad) frameState.set(v.grad, HANDED);
    return true;
  }
  if (v === null || typeof v !== "object") return true;
  if (level > 8) return false;
  if (Array.isArray(v)) return v.every((e) => handOut(e, level + 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(v).every((e) => handOut(e, level + 1));
}

/**
 * Counts a graph node's saved tensors (autograd calls it when it records the node). Core-internal.
 */
export function noteSaves(saved: readonly Tensor[] | null): void {
  if (saved === null) return;
  for (const t of saved) {
    const s = frameState.get(t);
    if (s === OPEN || s === CLOSED) frameState.saves(t, 1);
  }
}

/**
 * Uncounts a released node's saved tensors, disposing those whose trusted call has returned and
 * that no other unreleased node saved, unless they are in `keep` (they go on as gradients).
 * Core-internal.
 */
export function releaseSaves(saved: readonly Tensor[] | null, keep: readonly unknown[]): void {
  if (saved === null) return;
  for (const t of saved) {
    const s = frameState.get(t);
    if (s !== OPEN && s !== CLOSED) continue;
    if (frameState.saves(t, -1) === 0 && s === CLOSED) {
      frameState.set(t, HANDED);
      if (!keep.includes(t)) t.dispose();
    }
  }
}

/**
 * Marks a tensor as kept by its holder (a module's buffer or parameter set during a trusted call),
 * so that the call's end does not free it. Core-internal.
 */
export function handedOut(t: Tensor): void {
  if (frameState.get(t) !== 0) frameState.set(t, HANDED);
}
