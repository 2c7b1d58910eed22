/**
 * cpu batch-normalisation kernels: per-channel statistics (two passes, float64 accumulators), the
 * normalisation as one multiply-add per element, and the backward pass giving dx, dweight and dbias
 * from one reduction pass and one elementwise pass over each channel. From `WASM_MIN`
 * elements they run as the WebAssembly SIMD kernels of wasm_norm.ts over copies in the wasm heap,
 * with ranges of channels shared out to the threads.
 *
 * @module
 */

import { outputF32, recycleHost } from "../../core/host_pool.ts";
import { kernelFor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import type { BatchNormAttrs } from "../../layers/mod.ts";
import {
  batchNormBackwardOp,
  batchNormOp,
  batchNormReluBackwardOp,
  batchNormReluOp,
  batchNormStatsOp,
} from "../../layers/ops/batch_norm.ts";
import { hostArray, hostStorage } from "./kit.ts";
import { denseCopy } from "./movement.ts";
import { reluBackwardF32, reluInPlaceF32 } from "./relu.ts";
import { rowSquares, rowSum } from "./layer_norm.ts";
import type { CpuKernelTable } from "./kit.ts";
import { type Plan, planFor } from "./threads.ts";
import { heapRegions, touchPages } from "./wasm_conv_heap.ts";
import { convKernels } from "./wasm_conv_kernels.ts";

// Elements from which the wasm kernels run (copying in and out costs less than the JS loops save),
// up to a bound on the heap they take (three arrays of WASM_MAX floats in the backward pass), where
// each channel has runs of at least 4 values: the kernels walk one channel at a time, which for
// runs of one ([N, C] input, 1 × 1 maps) took 2-4x the JS loops' time ([128, 512]: 1.0 against
// 0.67 ms for statistics, forward and backward).
const WASM_MIN = 1 << 15;
const WASM_MAX = 1 << 22;
// Elements per extra thread.
const WORK_PER_THREAD = 1 << 17;

const wasmFor = (numel: number, inner: number) =>
  convKernels && numel >= WASM_MIN && numel <= WASM_MAX && inner >= 4 ? convKernels : null;

/** A plan over `c` channels of `numel` elements in all. */
const channelPlan = (numel: number, c: number): Plan => planFor(numel, c, WORK_PER_THREAD);

/** Calls `call(ch0, ch1)` in one work item per range of channels, then runs the plan. */
function shareChannels(plan: Plan, c: number, call: (ch0: number, ch1: number) => void): void {
  const step = Math.ceil(c / (4 * plan.threads));
  for (let ch0 = 0; ch0 < c; ch0 += step) {
    plan.item();
    call(ch0, Math.min(c, ch0 + step));
  }
}

// Input [N, C, ...] as N blocks of C channels of `inner` contiguous values. Each kernel works one
// channel at a time, so a channel's second pass reads data the first left in cache.
function layout(x: Tensor): [number, number, number] {
  const n = x.shape[0], c = x.shape[1];
  return [n, c, n * c === 0 ? 0 : x.numel() / (n * c)];
}

const f32 = (t: Tensor): Float32Array => hostArray(t, "float32");

function stats(inputs: readonly Tensor[]): Float32Array[] {
  const x = inputs[0];
  const [n, c, inner] = layout(x);
  const src = f32(x);
  const count = n * inner;
  const mean = outputF32(c), variance = outputF32(c);
  const k = wasmFor(src.length, inner);
  if (k) {
    const { at, f } = heapRegions([src.length, 2 * c]);
    const [X, OUT] = at;
    f.set(src, X);
    const plan = channelPlan(2 * src.length, c);
    shareChannels(plan, c, (ch0, ch1) => {
      plan.call(k.ids.bnStats, 0, 4 * X, 4 * OUT, n, c, inner, ch0, ch1);
    });
    plan.run();
    for (let ch = 0; ch < c; ch++) {
      mean[ch] = f[OUT + 2 * ch];
      variance[ch] = f[OUT + 2 * ch + 1];
    }
    return [mean, variance];
  }
  // In memory order, each run of `inner` values into its channel's float64 sum: a channel-major
  // walk strides across images, which costs more than the sums where runs are short (ResNet's
  // 1 × 1 maps: runs of one value, 512 channels apart). Runs of one value get loops of their own:
  // a call per value costs more than its add.
  const sum = new Float64Array(c);
  for (let b = 0, i = 0; b < n; b++) {
    if (inner === 1) {
      for (let ch = 0; ch < c; ch++) sum[ch] += src[i++];
    } else {
      for (let ch = 0; ch < c; ch++, i += inner) sum[ch] += rowSum(src, i, i + inner);
    }
  }
  const m = sum.map((s) => s / count);
  // Summing squared deviations from the mean (not Σx² − m²·n) avoids cancellation.
  const sq = new Float64Array(c);
  for (let b = 0, i = 0; b < n; b++) {
    if (inner === 1) {
      for (let ch = 0; ch < c; ch++) {
        const d = src[i++] - m[ch];
        sq[ch] += d * d;
      }
    } else {
      for (let ch = 0; ch < c; ch++, i += inner) sq[ch] += rowSquares(src, i, i + inner, m[ch]);
    }
  }
  for (let ch = 0; ch < c; ch++) {
    mean[ch] = m[ch];
    variance[ch] = sq[ch] / count;
  }
  return [mean, variance];
}

// With `relu` (batchNormRelu), the ReLU of each value as it is stored: the relu kernel's bits.
function forward(inputs: readonly Tensor[], a: BatchNormAttrs, relu: boolean): Float32Array[] {
  const [x, meanT, varT, wT, bT] = inputs;
  const [n, c, inner] = layout(x);
  const src = f32(x), mean = f32(meanT), v = f32(varT), w = f32(wT), bias = f32(bT);
  const out = outputF32(x.numel());
  // y = x·scale + shift per channel (float64 here, float32 in the wasm kernel).
  const scale = new Float64Array(c), shift = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    scale[ch] = w[ch] / Math.sqrt(v[ch] + a.eps);
    shift[ch] = bias[ch] - mean[ch] * scale[ch];
  }
  const k = wasmFor(src.length, inner);
  if (k) {
    const { at, f } = heapRegions([src.length, src.length, 2 * c]);
    const [X, Y, SS] = at;
    f.set(src, X);
    for (let ch = 0; ch < c; ch++) {
      f[SS + 2 * ch] = scale[ch];
      f[SS + 2 * ch + 1] = shift[ch];
    }
    const plan = channelPlan(src.length, c);
    shareChannels(plan, c, (ch0, ch1) => {
      plan.call(
        relu ? k.ids.bnApplyRelu : k.ids.bnApply,
        0,
        4 * X,
        4 * Y,
        4 * SS,
        n,
        c,
        inner,
        ch0,
        ch1,
      );
    });
    plan.run(() => touchPages(out, 0, out.length));
    out.set(f.subarray(Y, Y + src.length));
    return [out];
  }
  forwardLoops(src, out, scale, shift, n, c, inner);
  if (relu) reluInPlaceF32(out);
  return [out];
}

