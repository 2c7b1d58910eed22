/**
 * cuda kernels of batch norm, part of nn.ts's kernel table: `batchNormStats` as a block per channel
 * with a two-pass mean and biased variance, `batchNorm` elementwise, `batchNormBackward` as a block
 * per channel for dweight / dbias in float, then an elementwise dx. float16 is read as half,
 * accumulated in float and rounded once.
 *
 * @module
 */

import type { DType } from "../../../core/mod.ts";
import { sizeOf } from "../../../core/mod.ts";
import type { BatchNormAttrs } from "../../../layers/ops/batch_norm.ts";
import { allocOutput, launchN, launchRows, ptr } from "./kit_launch.ts";
import {
  BLOCK_SUM_CUDA,
  cType,
  FLOATS,
  kernelSource,
  load,
  sourceCache,
  store,
  tag,
} from "./kit_source.ts";
import type { CudaBuffer, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

// Element k of channel c in [N, C, inner] input.
const AT = "((k / inner) * C + c) * inner + k % inner";

type BnKind = "batchNormStats" | "batchNorm" | "batchNormBackwardReduce" | "batchNormBackwardDx";

function bnSource(kind: BnKind, dtype: DType): KernelSource {
  const name = `denn_${kind}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const st = (e: string) => store(dtype, e);
  let params: string[], body: string, helpers = BLOCK_SUM_CUDA;
  const op = kind.startsWith("batchNormBackward") ? "batchNormBackward" : kind;
  switch (kind) {
    case "batchNormStats":
      params = [
        `${T}* __restrict__ mean`,
        `${T}* __restrict__ var_`,
        `const ${T}* __restrict__ x`,
        "long long C",
        "long long inner",
        "long long count",
      ];
      body = `  __shared__ float sh[33];
  for (long long c = blockIdx.x; c < C; c += gridDim.x) {
    float s = 0.0f;
    for (long long k = threadIdx.x; k < count; k += blockDim.x) s += ${ld(`x[${AT}]`)};
    const float m = denn_block_sum(s, sh) / (float)count;
    float q = 0.0f;
    for (long long k = threadIdx.x; k < count; k += blockDim.x) {
      const float d = ${ld(`x[${AT}]`)} - m;
      q += d * d;
    }
    const float v = denn_block_sum(q, sh) / (float)count;
    if (threadIdx.x == 0) { mean[c] = ${st("m")}; var_[c] = ${st("v")}; }
  }`;
      break;
    case "batchNorm":
      helpers = "";
      params = [
        `${T}* __restrict__ y`,
        `const ${T}* __restrict__ x`,
        `const ${T}* __restrict__ mean`,
        `const ${T}* __restrict__ var_`,
        `const ${T}* __restrict__ w`,
        `const ${T}* __restrict__ b`,
        "long long n",
        "long long C",
        "long long inner",
        "float eps",
      ];
      body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    const long long c = (i / inner) % C;
    const float scale = ${ld("w[c]")} * rsqrtf(${ld("var_[c]")} + eps);
    y[i] = ${st(`(${ld("x[i]")} - ${ld("mean[c]")}) * scale + ${ld("b[c]")}`)};
  }`;
      break;
    case "batchNormBackwardReduce":
      // sums[c] = Σ g (dbias), sums[C + c] = Σ g·x̂ (dweight), in float; also stored as outputs.
      params = [
        `${T}* __restrict__ dw`,
        `${T}* __restrict__ db`,
        "float* __restrict__ sums",
        `const ${T}* __restrict__ g`,
        `const ${T}* __restrict__ x`,
        `const ${T}* __restrict__ mean`,
        `const ${T}* __restrict__ var_`,
        "long long C",
        "long long inner",
        "long long count",
        "float eps",
      ];
      body = `  __shared__ float sh[33];
  for (long long c = blockIdx.x; c < C; c += gridDim.x) {
    const float m = ${ld("mean[c]")}, invstd = rsqrtf(${ld("var_[c]")} + eps);
    float sg = 0.0f, sgx = 0.0f;
    for (long long k = threadIdx.x; k < count; k += blockDim.x) {
      const long long e = ${AT};
      const float gv = ${ld("g[e]")};
      sg += gv;
      sgx += gv * (${ld("x[e]")} - m) * invstd;
    }
    sg = denn_block_sum(sg, sh);
    sgx = denn_block_sum(sgx, sh);
    if (threadIdx.x == 0) {
      sums[c] = sg; sums[C + c] = sgx;
      db[c] = ${st("sg")}; dw[c] = ${st("sgx")};
    }
  }`;
      break;
    case "batchNormBackwardDx":
      helpers = "";
      params = [
        `${T}* __restrict__ dx`,
        `const ${T}* __restrict__ g`,
        `const ${T}* __restrict__ x`,
        `const ${T}* __restrict__ mean`,
        `const ${T}* __restrict__ var_`,
        `const ${T}* __restrict__ w`,
        "const float* __restrict__ sums",
        "long long n",
        "long long C",
        "long long inner",
        "long long count",
        "float eps",
        "int training",
      ];
      body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    const long long c = (i / inner) % C;
    const float invstd = rsqrtf(${ld("var_[c]")} + eps);
    const float k = ${ld("w[c]")} * invstd;
    float gv = ${ld("g[i]")};
    if (training) {
      const float xhat = (${ld("x[i]")} - ${ld("mean[c]")}) * invstd;
      gv = gv - sums[c] / (float)count - xhat * (sums[C + c] / (float)count);
    }
    dx[i] = ${st("gv * k")};
  }`;
      break;
  }
  return { name, ops: [op], source: kernelSource(name, params, body, helpers) };
}

const BN_KINDS: readonly BnKind[] = [
  "batchNormStats",
  "batchNorm",
  "batchNormBackwardReduce",
  "batchNormBackwardDx",
];

/** Every source the batch-norm kernels launch. */
export function batchNormSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const k of BN_KINDS) for (const d of FLOATS) out.push(bnSource(k, d));
  return out;
}

const cached = sourceCache();
const bn = (kind: BnKind, dtype: DType): KernelSource =>
  cached(`${kind}/${dtype}`, () => bnSource(kind, dtype));

// [N, C, inner] view of a batch-norm input.
function bnDims(shape: readonly number[]): { c: number; inner: number; count: number } {
  const c = shape[1];
  const inner = sizeOf(shape.slice(2));
  return { c, inner, count: c === 0 ? 0 : sizeOf(shape) / c };
}

/** Batch-norm kernel table of the cuda backend (nn.ts's `nnKernels` includes it). */
export function batchNormKernels(): CudaKernelTable {
  return {
    batchNormStats: {
      dtypes: FLOATS,
      supports: ([x]) =>
        x.numel() > 0 ||
        `batchNormStats: the ${x.shape.join("x")} input has no elements to average`,
      run([x], _a, out, cuda) {
        const mean = allocOutput(cuda, out[0]), v = allocOutput(cuda, out[1]);
        const { c, inner, count } = bnDims(x.shape);
        if (c > 0) {
          launchRows(cuda, bn("batchNormStats", x.dtype), c, [
            { ptr: mean },
            { ptr: v },
            ptr(x),
            { i64: c },
            { i64: inner },
            { i64: count },
          ]);
        }
        return [mean, v];
      },
    },
    batchNorm: {
      dtypes: FLOATS,
      run(inputs, a: BatchNormAttrs, out, cuda) {
        const [x, mean, v, w, b] = inputs;
        const y = allocOutput(cuda, out[0]);
        const n = x.numel();
        const { c, inner } = bnDims(x.shape);
        const k = bn("batchNorm", x.dtype);
        if (n) {
          launchN(cuda, k.name, k.source, n, [
            { ptr: y },
            ...[x, mean, v, w, b].map(ptr),
            { i64: n },
            { i64: c },
            { i64: inner },
            { f32: a.eps },
          ]);
        }
        return [y];
      },
    },
    batchNormBackward: {
      dtypes: FLOATS,
      supports: ([, x], a: BatchNormAttrs) =>
        !a.training || x.numel() > 0 ||
        "batchNormBackward: training statistics of an input with no elements",
      run(inputs, a: BatchNormAttrs, out, cuda) {
        const [g, x, mean, v, w] = inputs;
        const dx = allocOutput(cuda, out[0]), dw = allocOutput(cuda, out[1]);
        const db = allocOutput(cuda, out[2]);
        const { c, inner, count } = bnDims(x.shape);
        if (c === 0) return [dx, dw, db];
        const sums: CudaBuffer = cuda.alloc(2 * c, "float32");
        launchRows(cuda, bn("batchNormBackwardReduce", x.dtype), c, [
          { ptr: dw },
          { ptr: db },
          { ptr: sums },
          ...[g, x, mean, v].map(ptr),
          { i64: c },
          { i64: inner },
          { i64: count },
          { f32: a.eps },
        ]);
        const n = x.numel();
        const k = bn("batchNormBackwardDx", x.dtype);
        if (n) {
          launchN(cuda, k.name, k.source, n, [
            { ptr: dx },
            ...[g, x, mean, v, w].map(ptr),
            { ptr: sums },
            { i64: n },
            { i64: c },
            { i64: inner },
            { i64: Math.max(count, 1) },
            { f32: a.eps },
            { i32: a.training ? 1 : 0 },
          ]);
        }
        cuda.free(sums);
        return [dx, dw, db];
      },
    },
  };
}
