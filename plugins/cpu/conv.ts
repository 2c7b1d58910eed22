/**
 * 2-D convolution kernels over plain typed arrays (NCHW, row-major, contiguous).
 *
 * Every kernel lowers the convolution to matrix products: per image and group the input window
 * is unrolled into a column matrix (im2col) of shape [C/groups * KH * KW, OH * OW], so the
 * forward pass is W_g @ col, the input gradient is col2im(W_g^T @ gy) and the weight gradient is
 * gy @ col^T summed over the batch. A 1x1 kernel with unit stride and no padding needs no unrolling:
 * the input plane already is the column matrix.
 *
 * @module
 */

import { sgemm } from "./gemm.ts";

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
 * Unrolls channels [cStart, cStart + cg) of one image into `col` ([cg*kh*kw, oh*ow]).
 * `xOff` points at the image's first channel.
 */
function im2col(
  x: Float32Array,
  xOff: number,
  cg: number,
  p: Conv2dParams,
  col: Float32Array,
): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, oh, ow } = p;
  const plane = h * w;
  let dst = 0;
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
          if (lo > 0) col.fill(0, dst, dst + lo);
          let src = xc + ih * w + lo * strideW + offW;
          for (let xo = lo; xo < hi; xo++) {
            col[dst + xo] = x[src];
            src += strideW;
          }
          if (hi < ow) col.fill(0, dst + hi, dst + ow);
          dst += ow;
        }
      }
    }
  }
}

/** Inverse of {@link im2col}: adds every column entry back onto the input pixel it came from. */
function col2im(
  col: Float32Array,
  cg: number,
  p: Conv2dParams,
  dx: Float32Array,
  dxOff: number,
): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, oh, ow } = p;
  const plane = h * w;
  let src = 0;
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
      }
    }
  }
}

/**
 * Forward convolution. `x` is [N, C, H, W], `w` is [O, C/groups, KH, KW], `bias` is [O] or
 * null; returns y as a new [N, O, OH, OW] array.
 */
export function conv2dForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
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
  const y = new Float32Array(n * o * pix);
  const direct = isPointwise(p);
  const col = direct ? x : getScratch(kk * pix);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (b * c + g * cg) * inPlane;
      let colOff = xOff;
      if (!direct) {
        im2col(x, xOff, cg, p, col);
        colOff = 0;
      }
      sgemm(
        false,
        false,
        og,
        pix,
        kk,
        1,
        w,
        g * og * kk,
        kk,
        col,
        colOff,
        pix,
        0,
        y,
        (b * o + g * og) * pix,
        pix,
      );
    }
    if (bias) {
      for (let oc = 0; oc < o; oc++) {
        const bv = bias[oc];
        const start = (b * o + oc) * pix;
        const end = start + pix;
        for (let i = start; i < end; i++) y[i] += bv;
      }
    }
  }
  return y;
}

/**
 * Gradient of the convolution with respect to its input. `gy` is [N, O, OH, OW] and `w` is
 * [O, C/groups, KH, KW]; returns dx as a new [N, C, H, W] array.
 */
export function conv2dBackwardInput(
  gy: Float32Array,
  w: Float32Array,
  p: Conv2dParams,
): Float32Array {
  checkParams(p);
  const { n, c, h, o, groups, oh, ow } = p;
  const cg = c / groups, og = o / groups;
  const kk = cg * p.kh * p.kw;
  const pix = oh * ow;
  const inPlane = h * p.w;
  checkLength("gy", gy, n * o * pix);
  checkLength("w", w, o * kk);
  const dx = new Float32Array(n * c * inPlane);
  const direct = isPointwise(p);
  const dcol = direct ? dx : getScratch(kk * pix);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const dxOff = (b * c + g * cg) * inPlane;
      // Each (image, group) owns a disjoint slice of dx, so the pointwise path can overwrite.
      sgemm(
        true,
        false,
        kk,
        pix,
        og,
        1,
        w,
        g * og * kk,
        kk,
        gy,
        (b * o + g * og) * pix,
        pix,
        0,
        dcol,
        direct ? dxOff : 0,
        pix,
      );
      if (!direct) col2im(dcol, cg, p, dx, dxOff);
    }
  }
  return dx;
}

/**
 * Gradient of the convolution with respect to its weight. `gy` is [N, O, OH, OW] and `x` is
 * [N, C, H, W]; returns dw as a new [O, C/groups, KH, KW] array summed over the batch.
 */
export function conv2dBackwardWeight(
  gy: Float32Array,
  x: Float32Array,
  p: Conv2dParams,
): Float32Array {
  checkParams(p);
  const { n, c, h, o, groups, oh, ow } = p;
  const cg = c / groups, og = o / groups;
  const kk = cg * p.kh * p.kw;
  const pix = oh * ow;
  const inPlane = h * p.w;
  checkLength("gy", gy, n * o * pix);
  checkLength("x", x, n * c * inPlane);
  const dw = new Float32Array(o * kk);
  const direct = isPointwise(p);
  const col = direct ? x : getScratch(kk * pix);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (b * c + g * cg) * inPlane;
      let colOff = xOff;
      if (!direct) {
        im2col(x, xOff, cg, p, col);
        colOff = 0;
      }
      sgemm(
        false,
        true,
        og,
        kk,
        pix,
        1,
        gy,
        (b * o + g * og) * pix,
        pix,
        col,
        colOff,
        pix,
        b === 0 ? 0 : 1,
        dw,
        g * og * kk,
        kk,
      );
    }
  }
  return dw;
}
