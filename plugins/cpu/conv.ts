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
 * lowering below (its im2col and col2im are in im2col.ts) is the fallback for engines without
 * WebAssembly SIMD. Kernel taps that only ever read padding are dropped first (conv_crop.ts).
 *
 * @module
 */

import { allocHost } from "../../core/dtype.ts";
import { recycleHost } from "../../core/host_pool.ts";
import { gemmPath, sgemm } from "./gemm.ts";
import { cropTaps, cropWeight, uncropWeight, type WeightStamp } from "./conv_crop.ts";
import { col2im, im2col } from "./im2col.ts";
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

/**
 * Whether a pointwise convolution (1 × 1, unit stride, no padding) goes to the wasm drivers, which
 * lay a chunk of images side by side for one product per chunk (injected GEMM) or keep the whole
 * convolution in wasm (default GEMM), instead of one GEMM per image straight on its input planes.
 * Measured on the 2-core VM (docs/BENCHMARKS.md, 2026-12-07: batch 16 and 64, 16–832 channels in,
 * 16–256 out, maps 2 × 2 to 32 × 32). With BLAS, per-image products of a few columns repack the
 * weight on every call: on 2 × 2 maps the chunked product took 0.26–0.93 of the time (up to 1.12
 * for weight gradients with 16 outputs), on 4 × 4 with 128 or more outputs 0.53–1.09 and with
 * 64–112 outputs 0.47–0.89 in most passes (`bench/conv_ab.ts --set googlenet`, 2026-12-08; one
 * input gradient 1.13; with 16–32 outputs 1.0–1.45, left per image), while on 16 × 16 maps it mostly cost 1.0–1.9 (the copies in and out of the heap). Without BLAS the wasm
 * drivers took 0.13–0.9 of the time on maps up to 8 × 8 and 0.5–1.37 on larger ones, but up to
 * 2.2× on the weight gradient of 2 × 2 and 4 × 4 maps with few channels. Kernel-internal (exported
 * for tests).
 */
export function pointwiseOnDrivers(
  p: Conv2dParams,
  gemm: Gemm,
  pass: "forward" | "input" | "weight",
): boolean {
  const pix = p.oh * p.ow, og = p.o / p.groups, kk = p.c / p.groups;
  // One pixel per image is one product for the whole batch already.
  if (pix === 1 && p.groups === 1) return false;
  if (wasmDefault(gemm)) return pass !== "weight" || pix > 16 || (kk >= 256 && og >= 32);
  return pix <= 4 || (pix <= 16 && og >= 64) ||
    (og >= 128 && pix <= 64 && kk >= 256 && og * kk <= 1 << 17);
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

function checkLength(name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length < expected) {
    throw new RangeError(`conv2d: ${name} has ${a.length} elements, expected ${expected}`);
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
  if (convKernels && (!isPointwise(p) || pointwiseOnDrivers(p, gemm, "forward"))) {
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
  if (convKernels && (!isPointwise(p) || pointwiseOnDrivers(p, gemm, "input"))) {
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
  if (cr) {
    const inner = conv2dBackwardWeight(gy, x, cr.p, gemm);
    const dw = uncropWeight(inner, p, cr);
    // The cropped gradient is a temporary nobody else holds: back to the pool for the next step
    // (else a ResNet-18 step in scope() allocated 3 MB anew for its last stage).
    recycleHost(inner);
    return dw;
  }
  // The wasm drivers allocate their own outputs.
  if (convKernels && (!isPointwise(p) || pointwiseOnDrivers(p, gemm, "weight"))) {
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
