/**
 * cuda sort (the `sort` op, which `argsort` and `topk` run on): a bitonic network per row over
 * (key, index) pairs, ported from the webgpu kernel. The pairs' total order makes the result the
 * stable sort the cpu backend defines: ties keep their index order in both directions, and NaN
 * sorts last ascending and first descending, as in PyTorch. Keys are 32-bit unsigned integers
 * that order as the values: floats by their bits (exact, no flush of subnormals; −0 equal to +0;
 * every NaN the largest key; float16 widened exactly to float), int32 with the sign bit flipped,
 * bool as 0 / 1. Rows are padded to a power of two P with entries that sort after everything.
 * Rows with P ≤ {@linkcode LOCAL_MAX} sort in one launch, a block per row in shared memory;
 * longer rows sort an index buffer in global memory, one launch per step of the network
 * (log₂P·(log₂P + 1)/2 of them). The values are copied bit for bit from the winners.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import { sizeOf } from "../../../core/mod.ts";
import type { SortAttrs } from "../../../core/ops/sort.ts";
import { ALL_DTYPES, cType, kernelSource, sourceCache, tag } from "./kit_source.ts";
import { allocOutput, gridFor, launchN, launchRows, ptr } from "./kit_launch.ts";
import type { Cuda, CudaBuffer, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

/** Longest padded row sorted in shared memory (a key and an index, 4 bytes each, per entry). */
export const LOCAL_MAX = 2048;
/** Threads per block of the shared-memory sort. */
export const SORT_BLOCK = 512;

// denn_key(v): the order-preserving unsigned key of a stored value; denn_before(ka, ia, kb, ib, n,
// desc): whether (ka at index ia) comes before (kb at ib) in the sorted row; indices ≥ n are
// padding and come last, in index order.
function order(dtype: DType): string {
  const T = cType(dtype);
  const key = dtype === "int32"
    ? `(unsigned int)v ^ 0x80000000u`
    : dtype === "bool"
    ? `(unsigned int)v`
    : `denn_fkey(${dtype === "float16" ? "denn_h2f(v)" : "v"})`;
  return `
__device__ __forceinline__ unsigned int denn_fkey(float x) {
  unsigned int b = __float_as_uint(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return 0xffffffffu;
  if ((b & 0x7fffffffu) == 0u) b = 0u;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ unsigned int denn_key(${T} v) { return ${key}; }
__device__ __forceinline__ bool denn_before(unsigned int ka, unsigned int ia, unsigned int kb,
    unsigned int ib, unsigned int n, int desc) {
  const bool pa = ia >= n, pb = ib >= n;
  if (pa || pb) return !pa || (pb && ia < ib);
  if (ka != kb) return desc ? ka > kb : ka < kb;
  return ia < ib;
}
`;
}

// Row `row` starts at `base` in the [outer, n, inner] layout; its element r is at base + r·inner.
const BASE = "(row / inner) * n * inner + row % inner";

function localSource(dtype: DType): KernelSource {
  const name = `denn_sort_local_${tag(dtype)}`;
  const T = cType(dtype);
  const params = [
    `${T}* __restrict__ O`,
    "int* __restrict__ I",
    `const ${T}* __restrict__ X`,
    "long long rows",
    "long long n",
    "long long inner",
    "int P",
    "int desc",
  ];
  const body = `  __shared__ unsigned int sk[${LOCAL_MAX}];
  __shared__ unsigned int si[${LOCAL_MAX}];
  const unsigned int un = (unsigned int)n;
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long base = ${BASE};
    for (int j = threadIdx.x; j < P; j += blockDim.x) {
      sk[j] = j < n ? denn_key(X[base + j * inner]) : 0u;
      si[j] = (unsigned int)j;
    }
    __syncthreads();
    for (int k = 2; k <= P; k <<= 1) {
      for (int j = k >> 1; j > 0; j >>= 1) {
        for (int h = threadIdx.x; h < P / 2; h += blockDim.x) {
          const int a = (h / j) * 2 * j + h % j, b = a + j;
          const unsigned int ka = sk[a], kb = sk[b], ia = si[a], ib = si[b];
          const bool swap = (a & k) == 0 ? denn_before(kb, ib, ka, ia, un, desc)
                                         : denn_before(ka, ia, kb, ib, un, desc);
          if (swap) { sk[a] = kb; sk[b] = ka; si[a] = ib; si[b] = ia; }
        }
        __syncthreads();
      }
    }
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
      const unsigned int src = si[j];
      const long long o = base + j * inner;
      O[o] = X[base + src * inner];
      I[o] = (int)src;
    }
    __syncthreads();
  }`;
  return { name, ops: ["sort"], source: kernelSource(name, params, body, order(dtype)) };
}

// The global-memory network: W [rows, P] holds each row's order of indices.
const INIT = "denn_sort_init";
function initSource(): KernelSource {
  const body =
    `  for (long long i = denn_gid(); i < total; i += denn_gsize()) W[i] = (int)(i % P);`;
  return {
    name: INIT,
    ops: ["sort"],
    source: kernelSource(INIT, ["int* __restrict__ W", "long long total", "long long P"], body),
  };
}

