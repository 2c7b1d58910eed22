/**
 * The CUDA C source half of the cuda kernel kit (import it through `kit.ts`, the entry point): the
 * dtypes' C storage and compute types and the conversions between them ({@linkcode cType},
 * {@linkcode load}, {@linkcode store}), the {@linkcode PRELUDE} every source starts with, the shared
 * device helpers {@linkcode BLOCK_SUM_CUDA} and {@linkcode INDEX_ERROR_CUDA},
 * {@linkcode kernelSource}, which makes a complete `extern "C"` translation unit of a body, and
 * {@linkcode sourceCache}, a module's memo of the sources it generates.
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";
import type { DType } from "../../../core/mod.ts";

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
