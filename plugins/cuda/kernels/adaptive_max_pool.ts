/**
 * cuda kernel of adaptive max pooling (`adaptiveMaxPool2d`), a thread per output cell, as the cpu
 * kernel: the window of output (oy, ox) is rows ⌊oy·H/OH⌋ to ⌈(oy+1)·H/OH⌉ and likewise columns
 * (PyTorch's bins); the first maximum in row-major order wins, a NaN replaces whatever came
 * before it (so the window's last NaN wins, NaN propagating as in PyTorch), and the flat index
 * `h·W + w` in the input plane is written beside the value. The op's gradient is the core
 * `scatterAdd`, which the cuda backend has, so there is no backward kernel.
 *
 * @module
 */

import type { DType } from "../../../core/mod.ts";
import { sizeOf } from "../../../core/mod.ts";
import type { AdaptiveMaxPoolAttrs } from "../../../layers/ops/adaptive_max_pool.ts";
import { allocOutput, launchN, ptr } from "./kit_launch.ts";
import { cType, FLOATS, kernelSource, load, sourceCache, store, tag } from "./kit_source.ts";
import type { CudaBuffer, CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

function source(dtype: DType): KernelSource {
  const name = `denn_adaptiveMaxPool2d_${tag(dtype)}`;
  const T = cType(dtype);
  const params = [
    `${T}* __restrict__ y`,
    "int* __restrict__ idx",
    `const ${T}* __restrict__ x`,
    "long long total",
    "int H",
    "int W",
    "int OH",
    "int OW",
  ];
  // (oy·H) and ((oy+1)·H + OH − 1) in 64 bits: H·OH may pass 2³¹.
  const body = `  for (long long i = denn_gid(); i < total; i += denn_gsize()) {
    const int ox = (int)(i % OW), oy = (int)((i / OW) % OH);
    const long long base = (i / ((long long)OW * OH)) * H * W;
    const int h0 = (int)(((long long)oy * H) / OH);
    const int h1 = (int)((((long long)oy + 1) * H + OH - 1) / OH);
    const int w0 = (int)(((long long)ox * W) / OW);
    const int w1 = (int)((((long long)ox + 1) * W + OW - 1) / OW);
    float best = -denn_inf();
    int at = h0 * W + w0;
    for (int ih = h0; ih < h1; ih++) {
      for (int iw = w0; iw < w1; iw++) {
        const float v = ${load(dtype, "x[base + (long long)ih * W + iw]")};
        if (v > best || v != v) { best = v; at = ih * W + iw; }
      }
    }
    y[i] = ${store(dtype, "best")};
    idx[i] = at;
  }`;
  return { name, ops: ["adaptiveMaxPool2d"], source: kernelSource(name, params, body) };
}

/** Every source the adaptive max pooling kernel launches. */
export function adaptiveMaxPoolSources(): KernelSource[] {
  return FLOATS.map(source);
}

const cached = sourceCache();

/** Adaptive max pooling kernel table of the cuda backend (float32 and float16). */
export function adaptiveMaxPoolKernels(): CudaKernelTable {
  return {
    adaptiveMaxPool2d: {
      dtypes: FLOATS,
      supports: ([x]) =>
        x.shape[2] * x.shape[3] < 2 ** 31 ||
        `adaptiveMaxPool2d: an input plane of ${x.shape[2]}x${
          x.shape[3]
        } elements does not fit the int32 indices`,
      run([x], a: AdaptiveMaxPoolAttrs, out, cuda): CudaBuffer[] {
        const y = allocOutput(cuda, out[0]), idx = allocOutput(cuda, out[1]);
        const total = sizeOf(out[0].shape);
        if (total === 0) return [y, idx];
        const k = cached(x.dtype, () => source(x.dtype));
        launchN(cuda, k.name, k.source, total, [
          { ptr: y },
          { ptr: idx },
          ptr(x),
          { i64: total },
          ...[x.shape[2], x.shape[3], a.outputSize[0], a.outputSize[1]].map((v) => ({ i32: v })),
        ]);
        return [y, idx];
      },
    },
  };
}