function stepSource(dtype: DType): KernelSource {
  const name = `denn_sort_step_${tag(dtype)}`;
  const T = cType(dtype);
  const params = [
    "int* __restrict__ W",
    `const ${T}* __restrict__ X`,
    "long long threads",
    "long long n",
    "long long inner",
    "long long P",
    "long long k",
    "long long j",
    "int desc",
  ];
  const body = `  const unsigned int un = (unsigned int)n;
  for (long long i = denn_gid(); i < threads; i += denn_gsize()) {
    const long long half = P / 2, row = i / half, h = i % half;
    const long long base = ${BASE};
    const long long a = (h / j) * 2 * j + h % j, b = a + j;
    int* w = W + row * P;
    const unsigned int ia = (unsigned int)w[a], ib = (unsigned int)w[b];
    const unsigned int ka = ia < un ? denn_key(X[base + ia * inner]) : 0u;
    const unsigned int kb = ib < un ? denn_key(X[base + ib * inner]) : 0u;
    const bool swap = (a & k) == 0 ? denn_before(kb, ib, ka, ia, un, desc)
                                   : denn_before(ka, ia, kb, ib, un, desc);
    if (swap) { w[a] = (int)ib; w[b] = (int)ia; }
  }`;
  return { name, ops: ["sort"], source: kernelSource(name, params, body, order(dtype)) };
}

function writeSource(dtype: DType): KernelSource {
  const name = `denn_sort_write_${tag(dtype)}`;
  const T = cType(dtype);
  const params = [
    `${T}* __restrict__ O`,
    "int* __restrict__ I",
    `const ${T}* __restrict__ X`,
    "const int* __restrict__ W",
    "long long total",
    "long long n",
    "long long inner",
    "long long P",
  ];
  const body = `  for (long long i = denn_gid(); i < total; i += denn_gsize()) {
    const long long row = i / n, j = i % n;
    const long long base = ${BASE};
    const long long src = W[row * P + j], o = base + j * inner;
    O[o] = X[base + src * inner];
    I[o] = (int)src;
  }`;
  return { name, ops: ["sort"], source: kernelSource(name, params, body) };
}

/** Every source the sort kernels launch. */
export function sortSources(): KernelSource[] {
  return [
    initSource(),
    ...ALL_DTYPES.flatMap((d) => [localSource(d), stepSource(d), writeSource(d)]),
  ];
}

const cached = sourceCache();

/** The smallest power of two at least `n` (1 for n ≤ 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function sortGlobal(
  cuda: Cuda,
  x: Tensor,
  o: CudaBuffer,
  idx: CudaBuffer,
  rows: number,
  n: number,
  inner: number,
  p: number,
  desc: number,
): void {
  const w = cuda.alloc(rows * p, "int32");
  const init = cached("init", initSource);
  launchN(cuda, init.name, init.source, rows * p, [{ ptr: w }, { i64: rows * p }, { i64: p }]);
  const step = cached(`step/${x.dtype}`, () => stepSource(x.dtype));
  const fn = cuda.kernel(step.source, step.name);
  const threads = rows * (p / 2);
  for (let k = 2; k <= p; k *= 2) {
    for (let j = k >> 1; j > 0; j >>= 1) {
      cuda.launch(fn, { grid: gridFor(threads), block: [256] }, [
        { ptr: w },
        ptr(x),
        { i64: threads },
        { i64: n },
        { i64: inner },
        { i64: p },
        { i64: k },
        { i64: j },
        { i32: desc },
      ]);
    }
  }
  const fin = cached(`write/${x.dtype}`, () => writeSource(x.dtype));
  launchN(cuda, fin.name, fin.source, rows * n, [
    { ptr: o },
    { ptr: idx },
    ptr(x),
    { ptr: w },
    { i64: rows * n },
    { i64: n },
    { i64: inner },
    { i64: p },
  ]);
  cuda.free(w);
}

/** Sort kernel table of the cuda backend (every dtype). */
export function sortKernels(): CudaKernelTable {
  return {
    sort: {
      dtypes: ALL_DTYPES,
      supports: ([x], a: SortAttrs) =>
        (x.ndim === 0 ? 1 : x.shape[a.dim]) < 2 ** 31 ||
        `sort: a dimension of ${x.shape[a.dim]} elements does not fit the int32 indices`,
      run([x], a: SortAttrs, out, cuda): CudaBuffer[] {
        const o = allocOutput(cuda, out[0]), idx = allocOutput(cuda, out[1]);
        const n = x.ndim === 0 ? 1 : x.shape[a.dim];
        const inner = x.ndim === 0 ? 1 : sizeOf(x.shape.slice(a.dim + 1));
        const rows = n === 0 ? 0 : x.numel() / n;
        if (rows === 0) return [o, idx];
        const p = nextPow2(n);
        const desc = a.descending ? 1 : 0;
        if (p > LOCAL_MAX) {
          sortGlobal(cuda, x, o, idx, rows, n, inner, p, desc);
          return [o, idx];
        }
        const k = cached(`local/${x.dtype}`, () => localSource(x.dtype));
        launchRows(cuda, k, rows, [
          { ptr: o },
          { ptr: idx },
          ptr(x),
          { i64: rows },
          { i64: n },
          { i64: inner },
          { i32: p },
          { i32: desc },
        ], { block: SORT_BLOCK });
        return [o, idx];
      },
    },
  };
}
