/**
 * 2-D pooling kernels over plain typed arrays (NCHW, row-major, contiguous), following PyTorch's
 * CPU semantics: padding acts as -inf for max pooling and as zero for average pooling, and windows
 * are clipped to the input before reducing. The parameters and output size of every pooling are
 * here with max pooling; average and adaptive average pooling are in avg_pool.ts.
 *
 * Max pooling runs in wasm where available (wasm_conv.ts): its running maximum is a conditional
 * move there, while the JS comparison branches on the data and mispredicts about half the time.
 * The common 2×2 window with stride 2 (no padding, no dilation, no partial window) has its own
 * wasm kernel that pools four outputs per SIMD step (wasm_pool2x2.ts), and stride 1 without
 * dilation one that takes row maxima and then column maxima of those (wasm_max_pool.ts's
 * `maxPoolS1`: kh + kw taps per output instead of kh·kw). Max pooling's backward is in
 * pool_backward.ts.
 *
 * @module
 */

import { outputF32, outputI32 } from "../../core/host_pool.ts";
import { heapRegions } from "./wasm_conv_heap.ts";
import { convKernels } from "./wasm_conv_kernels.ts";
import { type Plan, planFor } from "./threads.ts";
import { maxPool2x2Heap } from "./wasm_pool2x2.ts";

/** Shape and hyper-parameters of a 2-D pooling; `oh`/`ow` are precomputed by the caller. */
export interface Pool2dParams {
  /** Batch size. */
  n: number;
  /** Channels. */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Window height. */
  kh: number;
  /** Window width. */
  kw: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Implicit padding above and below. */
  padH: number;
  /** Implicit padding left and right. */
  padW: number;
  /** Vertical spacing between window taps (max pooling only; average pooling ignores it). */
  dilationH: number;
  /** Horizontal spacing between window taps (max pooling only; average pooling ignores it). */
  dilationW: number;
  /** Output height, see {@link pool2dOutputSize}. */
  oh: number;
  /** Output width, see {@link pool2dOutputSize}. */
  ow: number;
  /** Whether `oh`/`ow` were rounded up; kept for callers, the kernels only rely on `oh`/`ow`. */
  ceilMode: boolean;
  /** Average pooling: whether padded positions count towards the divisor. */
  countIncludePad: boolean;
  /** Average pooling: fixed divisor replacing the window size when set. */
  divisorOverride?: number;
}

/**
 * Output size of a pooling along one axis with PyTorch's rule: with `ceilMode` the size is rounded
 * up, but the last window must still start inside the input or the left padding.
 */
export function pool2dOutputSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/**
 * Max pooling. Returns the pooled values [N, C, OH, OW] and, for each, the flat index (h*W + w)
 * of the winning element inside its (n, c) plane. A NaN anywhere in a window wins, as in PyTorch.
 */
export function maxPool2dForward(
  x: Float32Array,
  p: Pool2dParams,
): { y: Float32Array; indices: Int32Array } {
  if (p.n * p.c > 0 && p.oh > 0 && p.ow > 0) {
    if (maxPool2x2Heap && isPool2x2(p)) return wasmMaxPool2x2(x, p);
    if (convKernels && isStride1(p)) return wasmMaxPoolS1(x, p);
    if (convKernels) return wasmMaxPool2d(x, p);
  }
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w;
  const y = outputF32(planes * oh * ow);
  const indices = outputI32(planes * oh * ow);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    for (let oy = 0; oy < oh; oy++) {
      const hs = oy * strideH - padH;
      let ih0 = hs;
      // Step by the dilation so that the first visited row is still a real tap of the window.
      while (ih0 < 0) ih0 += dilationH;
      const ih1 = Math.min(hs + (kh - 1) * dilationH + 1, h);
      for (let ox = 0; ox < ow; ox++) {
        const ws = ox * strideW - padW;
        let iw0 = ws;
        while (iw0 < 0) iw0 += dilationW;
        const iw1 = Math.min(ws + (kw - 1) * dilationW + 1, w);
        // PyTorch reports the first valid tap when nothing beats -inf (e.g. an all -inf window).
        let best = ih0 < ih1 && iw0 < iw1 ? ih0 * w + iw0 : -1;
        let m = -Infinity;
        for (let ih = ih0; ih < ih1; ih += dilationH) {
          const row = ih * w;
          for (let iw = iw0; iw < iw1; iw += dilationW) {
            const v = x[base + row + iw];
            // `v !== v` is the NaN test; later NaNs overwrite earlier ones, matching PyTorch.
            if (v > m || v !== v) {
              m = v;
              best = row + iw;
            }
          }
        }
        y[o] = m;
        indices[o] = best;
        o++;
      }
    }
  }
  return { y, indices };
}

