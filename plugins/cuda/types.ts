/**
 * The contract between the cuda backend's runtime (library loading, context, memory, NVRTC,
 * launches: plugins/cuda/runtime) and its kernels (CUDA C sources and the kernel table:
 * plugins/cuda/kernels). Kernels see only {@linkcode Cuda}, the context every cuda kernel receives
 * as its fourth argument, so they need nothing global and a third-party plugin can write one the
 * same way.
 *
 * @module
 */

import type { DType } from "../../core/mod.ts";

/** Device memory holding a tensor's elements: the storage handle of the cuda backend. */
export interface CudaBuffer {
  /** Device pointer (CUdeviceptr). */
  readonly ptr: bigint;
  /** Elements the tensor uses (what dispatch checks a kernel's output against). */
  readonly elements: number;
  /** Element type of the data. */
  readonly dtype: DType;
  /** Bytes reserved (at least elements × item size; the allocator may round up). */
  readonly bytes: number;
}

/** A compiled kernel function (CUfunction) of a loaded module. */
export interface CudaFunction {
  /** The `extern "C"` name it was looked up by. */
  readonly name: string;
  /** The CUfunction handle. */
  readonly handle: bigint;
}

/** One kernel argument, as the CUDA C signature declares it. */
export type KernelArg =
  | { readonly ptr: CudaBuffer | bigint }
  | { readonly i32: number }
  | { readonly u32: number }
  | { readonly i64: number | bigint }
  | { readonly f32: number };

/** Launch geometry: grid and block sizes (x, y, z; missing dims are 1) and dynamic shared bytes. */
export interface LaunchConfig {
  /** Blocks per grid. */
  readonly grid: readonly [number, number?, number?];
  /** Threads per block. */
  readonly block: readonly [number, number?, number?];
  /** Dynamic shared memory per block in bytes (default 0). */
  readonly sharedBytes?: number;
}

/** cuBLAS through the context (null where libcublas did not load). */
export interface CublasApi {
  /**
   * Row-major single-precision C[m×n] = alpha·op(A)·op(B) + beta·C with op = transpose where
   * asked (the backend maps it to column-major cuBLAS), over `batch` matrices at the given
   * element strides (0 broadcasts an operand), on the context's stream.
   */
  sgemm(args: {
    transA: boolean;
    transB: boolean;
    m: number;
    n: number;
    k: number;
    alpha: number;
    a: CudaBuffer;
    aOffset?: number;
    lda: number;
    strideA: number;
    b: CudaBuffer;
    bOffset?: number;
    ldb: number;
    strideB: number;
    beta: number;
    c: CudaBuffer;
    cOffset?: number;
    ldc: number;
    strideC: number;
    batch: number;
  }): void;
  /** Whether TF32 tensor-core math is allowed for float32 GEMMs (PyTorch's `allow_tf32`). */
  allowTF32: boolean;
}

/**
 * What every cuda kernel receives as its context (fourth argument). All calls are synchronous on
 * the host; launches run asynchronously on the context's one stream, in order.
 */
export interface Cuda {
  /** The device's compute capability as NVRTC's arch flag, e.g. "sm_90". */
  readonly arch: string;
  /** Device name, e.g. "NVIDIA H100 80GB HBM3". */
  readonly deviceName: string;
  /** A buffer for `elements` values of `dtype` (contents undefined), from the caching allocator. */
  alloc(elements: number, dtype: DType): CudaBuffer;
  /** Returns a buffer to the allocator (stream-ordered: pending kernels may still read it). */
  free(buffer: CudaBuffer): void;
  /** Fills a buffer with zero bytes on the stream. */
  zero(buffer: CudaBuffer): void;
  /**
   * The kernel `name` of a CUDA C source, compiled by NVRTC for {@linkcode Cuda.arch} once and
   * cached (in memory and on disk, keyed by source hash, arch and NVRTC version).
   */
  kernel(source: string, name: string): CudaFunction;
  /** Launches a kernel on the stream with the arguments in its declared order. */
  launch(fn: CudaFunction, config: LaunchConfig, args: readonly KernelArg[]): void;
  /** Copies host data into a buffer (synchronous with respect to the stream). */
  write(buffer: CudaBuffer, data: ArrayBufferView): void;
  /** Copies a buffer's first `elements` values back to the host (waits for the stream). */
  read(buffer: CudaBuffer, elements: number): ArrayBufferView;
  /** cuBLAS, or null where it did not load (matmul then declines with the reason). */
  readonly blas: CublasApi | null;
  /** Why cuBLAS is unavailable, or null. */
  readonly blasUnavailable: string | null;
}
