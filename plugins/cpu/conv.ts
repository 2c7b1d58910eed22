/**
 * 2-D convolution kernels over plain typed arrays (NCHW, row-major, contiguous).
 *
 * Every kernel lowers the convolution to matrix products: per image and group the input window
 * is unrolled into a column matrix (im2col) of shape [C/groups * KH * KW, OH * OW], so the
 * forward pass is W_g @ col, the input gradient is col2im(W_g^T @ gy) and the weight gradient is
 * gy @ col^T summed over the batch. A 1x1 kernel with unit stride and no padding needs no unrolling:
 * the input plane already is the column matrix.
 *
 * Where WebAssembly SIMD runs, the unrolling happens in wasm (wasm_conv.ts): with the default
 * GEMM the whole convolution stays in wasm, image by image; with an injected GEMM (the blas
 * backend) the column matrices are built in wasm memory and handed to it as views. The JS
 * lowering below is the fallback for engines without WebAssembly SIMD.
 *
 * @module
 */

import { allocHost } from "../../core/dtype.ts";
import { outputF32 } from "../../core/host_pool.ts";
import type { Tensor } from "../../core/mod.ts";
import { gemmPath, sgemm } from "./gemm.ts";
import { convKernels } from "./wasm_conv_kernels.ts";
import { wasmConvBackwardInput, wasmConvForward } from "./wasm_conv.ts";
import { wasmConvBackwardWeight } from "./wasm_conv_weight.ts";
import {
  wasmConvBackwardInputGemm,
  wasmConvBackwardWeightGemm,
  wasmConvForwardGemm,
} from "./wasm_conv_gemm.ts";

/**
 * A row-major GEMM with offsets, as {@linkcode sgemm}: the conv kernels take one so the blas
 * backend runs the same im2col lowering over its library's sgemm.
 */
export type Gemm = typeof sgemm;

/** Shape and hyper-parameters of a 2-D convolution; `oh`/`ow` are precomputed by the caller. */
export interface Conv2dParams {
  /** Batch size. */
  n: number;
  /** Input channels (all groups together). */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Output channels (all groups together). */
  o: number;
  /** Kernel height. */
  kh: number;
  /** Kernel width. */
  kw: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Zero padding added above and below. */
  padH: number;
  /** Zero padding added left and right. */
  padW: number;
  /** Vertical spacing between kernel taps. */
  dilationH: number;
  /** Horizontal spacing between kernel taps. */
  dilationW: number;
  /** Number of channel groups; `c` and `o` must both be divisible by it. */
  groups: number;
  /** Output height: floor((h + 2*padH - dilationH*(kh-1) - 1)/strideH) + 1. */
  oh: number;
  /** Output width: floor((w + 2*padW - dilationW*(kw-1) - 1)/strideW) + 1. */
  ow: number;
}

/**
 * Output size of a convolution along one axis (PyTorch's formula).
 * Returns a value < 1 when the dilated kernel does not fit in the padded input.
 */
