/**
 * cuda movement kernels: strided views copied to dense storage (`contiguous`, `copy`), writes
 * through views (`copyInto`), sliceBackward and pad as one thread per output placing or filling,
 * cat as one launch per input, gather, and scatterAdd with atomics into a zeroed output. Moves copy
 * raw elements by size (1, 2 or 4 bytes), so one kernel serves every dtype of that size.
 *
 * gather and scatterAdd validate index values: a value outside `[0, size)` is recorded in the
 * context's device error record (the kit's `errorRecord`, protocol of `plugins/device_errors.ts`)
 * and thrown as the cpu backend's `IndexError` by the runtime's next readback. The offending
 * element is never accessed: gather stores 0 there and scatterAdd skips it. scatterAdd sums with
 * `atomicAdd` (float16 through a float32 scratch buffer), so the order of float additions, and
 * hence the last bits of a sum, may vary between runs, as in PyTorch's CUDA scatter_add.
 *
 * The strided copy into a new dense buffer (`copyStrided`) and the place kernel of sliceBackward
 * and pad live in movement_copy.ts, with the word types, coordinate loop and source cache the
 * kernels here share.
 *
 * @module
 */

import type { Tensor } from "../../../core/mod.ts";
import { sizeOf, stridesOf } from "../../../core/mod.ts";
import { errorRecord } from "./kit.ts";
import {
  ALL_DTYPES,
  cType,
  elementBytes,
  INDEX_ERROR_CUDA,
  kernelSource,
  load,
  MAX_DIMS,
  tag,
} from "./kit_source.ts";
import { allocOutput, cudaStorage, launchN, ptr } from "./kit_launch.ts";
import {
  coalesce,
  dimParams,
  dimsSupported,
  stridedArgs,
  stridedOffsets,
  stridedParams,
} from "./kit_strided.ts";
import type { CudaKernelTable, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import { castInto } from "./elementwise.ts";
import {
  cached,
  coordLoop,
  copyStrided,
  placeKernel,
  placeSource,
  stridedCopySource,
  WORDS,
} from "./movement_copy.ts";

function writeStridedSource(bytes: number): KernelSource {
  const name = `denn_write_strided_b${bytes}`;
  const T = WORDS[bytes];
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
  ${stridedOffsets(["d", "s"], "i")}
    dst[doff + d_off] = src[soff + s_off];
  }`;
  return {
    name,
    ops: ["copyInto"],
    source: kernelSource(name, [
      `${T}* dst`,
      `const ${T}* src`,
      "long long n",
      "long long doff",
      "long long soff",
      ...stridedParams(["d", "s"]),
    ], body),
  };
}

function catSource(bytes: number): KernelSource {
  const name = `denn_cat_b${bytes}`;
  const T = WORDS[bytes];
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    out[(i / row) * rowOut + col + i % row] = x[i];
  }`;
  return {
    name,
    ops: ["cat"],
    source: kernelSource(name, [
      `${T}* __restrict__ out`,
      `const ${T}* __restrict__ x`,
      "long long n",
      "long long row",
      "long long rowOut",
      "long long col",
    ], body),
  };
}

