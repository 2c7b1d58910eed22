/**
 * The thread count of the cpu backend's WebAssembly kernels: {@link setNumThreads} and
 * {@link getNumThreads}, which fall back on the env var `DENN_THREADS` (read only where env
 * permission for it is already granted), then on `navigator.hardwareConcurrency`. The worker pool
 * that the count sizes is in threads.ts.
 *
 * @example
 * ```ts
 * import { getNumThreads, setNumThreads } from "./threads_count.ts";
 * const before = getNumThreads();
 * setNumThreads(1); // the wasm kernels now stay on the calling thread
 * setNumThreads(before);
 * ```
 *
 * @module
 */

import { ValueError } from "../../core/errors.ts";

/** The most threads {@link setNumThreads} accepts. */
export const MAX_THREADS = 256;

let requested: number | null = null;
let fromEnv: number | null | undefined;

function checkCount(what: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new ValueError(
      `${what} must be an integer from 1 to ${MAX_THREADS}, got ${
        typeof n === "string" ? JSON.stringify(n) : String(n)
      }`,
    );
  }
  return n;
}

/** DENN_THREADS where env permission for it is already granted (never prompts), else null. */
function envThreads(): number | null {
  if (fromEnv !== undefined) return fromEnv;
  fromEnv = null;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno?.permissions?.querySync || !deno.env) return null;
  let granted = false;
  try {
    granted = deno.permissions.querySync({ name: "env", variable: "DENN_THREADS" }).state ===
      "granted";
  } catch {
    granted = false;
  }
  if (!granted) return null;
  const raw = deno.env.get("DENN_THREADS");
  if (raw === undefined || raw.trim() === "") return null;
  const v = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  fromEnv = checkCount("DENN_THREADS", Number.isNaN(v) ? raw : v);
  return fromEnv;
}

function defaultThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_THREADS) : 1;
}

/**
 * Sets how many threads the cpu backend's wasm kernels (matmul, conv2d and its gradients) may use,
 * like PyTorch's `torch.set_num_threads`. With 1 no worker is ever started. The default is the
 * env var `DENN_THREADS` when env permission for it is already granted (it is never prompted
 * for), else `navigator.hardwareConcurrency`. Results are the same for every thread count.
 *
 * @example
 * ```ts
 * import { getNumThreads, setNumThreads } from "./threads_count.ts";
 * setNumThreads(2);
 * console.assert(getNumThreads() === 2);
 * ```
 */
export function setNumThreads(n: number): void {
  if (arguments.length !== 1) {
    throw new ValueError(
      `setNumThreads: expected 1 argument (the thread count), got ${arguments.length}`,
    );
  }
  requested = checkCount("setNumThreads: the thread count", n);
}

/**
 * The thread count the wasm kernels may use: the last {@link setNumThreads}, else `DENN_THREADS`
 * (where env permission is granted), else `navigator.hardwareConcurrency`. Like PyTorch's
 * `torch.get_num_threads`. An invalid `DENN_THREADS` is a ValueError naming it.
 *
 * @example
 * ```ts
 * import { getNumThreads } from "./threads_count.ts";
 * console.assert(getNumThreads() >= 1);
 * ```
 */
export function getNumThreads(): number {
  if (arguments.length !== 0) {
    throw new ValueError(`getNumThreads: expected no arguments, got ${arguments.length}`);
  }
  return requested ?? envThreads() ?? defaultThreads();
}
