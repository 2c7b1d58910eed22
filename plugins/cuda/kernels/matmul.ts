/**
 * cuda matmul through cuBLAS (`ctx.blas.sgemm`, row-major, strided batched): batch dims broadcast
 * with stride 0 where one operand has size 1; dims that do not merge into one strided batch are
 * looped on the host, one strided-batched GEMM per outer index. float16 operands are widened to
 * float32 scratch buffers, multiplied with float32 accumulation and rounded once (the `CublasApi`
 * contract has no half GEMM yet). The kernel declines with `ctx.blasUnavailable` where cuBLAS did
 * not load.
 *
 * @module
 */

import type { MatmulAttrs } from "../../../core/mod.ts";
import { broadcastStrides, DeviceError, sizeOf } from "../../../core/mod.ts";
import { allocOutput, cudaBuffer, sgemmArgs } from "./kit_launch.ts";
import { coalesce } from "./kit_strided.ts";
import type { Cuda, CudaBuffer, CudaKernel, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import { castInto, castSource, widen } from "./elementwise.ts";

function blasReason(cuda: Cuda): true | string {
  if (cuda.blas) return true;
  return `matmul: cuBLAS is unavailable (${cuda.blasUnavailable ?? "libcublas did not load"})`;
}

/** The matmul sources (the casts float16 operands are widened and narrowed with). */
export function matmulSources(): KernelSource[] {
  return [castSource("float16", "float32"), castSource("float32", "float16")].map((s) => ({
    ...s,
    ops: ["cast", "matmul"],
  }));
}

/**
 * Runs C = op(A)·op(B) over broadcast batch dims with `cuda.blas.sgemm` on float32 buffers of the
 * given shapes; `c` holds `[...batch, m, n]`.
 */
export function batchedSgemm(
  cuda: Cuda,
  a: CudaBuffer,
  aShape: readonly number[],
  b: CudaBuffer,
  bShape: readonly number[],
  c: CudaBuffer,
  cShape: readonly number[],
  attrs: MatmulAttrs,
): void {
  const blas = cuda.blas;
  if (!blas) throw new DeviceError(blasReason(cuda) as string);
  const ra = aShape.length, rb = bShape.length, rc = cShape.length;
  const m = cShape[rc - 2], n = cShape[rc - 1];
  const k = attrs.transA ? aShape[ra - 2] : aShape[ra - 1];
  const batch = cShape.slice(0, -2);
  if (sizeOf(cShape) === 0) return;
  if (k === 0) {
    cuda.zero(c);
    return;
  }
  const matA = aShape[ra - 2] * aShape[ra - 1], matB = bShape[rb - 2] * bShape[rb - 1];
  const sa = broadcastStrides(aShape.slice(0, -2), batch).map((s) => s * matA);
  const sb = broadcastStrides(bShape.slice(0, -2), batch).map((s) => s * matB);
  const scs = broadcastStrides(batch, batch).map((s) => s * m * n);
  const [dims, [da, db, dc]] = coalesce(batch, [sa, sb, scs]);
  // The innermost merged batch dim is one strided-batched call; outer ones loop on the host.
  const last = dims.length - 1;
  const outer = dims.slice(0, last);
  const count = sizeOf(outer);
  const lda = attrs.transA ? m : k, ldb = attrs.transB ? k : n;
  for (let o = 0; o < count; o++) {
    let r = o, offA = 0, offB = 0, offC = 0;
    for (let d = outer.length - 1; d >= 0; d--) {
      const i = r % outer[d];
      r = Math.floor(r / outer[d]);
      offA += i * da[d];
      offB += i * db[d];
      offC += i * dc[d];
    }
    blas.sgemm(sgemmArgs(
      { transA: attrs.transA, transB: attrs.transB, m, n, k, batch: dims[last] },
      [a, offA, lda, da[last]],
      [b, offB, ldb, db[last]],
      [c, offC, n, dc[last] || m * n],
    ));
  }
}

const matmul: CudaKernel<MatmulAttrs> = {
  dtypes: ["float32", "float16"],
  supports: (_inputs, _a, cuda) => blasReason(cuda),
  run([a, b], attrs, out, cuda) {
    const shape = out[0].shape;
    if (a.dtype === "float32") {
      const c = allocOutput(cuda, out[0]);
      batchedSgemm(cuda, cudaBuffer(a), a.shape, cudaBuffer(b), b.shape, c, shape, attrs);
      return [c];
    }
    const o = allocOutput(cuda, out[0]);
    const wa = widen(cuda, a), wb = widen(cuda, b);
    const c = cuda.alloc(sizeOf(shape), "float32");
    batchedSgemm(cuda, wa, a.shape, wb, b.shape, c, shape, attrs);
    castInto(cuda, { buffer: c, shape, dtype: "float32" }, o);
    cuda.free(wa);
    cuda.free(wb);
    cuda.free(c);
    return [o];
  },
};

/**
 * Ops registered only to decline with a reason (none now: conv2d and its backward ops have
 * kernels in conv.ts). Kept so the table tests skip such entries.
 */
export const DECLINING_OPS: readonly string[] = [];

/** matmul on the cuda backend. */
export function matmulKernels(): CudaKernelTable {
  return { matmul };
}
