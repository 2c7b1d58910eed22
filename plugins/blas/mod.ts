/**
 * The blas backend: matmul, conv2d (forward and both backward ops) and the momentum SGD update of
 * large parameters over a system CBLAS (OpenBLAS, MKL, Accelerate) loaded with `Deno.dlopen`. It
 * is a kernel provider for cpu tensors (`provides: ["cpu"]`): once registered, cpu tensors'
 * matmul and convolutions with at least `minConvWeights` weights per group run on BLAS in place,
 * with no route or `.to()`, and their results stay cpu tensors; smaller convs (where the cpu
 * kernel is faster) and every other op run on cpu. `route({ matmul: "cpu" })` keeps an op on cpu;
 * `explain()` shows `blas (provider)` or blas's reason for declining. Importing this module
 * registers nothing: call `use(blas())`. Where no library loads, or `--allow-ffi` is missing, the
 * backend is marked unavailable and `explain()` says why.
 *
 * The library is searched in `DEFAULT_LIBRARIES` unless the env var `DENN_BLAS` (or
 * `options.path`) names one; `DENN_BLAS_THREADS` (or `options.threads`) sets its thread count.
 * Unless `options.tuneMalloc` is false, registering it also tunes glibc's malloc so that large
 * host arrays are reused rather than faulted in afresh every step ({@linkcode tuneMalloc}).
 *
 * @example
 * ```ts ignore
 * import { explain, randn, route, use } from "@denn/denn";
 * import { blas } from "@denn/denn/plugins/blas";
 * use(blas());
 * const a = randn([512, 512]), b = randn([512, 512]);
 * const { trace } = explain(() => a.matmul(b)); // runs on blas: no route needed
 * console.log(trace[0].backend, trace[0].via); // "blas" "provider" where a CBLAS loaded
 * const onCpu = route({ matmul: "cpu" }, () => a.matmul(b)); // the cpu kernel, on purpose
 * console.log(onCpu.device); // "cpu" either way
 * ```
 *
 * @module
 */

import { definePlugin, ValueError } from "../../core/mod.ts";
import { recycleHost } from "../../core/host_pool.ts";
import type { BackendDef, DType, Plugin, TypedArray } from "../../core/mod.ts";
import { openBlas } from "./ffi.ts";
import type { BlasLibrary, OpenBlasOptions } from "./ffi.ts";
import { blasKernels, MIN_CONV_WEIGHTS } from "./kernels.ts";
import { knownKeys } from "../../layers/_validate.ts";
import { tuneMalloc } from "./malloc.ts";
export {
  MALLOC_MMAP_THRESHOLD,
  MALLOC_TRIM_THRESHOLD,
  mallocTuning,
  tuneMalloc,
} from "./malloc.ts";
export { MIN_CONV_WEIGHTS } from "./kernels.ts";

export { ADAPTIVE_MIN_MACS, DEFAULT_LIBRARIES, openBlas } from "./ffi.ts";
export type { BlasLibrary, OpenBlasOptions, Saxpy, Scopy, Sgemm, Sscal } from "./ffi.ts";

/** Options of {@linkcode blas}: library path, thread count and the small-conv cut-off. */
export interface BlasOptions extends OpenBlasOptions {
  /**
   * Convolutions with fewer weights per group than this are declined (the cpu kernel is faster
   * there); default {@linkcode MIN_CONV_WEIGHTS}, 0 sends every conv to BLAS.
   */
  minConvWeights?: number;
  /**
   * Tune glibc's malloc so that large host arrays are reused instead of faulted in afresh every
   * training step (default true; see {@linkcode tuneMalloc}, {@linkcode mallocTuning}).
   */
  tuneMalloc?: boolean;
}

let opened: BlasLibrary | null = null;

/** The library opened by the registered blas backend, or null before `use(blas())` succeeds. */
export function blasLibrary(): BlasLibrary | null {
  return opened;
}

/**
 * Opens a CBLAS and returns the blas backend definition, or the reason it is unavailable.
 *
 * @example
 * ```ts ignore
 * import { blasBackend } from "./mod.ts";
 * const def = blasBackend({ path: "/nonexistent/libblas.so" });
 * console.log(typeof def === "string" ? def : def.name);
 * ```
 */
export function blasBackend(options: BlasOptions = {}): BackendDef<TypedArray, undefined> | string {
  const lib = openBlas(options);
  if (typeof lib === "string") return lib;
  opened = lib;
  if (options.tuneMalloc ?? true) tuneMalloc();
  return {
    name: "blas",
    hostMemory: true,
    priority: 1,
    // A kernel provider for cpu tensors: their matmul and large convs run here without a route.
    provides: ["cpu"],
    upload: (data: TypedArray) => data,
    download: (handle: TypedArray, _dtype: DType, size: number) =>
      Promise.resolve(handle.slice(0, size)),
    downloadSync: (handle: TypedArray, _dtype: DType, size: number) => handle.slice(0, size),
    free: (handle: TypedArray) => recycleHost(handle),
    kernels: blasKernels(lib.sgemm, options.minConvWeights ?? MIN_CONV_WEIGHTS, lib),
  };
}

const plugins = new Map<string, Plugin>();

const OPTION_KEYS = ["path", "threads", "minConvWeights", "tuneMalloc"];

// A bad option is a ValueError when blas() is called, not a backend that quietly ignores it.
function checkOptions(options: BlasOptions): void {
  knownKeys("blas", options, OPTION_KEYS);
  const { path, threads, minConvWeights } = options;
  if (path !== undefined && (typeof path !== "string" || path === "")) {
    throw new ValueError(`blas: path must be a library path, got ${JSON.stringify(path)}`);
  }
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ValueError(`blas: threads must be a positive integer, got ${String(threads)}`);
  }
  if (minConvWeights !== undefined && !(Number.isInteger(minConvWeights) && minConvWeights >= 0)) {
    throw new ValueError(
      `blas: minConvWeights must be a non-negative integer, got ${String(minConvWeights)}`,
    );
  }
  if (options.tuneMalloc !== undefined && typeof options.tuneMalloc !== "boolean") {
    throw new ValueError(
      `blas: tuneMalloc must be a boolean, got ${JSON.stringify(options.tuneMalloc)}`,
    );
  }
}

/**
 * The blas backend plugin; register it with `use(blas())`. Calls with the same options return the
 * same plugin, so registering twice is a no-op. A bad option is a `ValueError`.
 *
 * @example
 * ```ts ignore
 * import { use } from "@denn/denn";
 * import { blas } from "@denn/denn/plugins/blas";
 * use(blas({ threads: 2 }));
 * ```
 */
export function blas(options: BlasOptions = {}): Plugin {
  checkOptions(options);
  const key = JSON.stringify([
    options.path ?? null,
    options.threads ?? null,
    options.minConvWeights ?? null,
    options.tuneMalloc ?? true,
  ]);
  let p = plugins.get(key);
  if (!p) {
    p = definePlugin({
      name: "@denn/blas",
      kind: "backend",
      version: "0.1.0",
      apiVersion: 1,
      description: "matmul and conv2d over a system CBLAS through Deno FFI",
      backend: () => blasBackend(options),
    });
    plugins.set(key, p);
  }
  return p;
}

/** The blas plugin with default options, for `loadPlugin("…/plugins/blas/mod.ts")`. */
const plugin: Plugin = blas();
export default plugin;
