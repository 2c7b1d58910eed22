/**
 * The cuda kernel kit (`@denn/denn/plugins/cuda/kit`): what a plugin author needs to write a CUDA C
 * kernel for denn's cuda backend without reaching into its runtime. A cuda kernel receives the
 * backend's {@linkcode Cuda} context as its fourth argument: `alloc` / `free` / `zero` for device
 * buffers from the caching allocator, `kernel(source, name)` to compile a CUDA C source with NVRTC
 * for the device's architecture (once: cached in memory and on disk), `launch` to run a compiled
 * kernel on the context's stream, and `blas` (cuBLAS). Everything here takes that context, so a
 * kernel needs nothing global, and it returns one {@linkcode CudaBuffer} per output.
 *
 * - {@linkcode kernelSource}, {@linkcode PRELUDE}, {@linkcode cType}, {@linkcode load},
 *   {@linkcode store}, {@linkcode tag}: write your own `extern "C" __global__` function, one
 *   source per dtype with a unique, stable name; {@linkcode gridFor}, {@linkcode BLOCK},
 *   {@linkcode launchN}: launch it grid-stride over `n` elements; {@linkcode ptr},
 *   {@linkcode allocOutput}: the pointer arguments of tensors and the output buffers.
 * - {@linkcode BLOCK_SUM_CUDA}: a block-wide sum, for a block-per-row kernel (normalisation,
 *   softmax-like rows).
 * - {@linkcode elementwise}: one C expression over any number of inputs, with broadcasting
 *   (strided index math over merged dims, as the webgpu kit does); no CUDA C to write.
 * - {@linkcode reduce}: a reduction over any set of dims (a thread per output, or a block per
 *   output with warp shuffles when the reduced extent is long).
 * - {@linkcode errorRecord}, {@linkcode INDEX_ERROR_CUDA}: a kernel that reads index values reports
 *   an out-of-range one in the device error record (the protocol of `plugins/device_errors.ts`);
 *   the runtime's next readback throws the cpu backend's `IndexError` ({@linkcode takeIndexError}).
 *
 * Storage layout on the device (one element per `itemSize(dtype)` bytes, as the host arrays):
 * float32 as `float`, int32 as `int`, bool as `unsigned char` (0 or 1), float16 as the 16-bit IEEE
 * half pattern in an `unsigned short` (`denn_half`, the bits of CUDA's `__half`) converted with the
 * PTX `cvt` instructions cuda_fp16.h itself uses, so no source needs a header (NVRTC has no
 * include path by default). Float kernels compute in `float` and round once when storing.
 * Kernels receive dense inputs (contiguous, offset 0) unless their entry sets `strided`.
 *
 * Sources must compile with IEEE semantics (no `--use_fast_math`): NaN tests are `x != x`, and
 * `INFINITY`, `NAN` and `isnan` (host headers) are {@linkcode PRELUDE}'s `denn_inf()`,
 * `denn_nan()` and `x != x`.
 *
 * @example A plugin with a custom op, softplus(x) = log(1 + exp(βx)) / β, and its CUDA C kernel
 * ```ts
 * import { definePlugin, DTypeError } from "../../../mod.ts";
 * import type { DType, OpDef, TensorSpec } from "../../../mod.ts";
 * import { BLOCK, cType, gridFor, kernelSource, load, ptr, store, tag } from "./kit.ts";
 * import type { CudaKernel, KernelSource } from "./kit.ts";
 *
 * // The op, independent of any backend: shapes, gradient, and a decomposition for the others.
 * const softplusOp: OpDef<{ beta: number }> = {
 *   name: "@acme/softplus",
 *   infer([x]): TensorSpec[] {
 *     if (x.dtype !== "float32" && x.dtype !== "float16") {
 *       throw new DTypeError(`@acme/softplus: expected a floating-point tensor, got ${x.dtype}`);
 *     }
 *     return [{ shape: [...x.shape], dtype: x.dtype }];
 *   },
 *   grad: ({ inputs: [x], attrs }, g) => [g.mul(x.mul(attrs.beta).sigmoid())],
 *   decompose: ([x], { beta }) => [x.mul(beta).exp().log1p().div(beta)],
 * };
 *
 * // One CUDA C source per dtype, named uniquely and stably (the runtime caches by source hash):
 * // a grid-stride loop over the n elements, computing in float, rounding once when storing.
 * function softplusSource(dtype: DType): KernelSource {
 *   const name = `acme_softplus_${tag(dtype)}`;
 *   const T = cType(dtype);
 *   const params = [
 *     `${T}* __restrict__ y`,
 *     `const ${T}* __restrict__ x`,
 *     "long long n",
 *     "float beta",
 *   ];
 *   const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
 *     const float v = ${load(dtype, "x[i]")};
 *     y[i] = ${store(dtype, "log1pf(expf(beta * v)) / beta")};
 *   }`;
 *   return { name, source: kernelSource(name, params, body) };
 * }
 *
 * const softplusCuda: CudaKernel<{ beta: number }> = {
 *   dtypes: ["float32", "float16"],
 *   run([x], { beta }, out, cuda) {
 *     const n = x.numel();
 *     const y = cuda.alloc(n, out[0].dtype); // the output's device buffer: the handle returned
 *     if (n === 0) return [y];
 *     const k = softplusSource(x.dtype);
 *     const fn = cuda.kernel(k.source, k.name); // NVRTC for this device, compiled once
 *     // Arguments in the declared order: pointers, `long long` as i64, `float` as f32.
 *     cuda.launch(fn, { grid: gridFor(n), block: [BLOCK] }, [
 *       { ptr: y },
 *       ptr(x),
 *       { i64: n },
 *       { f32: beta },
 *     ]);
 *     return [y];
 *   },
 * };
 *
 * const plugin = definePlugin({
 *   name: "@acme/softplus",
 *   kind: "op",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   ops: [softplusOp],
 *   kernels: { cuda: { "@acme/softplus": softplusCuda } },
 * });
 * console.log(plugin.name); // "@acme/softplus"
 * ```
 *
 * @module
 */

