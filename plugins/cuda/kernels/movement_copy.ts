/**
 * cuda movement kernels that copy one tensor into a new dense buffer: {@linkcode copyStrided}, a
 * strided view to dense storage (`contiguous` and `copy` in movement.ts's table), and
 * {@linkcode placeKernel}, an input placed into a larger output at a start and step per dim with
 * the rest filled (`sliceBackward` and `pad`). Also the word types, the full-rank coordinate loop
 * and the source cache the other movement kernels (movement.ts) share.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import { sizeOf, stridesOf } from "../../../core/mod.ts";
import {
  cType,
  elementBytes,
  kernelSource,
  MAX_DIMS,
  sourceCache,
  store,
  tag,
} from "./kit_source.ts";
import { launchN, ptr } from "./kit_launch.ts";
import { coalesce, dimParams, stridedArgs, stridedOffsets, stridedParams } from "./kit_strided.ts";
import type { Cuda, CudaBuffer, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

export const WORDS: Record<number, string> = {
  1: "unsigned char",
  2: "unsigned short",
  4: "unsigned int",
};

export function stridedCopySource(bytes: number): KernelSource {
  const name = `denn_strided_copy_b${bytes}`;
  const T = WORDS[bytes];
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
  ${stridedOffsets(["x"], "i")}
    out[i] = x[xoff + x_off];
  }`;
  return {
    name,
    ops: ["contiguous", "copy"],
    source: kernelSource(name, [
      `${T}* __restrict__ out`,
      `const ${T}* __restrict__ x`,
      "long long n",
      "long long xoff",
      ...stridedParams(["x"]),
    ], body),
  };
}

// Full-rank coordinates (no merging), innermost dim first, guarded by `rank`.
export function coordLoop(inner: (d: number) => string): string {
  return Array.from(
    { length: MAX_DIMS },
    (_, d) => `    if (rank > ${d}) { const long long c = r % s${d}; r /= s${d}; ${inner(d)} }`,
  ).join("\n");
}

export function placeSource(dtype: DType): KernelSource {
  const name = `denn_place_${tag(dtype)}`;
  const T = cType(dtype);
  const fill = dtype === "float32" || dtype === "float16"
    ? store(dtype, "fillf")
    : store(dtype, "filli");
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    long long r = i, o = 0;
    bool ok = true;
${
    coordLoop((d) =>
      `const long long q = c - b${d}; if (q < 0 || q % p${d} != 0 || q / p${d} >= q${d}) ok = false; else o += (q / p${d}) * t${d};`
    )
  }
    out[i] = ok ? x[o] : ${fill};
  }`;
  return {
    name,
    ops: ["sliceBackward", "pad"],
    source: kernelSource(name, [
      `${T}* __restrict__ out`,
      `const ${T}* __restrict__ x`,
      "long long n",
      "int rank",
      ...dimParams("s"),
      ...dimParams("b"),
      ...dimParams("p"),
      ...dimParams("q"),
      ...dimParams("t"),
      "float fillf",
      "int filli",
    ], body),
  };
}

export const cached = sourceCache();

/** Copies the view (`offset`, `strides` over `shape`) of `src` into a new dense buffer. */
export function copyStrided(
  cuda: Cuda,
  src: CudaBuffer,
  shape: readonly number[],
  offset: number,
  strides: readonly number[],
  dtype: DType,
): CudaBuffer {
  const n = sizeOf(shape);
  const out = cuda.alloc(n, dtype);
  if (n === 0) return out;
  const [s, [st]] = coalesce(shape, [strides]);
  const k = cached(`copy/${elementBytes(dtype)}`, () => stridedCopySource(elementBytes(dtype)));
  launchN(cuda, k.name, k.source, n, [
    { ptr: out },
    { ptr: src },
    { i64: n },
    { i64: offset },
    ...stridedArgs(s, [st]),
  ]);
  return out;
}

export function placeKernel(
  cuda: Cuda,
  src: Tensor,
  outShape: readonly number[],
  before: readonly number[],
  steps: readonly number[],
  fill: number,
): CudaBuffer {
  const n = sizeOf(outShape);
  const out = cuda.alloc(n, src.dtype);
  if (n === 0) return out;
  const k = cached(`place/${src.dtype}`, () => placeSource(src.dtype));
  const dims = (v: readonly number[], pad: number): KernelArg[] => {
    const r = [...v].reverse();
    while (r.length < MAX_DIMS) r.push(pad);
    return r.map((x) => ({ i64: x }));
  };
  launchN(cuda, k.name, k.source, n, [
    { ptr: out },
    ptr(src),
    { i64: n },
    { i32: outShape.length },
    ...dims(outShape, 1),
    ...dims(before, 0),
    ...dims(steps, 1),
    ...dims(src.shape, 1),
    ...dims(stridesOf(src.shape), 0),
    { f32: fill },
    { i32: Math.trunc(fill) | 0 },
  ]);
  return out;
}
