/**
 * The launch half of the cuda kernel kit (import it through `kit.ts`, the entry point): grids and
 * launches of grid-stride and block-per-row kernels ({@linkcode gridFor}, {@linkcode launchN},
 * {@linkcode launchGrid}, {@linkcode launchRows}), the cuBLAS arguments of a strided-batched GEMM
 * ({@linkcode sgemmArgs}), the device buffers behind tensors and the pointer arguments of tensors
 * and bare buffers ({@linkcode cudaBuffer}, {@linkcode ptr}), and output buffers
 * ({@linkcode allocOutput}).
 *
 * @module
 */

import { DeviceError, shapeStr, sizeOf } from "../../../core/mod.ts";
import type { DType, Tensor, TensorSpec } from "../../../core/mod.ts";
import type {
  CublasApi,
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "../types.ts";
import { BLOCK, MAX_GRID } from "./kit_source.ts";
import type { KernelSource } from "./kit_source.ts";

/** Grid (blocks along x, capped at {@linkcode MAX_GRID}; kernels loop grid-stride) for `n` threads. */
export function gridFor(n: number, block: number = BLOCK): [number] {
  return [Math.max(1, Math.min(MAX_GRID, Math.ceil(n / block)))];
}

/** Compiles `source` (cached by the runtime) and launches `name` over `n` threads, grid-stride. */
export function launchN(
  cuda: Cuda,
  name: string,
  source: string,
  n: number,
  args: readonly KernelArg[],
): void {
  const fn: CudaFunction = cuda.kernel(source, name);
  cuda.launch(fn, { grid: gridFor(n), block: [BLOCK] }, args);
}

/** {@linkcode launchN} for a {@linkcode KernelSource}: `n` threads, grid-stride. */
export function launchGrid(
  cuda: Cuda,
  k: KernelSource,
  n: number,
  args: readonly KernelArg[],
): void {
  launchN(cuda, k.name, k.source, n, args);
}

/**
 * Compiles `k` (cached by the runtime) and launches it with a block per row: `rows` blocks (at
 * least one, at most {@linkcode MAX_GRID}: the kernel loops `row += gridDim.x`) of `block`
 * threads (default {@linkcode BLOCK}), with `sharedBytes` of dynamic shared memory where given.
 */
export function launchRows(
  cuda: Cuda,
  k: KernelSource,
  rows: number,
  args: readonly KernelArg[],
  options: { block?: number; sharedBytes?: number } = {},
): void {
  const config: LaunchConfig = {
    grid: [Math.max(1, Math.min(rows, MAX_GRID))],
    block: [options.block ?? BLOCK],
    ...(options.sharedBytes === undefined ? {} : { sharedBytes: options.sharedBytes }),
  };
  cuda.launch(cuda.kernel(k.source, k.name), config, args);
}

/** Arguments of {@linkcode CublasApi.sgemm}. */
export type SgemmArgs = Parameters<CublasApi["sgemm"]>[0];

/**
 * One operand of a row-major strided-batched GEMM: its buffer, the element offset of the first
 * matrix, the leading dimension and the element stride between consecutive matrices (0 repeats
 * one matrix over the batch).
 */
export type GemmOperand = readonly [buffer: CudaBuffer, offset: number, ld: number, stride: number];

/** The sizes of a GEMM for {@linkcode sgemmArgs}; `transA`/`transB` default false, `beta` 0. */
export interface GemmShape {
  /** Use Aᵀ (A stored k × m). */
  transA?: boolean;
  /** Use Bᵀ (B stored n × k). */
  transB?: boolean;
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** The shared dimension. */
  k: number;
  /** Matrices in the batch. */
  batch: number;
  /** 0 overwrites C, 1 accumulates into it. */
  beta?: number;
}

/**
 * The {@linkcode CublasApi.sgemm} arguments of C = op(A)·op(B) (+ beta·C), alpha 1, with each
 * operand given as `[buffer, offset, ld, stride]`.
 *
 * @example
 * ```ts ignore
 * // y[n] (og × P) = w (og × k) · col[n] (k × P) for each of `cnt` images
 * cuda.blas!.sgemm(sgemmArgs({ m: og, n: P, k, batch: cnt }, [w, 0, k, 0], [col, 0, P, k * P], [y, 0, P, og * P]));
 * ```
 */
export function sgemmArgs(
  s: GemmShape,
  [a, aOffset, lda, strideA]: GemmOperand,
  [b, bOffset, ldb, strideB]: GemmOperand,
  [c, cOffset, ldc, strideC]: GemmOperand,
): SgemmArgs {
  return {
    transA: s.transA ?? false,
    transB: s.transB ?? false,
    m: s.m,
    n: s.n,
    k: s.k,
    alpha: 1,
    a,
    aOffset,
    lda,
    strideA,
    b,
    bOffset,
    ldb,
    strideB,
    beta: s.beta ?? 0,
    c,
    cOffset,
    ldc,
    strideC,
    batch: s.batch,
  };
}

/** The device buffer behind a cuda tensor's storage (any layout: views read it with offsets). */
export function cudaStorage(t: Tensor): CudaBuffer {
  const h = t.storage.handle as Partial<CudaBuffer> | null;
  if (!h || typeof h !== "object" || typeof h.ptr !== "bigint") {
    throw new DeviceError(
      `cuda kit: a ${t.dtype} tensor of shape ${shapeStr(t.shape)} on ${t.device} has no device ` +
        `buffer (expected a tensor on the cuda backend)`,
    );
  }
  return h as CudaBuffer;
}

/**
 * The device buffer behind a dense cuda tensor (what a kernel receives unless its entry sets
 * `strided`); a {@linkcode DeviceError} for views or tensors of another backend.
 */
export function cudaBuffer(t: Tensor): CudaBuffer {
  const h = cudaStorage(t);
  if (!t.isDense) {
    throw new DeviceError(
      `cuda kit: the ${shapeStr(t.shape)} tensor is a view (offset ${t.offset}, strides ` +
        `[${t.strides.join(", ")}]); kernels receive dense inputs unless their entry sets strided`,
    );
  }
  return h;
}

/** A dense operand that is a bare buffer (scratch data) rather than a tensor. */
export interface BufferOperand {
  /** The buffer holding the elements, densely. */
  readonly buffer: CudaBuffer;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its dtype. */
  readonly dtype: DType;
}

/** What the launch helpers take as an input: a dense tensor or a {@linkcode BufferOperand}. */
export type Operand = Tensor | BufferOperand;

/** A pointer argument for a dense tensor, a {@linkcode BufferOperand} or a buffer. */
export function ptr(t: Operand | CudaBuffer): KernelArg {
  if ("storage" in t) return { ptr: cudaBuffer(t) };
  if ("buffer" in t) return { ptr: t.buffer };
  return { ptr: t };
}

/** A new output buffer for `spec` (the handle a kernel returns for it). */
export function allocOutput(cuda: Cuda, spec: TensorSpec): CudaBuffer {
  return cuda.alloc(sizeOf(spec.shape), spec.dtype);
}
