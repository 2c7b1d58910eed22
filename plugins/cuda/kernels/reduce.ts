/**
 * cuda reductions: sum, max and min over any set of dims and prod along one (the kit's `reduce`:
 * a thread per output, or a 256-thread block per output with warp shuffles when the reduced
 * extent is long and outputs are few), argmax/argmin (first index on ties, NaN wins), fused
 * softmax / logSoftmax (a thread or a block per row) and cumsum / cumprod (a thread per row).
 * float16 is read as half, reduced in float and rounded once; int32 sums and products wrap.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import { sizeOf } from "../../../core/mod.ts";
import {
  ALL_DTYPES,
  computeType,
  cType,
  FLOATS,
  kernelSource,
  load,
  MAX_DIMS,
  sourceCache,
  store,
  tag,
} from "./kit_source.ts";
import { allocOutput, launchGrid, launchRows, ptr } from "./kit_launch.ts";
import { launchReduce, reduceLayout, reduceSource } from "./kit_reduce.ts";
import type { CudaKernel, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

type Mode = "sum" | "max" | "min" | "prod";

const MODE_DTYPES: Record<Mode, readonly DType[]> = {
  sum: ["float32", "float16", "int32"],
  prod: ["float32", "float16", "int32"],
  max: ALL_DTYPES,
  min: ALL_DTYPES,
};

function combine(mode: Mode, acc: "float" | "int"): string {
  if (mode === "sum") {
    return acc === "float" ? "acc + v" : "(int)((unsigned int)acc + (unsigned int)v)";
  }
  if (mode === "prod") {
    return acc === "float" ? "acc * v" : "(int)((unsigned int)acc * (unsigned int)v)";
  }
  // NaN wins a max/min: once acc is NaN no comparison replaces it.
  const cmp = mode === "max" ? ">" : "<";
  return acc === "float" ? `((v ${cmp} acc || v != v) ? v : acc)` : `(v ${cmp} acc ? v : acc)`;
}

function init(mode: Mode, acc: "float" | "int"): string {
  if (mode === "sum") return acc === "float" ? "0.0f" : "0";
  if (mode === "prod") return acc === "float" ? "1.0f" : "1";
  if (acc === "float") return mode === "max" ? "-denn_inf()" : "denn_inf()";
  return mode === "max" ? "(-2147483647 - 1)" : "2147483647";
}

/** The thread and block sources of reduction `mode` over `dtype`. */
function modeSources(mode: Mode, dtype: DType): [KernelSource, KernelSource] {
  const acc = computeType(dtype);
  const name = `denn_${mode}_${tag(dtype)}`;
  const common = {
    input: dtype,
    output: dtype,
    acc,
    init: init(mode, acc),
    combine: combine(mode, acc),
  };
  const op = mode;
  return [
    { name, ops: [op], source: reduceSource({ ...common, name }) },
    {
      name: `${name}_block`,
      ops: [op],
      source: reduceSource({ ...common, name: `${name}_block`, block: true }),
    },
  ];
}

// ---------------------------------------------------------------- argmax / argmin

function argHelpers(dtype: DType, max: boolean): string {
  const t = computeType(dtype);
  const cmp = max ? ">" : "<";
  // Whether (v, i) beats (best, bi): NaN beats numbers, then the extremum, then the lower index.
  return `
__device__ __forceinline__ bool denn_better(${t} v, long long i, ${t} best, long long bi) {
  if (bi < 0) return true;
  if (i < 0) return false;
  const bool vn = v != v, bn = best != best;
  if (bn) return vn && i < bi;
  if (vn) return true;
  if (v ${cmp} best) return true;
  return v == best && i < bi;
}
`;
}