function gatherSource(bytes: number): KernelSource {
  const name = `denn_gather_b${bytes}`;
  const T = WORDS[bytes];
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    const int v = idx[i];
    if (v < 0 || (long long)v >= size) { out[i] = (${T})0; denn_index_error(err, site, v); continue; }
    long long r = i, o = 0;
${coordLoop((d) => `o += (dimPos == ${d} ? (long long)v : c) * t${d};`)}
    out[i] = x[o];
  }`;
  return {
    name,
    ops: ["gather"],
    source: kernelSource(
      name,
      [
        `${T}* __restrict__ out`,
        `const ${T}* __restrict__ x`,
        "const int* __restrict__ idx",
        "unsigned int* err",
        "long long n",
        "long long size",
        "unsigned int site",
        "int dimPos",
        "int rank",
        ...dimParams("s"),
        ...dimParams("t"),
      ],
      body,
      INDEX_ERROR_CUDA,
    ),
  };
}

// float16 sources scatter into a float32 scratch buffer (`half` != 0), which is then cast.
function scatterAddSource(dtype: "float32" | "int32"): KernelSource {
  const name = `denn_scatterAdd_${tag(dtype)}`;
  const T = cType(dtype);
  const value = dtype === "float32"
    ? `(half ? ${load("float16", "((const denn_half*)src)[i]")} : ((const float*)src)[i])`
    : "((const int*)src)[i]";
  const body = `  for (long long i = denn_gid(); i < m; i += denn_gsize()) {
    const int v = idx[i];
    if (v < 0 || (long long)v >= size) { denn_index_error(err, site, v); continue; }
    long long r = i, o = 0;
${coordLoop((d) => `o += (dimPos == ${d} ? (long long)v : c) * t${d};`)}
    atomicAdd(out + o, ${value});
  }`;
  const params = [
    `${T}* out`,
    "const int* __restrict__ idx",
    "const void* __restrict__ src",
    "unsigned int* err",
    "long long m",
    "long long size",
    "unsigned int site",
    "int dimPos",
    "int half",
    "int rank",
    ...dimParams("s"),
    ...dimParams("t"),
  ];
  return {
    name,
    ops: ["scatterAdd"],
    source: kernelSource(name, params, body, INDEX_ERROR_CUDA),
  };
}

/** Every source the movement kernels launch. */
export function movementSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const b of [4, 2, 1]) {
    out.push(stridedCopySource(b), writeStridedSource(b), catSource(b), gatherSource(b));
  }
  for (const d of ALL_DTYPES) out.push(placeSource(d));
  out.push(scatterAddSource("float32"), scatterAddSource("int32"));
  return out;
}

const rankOk = (op: string, ...shapes: (readonly number[])[]): true | string =>
  shapes.every((s) => s.length <= MAX_DIMS) ||
  `${op}: tensors of more than ${MAX_DIMS} dims are not supported by the cuda kernels`;

function indexArgs(index: Tensor, indexed: readonly number[], dim: number): KernelArg[] {
  const r = index.ndim;
  const sizes = [...index.shape].reverse();
  const st = stridesOf(indexed).reverse();
  while (sizes.length < MAX_DIMS) sizes.push(1);
  while (st.length < MAX_DIMS) st.push(0);
  return [
    { i32: r - 1 - dim },
    { i32: r },
    ...sizes.map((v) => ({ i64: v })),
    ...st.map((v) => ({ i64: v })),
  ];
}

/** Movement kernel table of the cuda backend. */
export function movementKernels(): CudaKernelTable {
  return {
    contiguous: {
      strided: true,
      supports: ([x]) => dimsSupported("contiguous", x.shape, [x.strides]),
      run: ([x], _a, _out, cuda) => [
        copyStrided(cuda, cudaStorage(x), x.shape, x.offset, x.strides, x.dtype),
      ],
    },
    copy: {
      run: ([x], _a, _out, cuda) => [
        copyStrided(cuda, cudaStorage(x), [x.numel()], 0, [1], x.dtype),
      ],
    },
    copyInto: {
      strided: true,
      supports: ([dst, src]) => dimsSupported("copyInto", dst.shape, [dst.strides, src.strides]),
      run([dst, src], _a, _out, cuda) {
        const n = dst.numel();
        if (n === 0) return [];
        const [s, st] = coalesce(dst.shape, [dst.strides, src.strides]);
        const bytes = elementBytes(dst.dtype);
        const k = cached(`write/${bytes}`, () => writeStridedSource(bytes));
        launchN(cuda, k.name, k.source, n, [
          { ptr: cudaStorage(dst) },
          { ptr: cudaStorage(src) },
          { i64: n },
          { i64: dst.offset },
          { i64: src.offset },
          ...stridedArgs(s, st),
        ]);
        return [];
      },
    },
    sliceBackward: {
      supports: ([g], a: { inputShape: number[] }) =>
        rankOk("sliceBackward", g.shape, a.inputShape),
      run: ([g], a: { starts: number[]; steps: number[]; inputShape: number[] }, _o, cuda) => [
        placeKernel(cuda, g, a.inputShape, a.starts, a.steps, 0),
      ],
    },
    pad: {
      supports: ([x]) => rankOk("pad", x.shape),
      run: ([x], a: { before: number[]; value: number }, out, cuda) => [
        placeKernel(cuda, x, out[0].shape, a.before, a.before.map(() => 1), a.value),
      ],
    },
    cat: {
      run(inputs, a: { dim: number }, out, cuda) {
        const o = allocOutput(cuda, out[0]);
        if (sizeOf(out[0].shape) === 0) return [o];
        const bytes = elementBytes(inputs[0].dtype);
        const k = cached(`cat/${bytes}`, () => catSource(bytes));
        const rowOut = sizeOf(out[0].shape.slice(a.dim));
        let col = 0;
        for (const t of inputs) {
          const row = sizeOf(t.shape.slice(a.dim));
          if (t.numel()) {
            launchN(cuda, k.name, k.source, t.numel(), [
              { ptr: o },
              ptr(t),
              { i64: t.numel() },
              { i64: row },
              { i64: rowOut },
              { i64: col },
            ]);
          }
          col += row;
        }
        return [o];
      },
    },
    gather: {
      supports: ([x, idx]) => rankOk("gather", x.shape, idx.shape),
      run([x, idx], a: { dim: number }, out, cuda) {
        const o = allocOutput(cuda, out[0]);
        const n = idx.numel();
        if (n === 0) return [o];
        const bytes = elementBytes(x.dtype);
        const k = cached(`gather/${bytes}`, () => gatherSource(bytes));
        const rec = errorRecord(cuda);
        const site = rec.sites.index({ op: "gather", dim: a.dim, shape: x.shape });
        launchN(cuda, k.name, k.source, n, [
          { ptr: o },
          ptr(x),
          ptr(idx),
          { ptr: rec.buffer },
          { i64: n },
          { i64: x.shape[a.dim] },
          { u32: site },
          ...indexArgs(idx, x.shape, a.dim),
        ]);
        return [o];
      },
    },
    scatterAdd: {
      dtypes: ["int32", "float32", "float16"],
      supports: ([idx, src], a: { shape: number[] }) =>
        src.dtype === "bool"
          ? "scatterAdd: bool sources are not summed on cuda (cast to int32)"
          : rankOk("scatterAdd", idx.shape, a.shape),
      run([idx, src], a: { dim: number; shape: number[] }, out, cuda) {
        const n = sizeOf(a.shape), m = idx.numel();
        const half = src.dtype === "float16";
        const accType = src.dtype === "int32" ? "int32" : "float32";
        const acc = half ? cuda.alloc(n, "float32") : allocOutput(cuda, out[0]);
        if (n > 0) cuda.zero(acc);
        const rec = errorRecord(cuda);
        if (m > 0) {
          const k = cached(`scatterAdd/${accType}`, () => scatterAddSource(accType));
          const site = rec.sites.index({ op: "scatterAdd", dim: a.dim, shape: a.shape });
          launchN(cuda, k.name, k.source, m, [
            { ptr: acc },
            ptr(idx),
            ptr(src),
            { ptr: rec.buffer },
            { i64: m },
            { i64: a.shape[a.dim] },
            { u32: site },
            ...indexArgs(idx, a.shape, a.dim).slice(0, 1),
            { i32: half ? 1 : 0 },
            ...indexArgs(idx, a.shape, a.dim).slice(1),
          ]);
        }
        if (!half) return [acc];
        const o = allocOutput(cuda, out[0]);
        castInto(cuda, { buffer: acc, shape: a.shape, dtype: "float32" }, o);
        cuda.free(acc);
        return [o];
      },
    },
  };
}
