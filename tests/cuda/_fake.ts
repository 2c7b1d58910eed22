// Pieces the cuda tests share: the kernel signature parser the fake and emulated contexts check
// launches against, a row-major host sgemm honouring CublasApi's contract, the stub backend that
// fake device tensors hang on, and the unary ops every table test walks.

import { UNARY_OPS as CORE_UNARY_OPS } from "../../core/mod.ts";
import type { Backend } from "../../core/mod.ts";
import type { CublasApi } from "../../plugins/cuda/types.ts";

/** A parameter of a kernel's CUDA C signature: its C type and the KernelArg kind it takes. */
export interface Param {
  type: string;
  kind: "ptr" | "i32" | "u32" | "i64" | "f32";
}

/** The parameters of `extern "C" __global__ void name(...)` in `source`, in order. */
export function signature(source: string, name: string): Param[] {
  const m = source.match(new RegExp(`extern "C" __global__ void ${name}\\(([^)]*)\\)`));
  if (!m) throw new Error(`cuda tests: no signature for ${name} in its source`);
  return m[1].split(",").map((p) => {
    const type = p.replace(/__restrict__/g, "").trim().replace(/\s*\b\w+$/, "").trim();
    const kind = type.endsWith("*")
      ? "ptr"
      : type === "long long"
      ? "i64"
      : type === "unsigned int"
      ? "u32"
      : type === "int"
      ? "i32"
      : type === "float"
      ? "f32"
      : null;
    if (!kind) throw new Error(`cuda tests: ${name}: unknown parameter type in "${p.trim()}"`);
    return { type, kind };
  });
}

/** Arguments of `CublasApi.sgemm`. */
export type SgemmArgs = Parameters<CublasApi["sgemm"]>[0];

/**
 * Row-major C = alpha·op(A)·op(B) + beta·C over the batch, on host arrays holding the buffers'
 * elements. beta = 0 does not read C (its contents may be anything, NaN included), as cuBLAS.
 */
export function hostSgemm(
  a: SgemmArgs,
  A: Float32Array | Float64Array,
  B: Float32Array | Float64Array,
  C: Float32Array | Float64Array,
): void {
  const { m, n, k, lda, ldb, ldc } = a;
  for (let q = 0; q < a.batch; q++) {
    const ao = (a.aOffset ?? 0) + q * a.strideA;
    const bo = (a.bOffset ?? 0) + q * a.strideB;
    const co = (a.cOffset ?? 0) + q * a.strideC;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const x = a.transA ? A[ao + p * lda + i] : A[ao + i * lda + p];
          const y = a.transB ? B[bo + j * ldb + p] : B[bo + p * ldb + j];
          s += x * y;
        }
        const at = co + i * ldc + j;
        C[at] = a.beta === 0 ? a.alpha * s : a.alpha * s + a.beta * C[at];
      }
    }
  }
}

/** The backend fake cuda tensors' storages name (nothing is dispatched through it). */
export const FAKE_BACKEND = { name: "cuda", table: new Map(), kernels: {} } as unknown as Backend;

/** The unary math ops of the cuda table that take float inputs. */
export const UNARY_OPS: readonly string[] = CORE_UNARY_OPS.filter((op) => op !== "logicalNot");