function argSource(dtype: DType, max: boolean, block: boolean): KernelSource {
  const op = max ? "argmax" : "argmin";
  const name = `denn_${op}_${tag(dtype)}${block ? "_block" : ""}`;
  const t = computeType(dtype);
  const params = [
    "int* __restrict__ out",
    `const ${cType(dtype)}* __restrict__ x`,
    "long long nOut",
    "long long red",
    "long long inner",
  ];
  const at = (r: string) => load(dtype, `x[b + (${r}) * inner]`);
  const body = block
    ? `  __shared__ ${t} pv[32];
  __shared__ long long pi[32];
  for (long long o = blockIdx.x; o < nOut; o += gridDim.x) {
    const long long b = (o / inner) * red * inner + o % inner;
    ${t} best = ${at("0")};
    long long bi = -1;
    for (long long r = threadIdx.x; r < red; r += blockDim.x) {
      const ${t} v = ${at("r")};
      if (denn_better(v, r, best, bi)) { best = v; bi = r; }
    }
    for (int s = 16; s > 0; s >>= 1) {
      const ${t} v = __shfl_down_sync(0xffffffffu, best, s);
      const long long i = __shfl_down_sync(0xffffffffu, bi, s);
      if (denn_better(v, i, best, bi)) { best = v; bi = i; }
    }
    if ((threadIdx.x & 31) == 0) { pv[threadIdx.x >> 5] = best; pi[threadIdx.x >> 5] = bi; }
    __syncthreads();
    if (threadIdx.x < 32) {
      const bool live = threadIdx.x < (blockDim.x >> 5);
      best = live ? pv[threadIdx.x] : best;
      bi = live ? pi[threadIdx.x] : -1;
      for (int s = 16; s > 0; s >>= 1) {
        const ${t} v = __shfl_down_sync(0xffffffffu, best, s);
        const long long i = __shfl_down_sync(0xffffffffu, bi, s);
        if (denn_better(v, i, best, bi)) { best = v; bi = i; }
      }
      if (threadIdx.x == 0) out[o] = (int)bi;
    }
    __syncthreads();
  }`
    : `  for (long long o = denn_gid(); o < nOut; o += denn_gsize()) {
    const long long b = (o / inner) * red * inner + o % inner;
    ${t} best = ${at("0")};
    long long bi = 0;
    for (long long r = 1; r < red && !(best != best); r++) {
      const ${t} v = ${at("r")};
      if (denn_better(v, r, best, bi)) { best = v; bi = r; }
    }
    out[o] = (int)bi;
  }`;
  return { name, ops: [op], source: kernelSource(name, params, body, argHelpers(dtype, max)) };
}

// ---------------------------------------------------------------- softmax

const BLOCK_REDUCE = `
__device__ __forceinline__ float denn_block_reduce(float v, bool isMax, float* sh) {
  for (int s = 16; s > 0; s >>= 1) {
    const float o = __shfl_down_sync(0xffffffffu, v, s);
    v = isMax ? ((o > v || o != o) ? o : v) : v + o;
  }
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < (blockDim.x >> 5) ? sh[threadIdx.x] : (isMax ? -denn_inf() : 0.0f);
    for (int s = 16; s > 0; s >>= 1) {
      const float o = __shfl_down_sync(0xffffffffu, v, s);
      v = isMax ? ((o > v || o != o) ? o : v) : v + o;
    }
    if (threadIdx.x == 0) sh[32] = v;
  }
  __syncthreads();
  const float r = sh[32];
  __syncthreads();
  return r;
}
`;

