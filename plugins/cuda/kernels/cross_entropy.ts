/**
 * cuda kernels of the fused cross-entropy (`crossEntropy`, `crossEntropyBackward`), ported from
 * the webgpu kernels. The forward is a block per row (the row's max, then Σ exp(x − max), each a
 * block reduction; thread 0 writes the row's log-sum-exp, loss and weight) and a one-block kernel
 * summing the rows' losses and weights into the reduced loss and the total weight. The backward is
 * a thread per element of dx. A target outside [0, C) that is not `ignoreIndex` is recorded in the
 * device error record (its row counts as ignored), and the next readback throws the cpu backend's
 * `IndexError`. float16 logits are read as half and computed in float; the log-sum-exp and the
 * total weight are float32.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import { crossEntropyIndexSite } from "../../../losses/ops/cross_entropy.ts";
import type { CrossEntropyAttrs } from "../../../losses/ops/cross_entropy.ts";
import { errorRecord } from "./kit.ts";
import { allocOutput, launchGrid, launchRows, ptr } from "./kit_launch.ts";
import {
  BLOCK_SUM_CUDA,
  cType,
  FLOATS,
  INDEX_ERROR_CUDA,
  kernelSource,
  load,
  sourceCache,
  store,
  tag,
} from "./kit_source.ts";
import type { CudaBuffer, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

type Reduction = CrossEntropyAttrs["reduction"];
const REDUCTIONS: readonly Reduction[] = ["mean", "sum", "none"];

// The block-wide max, as kit.ts's denn_block_sum (every thread calls it; sh is float[33]).
const BLOCK_MAX_CUDA = `
__device__ __forceinline__ float denn_block_max(float v, float* sh) {
  for (int s = 16; s > 0; s >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, s));
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < (blockDim.x >> 5) ? sh[threadIdx.x] : -denn_inf();
    for (int s = 16; s > 0; s >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, s));
    if (threadIdx.x == 0) sh[32] = v;
  }
  __syncthreads();
  const float r = sh[32];
  __syncthreads();
  return r;
}
`;

const variant = (dtype: DType, r: Reduction, w: boolean): string =>
  `${r}${w ? "_w" : ""}_${tag(dtype)}`;

// Row r: lse[r], its loss (into `loss` as T for "none", else into the float scratch `rl`) and its
// weight rw[r] (0 for an ignored or invalid target).
function rowsSource(dtype: DType, r: Reduction, w: boolean): KernelSource {
  const name = `denn_crossEntropy_rows_${variant(dtype, r, w)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const none = r === "none";
  const params = [
    none ? `${T}* __restrict__ loss` : "float* __restrict__ rl",
    "float* __restrict__ lse",
    "float* __restrict__ rw",
    `const ${T}* __restrict__ x`,
    "const int* __restrict__ tg",
    ...(w ? ["const float* __restrict__ W"] : []),
    "unsigned int* err",
    "long long rows",
    "long long C",
    "int ignore",
    "unsigned int site",
  ];
  // As the cpu kernel: a row whose logits are all −inf gets a NaN lse (−inf − (−inf)), and so a
  // NaN loss, as PyTorch's.
  const body = `  __shared__ float sh[33];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const long long base = row * C;
    float m = -denn_inf();
    for (long long j = threadIdx.x; j < C; j += blockDim.x) m = fmaxf(m, ${ld("x[base + j]")});
    m = denn_block_max(m, sh);
    float s = 0.0f;
    for (long long j = threadIdx.x; j < C; j += blockDim.x) s += expf(${ld("x[base + j]")} - m);
    s = denn_block_sum(s, sh);
    if (threadIdx.x == 0) {
      const float l_ = m + logf(s);
      lse[row] = l_;
      const int v = tg[row];
      float wr = 0.0f, l = 0.0f;
      if (v != ignore) {
        if (v < 0 || (long long)v >= C) {
          denn_index_error(err, site, v);
        } else {
          wr = ${w ? "W[v]" : "1.0f"};
          l = wr * (l_ - ${ld("x[base + v]")});
        }
      }
      ${none ? `loss[row] = ${store(dtype, "l")};` : "rl[row] = l;"}
      rw[row] = wr;
    }
  }`;
  return {
    name,
    ops: ["crossEntropy"],
    source: kernelSource(name, params, body, INDEX_ERROR_CUDA + BLOCK_MAX_CUDA + BLOCK_SUM_CUDA),
  };
}

// One block: the total weight Σ rw and, unless "none", the loss Σ rl ("sum") or Σ rl / Σ rw
// ("mean"; NaN when no target counts, as PyTorch's 0 / 0).
function totalSource(dtype: DType, r: Reduction): KernelSource {
  const name = `denn_crossEntropy_total_${r}_${tag(dtype)}`;
  const T = cType(dtype);
  const none = r === "none";
  const params = [
    "float* __restrict__ tot",
    ...(none ? [] : [`${T}* __restrict__ loss`, "const float* __restrict__ rl"]),
    "const float* __restrict__ rw",
    "long long rows",
  ];
  const loss = r === "sum"
    ? `loss[0] = ${store(dtype, "sl")};`
    : r === "mean"
    ? `loss[0] = ${store(dtype, "sw == 0.0f ? denn_nan() : sl / sw")};`
    : "(void)sl;";
  const body = `  __shared__ float sh[33];
  float a = 0.0f, b = 0.0f;
  for (long long i = threadIdx.x; i < rows; i += blockDim.x) {
    ${none ? "" : "a += rl[i];"}
    b += rw[i];
  }
  const float sl = denn_block_sum(a, sh);
  const float sw = denn_block_sum(b, sh);
  if (threadIdx.x == 0) {
    tot[0] = sw;
    ${loss}
  }`;
  return { name, ops: ["crossEntropy"], source: kernelSource(name, params, body, BLOCK_SUM_CUDA) };
}

// dx[r, j] = (exp(x − lse_r) − [j = t_r])·s_r, 0 in ignored (and invalid) rows.
function backwardSource(dtype: DType, r: Reduction, w: boolean): KernelSource {
  const name = `denn_crossEntropyBackward_${variant(dtype, r, w)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const params = [
    `${T}* __restrict__ dx`,
    `const ${T}* __restrict__ g`,
    `const ${T}* __restrict__ x`,
    "const int* __restrict__ tg",
    "const float* __restrict__ lse",
    ...(r === "mean" ? ["const float* __restrict__ tot"] : []),
    ...(w ? ["const float* __restrict__ W"] : []),
    "unsigned int* err",
    "long long n",
    "long long C",
    "int ignore",
    "unsigned int site",
  ];
  const scale = r === "none"
    ? ld("g[row]")
    : r === "sum"
    ? ld("g[0]")
    : `(tot[0] == 0.0f ? denn_nan() : ${ld("g[0]")} / tot[0])`;
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    const long long row = i / C, j = i % C;
    const int v = tg[row];
    if (v == ignore) { dx[i] = ${store(dtype, "0.0f")}; continue; }
    if (v < 0 || (long long)v >= C) {
      dx[i] = ${store(dtype, "0.0f")};
      if (j == 0) denn_index_error(err, site, v);
      continue;
    }
    const float s = ${w ? "W[v]" : "1.0f"} * ${scale};
    const float d = expf(${ld("x[i]")} - lse[row]) - (j == (long long)v ? 1.0f : 0.0f);
    dx[i] = ${store(dtype, "d * s")};
  }`;
  return {
    name,
    ops: ["crossEntropyBackward"],
    source: kernelSource(name, params, body, INDEX_ERROR_CUDA),
  };
}

/** Every source the cross-entropy kernels launch. */
export function crossEntropySources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const d of FLOATS) {
    for (const r of REDUCTIONS) {
      out.push(totalSource(d, r));
      for (const w of [false, true]) out.push(rowsSource(d, r, w), backwardSource(d, r, w));
    }
  }
  return out;
}

