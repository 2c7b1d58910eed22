/**
 * cuda kernels of the fused row normalisation (`normRows`, `normRowsBackward`: layer and group
 * norm), ported from the webgpu kernels. The forward is a block per row: a strided pass and a
 * block sum for the mean, a second for the squared deviations from it (two-pass, no
 * cancellation), then y with the affine applied, and the row's mean and rstd (float32). The
 * backward is a block per row for dx (the row's Σĝ and Σĝ·x̂), and, where a weight or bias
 * gradient is wanted, a block per weight element for dweight and dbias, so no atomics are needed.
 * float16 is read as half and computed in float; rstd is 1/√(var + eps) with IEEE `sqrtf`.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import type { NormRowsAttrs } from "../../../layers/ops/layer_norm.ts";
import { allocOutput, launchRows, ptr } from "./kit_launch.ts";
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
import type { CudaBuffer, CudaKernelTable, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

// Shared parameters of every kernel here, after the pointers.
const PARAMS = ["long long rows", "long long D", "long long G", "long long S", "float eps"];

const flags = (w: boolean, b: boolean): string => `${w ? "w" : ""}${b ? "b" : ""}` || "plain";

function forwardSource(dtype: DType, w: boolean, b: boolean): KernelSource {
  const name = `denn_normRows_${flags(w, b)}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ y`,
    "float* __restrict__ mean_",
    "float* __restrict__ rstd_",
    `const ${T}* __restrict__ x`,
    ...(w ? [`const ${T}* __restrict__ W`] : []),
    ...(b ? [`const ${T}* __restrict__ B`] : []),
    ...PARAMS,
  ];
  const affine = [w ? ` * ${ld("W[k]")}` : "", b ? ` + ${ld("B[k]")}` : ""].join("");
  const body = `  __shared__ float sh[33];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long base = row * D, wo = (row % G) * D;
    (void)wo;
    float s = 0.0f;
    for (long long j = threadIdx.x; j < D; j += blockDim.x) s += ${ld("x[base + j]")};
    const float m = denn_block_sum(s, sh) / (float)D;
    float q = 0.0f;
    for (long long j = threadIdx.x; j < D; j += blockDim.x) {
      const float d = ${ld("x[base + j]")} - m;
      q += d * d;
    }
    const float r = 1.0f / sqrtf(denn_block_sum(q, sh) / (float)D + eps);
    for (long long j = threadIdx.x; j < D; j += blockDim.x) {
      const long long k = (wo + j) / S;
      (void)k;
      y[base + j] = ${store(dtype, `(${ld("x[base + j]")} - m) * r${affine}`)};
    }
    if (threadIdx.x == 0) { mean_[row] = m; rstd_[row] = r; }
  }`;
  return { name, ops: ["normRows"], source: kernelSource(name, params, body, BLOCK_SUM_CUDA) };
}

// dx = rstd·(ĝ − Σĝ/D − x̂·Σĝx̂/D) with ĝ = g·weight.
function dxSource(dtype: DType, w: boolean): KernelSource {
  const name = `denn_normRowsBackward_dx${w ? "_w" : ""}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ dx`,
    `const ${T}* __restrict__ g`,
    `const ${T}* __restrict__ x`,
    "const float* __restrict__ mean_",
    "const float* __restrict__ rstd_",
    ...(w ? [`const ${T}* __restrict__ W`] : []),
    ...PARAMS,
  ];
  const gw = w ? `${ld("g[base + j]")} * ${ld("W[(wo + j) / S]")}` : ld("g[base + j]");
  const body = `  __shared__ float sh[33];
  (void)eps;
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long base = row * D, wo = (row % G) * D;
    (void)wo;
    const float m = mean_[row], r = rstd_[row];
    float s1 = 0.0f, s2 = 0.0f;
    for (long long j = threadIdx.x; j < D; j += blockDim.x) {
      const float gw = ${gw};
      s1 += gw;
      s2 += gw * (${ld("x[base + j]")} - m) * r;
    }
    const float c1 = denn_block_sum(s1, sh) / (float)D;
    const float c2 = denn_block_sum(s2, sh) / (float)D;
    for (long long j = threadIdx.x; j < D; j += blockDim.x) {
      const float gw = ${gw};
      const float xh = (${ld("x[base + j]")} - m) * r;
      dx[base + j] = ${store(dtype, "r * (gw - c1 - xh * c2)")};
    }
  }`;
  return {
    name,
    ops: ["normRowsBackward"],
    source: kernelSource(name, params, body, BLOCK_SUM_CUDA),
  };
}

// Weight element k of group gk = k·S / D covers, in each of the rows n·G + gk, the S elements from
// (k·S) mod D: a block per k reduces Σg·x̂ and Σg over those (rows / G)·S elements.
function dwSource(dtype: DType, dw: boolean, db: boolean): KernelSource {
  const name = `denn_normRowsBackward_${dw ? "dw" : ""}${db ? "db" : ""}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    ...(dw ? [`${T}* __restrict__ DW`] : []),
    ...(db ? [`${T}* __restrict__ DB`] : []),
    `const ${T}* __restrict__ g`,
    `const ${T}* __restrict__ x`,
    "const float* __restrict__ mean_",
    "const float* __restrict__ rstd_",
    "long long count",
    ...PARAMS,
  ];
  const body = `  __shared__ float sh[33];
  (void)eps;
  const long long total = (rows / G) * S;
  for (long long k = blockIdx.x; k < count; k += gridDim.x) {
    const long long gk = (k * S) / D, j0 = (k * S) % D;
    float sgx = 0.0f, sg = 0.0f;
    for (long long e = threadIdx.x; e < total; e += blockDim.x) {
      const long long row = (e / S) * G + gk;
      const long long i = row * D + j0 + e % S;
      const float gv = ${ld("g[i]")};
      sgx += gv * (${ld("x[i]")} - mean_[row]) * rstd_[row];
      sg += gv;
    }
    sgx = denn_block_sum(sgx, sh);
    sg = denn_block_sum(sg, sh);
    if (threadIdx.x == 0) {
${dw ? `      DW[k] = ${store(dtype, "sgx")};` : "      (void)sgx;"}
${db ? `      DB[k] = ${store(dtype, "sg")};` : "      (void)sg;"}
    }
  }`;
  return {
    name,
    ops: ["normRowsBackward"],
    source: kernelSource(name, params, body, BLOCK_SUM_CUDA),
  };
}

const BOOLS = [false, true];
const DWDB: readonly [boolean, boolean][] = [[true, true], [true, false], [false, true]];

/** Every source the row-normalisation kernels launch. */
export function layerNormSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const d of FLOATS) {
    for (const w of BOOLS) for (const b of BOOLS) out.push(forwardSource(d, w, b));
    for (const w of BOOLS) out.push(dxSource(d, w));
    for (const [w, b] of DWDB) out.push(dwSource(d, w, b));
  }
  return out;
}

