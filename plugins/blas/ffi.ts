/**
 * Finding and opening a CBLAS library through `Deno.dlopen`, with permission checks that turn a
 * missing `--allow-ffi` or `--allow-env` into a reason string instead of an exception.
 *
 * @module
 */

import { ShapeError } from "../../core/mod.ts";

/** Default library search list for the current OS, tried in order. */
export const DEFAULT_LIBRARIES: readonly string[] = Deno.build.os === "darwin"
  ? ["/System/Library/Frameworks/Accelerate.framework/Accelerate"]
  : Deno.build.os === "windows"
  ? ["libopenblas.dll", "mkl_rt.dll"]
  : ["libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libmkl_rt.so"];

const symbols = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // m
      "i32", // n
      "i32", // k
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  cblas_saxpy: {
    parameters: ["i32", "f32", "buffer", "i32", "buffer", "i32"],
    result: "void",
    optional: true,
  },
  cblas_sscal: { parameters: ["i32", "f32", "buffer", "i32"], result: "void", optional: true },
  cblas_scopy: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32"],
    result: "void",
    optional: true,
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  MKL_Set_Num_Threads: { parameters: ["i32"], result: "void", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/**
 * Row-major single-precision GEMM over whole typed arrays (use `subarray` for offsets):
 * C = alpha * op(A) op(B) + beta * C.
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

/** y += alpha · x over the first n elements (both arrays at least n long). */
export type Saxpy = (n: number, alpha: number, x: Float32Array, y: Float32Array) => void;

/** y = x over the first n elements. */
export type Scopy = (n: number, x: Float32Array, y: Float32Array) => void;

/** x *= alpha over the first n elements. */
export type Sscal = (n: number, alpha: number, x: Float32Array) => void;

/** An opened CBLAS library. */
export interface BlasLibrary {
  /** The path or name it was opened from. */
  readonly path: string;
  /** Row-major sgemm. */
  readonly sgemm: Sgemm;
  /** cblas_saxpy, where the library has it. */
  readonly saxpy: Saxpy | null;
  /** cblas_scopy, where the library has it. */
  readonly scopy: Scopy | null;
  /** cblas_sscal, where the library has it. */
  readonly sscal: Sscal | null;
  /** Library build configuration where it reports one (OpenBLAS), else `""`. */
  readonly config: string;
  /** Sets the worker thread count; false where the library has no such call. */
  setThreads(n: number): boolean;
  /** Current thread count, or null where the library cannot report it. */
  threads(): number | null;
  /** Closes the library. */
  close(): void;
}

/**
 * Multiply-adds (m·n·k) from which a product uses all of the library's threads when no thread
 * count was set (`DENN_BLAS_THREADS`, `options.threads`); smaller ones run on one thread.
 */
export const ADAPTIVE_MIN_MACS: number = 2 ** 23;

// A library's full thread count by its config string (or path), as the first openBlas() in this
// process found it, on globalThis so that every copy of this module shares it: after one copy has
// set one thread for a small product, the library reports 1.
const fullThreads: Map<string, number> =
  ((globalThis as Record<symbol, unknown>)[Symbol.for("denn.blas.fullThreads")] ??= new Map<
    string,
    number
  >()) as Map<string, number>;

// Elements from which saxpy/scopy run on all of the library's threads (adaptive mode).
const LEVEL1_THREADED = 1 << 18;

/** Options for {@linkcode openBlas}. */
export interface OpenBlasOptions {
  /** Library path or name; overrides the env var `DENN_BLAS` and the search list. */
  path?: string;
  /**
   * Worker threads; overrides the env var `DENN_BLAS_THREADS`. Without either, products below
   * {@linkcode ADAPTIVE_MIN_MACS} multiply-adds run on one thread and larger ones on all.
   */
  threads?: number;
}

/** Whether a permission is granted, without prompting (false where the query itself fails). */
export function granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/** Reads an env var; `null` when permission to read it is not granted. */
function readEnv(name: string): string | undefined | null {
  if (!granted({ name: "env", variable: name })) return null;
  return Deno.env.get(name) || undefined;
}

/**
 * Opens the first CBLAS that loads. Returns the library, or the reason none could be opened
 * (missing permission, or each candidate with its dlopen error).
 */
export function openBlas(options: OpenBlasOptions = {}): BlasLibrary | string {
  let candidates: readonly string[];
  if (options.path) {
    candidates = [options.path];
  } else {
    const env = readEnv("DENN_BLAS");
    if (env === null) {
      return "no permission to read env var DENN_BLAS (run with --allow-env=DENN_BLAS,DENN_BLAS_THREADS)";
    }
    candidates = env ? [env] : DEFAULT_LIBRARIES;
  }
  if (!granted({ name: "ffi" })) return "no FFI permission (run with --allow-ffi)";
  const errors: string[] = [];
  for (const path of candidates) {
    let lib: Deno.DynamicLibrary<typeof symbols>;
    try {
      lib = Deno.dlopen(path, symbols);
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    const blas = wrap(path, lib);
    let threads = options.threads;
    if (threads === undefined) {
      const t = readEnv("DENN_BLAS_THREADS");
      if (t) threads = Number(t);
    }
    if (threads !== undefined) {
      if (!Number.isInteger(threads) || threads < 1) {
        blas.close();
        return `invalid thread count ${threads} (DENN_BLAS_THREADS or options.threads must be a positive integer)`;
      }
      blas.setThreads(threads);
    }
    return blas;
  }
  return `no CBLAS library could be loaded (set DENN_BLAS to its path): ${errors.join("; ")}`;
}

function need(name: string, x: Float32Array, rows: number, cols: number, ld: number): void {
  if (ld < cols || x.length < (rows - 1) * ld + cols) {
    throw new ShapeError(
      `sgemm: ${name} is ${rows}x${cols} with leading dimension ${ld}, but has ${x.length} elements`,
    );
  }
}

function wrap(path: string, lib: Deno.DynamicLibrary<typeof symbols>): BlasLibrary {
  const {
    cblas_sgemm,
    cblas_saxpy,
    cblas_scopy,
    cblas_sscal,
    openblas_set_num_threads,
    openblas_get_num_threads,
    openblas_get_config,
    MKL_Set_Num_Threads,
  } = lib.symbols;
  const cfg = openblas_get_config?.();
  const setNative = (n: number): boolean => {
    if (openblas_set_num_threads) openblas_set_num_threads(n);
    else if (MKL_Set_Num_Threads) MKL_Set_Num_Threads(n);
    else return false;
    return true;
  };
  // Adaptive threads until setThreads() fixes a count: one thread below ADAPTIVE_MIN_MACS, all of
  // the library's above. OpenBLAS's idle threads spin after each multi-threaded call, which on a
  // small machine takes the cores from denn's own kernel threads for no gain on small products.
  // The count is the library's, shared by everything in the process that opened it (another
  // openBlas() call, a second copy of denn): the full count is the one the first opener saw, and
  // the current one is asked of the library before each change, not remembered here.
  const config = cfg ? Deno.UnsafePointerView.getCString(cfg) : "";
  const key = config || path;
  let most = fullThreads.get(key);
  if (most === undefined) {
    most = openblas_get_num_threads?.() ?? 1;
    fullThreads.set(key, most);
  }
  let fixed: number | null = null;
  let current = most;
  const adapt = (macs: number): void => {
    const want = macs >= ADAPTIVE_MIN_MACS ? most : 1;
    const now = openblas_get_num_threads ? openblas_get_num_threads() : current;
    if (want !== now && setNative(want)) current = want;
  };
  adapt(0);
  const sgemm: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    if (m === 0 || n === 0) return;
    if (fixed === null) adapt(m * n * k);
    // A bad extent would make the library read or write past the array, so check before the call.
    need("A", a, transA ? k : m, transA ? m : k, lda);
    need("B", b, transB ? n : k, transB ? k : n, ldb);
    need("C", c, m, n, ldc);
    if (k === 0) {
      // CBLAS rejects lda = 0; with nothing to sum, C = beta * C.
      for (let i = 0; i < m; i++) {
        const row = c.subarray(i * ldc, i * ldc + n);
        if (beta === 0) row.fill(0);
        else for (let j = 0; j < n; j++) row[j] *= beta;
      }
      return;
    }
    cblas_sgemm(
      ROW_MAJOR,
      transA ? TRANS : NO_TRANS,
      transB ? TRANS : NO_TRANS,
      m,
      n,
      k,
      alpha,
      a,
      lda,
      b,
      ldb,
      beta,
      c,
      ldc,
    );
  };
  // Level-1 calls over n elements: all threads from LEVEL1_THREADED elements on (OpenBLAS splits
  // long vectors; these are bound by memory bandwidth, which two cores have more of than one).
  const length = (n: number, ...arrays: Float32Array[]): void => {
    for (const a of arrays) {
      if (a.length < n) {
        throw new ShapeError(`blas: a vector of ${a.length} elements, expected ${n}`);
      }
    }
    if (fixed === null) adapt(n >= LEVEL1_THREADED ? ADAPTIVE_MIN_MACS : 0);
  };
  const saxpy: Saxpy | null = cblas_saxpy
    ? (n, alpha, x, y) => {
      if (n <= 0) return;
      length(n, x, y);
      cblas_saxpy(n, alpha, x, 1, y, 1);
    }
    : null;
  const scopy: Scopy | null = cblas_scopy
    ? (n, x, y) => {
      if (n <= 0) return;
      length(n, x, y);
      cblas_scopy(n, x, 1, y, 1);
    }
    : null;
  const sscal: Sscal | null = cblas_sscal
    ? (n, alpha, x) => {
      if (n <= 0) return;
      length(n, x);
      cblas_sscal(n, alpha, x, 1);
    }
    : null;
  return {
    path,
    sgemm,
    saxpy,
    scopy,
    sscal,
    config,
    setThreads(n: number): boolean {
      if (!setNative(n)) return false;
      fixed = current = n;
      return true;
    },
    threads: () => openblas_get_num_threads?.() ?? null,
    close: () => lib.close(),
  };
}
