/**
 * cuBLAS through `Deno.dlopen`: the row-major {@linkcode CublasApi} of the cuda backend over
 * column-major cuBLAS. Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a
 * row-major matrix read column-major is its transpose, so the call swaps the operands and the
 * sizes: `gemm(opB, opA, n, m, k, B, ldb, A, lda, C, ldc)` with the same leading dimensions.
 *
 * @module
 */

import { DeviceError, ShapeError } from "../../../core/mod.ts";
import type { CublasApi, CudaBuffer } from "../types.ts";
import { folderOf, LIBCUBLAS, openLibrary, preload } from "./libs.ts";

const H = "u64"; // cublasHandle_t
const P = "u64"; // device pointer
const GEMM_HEAD = [H, "i32", "i32", "i32", "i32", "i32", "buffer"] as const;
const MATRIX_EX = [P, "i32", "i32"] as const; // pointer, cudaDataType, ld

const SYMBOLS = {
  cublasCreate_v2: { parameters: ["buffer"], result: "i32" },
  cublasDestroy_v2: { parameters: [H], result: "i32" },
  cublasSetStream_v2: { parameters: [H, "u64"], result: "i32" },
  cublasSetMathMode: { parameters: [H, "i32"], result: "i32" },
  cublasGetVersion_v2: { parameters: [H, "buffer"], result: "i32" },
  // Each GEMM starts with handle, transa, transb, m, n, k, alpha* (GEMM_HEAD).
  // ..., A, lda, B, ldb, beta*, C, ldc
  cublasSgemm_v2: {
    parameters: [...GEMM_HEAD, P, "i32", P, "i32", "buffer", P, "i32"],
    result: "i32",
  },
  // ..., A, lda, strideA, B, ldb, strideB, beta*, C, ldc, strideC, batchCount
  cublasSgemmStridedBatched: {
    parameters: [...GEMM_HEAD, P, "i32", "i64", P, "i32", "i64", "buffer", P, "i32", "i64", "i32"],
    result: "i32",
  },
  // ..., A, Atype, lda, B, Btype, ldb, beta*, C, Ctype, ldc, computeType, algo
  cublasGemmEx: {
    parameters: [...GEMM_HEAD, ...MATRIX_EX, ...MATRIX_EX, "buffer", ...MATRIX_EX, "i32", "i32"],
    result: "i32",
    optional: true,
  },
  cublasGetStatusName: { parameters: ["i32"], result: "pointer", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** The cuBLAS symbol table passed to `Deno.dlopen`. */
export type CublasSymbols = typeof SYMBOLS;

/** The cuBLAS symbol table. */
export function cublasSymbols(): CublasSymbols {
  return SYMBOLS;
}

const OP_N = 0;
const OP_T = 1;
const DEFAULT_MATH = 0;
const TF32_TENSOR_OP_MATH = 3;

const STATUS: Record<number, string> = {
  1: "CUBLAS_STATUS_NOT_INITIALIZED",
  3: "CUBLAS_STATUS_ALLOC_FAILED",
  7: "CUBLAS_STATUS_INVALID_VALUE",
  8: "CUBLAS_STATUS_ARCH_MISMATCH",
  11: "CUBLAS_STATUS_MAPPING_ERROR",
  13: "CUBLAS_STATUS_EXECUTION_FAILED",
  14: "CUBLAS_STATUS_INTERNAL_ERROR",
  15: "CUBLAS_STATUS_NOT_SUPPORTED",
  16: "CUBLAS_STATUS_LICENSE_ERROR",
};

/** Arguments of {@linkcode CublasApi.sgemm}. */
export type SgemmArgs = Parameters<CublasApi["sgemm"]>[0];

/** The column-major cuBLAS call a row-major sgemm becomes (exported for tests). */
export interface ColumnMajorGemm {
  /** cuBLAS transa (applies to the first operand, row-major B). */
  transa: 0 | 1;
  /** cuBLAS transb (applies to the second operand, row-major A). */
  transb: 0 | 1;
  /** Rows of column-major C: the row-major n. */
  m: number;
  /** Columns of column-major C: the row-major m. */
  n: number;
  /** Shared dimension. */
  k: number;
  /** First operand: `"b"` (row-major B). */
  first: "b";
  /** Leading dimensions as passed: [first, second, C]. */
  ld: [number, number, number];
}

function nonNegInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new ShapeError(`cuda sgemm: ${name} must be a non-negative integer, got ${v}`);
  }
}