export function conv2dOutputSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
): number {
  return Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

// Shared across calls so that a training loop does not allocate a fresh column buffer per image;
// JS is single-threaded, so no two kernels can use it at the same time.
let scratch = new Float32Array(0);

function getScratch(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
}

/** Whether the default GEMM may run in wasm, so that the all-wasm drivers can replace it. */
function wasmDefault(gemm: Gemm): boolean {
  return gemm === sgemm && gemmPath() !== "scalar";
}

function isPointwise(p: Conv2dParams): boolean {
  return p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 &&
    p.padW === 0;
}

function checkParams(p: Conv2dParams): void {
  if (p.groups < 1 || p.c % p.groups !== 0 || p.o % p.groups !== 0) {
    throw new RangeError(
      `conv2d: channels (in ${p.c}, out ${p.o}) must be divisible by groups (${p.groups})`,
    );
  }
  if (p.oh < 1 || p.ow < 1) {
    throw new RangeError(`conv2d: empty output ${p.oh}x${p.ow}`);
  }
}

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
function cropTaps(p: Conv2dParams): Crop | null {
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
function cropWeight(w: Float32Array, p: Conv2dParams, cr: Crop, stamp?: WeightStamp): Float32Array {
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
function uncropWeight(dw: Float32Array, p: Conv2dParams, cr: Crop): Float32Array {
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

function checkLength(name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length < expected) {
    throw new RangeError(`conv2d: ${name} has ${a.length} elements, expected ${expected}`);
  }
}

/**
 * Writes to `out` the first (inclusive) and last (exclusive) output index whose input coordinate
 * `i * stride + off` lies inside [0, size). Hoisting this out of the pixel loop removes the
 * per-element bounds test; the out-parameter avoids allocating a tuple per kernel tap.
 */
function validRange(
  off: number,
  stride: number,
  size: number,
  outSize: number,
  out: Int32Array,
): void {
  const lo = off >= 0 ? 0 : Math.min(outSize, Math.floor((-off + stride - 1) / stride));
  const last = size - 1 - off;
  let hi = last < 0 ? 0 : Math.min(outSize, Math.floor(last / stride) + 1);
  if (hi < lo) hi = lo;
  out[0] = lo;
  out[1] = hi;
}

const rangeBuf = new Int32Array(2);

/**
 * Unrolls `cg` channels of one image into `col` ([cg*kh*kw, oh*ow] at `colOff`, row pitch `ld`).
 * `xOff` points at the first of those channels. With ld = batch * oh * ow and colOff = image *
 * oh * ow, the images of a batch fill side by side one wide column matrix.
 */
function im2col(
  x: Float32Array,
  xOff: number,
  cg: number,
  p: Conv2dParams,
  col: Float32Array,
  colOff: number,
  ld: number,
): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, oh, ow } = p;
  const plane = h * w;
  const skip = ld - oh * ow;
  let dst = colOff;
  for (let ci = 0; ci < cg; ci++) {
    const xc = xOff + ci * plane;
    for (let ki = 0; ki < kh; ki++) {
      const offH = ki * dilationH - padH;
      for (let kj = 0; kj < kw; kj++) {
        const offW = kj * dilationW - padW;
        validRange(offW, strideW, w, ow, rangeBuf);
        const lo = rangeBuf[0], hi = rangeBuf[1];
        for (let y = 0; y < oh; y++) {
          const ih = y * strideH + offH;
          if (ih < 0 || ih >= h) {
            col.fill(0, dst, dst + ow);
            dst += ow;
            continue;
          }
          // Edge zeros are a few elements per row: plain loops beat fill()'s call overhead.
          for (let xo = 0; xo < lo; xo++) col[dst + xo] = 0;
          let src = xc + ih * w + lo * strideW + offW;
          for (let xo = lo; xo < hi; xo++) {
            col[dst + xo] = x[src];
            src += strideW;
          }
          for (let xo = hi; xo < ow; xo++) col[dst + xo] = 0;
          dst += ow;
        }
        dst += skip;
      }
    }
  }
}

/**
 * Inverse of {@link im2col} (same `colOff`/`ld` layout): adds every column entry back onto the
 * input pixel it came from.
 */
function col2im(
  col: Float32Array,
  colOff: number,
  ld: number,
  cg: number,
  p: Conv2dParams,
  dx: Float32Array,
  dxOff: number,
): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, oh, ow } = p;
  const plane = h * w;
  const skip = ld - oh * ow;
  let src = colOff;
  for (let ci = 0; ci < cg; ci++) {
    const xc = dxOff + ci * plane;
    for (let ki = 0; ki < kh; ki++) {
      const offH = ki * dilationH - padH;
      for (let kj = 0; kj < kw; kj++) {
        const offW = kj * dilationW - padW;
        validRange(offW, strideW, w, ow, rangeBuf);
        const lo = rangeBuf[0], hi = rangeBuf[1];
        for (let y = 0; y < oh; y++) {
          const ih = y * strideH + offH;
          if (ih >= 0 && ih < h) {
            let d = xc + ih * w + lo * strideW + offW;
            for (let xo = lo; xo < hi; xo++) {
              dx[d] += col[src + xo];
              d += strideW;
            }
          }
          src += ow;
        }
        src += skip;
      }
    }
  }
}

// Images per batched GEMM are limited so that the column matrix plus the gathered/ungathered
// output block stay under this many floats (8 MiB): big enough that LeNet-sized layers run as one
// GEMM per group, small enough that large inputs do not allocate huge scratch buffers.
const BATCH_SCRATCH_FLOATS = 1 << 21;

/** Images per batched GEMM: as many as fit the scratch bound, at least one. */
function imagesPerChunk(p: Conv2dParams, kk: number, og: number): number {
  const perImage = (kk + og) * p.oh * p.ow;
  return Math.max(1, Math.min(p.n, Math.floor(BATCH_SCRATCH_FLOATS / perImage)));
}

/**
 * Copies the `og` channel planes starting at channel `o0` of images [b0, b0 + cnt) from an
 * [N, O, pix] array into `dst` as an [og, cnt * pix] matrix (images side by side), so that the
 * batch becomes one GEMM operand.
 */
function gatherPlanes(
  src: Float32Array,
  o: number,
  o0: number,
  og: number,
  pix: number,
  b0: number,
  cnt: number,
  dst: Float32Array,
  dstOff: number,
): void {
  const ld = cnt * pix;
  for (let oc = 0; oc < og; oc++) {
    for (let i = 0; i < cnt; i++) {
      const s = ((b0 + i) * o + o0 + oc) * pix;
      dst.set(src.subarray(s, s + pix), dstOff + oc * ld + i * pix);
    }
  }
}