function forwardLoops(
  src: Float32Array,
  out: Float32Array,
  scale: Float64Array,
  shift: Float64Array,
  n: number,
  c: number,
  inner: number,
): void {
  for (let b = 0, i = 0; b < n; b++) {
    if (inner === 1) {
      for (let ch = 0; ch < c; ch++, i++) out[i] = src[i] * scale[ch] + shift[ch];
      continue;
    }
    for (let ch = 0; ch < c; ch++) {
      const s = scale[ch], t = shift[ch];
      for (const end = i + inner; i < end; i++) out[i] = src[i] * s + t;
    }
  }
}

// With x̂ = (x − mean)·invstd: dbias = Σg, dweight = Σg·x̂, and in training
// dx = weight·invstd·(g − dbias/count − x̂·dweight/count); in eval dx = weight·invstd·g.
// batchNormReluBackward (`relu`, a sixth input y, ReLU's output) first masks g where y ≤ 0, with
// the bits of reluBackward: in the wasm kernels as they read g, else as a masked copy.
// The kernels take views: the gradient of a branch that `cat` joined arrives as a slice of the
// joined gradient along the channels, whose images are each one contiguous block; the wasm path
// copies such a g into the heap block by block. Any other view is copied dense here (what dispatch
// would do), the copies going back to the host pool afterwards.
function backward(inputs: readonly Tensor[], a: BatchNormAttrs, relu: boolean): Float32Array[] {
  const copies: Float32Array[] = [];
  const dense = (t: Tensor): Float32Array => {
    if (t.isDense) return f32(t);
    const d = denseCopy(t) as Float32Array;
    copies.push(d);
    return d;
  };
  try {
    return backwardOf(inputs, a, relu, dense);
  } finally {
    for (const d of copies) recycleHost(d);
  }
}

