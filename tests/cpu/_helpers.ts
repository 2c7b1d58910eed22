// Shared helpers of the cpu kernel tests: conv and 2x2 pooling parameters, and seeded inputs.

import type { Conv2dParams } from "../../plugins/cpu/conv.ts";
import { conv2dOutputSize } from "../../plugins/cpu/im2col.ts";
import { pool2dOutputSize, type Pool2dParams } from "../../plugins/cpu/pool.ts";

/** The shape of a convolution: batch, channels, input size, output channels and kernel size. */
export type ConvShape = Pick<Conv2dParams, "n" | "c" | "h" | "w" | "o" | "kh" | "kw">;

/**
 * Conv2dParams of `shape`, with stride 1, no padding, dilation 1 and one group unless `shape`
 * gives them, and the output size computed.
 */
export function convParams(shape: ConvShape & Partial<Conv2dParams>): Conv2dParams {
  const p = {
    strideH: 1,
    strideW: 1,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    ...shape,
    oh: 0,
    ow: 0,
  };
  p.oh = conv2dOutputSize(p.h, p.kh, p.strideH, p.padH, p.dilationH);
  p.ow = conv2dOutputSize(p.w, p.kw, p.strideW, p.padW, p.dilationW);
  return p;
}

/** Pool2dParams of a 2x2, stride-2 window without padding over [n, c, h, w]. */
export function pool2x2Params(
  n: number,
  c: number,
  h: number,
  w: number,
  ceilMode = false,
): Pool2dParams {
  return {
    n,
    c,
    h,
    w,
    kh: 2,
    kw: 2,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    oh: pool2dOutputSize(h, 2, 2, 0, 1, ceilMode),
    ow: pool2dOutputSize(w, 2, 2, 0, 1, ceilMode),
    ceilMode,
    countIncludePad: true,
  };
}

/** `n` values in [-1, 1) from a linear congruential generator seeded with `seed`. */
export function random(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}