/**
 * Writes, per output position along one axis, the first real tap at or after the window start
 * and the clipped end as an [first, end) pair (the loops of the JS kernel above).
 */
function windowTable(
  outSize: number,
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  t: Int32Array,
): void {
  for (let i = 0; i < outSize; i++) {
    const s = i * stride - pad;
    let first = s;
    while (first < 0) first += dilation;
    t[2 * i] = first;
    t[2 * i + 1] = Math.min(s + (kernel - 1) * dilation + 1, size);
  }
}

// Planes per wasm call, bounding the heap use to about 8 MiB.
const POOL_CHUNK_FLOATS = 1 << 21;

/** Planes per wasm call of the pooling kernels (an input plane and two output planes each). */
export function poolChunk(planes: number, inPlane: number, outPlane: number): number {
  return Math.max(1, Math.min(planes, Math.floor(POOL_CHUNK_FLOATS / (inPlane + 2 * outPlane))));
}
// Window taps from which max pooling runs on a second thread (ResNet-18's 3 × 3 pooling at batch
// 32 has 1.2M).
const POOL_WORK_PER_THREAD = 1 << 18;

function wasmMaxPool2d(x: Float32Array, p: Pool2dParams): { y: Float32Array; indices: Int32Array } {
  const k = convKernels!;
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w, outPlane = oh * ow;
  const chunk = poolChunk(planes, inPlane, outPlane);
  const { at, f } = heapRegions([
    chunk * inPlane,
    chunk * outPlane,
    chunk * outPlane,
    2 * oh,
    2 * ow,
  ]);
  const [X, Y, IDX, TH, TW] = at;
  const ints = new Int32Array(f.buffer);
  windowTable(oh, h, p.kh, p.strideH, p.padH, p.dilationH, ints.subarray(TH));
  windowTable(ow, w, p.kw, p.strideW, p.padW, p.dilationW, ints.subarray(TW));
  // Planes are independent: ranges of them are work items (window taps as the unit of work).
  const plan = planFor(planes * outPlane * p.kh * p.kw, planes, POOL_WORK_PER_THREAD);
  return poolChunks(x, plan, { f, chunk, planes, inPlane, outPlane, X, Y, IDX }, (q0, cnt) => {
    plan.call(
      k.ids.maxPool,
      0,
      4 * (X + q0 * inPlane),
      4 * (Y + q0 * outPlane),
      4 * (IDX + q0 * outPlane),
      cnt,
      w,
      4 * inPlane,
      p.dilationH,
      p.dilationW,
      oh,
      ow,
      4 * TH,
      4 * TW,
      p.strideW,
      p.padW,
      p.kw,
    );
  });
}

/** Where a chunked plane-wise pooling keeps its planes: the heap, and X, Y, IDX in floats. */
interface PoolLayout {
  f: Float32Array;
  chunk: number;
  planes: number;
  inPlane: number;
  outPlane: number;
  X: number;
  Y: number;
  IDX: number;
}

/**
 * Runs a plane-wise max pooling kernel chunk by chunk: the chunk's input planes are copied to X,
 * ranges of them become the plan's work items (`call(q0, cnt)` records the kernel over planes
 * [q0, q0 + cnt) of the chunk), and the values at Y and indices at IDX are copied out.
 */
function poolChunks(
  x: Float32Array,
  plan: Plan,
  l: PoolLayout,
  call: (q0: number, cnt: number) => void,
): { y: Float32Array; indices: Int32Array } {
  const { f, chunk, planes, inPlane, outPlane, X, Y, IDX } = l;
  const ints = new Int32Array(f.buffer);
  const y = outputF32(planes * outPlane);
  const indices = outputI32(planes * outPlane);
  for (let p0 = 0; p0 < planes; p0 += chunk) {
    const cnt = Math.min(chunk, planes - p0);
    f.set(x.subarray(p0 * inPlane, (p0 + cnt) * inPlane), X);
    const step = Math.ceil(cnt / (4 * plan.threads));
    for (let q0 = 0; q0 < cnt; q0 += step) {
      plan.item();
      call(q0, Math.min(step, cnt - q0));
    }
    plan.run();
    y.set(f.subarray(Y, Y + cnt * outPlane), p0 * outPlane);
    indices.set(ints.subarray(IDX, IDX + cnt * outPlane), p0 * outPlane);
  }
  return { y, indices };
}