/**
 * Where the images of `t` [N, ...] lie in its storage when each is one contiguous block (any
 * offset and image stride): the storage, the first image's offset, the image stride and the
 * block's length; else null.
 */
function imageBlocks(
  t: Tensor,
): { src: Float32Array; at: number; stride: number; block: number } | null {
  let expect = 1;
  for (let d = t.ndim - 1; d >= 1; d--) {
    if (t.shape[d] !== 1 && t.strides[d] !== expect) return null;
    expect *= t.shape[d];
  }
  return { src: hostStorage(t) as Float32Array, at: t.offset, stride: t.strides[0], block: expect };
}

function backwardOf(
  inputs: readonly Tensor[],
  a: BatchNormAttrs,
  relu: boolean,
  dense: (t: Tensor) => Float32Array,
): Float32Array[] {
  const [gT, x, meanT, varT, wT] = inputs;
  const [n, c, inner] = layout(x);
  const src = dense(x), mean = dense(meanT), v = dense(varT), w = dense(wT);
  const y = relu ? dense(inputs[5]) : null;
  const count = n * inner;
  const dx = outputF32(x.numel()), dw = outputF32(c), db = outputF32(c);
  const k = wasmFor(src.length, inner);
  if (k) {
    const size = src.length;
    const { at, f } = heapRegions([size, size, size, c, 4 * c, 3 * c, y ? size : 0]);
    const [G, X, DX, MEAN, SUMS, COEF, Y] = at;
    const gb = gT.isDense ? null : imageBlocks(gT);
    if (gb) {
      for (let b = 0; b < n; b++) {
        const from = gb.at + b * gb.stride;
        f.set(gb.src.subarray(from, from + gb.block), G + b * gb.block);
      }
    } else f.set(dense(gT), G);
    f.set(src, X);
    f.set(mean, MEAN);
    if (y) f.set(y, Y);
    // The relu variants take y's address as a last argument.
    const yArg = y ? [4 * Y] : [];
    let plan = channelPlan(2 * size, c);
    shareChannels(plan, c, (ch0, ch1) => {
      const id = y ? k.ids.bnGradSumsRelu : k.ids.bnGradSums;
      plan.call(id, 0, 4 * G, 4 * X, 4 * MEAN, 4 * SUMS, n, c, inner, ch0, ch1, ...yArg);
    });
    plan.run();
    const sums = new Float64Array(f.buffer, 4 * SUMS, 2 * c);
    for (let ch = 0; ch < c; ch++) {
      const invstd = 1 / Math.sqrt(v[ch] + a.eps);
      const sg = sums[2 * ch], sgx = sums[2 * ch + 1];
      db[ch] = sg;
      dw[ch] = sgx * invstd;
      f.set(dxCoefficients(sg, sgx, mean[ch], invstd, w[ch], count, a.training), COEF + 3 * ch);
    }
    plan = channelPlan(size, c);
    shareChannels(plan, c, (ch0, ch1) => {
      const id = y ? k.ids.bnGradApplyRelu : k.ids.bnGradApply;
      plan.call(id, 0, 4 * G, 4 * X, 4 * DX, 4 * COEF, n, c, inner, ch0, ch1, ...yArg);
    });
    plan.run(() => touchPages(dx, 0, dx.length));
    dx.set(f.subarray(DX, DX + size));
    return [dx, dw, db];
  }
  const g = y ? reluBackwardF32(dense(gT), y) : dense(gT);
  // Per channel: Σg and Σg·(x − m), in memory order (see stats), two of each side by side.
  const sgs = new Float64Array(c), sgxs = new Float64Array(c);
  for (let b = 0, i = 0; b < n; b++) {
    if (inner === 1) {
      for (let ch = 0; ch < c; ch++, i++) {
        sgs[ch] += g[i];
        sgxs[ch] += g[i] * (src[i] - mean[ch]);
      }
      continue;
    }
    for (let ch = 0; ch < c; ch++) {
      const m = mean[ch], end = i + inner;
      let sg0 = 0, sg1 = 0, sgx0 = 0, sgx1 = 0;
      for (const end2 = end - 1; i < end2; i += 2) {
        const g0 = g[i], g1 = g[i + 1];
        sg0 += g0;
        sg1 += g1;
        sgx0 += g0 * (src[i] - m);
        sgx1 += g1 * (src[i + 1] - m);
      }
      if (i < end) {
        sg0 += g[i];
        sgx0 += g[i] * (src[i] - m);
        i++;
      }
      sgs[ch] += sg0 + sg1;
      sgxs[ch] += sgx0 + sgx1;
    }
  }
  const coef = new Float64Array(3 * c);
  for (let ch = 0; ch < c; ch++) {
    const invstd = 1 / Math.sqrt(v[ch] + a.eps), sg = sgs[ch], sgx = sgxs[ch];
    db[ch] = sg;
    dw[ch] = sgx * invstd;
    coef.set(dxCoefficients(sg, sgx, mean[ch], invstd, w[ch], count, a.training), 3 * ch);
  }
  for (let b = 0, i = 0; b < n; b++) {
    if (inner === 1) {
      for (let ch = 0; ch < c; ch++, i++) {
        dx[i] = coef[3 * ch] * g[i] - coef[3 * ch + 1] * src[i] + coef[3 * ch + 2];
      }
      continue;
    }
    for (let ch = 0; ch < c; ch++) {
      const k = coef[3 * ch], kx = coef[3 * ch + 1], k0 = coef[3 * ch + 2];
      for (const end = i + inner; i < end; i++) dx[i] = k * g[i] - kx * src[i] + k0;
    }
  }
  // The masked copy came from the host pool; nothing else holds it.
  if (y) recycleHost(g);
  return [dx, dw, db];
}