function softmaxSource(dtype: DType, log: boolean, block: boolean): KernelSource {
  const op = log ? "logSoftmax" : "softmax";
  const name = `denn_${op}_${tag(dtype)}${block ? "_block" : ""}`;
  const T = cType(dtype);
  const params = [
    `${T}* __restrict__ out`,
    `const ${T}* __restrict__ x`,
    "long long rows",
    "long long n",
    "long long inner",
  ];
  const ld = (k: string) => load(dtype, `x[${k}]`);
  const write = log
    ? `const float ls = m + logf(s);
      ROWLOOP { const long long k = b + r * inner; out[k] = ${store(dtype, `${ld("k")} - ls`)}; }`
    : `const float inv = 1.0f / s;
      ROWLOOP { const long long k = b + r * inner; out[k] = ${
      store(dtype, `expf(${ld("k")} - m) * inv`)
    }; }`;
  const loop = block
    ? "for (long long r = threadIdx.x; r < n; r += blockDim.x)"
    : "for (long long r = 0; r < n; r++)";
  const inner = `    const long long b = (row / inner) * n * inner + row % inner;
    float m = -denn_inf();
    ${loop} { const float v = ${ld("b + r * inner")}; if (v > m || v != v) m = v; }
    ${block ? "m = denn_block_reduce(m, true, sh);" : ""}
    if (m == -denn_inf()) m = 0.0f;
    float s = 0.0f;
    ${loop} s += expf(${ld("b + r * inner")} - m);
    ${block ? "s = denn_block_reduce(s, false, sh);" : ""}
    ${write.replaceAll("ROWLOOP", loop)}`;
  const body = block
    ? `  __shared__ float sh[33];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
${inner}
  }`
    : `  for (long long row = denn_gid(); row < rows; row += denn_gsize()) {
${inner}
  }`;
  return { name, ops: [op], source: kernelSource(name, params, body, block ? BLOCK_REDUCE : "") };
}

// ---------------------------------------------------------------- cumsum / cumprod

function scanSource(dtype: DType, prod: boolean): KernelSource {
  const op = prod ? "cumprod" : "cumsum";
  const name = `denn_${op}_${tag(dtype)}`;
  const T = cType(dtype);
  const acc = computeType(dtype);
  const step = acc === "float"
    ? (prod ? "acc = acc * v;" : "acc = acc + v;")
    : (prod
      ? "acc = (int)((unsigned int)acc * (unsigned int)v);"
      : "acc = (int)((unsigned int)acc + (unsigned int)v);");
  const params = [
    `${T}* __restrict__ out`,
    `const ${T}* __restrict__ x`,
    "long long rows",
    "long long n",
    "long long inner",
    "int reverse",
  ];
  const body = `  for (long long row = denn_gid(); row < rows; row += denn_gsize()) {
    const long long b = (row / inner) * n * inner + row % inner;
    ${acc} acc = ${prod ? (acc === "float" ? "1.0f" : "1") : (acc === "float" ? "0.0f" : "0")};
    for (long long j = 0; j < n; j++) {
      const long long k = b + (reverse ? n - 1 - j : j) * inner;
      const ${acc} v = ${load(dtype, "x[k]")};
      ${step}
      out[k] = ${store(dtype, "acc")};
    }
  }`;
  return { name, ops: [op], source: kernelSource(name, params, body) };
}

// ---------------------------------------------------------------- table

/** Every source the reduction kernels launch. */
export function reduceSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const mode of ["sum", "max", "min", "prod"] as const) {
    for (const d of MODE_DTYPES[mode]) out.push(...modeSources(mode, d));
  }
  for (const max of [true, false]) {
    for (const d of ALL_DTYPES) out.push(argSource(d, max, false), argSource(d, max, true));
  }
  for (const log of [false, true]) {
    for (const d of FLOATS) out.push(softmaxSource(d, log, false), softmaxSource(d, log, true));
  }
  for (const prod of [false, true]) {
    for (const d of ["float32", "float16", "int32"] as const) out.push(scanSource(d, prod));
  }
  return out;
}

const cached = sourceCache();

function reduceSupports(op: string) {
  return (inputs: readonly Tensor[], a: { dims: number[] }): true | string => {
    const [ks, , rs] = reduceLayout(inputs[0].shape, a.dims);
    return ks.length <= MAX_DIMS && rs.length <= MAX_DIMS ||
      `${op}: more than ${MAX_DIMS} merged dims in the kept or reduced layout`;
  };
}