/**
 * Checks a row-major sgemm's sizes against its buffers (a bad extent would read or write past
 * device memory) and returns the column-major call. Throws `ShapeError` naming what does not fit.
 */
export function planSgemm(a: SgemmArgs): ColumnMajorGemm {
  for (const k of ["m", "n", "k", "lda", "ldb", "ldc", "batch"] as const) nonNegInt(k, a[k]);
  for (const k of ["strideA", "strideB", "strideC"] as const) nonNegInt(k, a[k]);
  for (const k of ["aOffset", "bOffset", "cOffset"] as const) nonNegInt(k, a[k] ?? 0);
  for (const [n, b] of [["a", a.a], ["b", a.b], ["c", a.c]] as const) {
    if (b.dtype !== "float32") {
      throw new ShapeError(`cuda sgemm: ${n} must be a float32 buffer, got ${b.dtype}`);
    }
  }
  if (!Number.isFinite(a.alpha) || !Number.isFinite(a.beta)) {
    throw new ShapeError(`cuda sgemm: alpha and beta must be finite, got ${a.alpha}, ${a.beta}`);
  }
  const operand = (
    name: string,
    buf: CudaBuffer,
    rows: number,
    cols: number,
    ld: number,
    stride: number,
    offset: number,
  ) => {
    if (rows === 0 || cols === 0 || a.batch === 0) return;
    if (ld < cols) {
      throw new ShapeError(
        `cuda sgemm: ${name} is ${rows}x${cols} (row-major) but its leading dimension is ${ld}`,
      );
    }
    const last = offset + (a.batch - 1) * stride + (rows - 1) * ld + cols;
    if (last > buf.elements) {
      throw new ShapeError(
        `cuda sgemm: ${name} (${a.batch} x ${rows}x${cols}, ld ${ld}, stride ${stride}, offset ` +
          `${offset}) needs ${last} elements, its buffer has ${buf.elements}`,
      );
    }
  };
  operand("A", a.a, a.transA ? a.k : a.m, a.transA ? a.m : a.k, a.lda, a.strideA, a.aOffset ?? 0);
  operand("B", a.b, a.transB ? a.n : a.k, a.transB ? a.k : a.n, a.ldb, a.strideB, a.bOffset ?? 0);
  operand("C", a.c, a.m, a.n, a.ldc, a.strideC, a.cOffset ?? 0);
  if (a.batch > 1 && a.m > 0 && a.n > 0 && a.strideC < (a.m - 1) * a.ldc + a.n) {
    throw new ShapeError(
      `cuda sgemm: the ${a.batch} output matrices overlap (strideC ${a.strideC} < ` +
        `${(a.m - 1) * a.ldc + a.n})`,
    );
  }
  return {
    transa: a.transB ? OP_T : OP_N,
    transb: a.transA ? OP_T : OP_N,
    m: a.n,
    n: a.m,
    k: a.k,
    first: "b",
    // cuBLAS rejects a leading dimension of 0 even where nothing is read (k = 0).
    ld: [Math.max(1, a.ldb), Math.max(1, a.lda), Math.max(1, a.ldc)],
  };
}

/** cuBLAS on the context's stream, implementing {@linkcode CublasApi}. */
export class Cublas implements CublasApi {
  /** The path or soname it was opened by. */
  readonly path: string;
  /** `cublasGetVersion` (e.g. 130100). */
  readonly version: number;
  #lib: Deno.DynamicLibrary<CublasSymbols>;
  #sym: Deno.DynamicLibrary<CublasSymbols>["symbols"];
  #handle: bigint;
  #tf32 = false;
  #alpha = new Float32Array(1);
  #beta = new Float32Array(1);
  #companion: Deno.DynamicLibrary<Record<string, never>> | null;

