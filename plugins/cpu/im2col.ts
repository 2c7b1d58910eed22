/**
 * The JS unrolling of the convolution for engines without WebAssembly SIMD, {@link im2col} and its
 * adjoint {@link col2im}, and the geometry of a convolution window along one axis: the output size
 * ({@link conv2dOutputSize}, also checked by the tap cropping of conv_crop.ts) and the output
 * positions whose taps read the input.
 *
 * @module
 */

import type { Conv2dParams } from "./conv.ts";

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
export function im2col(
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
export function col2im(
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
