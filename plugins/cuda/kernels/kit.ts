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
 * The kit is spread over sibling modules, all re-exported here: kit_source.ts (dtypes, the
 * prelude, {@linkcode kernelSource}), kit_launch.ts (grids, launches, pointers, output buffers,
 * {@linkcode sgemmArgs}), kit_strided.ts (strided layouts), kit_elementwise.ts and kit_reduce.ts;
 * the device error record is in this module.
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

import type { DennError, KernelEntry } from "../../../core/mod.ts";
import { ERROR_WORDS, ErrorSites } from "../../device_errors.ts";
import type { Cuda, CudaBuffer } from "../types.ts";

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
export type { ErrorSites } from "../../device_errors.ts";
export * from "./kit_source.ts";
export * from "./kit_launch.ts";
export * from "./kit_strided.ts";
export * from "./kit_elementwise.ts";
export * from "./kit_reduce.ts";

/** A kernel entry of the cuda backend: `run` gets the {@linkcode Cuda} context, returns buffers. */
// deno-lint-ignore no-explicit-any
export type CudaKernel<A = any> = KernelEntry<A, Cuda, CudaBuffer>;

/** A cuda kernel table, op name → entry (attributes type-erased, as the registry keeps them). */
// deno-lint-ignore no-explicit-any
export type CudaKernelTable = Record<string, CudaKernel<any>>;

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