  /** Creates a handle bound to `stream` (the context must be current). */
  constructor(
    lib: Deno.DynamicLibrary<CublasSymbols>,
    path: string,
    stream: bigint,
    companion: Deno.DynamicLibrary<Record<string, never>> | null = null,
  ) {
    this.#lib = lib;
    this.#sym = lib.symbols;
    this.path = path;
    this.#companion = companion;
    const out = new BigUint64Array(1);
    this.#check("cublasCreate_v2", this.#sym.cublasCreate_v2(out));
    this.#handle = out[0];
    this.#check("cublasSetStream_v2", this.#sym.cublasSetStream_v2(this.#handle, stream));
    this.#check("cublasSetMathMode", this.#sym.cublasSetMathMode(this.#handle, DEFAULT_MATH));
    const v = new Int32Array(1);
    this.#check("cublasGetVersion_v2", this.#sym.cublasGetVersion_v2(this.#handle, v));
    this.version = v[0];
  }

  #check(call: string, status: number, detail = ""): void {
    if (status === 0) return;
    const p = this.#sym.cublasGetStatusName?.(status);
    const name = p ? Deno.UnsafePointerView.getCString(p) : STATUS[status] ?? `status ${status}`;
    throw new DeviceError(`cuda: ${call}${detail ? ` (${detail})` : ""} failed: ${name}`);
  }

  /** Whether TF32 tensor-core math is allowed for float32 GEMMs (default false). */
  get allowTF32(): boolean {
    return this.#tf32;
  }

  set allowTF32(on: boolean) {
    if (typeof on !== "boolean") {
      throw new ShapeError(`cuda: allowTF32 must be a boolean, got ${String(on)}`);
    }
    const mode = on ? TF32_TENSOR_OP_MATH : DEFAULT_MATH;
    this.#check("cublasSetMathMode", this.#sym.cublasSetMathMode(this.#handle, mode));
    this.#tf32 = on;
  }

  /** Row-major sgemm, see {@linkcode CublasApi.sgemm}. */
  sgemm(args: SgemmArgs): void {
    const g = planSgemm(args);
    if (args.m === 0 || args.n === 0 || args.batch === 0) return;
    this.#alpha[0] = args.alpha;
    this.#beta[0] = args.beta;
    const a = args.a.ptr + BigInt((args.aOffset ?? 0) * 4);
    const b = args.b.ptr + BigInt((args.bOffset ?? 0) * 4);
    const c = args.c.ptr + BigInt((args.cOffset ?? 0) * 4);
    const detail = `m=${args.m} n=${args.n} k=${args.k} batch=${args.batch}`;
    const [ld1, ld2, ldc] = g.ld;
    const head = [this.#handle, g.transa, g.transb, g.m, g.n, g.k, this.#alpha] as const;
    if (args.batch === 1) {
      const r = this.#sym.cublasSgemm_v2(...head, b, ld1, a, ld2, this.#beta, c, ldc);
      this.#check("cublasSgemm_v2", r, detail);
      return;
    }
    const [sa, sb, sc] = [args.strideA, args.strideB, args.strideC].map(BigInt);
    const rest = [b, ld1, sb, a, ld2, sa, this.#beta, c, ldc, sc, args.batch] as const;
    const r = this.#sym.cublasSgemmStridedBatched(...head, ...rest);
    this.#check("cublasSgemmStridedBatched", r, detail);
  }

  /** Destroys the handle and closes the library. */
  close(): void {
    this.#sym.cublasDestroy_v2(this.#handle);
    this.#lib.close();
    this.#companion?.close();
  }
}

/**
 * Opens cuBLAS (path from `path`, else `DENN_CUBLAS`, else the search) and creates a handle on
 * `stream`; the reason where it does not load.
 */
export function openCublas(stream: bigint, path?: string): Cublas | string {
  let companion: Deno.DynamicLibrary<Record<string, never>> | null = null;
  const opened = openLibrary(LIBCUBLAS, SYMBOLS, path, (candidate) => {
    // libcublas needs libcublasLt of the same version: load it from the same folder first.
    const base = candidate.slice(candidate.lastIndexOf("/") + 1);
    const lt = base.replace(/^libcublas/, "libcublasLt").replace(/^cublas64/, "cublasLt64");
    companion?.close();
    companion = lt === base ? null : preload([lt], folderOf(candidate));
  });
  if (typeof opened === "string") return opened;
  try {
    return new Cublas(opened.lib, opened.path, stream, companion);
  } catch (e) {
    opened.lib.close();
    (companion as Deno.DynamicLibrary<Record<string, never>> | null)?.close();
    return `libcublas loaded from ${opened.path} but ${(e as Error).message}`;
  }
}
