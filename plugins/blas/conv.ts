/**
 * 2-D convolution lowered to BLAS sgemm (NCHW, contiguous): per image and group the input window
 * is unrolled into a column matrix [C/groups * KH * KW, OH * OW] (im2col), so the forward pass is
 * W_g @ col, the input gradient col2im(W_gᵀ @ gy) and the weight gradient Σ_n gy @ colᵀ.
 * A 1x1, stride-1, unpadded kernel needs no unrolling: the input plane is the column matrix.
 *
 * @module
 */

import type { Sgemm } from "./ffi.ts";

/** Shape and hyper-parameters of a 2-D convolution; pairs are [height, width]. */
export interface ConvGeometry {
  /** Batch size. */
  n: number;
  /** Input channels. */
  c: number;
  /** Input height and width. */
  in: [number, number];
  /** Output channels. */
  o: number;
  /** Kernel height and width. */
  kernel: [number, number];
  /** Stride. */
  stride: [number, number];
  /** Zero padding on each side. */
  padding: [number, number];
  /** Spacing between kernel taps. */
  dilation: [number, number];
  /** Channel groups. */
  groups: number;
  /** Output height and width. */
  out: [number, number];
}

// One growing column buffer reused across calls: JS is single-threaded and sgemm is synchronous.
let scratch = new Float32Array(0);
function colBuffer(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
}

function pointwise(g: ConvGeometry): boolean {
  return g.kernel[0] === 1 && g.kernel[1] === 1 && g.stride[0] === 1 && g.stride[1] === 1 &&
    g.padding[0] === 0 && g.padding[1] === 0;
}

/**
 * Calls `row(dst, src, lo, hi)` for each output row of each kernel tap of `cg` channels: `dst` is
 * the row's start in the column matrix; output columns [lo, hi) read input `src + xo * strideW`,
 * the rest fall in the padding (all of them, lo = hi = 0, for a row in the vertical padding).
 */
function forEachRow(
  g: ConvGeometry,
  cg: number,
  row: (dst: number, src: number, lo: number, hi: number) => void,
): void {
  const [h, w] = g.in, [kh, kw] = g.kernel, [sh, sw] = g.stride;
  const [ph, pw] = g.padding, [dh, dw] = g.dilation, [oh, ow] = g.out;
  let dst = 0;
  for (let ci = 0; ci < cg; ci++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const offW = kj * dw - pw;
        const lo = offW >= 0 ? 0 : Math.min(ow, Math.ceil(-offW / sw));
        const hi = Math.max(lo, Math.min(ow, Math.floor((w - 1 - offW) / sw) + 1));
        for (let y = 0; y < oh; y++) {
          const ih = y * sh + ki * dh - ph;
          if (ih >= 0 && ih < h) row(dst, (ci * h + ih) * w + offW, lo, hi);
          else row(dst, 0, 0, 0);
          dst += ow;
        }
      }
    }
  }
}

/** Unrolls `cg` channels of `x` (starting at the first) into `col`. */
function im2col(x: Float32Array, cg: number, g: ConvGeometry, col: Float32Array): void {
  const ow = g.out[1], sw = g.stride[1];
  forEachRow(g, cg, (dst, src, lo, hi) => {
    if (lo > 0) col.fill(0, dst, dst + lo);
    if (sw === 1) col.set(x.subarray(src + lo, src + hi), dst + lo);
    else for (let xo = lo, s = src + lo * sw; xo < hi; xo++, s += sw) col[dst + xo] = x[s];
    if (hi < ow) col.fill(0, dst + hi, dst + ow);
  });
}

/** Adds each column entry back onto the input pixel it came from (inverse of im2col). */
function col2im(col: Float32Array, cg: number, g: ConvGeometry, dx: Float32Array): void {
  const sw = g.stride[1];
  forEachRow(g, cg, (dst, src, lo, hi) => {
    for (let xo = lo, d = src + lo * sw; xo < hi; xo++, d += sw) dx[d] += col[dst + xo];
  });
}

