/**
 * Weight cropping for convolutions on small maps: kernel taps that only ever read padding are
 * dropped, so the conv runs as a smaller one over a copy of the kept taps (conv.ts), and the weight
 * gradient of the kept taps is spread back over the full kernel. {@link weightStamp} lets the copy
 * be reused while the weight's values are unchanged.
 *
 * @module
 */

import { outputF32 } from "../../core/host_pool.ts";
import type { Tensor } from "../../core/mod.ts";
import type { Conv2dParams } from "./conv.ts";
import { conv2dOutputSize } from "./im2col.ts";

/** A convolution with its never-used kernel taps dropped, and where the kept ones sit. */
interface Crop {
  p: Conv2dParams;
  h0: number;
  w0: number;
}

/**
 * The taps [lo, hi) along one axis that read the input for some output position, when the conv
 * with only those (and lo · dilation less padding) has the same outputs; [0, k) otherwise.
 */
function usedTaps(size: number, k: number, pad: number, stride: number, dil: number, out: number) {
  const used = (t: number): boolean => {
    // Rows t·dil − pad + y·stride for y in [0, out): does one land in [0, size)?
    const r0 = t * dil - pad;
    const y = r0 >= 0 ? 0 : Math.ceil(-r0 / stride);
    return y < out && r0 + y * stride < size;
  };
  let lo = 0, hi = k;
  while (lo < k - 1 && !used(lo)) lo++;
  while (hi > lo + 1 && !used(hi - 1)) hi--;
  const padLo = pad - lo * dil;
  if (padLo < 0 || conv2dOutputSize(size, hi - lo, stride, padLo, dil) !== out) return [0, k];
  return [lo, hi];
}

/**
 * Kernel taps that only ever read padding multiply zeros: on late-stage maps (ResNet's 3 × 3
 * convs with padding 1 on 1 × 1 inputs) they are 8 of 9, so the conv runs without them. Null when
 * every tap is used.
 */
export function cropTaps(p: Conv2dParams): Crop | null {
  const [h0, h1] = usedTaps(p.h, p.kh, p.padH, p.strideH, p.dilationH, p.oh);
  const [w0, w1] = usedTaps(p.w, p.kw, p.padW, p.strideW, p.dilationW, p.ow);
  if (h1 - h0 === p.kh && w1 - w0 === p.kw) return null;
  // Copying the kept taps out of the weight (and the gradient back) costs a pass over all the
  // weights; it pays where few taps are kept or the product is wide. Measured with blas, batch 32:
  // a 3×3 conv on 1×1 maps (1 of 9 taps) 0.8 ms cropped against 3.7 ms, on 2×2 maps with stride 2
  // (4 of 9 taps, 32 output pixels) 2.3 ms against 1.8 ms.
  const kept = ((h1 - h0) * (w1 - w0)) / (p.kh * p.kw);
  if (kept > 0.25 && (1 - kept) * p.n * p.oh * p.ow < 64) return null;
  return {
    p: {
      ...p,
      kh: h1 - h0,
      kw: w1 - w0,
      padH: p.padH - h0 * p.dilationH,
      padW: p.padW - w0 * p.dilationW,
    },
    h0,
    w0,
  };
}

let cropScratch = new Float32Array(0);

/**
 * One version of a weight's values: the storage that holds them and its version counter, which
 * every write through denn bumps (core/write.ts). Lets a kernel reuse what it derived from the
 * weight in an earlier call (the forward's cropped taps in the input gradient's call).
 */
export interface WeightStamp {
  /** The weight tensor's storage. */
  readonly owner: object;
  /** Its version when the kernel runs. */
  readonly version: number;
}

/** The stamp of a dense weight tensor's current values (see {@link WeightStamp}). */
export function weightStamp(w: Tensor): WeightStamp {
  return { owner: w.storage, version: w.storage.version };
}

/** A weight's cropped taps, valid while its storage has this version and array. */
interface CropMemo {
  version: number;
  w: Float32Array;
  key: string;
  data: Float32Array;
}
const cropMemos = new WeakMap<object, CropMemo>();

/**
 * The kept taps of w [O, C/groups, KH, KW] as a [O, C/groups, kh, kw] array. Without a stamp, a
 * view of a buffer shared across calls (the conv kernels read it before they return); with one,
 * an array kept for the weight's storage and reused while its version and array are unchanged:
 * the forward and input-gradient calls of a training step copy the taps once (a strided pass
 * over all of a late ResNet layer's 9.4 MB of weights).
 */
export function cropWeight(
  w: Float32Array,
  p: Conv2dParams,
  cr: Crop,
  stamp?: WeightStamp,
): Float32Array {
  const { kh, kw } = cr.p, planes = p.o * (p.c / p.groups);
  let out: Float32Array;
  if (stamp) {
    const key = `${planes},${p.kh},${p.kw},${kh},${kw},${cr.h0},${cr.w0}`;
    const m = cropMemos.get(stamp.owner);
    if (m && m.version === stamp.version && m.w === w && m.key === key) return m.data;
    out = m && m.data.length === planes * kh * kw ? m.data : new Float32Array(planes * kh * kw);
    cropMemos.set(stamp.owner, { version: stamp.version, w, key, data: out });
  } else {
    if (cropScratch.length < planes * kh * kw) cropScratch = new Float32Array(planes * kh * kw);
    out = cropScratch.subarray(0, planes * kh * kw);
  }
  if (kh === 1 && kw === 1) {
    const k = p.kh * p.kw, at = cr.h0 * p.kw + cr.w0;
    for (let pl = 0; pl < planes; pl++) out[pl] = w[pl * k + at];
    return out;
  }
  for (let pl = 0; pl < planes; pl++) {
    for (let r = 0; r < kh; r++) {
      const s = (pl * p.kh + cr.h0 + r) * p.kw + cr.w0, d = (pl * kh + r) * kw;
      for (let q = 0; q < kw; q++) out[d + q] = w[s + q];
    }
  }
  return out;
}

/** Inverse of {@link cropWeight}: the dropped taps' gradients are zero. */
export function uncropWeight(dw: Float32Array, p: Conv2dParams, cr: Crop): Float32Array {
  const { kh, kw } = cr.p, planes = p.o * (p.c / p.groups);
  // A recycled array and a fill: a fresh zeroed one of a late ResNet layer's 9.4 MB took twice
  // as long (its pages are faulted in anew each step).
  const out = outputF32(planes * p.kh * p.kw).fill(0);
  if (kh === 1 && kw === 1) {
    const k = p.kh * p.kw, at = cr.h0 * p.kw + cr.w0;
    for (let pl = 0; pl < planes; pl++) out[pl * k + at] = dw[pl];
    return out;
  }
  for (let pl = 0; pl < planes; pl++) {
    for (let r = 0; r < kh; r++) {
      const s = (pl * kh + r) * kw, d = (pl * p.kh + cr.h0 + r) * p.kw + cr.w0;
      for (let q = 0; q < kw; q++) out[d + q] = dw[s + q];
    }
  }
  return out;
}
