/**
 * Reductions in the cuda kernel kit (import it through `kit.ts`, the entry point):
 * {@linkcode reduce} reduces a dense tensor over any set of dims, a thread per output or, when the
 * reduced extent is long, a block per output with warp shuffles; {@linkcode reduceSource},
 * {@linkcode reduceLayout} and {@linkcode launchReduce} are its parts, for kernel files that cache
 * their sources.
 *
 * @module
 */

import { coalesce, DeviceError, shapeStr, sizeOf } from "../../../core/mod.ts";
import type { DType, Tensor, TensorSpec } from "../../../core/mod.ts";
import type { Cuda, CudaBuffer, KernelArg } from "../types.ts";
import {
  BLOCK,
  cName,
  computeType,
  cType,
  kernelSource,
  load,
  MAX_DIMS,
  MAX_GRID,
  store,
  tag,
} from "./kit_source.ts";
import { allocOutput, gridFor, ptr } from "./kit_launch.ts";
import { stridedArgs, stridedOffsets, stridedParams } from "./kit_strided.ts";

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