/**
 * Forward convolution. `x` is [N, C, H, W], `w` is [O, C/groups, KH, KW], `bias` is [O] or
 * null; returns y as a new [N, O, OH, OW] array. `stamp` identifies w's values where the caller
 * has its tensor ({@link weightStamp}), so that derived copies of them are reused.
 *
 * Unless the kernel is pointwise, the columns of a chunk of images are laid side by side so that
 * each group needs one wide GEMM ([og, kk] x [kk, images * pix]) instead of one per image: the
 * per-image products of small layers (M = 6, K = 25 in LeNet) are too small to run efficiently.
 */
export function conv2dForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
  gemm: Gemm = sgemm,
  stamp?: WeightStamp,
): Float32Array {
  checkParams(p);
  const { n, c, h, o, groups, oh, ow } = p;
  const cg = c / groups, og = o / groups;
  const kk = cg * p.kh * p.kw;
  const pix = oh * ow;
  const inPlane = h * p.w;
  checkLength("x", x, n * c * inPlane);
  checkLength("w", w, o * kk);
  if (bias) checkLength("bias", bias, o);
  const cr = cropTaps(p);
  if (cr) return conv2dForward(x, cropWeight(w, p, cr, stamp), bias, cr.p, gemm);
  // The wasm drivers allocate their own outputs.
  if (convKernels && !isPointwise(p)) {
    if (wasmDefault(gemm)) return wasmConvForward(convKernels, x, w, bias, p);
    return wasmConvForwardGemm(convKernels, x, w, bias, p, gemm);
  }
  const y = allocHost("float32", n * o * pix) as Float32Array;
  if (isPointwise(p) && pix === 1 && groups === 1) {
    // One pixel per image: y [N, O] = x [N, C] · wᵀ, one product for the batch.
    gemm(false, true, n, o, kk, 1, x, 0, kk, w, 0, kk, 0, y, 0, o);
    if (bias) addBias(y, bias, n, o, pix);
    return y;
  }
  if (isPointwise(p)) {
    // The input planes already are the column matrix of each image.
    for (let b = 0; b < n; b++) {
      for (let g = 0; g < groups; g++) {
        const xOff = (b * c + g * cg) * inPlane;
        const yOff = (b * o + g * og) * pix;
        gemm(false, false, og, pix, kk, 1, w, g * og * kk, kk, x, xOff, pix, 0, y, yOff, pix);
      }
    }
    if (bias) addBias(y, bias, n, o, pix);
    return y;
  }
  const chunk = imagesPerChunk(p, kk, og);
  const buf = getScratch((kk + og) * chunk * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    const ld = cnt * pix;
    const outOff = kk * ld;
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < cnt; i++) {
        im2col(x, ((b0 + i) * c + g * cg) * inPlane, cg, p, buf, i * pix, ld);
      }
      gemm(false, false, og, ld, kk, 1, w, g * og * kk, kk, buf, 0, ld, 0, buf, outOff, ld);
      // Scatter [og, images * pix] back to [images, og, pix], adding the bias on the way.
      for (let oc = 0; oc < og; oc++) {
        const bv = bias ? bias[g * og + oc] : 0;
        for (let i = 0; i < cnt; i++) {
          const src = outOff + oc * ld + i * pix;
          const dst = ((b0 + i) * o + g * og + oc) * pix;
          if (bv === 0) y.set(buf.subarray(src, src + pix), dst);
          else for (let q = 0; q < pix; q++) y[dst + q] = buf[src + q] + bv;
        }
      }
    }
  }
  return y;
}

/** y[b, oc, :] += bias[oc] for every image. */
function addBias(y: Float32Array, bias: Float32Array, n: number, o: number, pix: number): void {
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const bv = bias[oc];
      const start = (b * o + oc) * pix;
      const end = start + pix;
      for (let i = start; i < end; i++) y[i] += bv;
    }
  }
}

/**
 * Gradient of the convolution with respect to its input. `gy` is [N, O, OH, OW] and `w` is
 * [O, C/groups, KH, KW]; returns dx as a new [N, C, H, W] array. `stamp` as for
 * {@link conv2dForward}.
 *
 * Batched like {@link conv2dForward}: gy of a chunk of images is gathered into [og, images * pix],
 * one GEMM per group gives all their column gradients, and col2im scatters each image's slice.
 */