import { broadcastStrides, DeviceError, shapeStr, sizeOf } from "../../../core/mod.ts";
import type { DennError, DType, KernelEntry, Tensor, TensorSpec } from "../../../core/mod.ts";
import { ERROR_WORDS, ErrorSites } from "../../device_errors.ts";
import type {
  CublasApi,
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "../types.ts";

export type {
  CublasApi,
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "../types.ts";
export type { IndexSite } from "../../device_errors.ts";
// The core types the kit's signatures reach (DType, Tensor, TensorSpec, KernelEntry, DennError and
// what Tensor's own API names), re-exported so the kit's documentation is complete from this one
// module (`deno doc --lint` clean). Core's ReduceOptions (of Tensor.any/all) is CoreReduceOptions
// here, as the kit has its own ReduceOptions.
export type {
  AttrSchema,
  Backend,
  BackendDef,
  BackwardOptions,
  DennError,
  DType,
  GradContext,
  GradEdge,
  IndexSpec,
  Kernel,
  KernelEntry,
  Layout,
  NanToNumOptions,
  NestedResult,
  Node,
  NormOrder,
  OpDef,
  ReduceArg,
  ReduceOptions as CoreReduceOptions,
  Shape,
  SliceSpec,
  SortOptions,
  Storage,
  Tensor,
  TensorLike,
  TensorSpec,
  TopkOptions,
  TypedArray,
  ValuesIndices,
  VarianceOptions,
} from "../../../core/mod.ts";
import { coalesce } from "../../../core/mod.ts";
export type { ErrorSites } from "../../device_errors.ts";

/** A kernel entry of the cuda backend: `run` gets the {@linkcode Cuda} context, returns buffers. */
// deno-lint-ignore no-explicit-any
export type CudaKernel<A = any> = KernelEntry<A, Cuda, CudaBuffer>;

/** A cuda kernel table, op name → entry (attributes type-erased, as the registry keeps them). */
// deno-lint-ignore no-explicit-any
export type CudaKernelTable = Record<string, CudaKernel<any>>;

/** One generated CUDA C translation unit and the `extern "C"` kernel it defines. */
export interface KernelSource {
  /** The kernel's unique, stable `extern "C"` name. */
  readonly name: string;
  /** The complete CUDA C source (prelude included; no `#include`). */
  readonly source: string;
  /** The ops of the kernel table that launch it. */
  readonly ops?: readonly string[];
}

/** Threads per block of the one-thread-per-element kernels. */
export const BLOCK = 256;
/** Most dimensions (after merging contiguous ones) the strided kernels address. */
export const MAX_DIMS = 8;
/** Most blocks along x a grid-stride kernel is launched with. */
export const MAX_GRID = 65535;

/** The four dtypes, in the order variants are generated. */
export const ALL_DTYPES: readonly DType[] = ["float32", "float16", "int32", "bool"];
/** The float dtypes. */
export const FLOATS: readonly DType[] = ["float32", "float16"];

/** The C storage type of a dtype's elements. */
export function cType(dtype: DType): string {
  return dtype === "float32"
    ? "float"
    : dtype === "float16"
    ? "denn_half"
    : dtype === "int32"
    ? "int"
    : "unsigned char";
}

/** The short tag naming a dtype in kernel names: f32, f16, i32, b8. */
export function tag(dtype: DType): string {
  return dtype === "float32"
    ? "f32"
    : dtype === "float16"
    ? "f16"
    : dtype === "int32"
    ? "i32"
    : "b8";
}

/** Whether a dtype is float32 or float16. */
export function isFloatDType(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float16";
}

/** The C type computations of a dtype run in: `float` for floats, `int` for int32 and bool. */
export function computeType(dtype: DType): "float" | "int" {
  return isFloatDType(dtype) ? "float" : "int";
}

/** C expression reading storage value `expr` of `dtype` as its {@linkcode computeType}. */
export function load(dtype: DType, expr: string): string {
  return dtype === "float16" ? `denn_h2f(${expr})` : dtype === "bool" ? `(int)(${expr})` : expr;
}

/** C expression converting a computed value `expr` to the storage type of `dtype`. */
export function store(dtype: DType, expr: string): string {
  if (dtype === "float16") return `denn_f2h((float)(${expr}))`;
  if (dtype === "bool") return `(unsigned char)((${expr}) != 0)`;
  return `(${cType(dtype)})(${expr})`;
}

/** Bytes of one element of `dtype` on the device. */
export function elementBytes(dtype: DType): number {
  return dtype === "bool" ? 1 : dtype === "float16" ? 2 : 4;
}

/**
 * Helpers every generated source starts with: the half type and its conversions, infinity and NaN
 * constants, and the device error record's `denn_index_error` (see {@linkcode INDEX_ERROR_CUDA}).
 */
export const PRELUDE = `typedef unsigned short denn_half;
__device__ __forceinline__ float denn_h2f(denn_half h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ denn_half denn_f2h(float f) {
  denn_half h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ float denn_inf() { return __int_as_float(0x7f800000); }
__device__ __forceinline__ float denn_nan() { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ long long denn_gsize() { return (long long)gridDim.x * blockDim.x; }
__device__ __forceinline__ long long denn_gid() {
  return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}
`;

/**
 * CUDA C `float denn_block_sum(float v, float* sh)`: the sum of `v` over the block's threads,
 * returned to every thread (warp shuffles, then one warp over the per-warp sums). Every thread of
 * the block must call it (it synchronises); `blockDim.x` must be a multiple of 32, at most 1024;
 * `sh` is a `__shared__ float[33]`, reusable by consecutive calls. For a block-per-row kernel, as
 * {@linkcode BLOCK} threads striding over a row and meeting here.
 */
export const BLOCK_SUM_CUDA = `
__device__ __forceinline__ float denn_block_sum(float v, float* sh) {
  for (int s = 16; s > 0; s >>= 1) v += __shfl_down_sync(0xffffffffu, v, s);
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < (blockDim.x >> 5) ? sh[threadIdx.x] : 0.0f;
    for (int s = 16; s > 0; s >>= 1) v += __shfl_down_sync(0xffffffffu, v, s);
    if (threadIdx.x == 0) sh[32] = v;
  }
  __syncthreads();
  const float r = sh[32];
  __syncthreads();
  return r;
}
`;

/**
 * CUDA C `denn_index_error(err, site, v)`: records that index value `v` is out of range for launch
 * site `site` unless an error is already recorded (the first error wins). Kernels that use it take
 * an `unsigned int* err` parameter bound to {@linkcode errorRecord}'s buffer, and still avoid the
 * out-of-range access themselves.
 */
export const INDEX_ERROR_CUDA = `
__device__ __forceinline__ void denn_index_error(unsigned int* err, unsigned int site, int v) {
  if (*((volatile unsigned int*)err) == 0u && atomicCAS(err, 0u, 1u) == 0u) {
    err[1] = site;
    err[2] = (unsigned int)v;
    __threadfence();
  }
}
`;

/**
 * A complete source: {@linkcode PRELUDE}, optional helpers, then
 * `extern "C" __global__ void name(params) { body }`. Give each parameter as a C declaration
 * (`"const float* __restrict__ x"`, `"long long n"`, `"float alpha"`, `"int rank"`); pass the
 * arguments in the same order ({@linkcode KernelArg}: pointers, `i64` for `long long`, `i32` for
 * `int`, `u32` for `unsigned int`, `f32` for `float`).
 */
export function kernelSource(
  name: string,
  params: readonly string[],
  body: string,
  helpers = "",
): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new DeviceError(`cuda kit: kernel name "${name}" is not a C identifier`);
  }
  return `${PRELUDE}${helpers}
extern "C" __global__ void ${name}(${params.join(", ")}) {
${body}
}
`;
}

