/**
 * glibc malloc tuning for host tensors, applied by the blas plugin (which has FFI permission).
 *
 * V8 allocates every typed array's memory with malloc. glibc serves large blocks (128 KiB at
 * first, then up to the size last freed) with fresh `mmap`s and gives freed memory at the top of
 * the heap back to the kernel, so a training step's large arrays (activations, gradients: 1–10 MiB
 * each) are faulted in page by page every step, at about 2 µs per 4 KiB page on a VM. Setting
 * `M_MMAP_THRESHOLD` to {@linkcode MALLOC_MMAP_THRESHOLD} and `M_TRIM_THRESHOLD` to
 * {@linkcode MALLOC_TRIM_THRESHOLD} keeps such blocks in the heap for reuse: a ResNet-18 step
 * (batch 32, 32 × 32) on this project's 2-core VM went from 3,000–4,000 page faults to 500–700.
 * Memory the process frees stays reserved up to the trim threshold instead of returning to the OS.
 *
 * Skipped where the user set `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` (their choice
 * wins), where libc.so.6 or `mallopt` is missing (musl, macOS, Windows), or without FFI permission.
 *
 * @example
 * ```ts ignore
 * import { tuneMalloc } from "./malloc.ts";
 * console.log(tuneMalloc()); // true, or why it was skipped
 * ```
 *
 * @module
 */

import { granted } from "./ffi.ts";

/** Largest block glibc still serves from the heap after tuning (bytes; glibc's own maximum). */
export const MALLOC_MMAP_THRESHOLD: number = 32 * 1024 * 1024;
/** Free memory kept at the top of the heap after tuning (bytes). */
export const MALLOC_TRIM_THRESHOLD: number = 64 * 1024 * 1024;

const M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

let outcome: true | string | null = null;

/**
 * Applies the tuning once per process; returns true, or the reason it was skipped. Later calls
 * return the first outcome.
 */
export function tuneMalloc(): true | string {
  if (outcome !== null) return outcome;
  outcome = apply();
  return outcome;
}

/** The outcome of {@linkcode tuneMalloc}, or null where it has not run. */
export function mallocTuning(): true | string | null {
  return outcome;
}

function apply(): true | string {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (!granted({ name: "ffi" })) return "no FFI permission";
  for (const name of ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]) {
    if (granted({ name: "env", variable: name }) && Deno.env.get(name) !== undefined) {
      return `${name} is set in the environment`;
    }
  }
  let lib: Deno.DynamicLibrary<{ mallopt: { parameters: ["i32", "i32"]; result: "i32" } }>;
  try {
    lib = Deno.dlopen("libc.so.6", { mallopt: { parameters: ["i32", "i32"], result: "i32" } });
  } catch (e) {
    return `libc.so.6 with mallopt did not load: ${(e as Error).message.split("\n")[0]}`;
  }
  try {
    const ok = lib.symbols.mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD) === 1 &&
      lib.symbols.mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD) === 1;
    return ok ? true : "mallopt refused the thresholds";
  } finally {
    lib.close();
  }
}