export function conv2dBackwardInput(
  gy: Float32Array,
  w: Float32Array,
  p: Conv2dParams,
  gemm: Gemm = sgemm,
  stamp?: WeightStamp,
): Float32Array {
  checkParams(p);
  const { n, c, h, o, groups, oh, ow } = p;
  const cg = c / groups, og = o / groups;
  const kk = cg * p.kh * p.kw;
  const pix = oh * ow;
  const inPlane = h * p.w;
  checkLength("gy", gy, n * o * pix);
  checkLength("w", w, o * kk);
  const cr = cropTaps(p);
  if (cr) return conv2dBackwardInput(gy, cropWeight(w, p, cr, stamp), cr.p, gemm);
  // The wasm drivers allocate their own outputs.
  if (convKernels && !isPointwise(p)) {
    if (wasmDefault(gemm)) return wasmConvBackwardInput(convKernels, gy, w, p);
    return wasmConvBackwardInputGemm(convKernels, gy, w, p, gemm);
  }
  const dx = allocHost("float32", n * c * inPlane) as Float32Array;
  if (isPointwise(p) && pix === 1 && groups === 1) {
    gemm(false, false, n, c, o, 1, gy, 0, o, w, 0, kk, 0, dx, 0, c);
    return dx;
  }
  if (isPointwise(p)) {
    for (let b = 0; b < n; b++) {
      for (let g = 0; g < groups; g++) {
        // Each (image, group) owns a disjoint slice of dx, so the GEMM can overwrite it.
        const dxOff = (b * c + g * cg) * inPlane;
        const gyOff = (b * o + g * og) * pix;
        gemm(true, false, kk, pix, og, 1, w, g * og * kk, kk, gy, gyOff, pix, 0, dx, dxOff, pix);
      }
    }
    return dx;
  }
  const chunk = imagesPerChunk(p, kk, og);
  const buf = getScratch((kk + og) * chunk * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    const ld = cnt * pix;
    const gyOff = kk * ld;
    for (let g = 0; g < groups; g++) {
      gatherPlanes(gy, o, g * og, og, pix, b0, cnt, buf, gyOff);
      gemm(true, false, kk, ld, og, 1, w, g * og * kk, kk, buf, gyOff, ld, 0, buf, 0, ld);
      for (let i = 0; i < cnt; i++) {
        col2im(buf, i * pix, ld, cg, p, dx, ((b0 + i) * c + g * cg) * inPlane);
      }
    }
  }
  return dx;
}

/**
 * Gradient of the convolution with respect to its weight. `gy` is [N, O, OH, OW] and `x` is
 * [N, C, H, W]; returns dw as a new [O, C/groups, KH, KW] array summed over the batch.
 *
 * Batched: with the columns and gy of a chunk of images side by side, the sum over images becomes
 * the depth of one GEMM ([og, images * pix] x [images * pix, kk]) per group.
 */
export function conv2dBackwardWeight(
  gy: Float32Array,
  x: Float32Array,
  p: Conv2dParams,
  gemm: Gemm = sgemm,
): Float32Array {
  checkParams(p);
  const { n, c, h, o, groups, oh, ow } = p;
  const cg = c / groups, og = o / groups;
  const kk = cg * p.kh * p.kw;
  const pix = oh * ow;
  const inPlane = h * p.w;
  checkLength("gy", gy, n * o * pix);
  checkLength("x", x, n * c * inPlane);
  const cr = cropTaps(p);
  if (cr) return uncropWeight(conv2dBackwardWeight(gy, x, cr.p, gemm), p, cr);
  // The wasm drivers allocate their own outputs.
  if (convKernels && !isPointwise(p)) {
    if (wasmDefault(gemm)) return wasmConvBackwardWeight(convKernels, gy, x, p);
    return wasmConvBackwardWeightGemm(convKernels, gy, x, p, gemm);
  }
  const dw = allocHost("float32", o * kk) as Float32Array;
  if (isPointwise(p) && pix === 1 && groups === 1) {
    gemm(true, false, o, c, n, 1, gy, 0, o, x, 0, c, 0, dw, 0, c);
    return dw;
  }
  if (isPointwise(p)) {
    for (let b = 0; b < n; b++) {
      for (let g = 0; g < groups; g++) {
        const xOff = (b * c + g * cg) * inPlane;
        const gyOff = (b * o + g * og) * pix;
        const beta = b === 0 ? 0 : 1;
        gemm(false, true, og, kk, pix, 1, gy, gyOff, pix, x, xOff, pix, beta, dw, g * og * kk, kk);
      }
    }
    return dw;
  }
  const chunk = imagesPerChunk(p, kk, og);
  const buf = getScratch((kk + og) * chunk * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    const ld = cnt * pix;
    const gyOff = kk * ld;
    const beta = b0 === 0 ? 0 : 1;
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < cnt; i++) {
        im2col(x, ((b0 + i) * c + g * cg) * inPlane, cg, p, buf, i * pix, ld);
      }
      gatherPlanes(gy, o, g * og, og, pix, b0, cnt, buf, gyOff);
      gemm(false, true, og, kk, ld, 1, buf, gyOff, ld, buf, 0, ld, beta, dw, g * og * kk, kk);
    }
  }
  return dw;
}