/**
 * Whether a max pooling has unit strides and dilations with every window overlapping the input
 * (padding below the window size): the two-pass kernel's case (GoogLeNet's 3 × 3 branch pools).
 */
function isStride1(p: Pool2dParams): boolean {
  return p.strideH === 1 && p.strideW === 1 && p.dilationH === 1 && p.dilationW === 1 &&
    p.padH < p.kh && p.padW < p.kw;
}

/**
 * Max pooling with stride 1 by the wasm `maxPoolS1` kernel (row maxima, then column maxima of
 * those: kh + kw taps per output instead of kh·kw), over ranges of planes on the threads, each
 * with its own scratch for the row pass.
 */
function wasmMaxPoolS1(x: Float32Array, p: Pool2dParams): { y: Float32Array; indices: Int32Array } {
  const k = convKernels!;
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w, outPlane = oh * ow;
  const chunk = poolChunk(planes, inPlane, outPlane);
  const plan = planFor(planes * outPlane * (p.kh + p.kw), planes, POOL_WORK_PER_THREAD);
  // The row pass reads up to padW floats before a row and padW + 3 after it.
  const margin = p.padW + 4;
  const pitch = Math.ceil(ow / 4) * 4, slot = 2 * h * pitch + 16;
  const { at, f } = heapRegions([
    chunk * inPlane + 2 * margin,
    chunk * outPlane,
    chunk * outPlane,
    plan.threads * slot,
  ]);
  const X = at[0] + margin, [, Y, IDX, S] = at;
  plan.scratchStride(4 * slot);
  return poolChunks(x, plan, { f, chunk, planes, inPlane, outPlane, X, Y, IDX }, (q0, cnt) => {
    plan.call(
      k.ids.maxPoolS1,
      0b11000,
      4 * (X + q0 * inPlane),
      4 * (Y + q0 * outPlane),
      4 * (IDX + q0 * outPlane),
      4 * S,
      4 * (S + h * pitch),
      cnt,
      h,
      w,
      oh,
      ow,
      p.kh,
      p.kw,
      p.padH,
      p.padW,
      pitch,
    );
  });
}

/**
 * Whether a max pooling is the plain 2×2 window with stride 2: no padding, no dilation, and every
 * window inside the input (ceil mode adds no partial window). Its windows are disjoint.
 */
export function isPool2x2(p: Pool2dParams): boolean {
  return p.kh === 2 && p.kw === 2 && p.strideH === 2 && p.strideW === 2 && p.padH === 0 &&
    p.padW === 0 && p.dilationH === 1 && p.dilationW === 1 && 2 * p.oh <= p.h &&
    2 * p.ow <= p.w;
}

function wasmMaxPool2x2(
  x: Float32Array,
  p: Pool2dParams,
): { y: Float32Array; indices: Int32Array } {
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w, outPlane = oh * ow;
  const chunk = poolChunk(planes, inPlane, outPlane);
  const { at, f } = heapRegions([chunk * inPlane, chunk * outPlane, chunk * outPlane]);
  const [X, Y, IDX] = at;
  const ints = new Int32Array(f.buffer);
  const y = outputF32(planes * outPlane);
  const indices = outputI32(planes * outPlane);
  for (let p0 = 0; p0 < planes; p0 += chunk) {
    const cnt = Math.min(chunk, planes - p0);
    f.set(x.subarray(p0 * inPlane, (p0 + cnt) * inPlane), X);
    maxPool2x2Heap!(4 * X, 4 * Y, 4 * IDX, cnt, oh, ow, w, 4 * inPlane);
    y.set(f.subarray(Y, Y + cnt * outPlane), p0 * outPlane);
    indices.set(ints.subarray(IDX, IDX + cnt * outPlane), p0 * outPlane);
  }
  return { y, indices };
}