/** Forward convolution: x [N, C, H, W], w [O, C/groups, KH, KW], bias [O] or null → y. */
export function conv2dForward(
  sgemm: Sgemm,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  g: ConvGeometry,
): Float32Array {
  const { n, c, o, groups } = g;
  const cg = c / groups, og = o / groups, kk = cg * g.kernel[0] * g.kernel[1];
  const pix = g.out[0] * g.out[1], plane = g.in[0] * g.in[1];
  const y = new Float32Array(n * o * pix);
  const direct = pointwise(g);
  const col = direct ? x : colBuffer(kk * pix);
  for (let b = 0; b < n; b++) {
    for (let gi = 0; gi < groups; gi++) {
      const xg = x.subarray((b * c + gi * cg) * plane);
      if (!direct) im2col(xg, cg, g, col);
      const yg = y.subarray((b * o + gi * og) * pix);
      sgemm(
        false,
        false,
        og,
        pix,
        kk,
        1,
        w.subarray(gi * og * kk),
        kk,
        direct ? xg : col,
        pix,
        0,
        yg,
        pix,
      );
    }
    if (bias) {
      for (let oc = 0; oc < o; oc++) {
        const bv = bias[oc];
        for (let i = (b * o + oc) * pix, e = i + pix; i < e; i++) y[i] += bv;
      }
    }
  }
  return y;
}

/** Input gradient: gy [N, O, OH, OW], w [O, C/groups, KH, KW] → dx [N, C, H, W]. */
export function conv2dBackwardInput(
  sgemm: Sgemm,
  gy: Float32Array,
  w: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const { n, c, o, groups } = g;
  const cg = c / groups, og = o / groups, kk = cg * g.kernel[0] * g.kernel[1];
  const pix = g.out[0] * g.out[1], plane = g.in[0] * g.in[1];
  const dx = new Float32Array(n * c * plane);
  const direct = pointwise(g);
  const dcol = direct ? dx : colBuffer(kk * pix);
  for (let b = 0; b < n; b++) {
    for (let gi = 0; gi < groups; gi++) {
      const dxg = dx.subarray((b * c + gi * cg) * plane);
      const gyg = gy.subarray((b * o + gi * og) * pix);
      // Each (image, group) owns a disjoint slice of dx, so the pointwise path may overwrite it.
      sgemm(
        true,
        false,
        kk,
        pix,
        og,
        1,
        w.subarray(gi * og * kk),
        kk,
        gyg,
        pix,
        0,
        direct ? dxg : dcol,
        pix,
      );
      if (!direct) col2im(dcol, cg, g, dxg);
    }
  }
  return dx;
}

/** Weight gradient: gy [N, O, OH, OW], x [N, C, H, W] → dw [O, C/groups, KH, KW]. */
export function conv2dBackwardWeight(
  sgemm: Sgemm,
  gy: Float32Array,
  x: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const { n, c, o, groups } = g;
  const cg = c / groups, og = o / groups, kk = cg * g.kernel[0] * g.kernel[1];
  const pix = g.out[0] * g.out[1], plane = g.in[0] * g.in[1];
  const dw = new Float32Array(o * kk);
  const direct = pointwise(g);
  const col = direct ? x : colBuffer(kk * pix);
  for (let b = 0; b < n; b++) {
    for (let gi = 0; gi < groups; gi++) {
      const xg = x.subarray((b * c + gi * cg) * plane);
      if (!direct) im2col(xg, cg, g, col);
      const gyg = gy.subarray((b * o + gi * og) * pix);
      const dwg = dw.subarray(gi * og * kk);
      sgemm(
        false,
        true,
        og,
        kk,
        pix,
        1,
        gyg,
        pix,
        direct ? xg : col,
        pix,
        b === 0 ? 0 : 1,
        dwg,
        kk,
      );
    }
  }
  return dw;
}