const cached = sourceCache();

function tail(a: NormRowsAttrs, rows: number): KernelArg[] {
  return [
    { i64: rows },
    { i64: a.rowSize },
    { i64: a.groups },
    { i64: a.inner },
    { f32: a.eps },
  ];
}

/** Row-normalisation kernel table of the cuda backend (layer and group norm; float32, float16). */
export function layerNormKernels(): CudaKernelTable {
  return {
    normRows: {
      dtypes: FLOATS,
      run(inputs: readonly Tensor[], a: NormRowsAttrs, out, cuda): CudaBuffer[] {
        const x = inputs[0];
        const outs = out.map((s) => allocOutput(cuda, s));
        const rows = x.numel() / a.rowSize;
        if (rows === 0) return outs;
        const k = cached(
          `f/${x.dtype}/${a.weight}/${a.bias}`,
          () => forwardSource(x.dtype, a.weight, a.bias),
        );
        launchRows(cuda, k, rows, [
          ...outs.map((o) => ({ ptr: o })),
          ...inputs.map(ptr),
          ...tail(a, rows),
        ]);
        return outs;
      },
    },
    normRowsBackward: {
      dtypes: FLOATS,
      run(inputs: readonly Tensor[], a: NormRowsAttrs, out, cuda): CudaBuffer[] {
        const [g, x, mean, rstd] = inputs;
        const outs = out.map((s) => allocOutput(cuda, s));
        const [dx, ...dp] = outs;
        const rows = x.numel() / a.rowSize;
        const count = a.groups * a.rowSize / a.inner;
        if (rows === 0) {
          // Sums over no rows: the weight and bias gradients are zero.
          for (const p of dp) cuda.zero(p);
          return outs;
        }
        const kx = cached(`dx/${x.dtype}/${a.weight}`, () => dxSource(x.dtype, a.weight));
        launchRows(cuda, kx, rows, [
          { ptr: dx },
          ...[g, x, mean, rstd].map(ptr),
          ...(a.weight ? [ptr(inputs[4])] : []),
          ...tail(a, rows),
        ]);
        if (dp.length) {
          const kw = cached(
            `dw/${x.dtype}/${a.weight}/${a.bias}`,
            () => dwSource(x.dtype, a.weight, a.bias),
          );
          launchRows(cuda, kw, count, [
            ...dp.map((o) => ({ ptr: o })),
            ...[g, x, mean, rstd].map(ptr),
            { i64: count },
            ...tail(a, rows),
          ]);
        }
        return outs;
      },
    },
  };
}