function reduceKernel(mode: Mode): CudaKernel<{ dims: number[] }> {
  return {
    dtypes: MODE_DTYPES[mode],
    supports: reduceSupports(mode),
    run(inputs, a, out, cuda) {
      const x = inputs[0];
      const o = allocOutput(cuda, out[0]);
      const t = cached(`${mode}/t/${x.dtype}`, () => modeSources(mode, x.dtype)[0]);
      const b = cached(`${mode}/b/${x.dtype}`, () => modeSources(mode, x.dtype)[1]);
      launchReduce(
        cuda,
        { thread: [t.name, t.source], block: [b.name, b.source] },
        x,
        a.dims,
        o,
        sizeOf(out[0].shape),
      );
      return [o];
    },
  };
}

// [outer, extent, inner] of a dense tensor around `dim`.
function blocks(shape: readonly number[], dim: number): [number, number, number] {
  return [sizeOf(shape.slice(0, dim)), shape[dim], sizeOf(shape.slice(dim + 1))];
}

function argKernel(max: boolean): CudaKernel<{ dim: number | null; keepdim: boolean }> {
  return {
    run([x], a, out, cuda) {
      const [outer, red, inner] = a.dim === null ? [1, x.numel(), 1] : blocks(x.shape, a.dim);
      const nOut = outer * inner;
      const o = allocOutput(cuda, out[0]);
      if (nOut === 0) return [o];
      const block = red >= 1024 && nOut < 65536;
      const s = cached(`arg/${max}/${block}/${x.dtype}`, () => argSource(x.dtype, max, block));
      (block ? launchRows : launchGrid)(
        cuda,
        s,
        nOut,
        [{ ptr: o }, ptr(x), { i64: nOut }, { i64: red }, { i64: inner }],
      );
      return [o];
    },
  };
}

function softmaxKernel(log: boolean): CudaKernel<{ dim: number }> {
  return {
    dtypes: FLOATS,
    run([x], a, out, cuda) {
      const o = allocOutput(cuda, out[0]);
      if (x.numel() === 0) return [o];
      const [outer, n, inner] = blocks(x.shape, a.dim);
      const rows = outer * inner;
      const block = n >= 256 && inner === 1;
      const s = cached(
        `softmax/${log}/${block}/${x.dtype}`,
        () => softmaxSource(x.dtype, log, block),
      );
      (block ? launchRows : launchGrid)(
        cuda,
        s,
        rows,
        [{ ptr: o }, ptr(x), { i64: rows }, { i64: n }, { i64: inner }],
      );
      return [o];
    },
  };
}

function scanKernel(prod: boolean): CudaKernel<{ dim: number; reverse: boolean }> {
  return {
    dtypes: ["float32", "float16", "int32"],
    run([x], a, out, cuda) {
      const o = allocOutput(cuda, out[0]);
      if (x.numel() === 0) return [o];
      const [outer, n, inner] = blocks(x.shape, a.dim);
      const rows = outer * inner;
      const s = cached(`scan/${prod}/${x.dtype}`, () => scanSource(x.dtype, prod));
      launchGrid(cuda, s, rows, [
        { ptr: o },
        ptr(x),
        { i64: rows },
        { i64: n },
        { i64: inner },
        { i32: a.reverse ? 1 : 0 },
      ]);
      return [o];
    },
  };
}

/** Reduction kernel table of the cuda backend. */
export function reduceKernels(): CudaKernelTable {
  const prod = reduceKernel("prod");
  return {
    sum: reduceKernel("sum"),
    max: reduceKernel("max"),
    min: reduceKernel("min"),
    prod: {
      dtypes: prod.dtypes,
      supports: (inputs, a: { dim: number }) => reduceSupports("prod")(inputs, { dims: [a.dim] }),
      run: (inputs, a: { dim: number }, out, cuda) =>
        prod.run(inputs, { dims: [a.dim] }, out, cuda),
    },
    argmax: argKernel(true),
    argmin: argKernel(false),
    softmax: softmaxKernel(false),
    logSoftmax: softmaxKernel(true),
    cumsum: scanKernel(false),
    cumprod: scanKernel(true),
  };
}
