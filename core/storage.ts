/**
 * Storage: the device memory behind one or more tensors (views share it), reference-counted, with
 * a FinalizationRegistry as the safety net for tensors collected without `dispose()`.
 *
 * @module
 */

import type { Backend } from "./types.ts";

// Reference counting, kept out of the public surface (set by Storage's static block; exported to
// core modules below, not from core/mod.ts).
let retainFn: (s: Storage) => void;
let releaseFn: (s: Storage) => void;
let refsFn: (s: Storage) => number;

/** Device memory behind one or more tensors (views share it). */
export class Storage {
  /** Backend-specific handle (a typed array on host backends). */
  handle: unknown;
  /** Owning backend. */
  readonly backend: Backend;
  /** Number of elements the handle holds. */
  readonly size: number;
  /** Bumped by every in-place write, so autograd can detect overwritten saved tensors. */
  version = 0;
  // Tensors referencing this storage that are not yet disposed; the memory is freed at zero.
  #refs = 0;

  /** Wraps a backend handle holding `size` elements. */
  constructor(handle: unknown, backend: Backend, size: number) {
    this.handle = handle;
    this.backend = backend;
    this.size = size;
  }

  static {
    retainFn = (s) => void s.#refs++;
    refsFn = (s) => s.#refs;
    releaseFn = (s) => {
      if (--s.#refs === 0 && s.handle !== null) {
        s.backend.free?.(s.handle);
        s.handle = null;
      }
    };
  }
}

/** Adds a tensor's reference to `s`. */
export function retain(s: Storage): void {
  retainFn(s);
}

/** Drops a reference to `s`; the backend frees its memory when none is left. */
export function release(s: Storage): void {
  releaseFn(s);
}

/** How many live tensors reference `s`. */
export function refsOf(s: Storage): number {
  return refsFn(s);
}

/** Safety net for device memory: a tensor collected without dispose() releases its reference. */
export const finalizer: FinalizationRegistry<Storage> = new FinalizationRegistry((s) => release(s));