/**
 * (k, kx, k0) of dx = k·g − kx·x + k0 for one channel: k = weight·invstd and, in training,
 * dx = k·g − k·(x − m)·sgx·invstd²/count − k·sg/count, as one multiply-add per term.
 */
function dxCoefficients(
  sg: number,
  sgx: number,
  m: number,
  invstd: number,
  weight: number,
  count: number,
  training: boolean,
): [number, number, number] {
  const k = weight * invstd;
  if (!training) return [k, 0, 0];
  const kx = k * sgx * invstd * invstd / count;
  return [k, kx, kx * m - k * sg / count];
}

/** Batch-norm kernel table of the cpu backend. */
export const normKernels: CpuKernelTable = {
  ...kernelFor(batchNormStatsOp, { run: stats, dtypes: ["float32"] }),
  ...kernelFor(batchNormOp, { run: (i, a) => forward(i, a, false), dtypes: ["float32"] }),
  ...kernelFor(batchNormBackwardOp, {
    run: (i, a) => backward(i, a, false),
    dtypes: ["float32"],
    strided: true,
  }),
  ...kernelFor(batchNormReluOp, { run: (i, a) => forward(i, a, true), dtypes: ["float32"] }),
  ...kernelFor(batchNormReluBackwardOp, {
    run: (i, a) => backward(i, a, true),
    dtypes: ["float32"],
    strided: true,
  }),
};