const cached = sourceCache();

/** Fused cross-entropy kernel table of the cuda backend (float32 and float16 logits). */
export function crossEntropyKernels(): CudaKernelTable {
  const dtypes = ["float32", "float16", "int32"] as const;
  return {
    crossEntropy: {
      dtypes,
      run(inputs: readonly Tensor[], a: CrossEntropyAttrs, out, cuda): CudaBuffer[] {
        const x = inputs[0];
        const [n, c] = x.shape;
        const none = a.reduction === "none";
        const [loss, lse, total] = out.map((s) => allocOutput(cuda, s));
        const rowWeight = cuda.alloc(Math.max(1, n), "float32");
        const rowLoss = none ? loss : cuda.alloc(Math.max(1, n), "float32");
        try {
          if (n > 0) {
            const rec = errorRecord(cuda);
            const site = rec.sites.index(crossEntropyIndexSite(x.shape));
            const k = cached(
              `rows/${variant(x.dtype, a.reduction, a.weight)}`,
              () => rowsSource(x.dtype, a.reduction, a.weight),
            );
            launchRows(cuda, k, n, [
              { ptr: rowLoss },
              { ptr: lse },
              { ptr: rowWeight },
              ...inputs.map(ptr),
              { ptr: rec.buffer },
              { i64: n },
              { i64: c },
              { i32: a.ignoreIndex },
              { u32: site },
            ]);
          }
          const kt = cached(
            `total/${a.reduction}/${x.dtype}`,
            () => totalSource(x.dtype, a.reduction),
          );
          launchRows(cuda, kt, 1, [
            { ptr: total },
            ...(none ? [] : [{ ptr: loss }, { ptr: rowLoss }]),
            { ptr: rowWeight },
            { i64: n },
          ]);
        } finally {
          cuda.free(rowWeight);
          if (!none) cuda.free(rowLoss);
        }
        return [loss, lse, total];
      },
    },
    crossEntropyBackward: {
      dtypes,
      run(inputs: readonly Tensor[], a: CrossEntropyAttrs, out, cuda): CudaBuffer[] {
        const [g, x, t, lse, total, ...w] = inputs;
        const [n, c] = x.shape;
        const dx = allocOutput(cuda, out[0]);
        if (n * c === 0) return [dx];
        const rec = errorRecord(cuda);
        const site = rec.sites.index(crossEntropyIndexSite(x.shape));
        const k = cached(
          `bwd/${variant(x.dtype, a.reduction, a.weight)}`,
          () => backwardSource(x.dtype, a.reduction, a.weight),
        );
        launchGrid(cuda, k, n * c, [
          { ptr: dx },
          ...[g, x, t, lse].map(ptr),
          ...(a.reduction === "mean" ? [ptr(total)] : []),
          ...w.map(ptr),
          { ptr: rec.buffer },
          { i64: n * c },
          { i64: c },
          { i32: a.ignoreIndex },
          { u32: site },
        ]);
        return [dx];
      },
    },
  };
}