/** A C identifier made from a plugin's op name (`"@acme/swish"` → `acme_swish`). */
export function cName(s: string): string {
  const c = s.replace(/[^A-Za-z0-9_]/g, "_").replace(/^_+/, "");
  return /^[A-Za-z_]/.test(c) ? c : `k_${c}`;
}

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

/**
 * A memo of generated sources by key: `cached(key, make)` returns the source `make` built the
 * first time `key` was asked for (a module keeps one, so each source string is built once).
 */
export function sourceCache(): (key: string, make: () => KernelSource) => KernelSource {
  const cache = new Map<string, KernelSource>();
  return (key, make) => {
    let s = cache.get(key);
    if (!s) cache.set(key, s = make());
    return s;
  };
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

// Defined in core (shape.ts); re-exported for this plugin's kernel files, which import it here.
export { coalesce };

/** Why a layout of more than {@linkcode MAX_DIMS} dims (after merging) is declined, else true. */
export function dimsSupported(
  op: string,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): true | string {
  const [s] = coalesce(shape, strides);
  return s.length <= MAX_DIMS ||
    `${op}: ${s.length} dims after merging contiguous ones exceed the cuda kernels' ${MAX_DIMS}`;
}

// Sizes and strides are passed innermost dim first, padded to MAX_DIMS with size 1 / stride 0.
function dimArgs(values: readonly number[], fill: number): KernelArg[] {
  const r = [...values].reverse();
  while (r.length < MAX_DIMS) r.push(fill);
  return r.map((v) => ({ i64: v }));
}

/** Parameter declarations `long long <p>0 ... <p>7` (innermost dim first). */
export function dimParams(prefix: string): string[] {
  return Array.from({ length: MAX_DIMS }, (_, d) => `long long ${prefix}${d}`);
}

/**
 * Arguments for a strided layout: `rank` (i32), then {@linkcode MAX_DIMS} sizes and, per operand,
 * {@linkcode MAX_DIMS} strides (innermost first), the order of {@linkcode stridedParams}.
 */
export function stridedArgs(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): KernelArg[] {
  if (shape.length > MAX_DIMS) {
    throw new DeviceError(`cuda kit: ${shape.length} dims exceed ${MAX_DIMS} (merge them first)`);
  }
  return [{ i32: shape.length }, ...dimArgs(shape, 1), ...strides.flatMap((s) => dimArgs(s, 0))];
}

/** Parameter declarations matching {@linkcode stridedArgs}: `int rank`, sizes `s*`, strides per operand. */
export function stridedParams(operands: readonly string[], rank = "rank", size = "s"): string[] {
  return [`int ${rank}`, ...dimParams(size), ...operands.flatMap((o) => dimParams(`${o}_st`))];
}

/**
 * C statements computing `long long` element offsets `<operand>_off` of flat index `idx` in a
 * layout passed by {@linkcode stridedArgs} (innermost dim first; dims beyond `rank` skipped).
 */
export function stridedOffsets(
  operands: readonly string[],
  idx: string,
  rank = "rank",
  size = "s",
): string {
  const decl = operands.map((o) => `long long ${o}_off = 0;`).join(" ");
  const steps = Array.from(
    { length: MAX_DIMS },
    (_, d) =>
      `    if (${rank} > ${d}) { long long c_ = r_ % ${size}${d}; r_ /= ${size}${d}; ${
        operands.map((o) => `${o}_off += c_ * ${o}_st${d};`).join(" ")
      } }`,
  ).join("\n");
  const fast = operands.map((o) => `${o}_off = ${idx} * ${o}_st0;`).join(" ");
  return `  ${decl}
  if (${rank} <= 1) { ${fast} } else {
    long long r_ = ${idx};
${steps}
  }`;
}

const LETTERS = "abcdefgh";

/** What {@linkcode elementwiseSource} generates. */
export interface ElementwiseSourceOptions {
  /** The kernel's `extern "C"` name. */
  name: string;
  /** Input dtypes (at most 8); inputs are `a`, `b`, ... in the expression. */
  inputs: readonly DType[];
  /** Output dtype. */
  output: DType;
  /**
   * One C expression of `a`, `b`, ... (loaded as {@linkcode computeType}: `float` for float32 and
   * float16, `int` for int32 and bool; raw storage values with `raw`), the flat output index `i`
   * (`long long`) and the scalars; converted to the output's storage type.
   */
  expr: string;
  /** Load inputs and store the result as raw storage values (moves and `where`). */
  raw?: boolean;
  /** `float` scalar parameter names. */
  scalars?: readonly string[];
  /** `int` scalar parameter names. */
  ints?: readonly string[];
  /** Extra C (device functions) placed before the kernel. */
  helpers?: string;
}

/**
 * The source of a broadcasting elementwise kernel. Parameters: the output pointer, the input
 * pointers, `long long n`, the {@linkcode stridedParams} of the inputs, then the float scalars and
 * the int scalars, in the order given.
 */
export function elementwiseSource(o: ElementwiseSourceOptions): string {
  if (o.inputs.length > LETTERS.length) {
    throw new DeviceError(`${o.name}: elementwise takes at most 8 inputs, got ${o.inputs.length}`);
  }
  const names = o.inputs.map((_, j) => LETTERS[j]);
  const params = [
    `${cType(o.output)}* __restrict__ out`,
    ...o.inputs.map((d, j) => `const ${cType(d)}* __restrict__ ${names[j]}_p`),
    "long long n",
    ...stridedParams(names),
    ...(o.scalars ?? []).map((s) => `float ${s}`),
    ...(o.ints ?? []).map((s) => `int ${s}`),
  ];
  const loads = o.inputs.map((d, j) => {
    const v = `${names[j]}_p[${names[j]}_off]`;
    return o.raw
      ? `    const ${cType(d)} ${names[j]} = ${v};`
      : `    const ${computeType(d)} ${names[j]} = ${load(d, v)};`;
  });
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
  ${stridedOffsets(names, "i")}
${loads.join("\n")}
    out[i] = ${o.raw ? `(${o.expr})` : store(o.output, o.expr)};
  }`;
  return kernelSource(o.name, params, body, o.helpers ?? "");
}

/** What {@linkcode elementwise} computes (see {@linkcode ElementwiseSourceOptions} for `expr`). */
export interface ElementwiseOptions {
  /** Your op's name (`"@acme/swish"`); the kernel name is made from it and the dtypes. */
  name: string;
  /** One C expression of `a`, `b`, ..., `i` and the scalars. */
  expr: string;
  /** Contiguous input tensors (at most 8), each broadcastable to the output's shape. */
  inputs: readonly Tensor[];
  /** The output spec the kernel received. */
  output: TensorSpec;
  /** `float` scalars by C name. */
  scalars?: Readonly<Record<string, number>>;
  /** `int` scalars by C name. */
  ints?: Readonly<Record<string, number>>;
  /** Extra C device functions placed before the kernel. */
  helpers?: string;
  /** Raw storage loads and store (see {@linkcode ElementwiseSourceOptions.raw}). */
  raw?: boolean;
}

/** The kernel name {@linkcode elementwise} gives an op over these dtypes. */
export function elementwiseName(name: string, inputs: readonly DType[], output: DType): string {
  return `${cName(name)}_${inputs.map(tag).join("")}_${tag(output)}`;
}

/**
 * Runs one expression per output element, with broadcasting, and returns the output buffer.
 * Broadcast inputs are read with stride 0; contiguous dims are merged first.
 */
export function elementwise(cuda: Cuda, o: ElementwiseOptions): CudaBuffer {
  const out = allocOutput(cuda, o.output);
  const name = elementwiseName(o.name, o.inputs.map((t) => t.dtype), o.output.dtype);
  const source = elementwiseSource({
    name,
    inputs: o.inputs.map((t) => t.dtype),
    output: o.output.dtype,
    expr: o.expr,
    raw: o.raw,
    scalars: Object.keys(o.scalars ?? {}),
    ints: Object.keys(o.ints ?? {}),
    helpers: o.helpers,
  });
  launchElementwise(cuda, name, source, o.inputs, out, o.output.shape, o.scalars, o.ints);
  return out;
}

/**
 * Launches a kernel from {@linkcode elementwiseSource} over `shape` into `out`, with the inputs
 * broadcast to `shape`.
 */
export function launchElementwise(
  cuda: Cuda,
  name: string,
  source: string,
  inputs: readonly Operand[],
  out: CudaBuffer,
  shape: readonly number[],
  scalars: Readonly<Record<string, number>> = {},
  ints: Readonly<Record<string, number>> = {},
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const [s, st] = coalesce(shape, inputs.map((t) => broadcastStrides(t.shape, shape)));
  if (s.length > MAX_DIMS) {
    throw new DeviceError(
      `${name}: output ${shapeStr(shape)} has ${s.length} dims after merging; at most ${MAX_DIMS}`,
    );
  }
  launchN(cuda, name, source, n, [
    { ptr: out },
    ...inputs.map(ptr),
    { i64: n },
    ...stridedArgs(s, st),
    ...Object.values(scalars).map((v) => ({ f32: v })),
    ...Object.values(ints).map((v) => ({ i32: v | 0 })),
  ]);
}

// ---------------------------------------------------------------- reductions

/** How {@linkcode reduceSource} combines values. */
export interface ReduceSourceOptions {
  /** The kernel's `extern "C"` name. */
  name: string;
  /** Input dtype (loaded as its {@linkcode computeType}). */
  input: DType;
  /** Output dtype. */
  output: DType;
  /** Accumulator C type (`"float"`, `"int"`). */
  acc: string;
  /** C initial value of the accumulator, an identity of `combine`. */
  init: string;
  /** C expression of `acc` and `v` giving the new accumulator; associative. */
  combine: string;
  /** C expression of `v` applied to each loaded element first (default `v`). */
  map?: string;
  /** C expression of `acc` and the reduced count `m` (`long long`) for the result (default `acc`). */
  finish?: string;
  /** A block (256 threads, warp shuffles) per output instead of a thread per output. */
  block?: boolean;
}

/**
 * The source of a reduction over any dims. Parameters: `out`, `x`, `long long nOut`,
 * `long long nRed`, the kept layout (`int krank`, sizes `ks*`, strides `x_st*`) and the reduced
 * layout (`int rrank`, sizes `rs*`, strides `y_st*`), as {@linkcode reduce} passes them.
 */
export function reduceSource(o: ReduceSourceOptions): string {
  const params = [
    `${cType(o.output)}* __restrict__ out`,
    `const ${cType(o.input)}* __restrict__ x`,
    "long long nOut",
    "long long nRed",
    ...stridedParams(["x"], "krank", "ks"),
    ...stridedParams(["y"], "rrank", "rs"),
  ];
  const a = o.acc;
  const helpers = `
__device__ __forceinline__ ${a} denn_combine(${a} acc, ${a} v) { return ${o.combine}; }
__device__ __forceinline__ ${a} denn_map(${a} v) { return ${o.map ?? "v"}; }
__device__ __forceinline__ ${a} denn_finish(${a} acc, long long m) { (void)m; return ${
    o.finish ?? "acc"
  }; }
`;
  const loadAt = `denn_map((${a})(${load(o.input, "x[base + y_off]")}))`;
  const kept = stridedOffsets(["x"], "o", "krank", "ks");
  const red = stridedOffsets(["y"], "j", "rrank", "rs");
  if (!o.block) {
    const body = `  for (long long o = denn_gid(); o < nOut; o += denn_gsize()) {
  ${kept}
    const long long base = x_off;
    ${a} acc = ${o.init};
    for (long long j = 0; j < nRed; j++) {
    ${red}
      acc = denn_combine(acc, ${loadAt});
    }
    out[o] = ${store(o.output, "denn_finish(acc, nRed)")};
  }`;
    return kernelSource(o.name, params, body, helpers);
  }
  const body = `  __shared__ ${a} part[32];
  for (long long o = blockIdx.x; o < nOut; o += gridDim.x) {
  ${kept}
    const long long base = x_off;
    ${a} acc = ${o.init};
    for (long long j = threadIdx.x; j < nRed; j += blockDim.x) {
    ${red}
      acc = denn_combine(acc, ${loadAt});
    }
    for (int s = 16; s > 0; s >>= 1) acc = denn_combine(acc, __shfl_down_sync(0xffffffffu, acc, s));
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
      acc = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : (${a})(${o.init});
      for (int s = 16; s > 0; s >>= 1) acc = denn_combine(acc, __shfl_down_sync(0xffffffffu, acc, s));
      if (threadIdx.x == 0) out[o] = ${store(o.output, "denn_finish(acc, nRed)")};
    }
    __syncthreads();
  }`;
  return kernelSource(o.name, params, body, helpers);
}

/** Whether {@linkcode reduce} uses the block-per-output variant for these sizes. */
export function useBlockReduce(nOut: number, nRed: number): boolean {
  return nRed >= 256 && nOut < 65536;
}

/**
 * Splits a dense tensor's `dims` into the merged kept and reduced layouts a reduction kernel walks:
 * `[keptShape, keptStrides, redShape, redStrides]`.
 */
export function reduceLayout(
  shape: readonly number[],
  dims: readonly number[],
): [number[], number[], number[], number[]] {
  const st: number[] = [];
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    st[d] = acc;
    acc *= shape[d];
  }
  const keep = shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const [ks, [kst]] = coalesce(keep.map((d) => shape[d]), [keep.map((d) => st[d])]);
  const [rs, [rst]] = coalesce(dims.map((d) => shape[d]), [dims.map((d) => st[d])]);
  return [ks, kst, rs, rst];
}

/**
 * Launches a kernel from {@linkcode reduceSource} (thread or block variant, by
 * {@linkcode useBlockReduce}) reducing dense `x` over `dims` into `out` (`nOut` elements).
 */
export function launchReduce(
  cuda: Cuda,
  sources: { thread: [string, string]; block: [string, string] },
  x: Tensor,
  dims: readonly number[],
  out: CudaBuffer,
  nOut: number,
): void {
  if (nOut === 0) return;
  const [ks, kst, rs, rst] = reduceLayout(x.shape, dims);
  const nRed = sizeOf(dims.map((d) => x.shape[d]));
  if (ks.length > MAX_DIMS || rs.length > MAX_DIMS) {
    throw new DeviceError(
      `cuda reduce: ${shapeStr(x.shape)} over [${dims.join(", ")}] needs more than ${MAX_DIMS} ` +
        `merged dims`,
    );
  }
  const block = useBlockReduce(nOut, nRed);
  const [name, source] = block ? sources.block : sources.thread;
  const fn = cuda.kernel(source, name);
  const args: KernelArg[] = [
    { ptr: out },
    ptr(x),
    { i64: nOut },
    { i64: nRed },
    ...stridedArgs(ks, [kst]),
    ...stridedArgs(rs, [rst]),
  ];
  cuda.launch(
    fn,
    block ? { grid: [Math.min(nOut, MAX_GRID)], block: [BLOCK] } : {
      grid: gridFor(nOut),
      block: [BLOCK],
    },
    args,
  );
}

/** What {@linkcode reduce} computes (C expressions as in {@linkcode ReduceSourceOptions}). */
export interface ReduceOptions {
  /** Your op's name; kernel names are made from it and the dtypes. */
  name: string;
  /** The dense input. */
  input: Tensor;
  /** Dims reduced (non-negative). */
  dims: readonly number[];
  /** The output spec (the input's shape without, or with size-1, reduced dims). */
  output: TensorSpec;
  /** Accumulator C type (default: `float` for float outputs, `int` otherwise). */
  acc?: string;
  /** Identity of `combine` (C). */
  init: string;
  /** Associative C expression of `acc` and `v`. */
  combine: string;
  /** C expression applied to each element `v` first. */
  map?: string;
  /** C expression of `acc` and the count `m` for the result. */
  finish?: string;
}

/** Reduces `input` over `dims` and returns the output buffer. */
export function reduce(cuda: Cuda, o: ReduceOptions): CudaBuffer {
  const out = allocOutput(cuda, o.output);
  const nOut = sizeOf(o.output.shape);
  const base = `${cName(o.name)}_${tag(o.input.dtype)}_${tag(o.output.dtype)}`;
  const common = {
    input: o.input.dtype,
    output: o.output.dtype,
    acc: o.acc ?? computeType(o.output.dtype),
    init: o.init,
    combine: o.combine,
    map: o.map,
    finish: o.finish,
  };
  launchReduce(
    cuda,
    {
      thread: [base, reduceSource({ ...common, name: base })],
      block: [`${base}_block`, reduceSource({ ...common, name: `${base}_block`, block: true })],
    },
    o.input,
    o.dims,
    out,
    nOut,
  );
  return out;
}

// ---------------------------------------------------------------- device error record

/** The device error record of a context: a zeroed buffer of `ERROR_WORDS` u32 and its sites. */
export interface CudaErrorRecord {
  /** {@linkcode ERROR_WORDS} 32-bit words on the device (bind as `unsigned int* err`). */
  readonly buffer: CudaBuffer;
  /** The launch sites kernels report by id. */
  readonly sites: ErrorSites;
}

const records = new WeakMap<Cuda, CudaErrorRecord>();

/**
 * The context's device error record. A runtime may provide its own as an `errorRecord` property
 * of the context; otherwise the kit allocates one per context (zeroed) on first use, which the
 * runtime reads back with {@linkcode takeIndexError}.
 */
export function errorRecord(cuda: Cuda): CudaErrorRecord {
  const own = (cuda as Cuda & { errorRecord?: CudaErrorRecord }).errorRecord;
  if (own) return own;
  let r = records.get(cuda);
  if (!r) {
    const buffer = cuda.alloc(ERROR_WORDS, "int32");
    cuda.zero(buffer);
    r = { buffer, sites: new ErrorSites() };
    records.set(cuda, r);
  }
  return r;
}

/**
 * Reads the context's error record (waiting for the stream), clears it, and returns the error the
 * first recorded out-of-range index value describes, or null. For the runtime's readback and
 * `sync()`; does nothing (null) when no index-validating kernel has run on this context.
 */
export function takeIndexError(cuda: Cuda): DennError | null {
  const own = (cuda as Cuda & { errorRecord?: CudaErrorRecord }).errorRecord;
  const r = own ?? records.get(cuda);
  if (!r) return null;
  const raw = cuda.read(r.buffer, ERROR_WORDS);
  const words = new Uint32Array(raw.buffer, raw.byteOffset, ERROR_WORDS);
  if (words[0] === 0) return null;
  const err = r.sites.decode(new Uint32Array(words), "cuda");
  cuda.zero(r.buffer);
  return err;
}
