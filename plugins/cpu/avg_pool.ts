/**
 * Average pooling and adaptive average pooling over plain typed arrays (NCHW, row-major,
 * contiguous), following PyTorch's CPU semantics: padding counts as zeros (and towards the divisor
 * with `countIncludePad`), windows are clipped to the input before summing, and adaptive bins may
 * overlap. Max pooling and the shared {@link Pool2dParams} are in pool.ts.
 *
 * @module
 */

import { allocHost } from "../../core/dtype.ts";
import { outputF32 } from "../../core/host_pool.ts";
import type { Pool2dParams } from "./pool.ts";

/**
 * Computes the divisor of one average-pooling window and writes its clipped bounds into `win`
 * ([ih0, ih1, iw0, iw1]). Returns 0 for a window that covers no input element.
 */
function avgWindow(p: Pool2dParams, oy: number, ox: number, win: Int32Array): number {
  let ih0 = oy * p.strideH - p.padH;
  let iw0 = ox * p.strideW - p.padW;
  // Clipping to the padded extent first is what keeps ceil_mode overhang out of the
  // count_include_pad divisor, while real padding still counts.
  let ih1 = Math.min(ih0 + p.kh, p.h + p.padH);
  let iw1 = Math.min(iw0 + p.kw, p.w + p.padW);
  const padded = (ih1 - ih0) * (iw1 - iw0);
  ih0 = Math.max(ih0, 0);
  iw0 = Math.max(iw0, 0);
  ih1 = Math.min(ih1, p.h);
  iw1 = Math.min(iw1, p.w);
  win[0] = ih0;
  win[1] = ih1;
  win[2] = iw0;
  win[3] = iw1;
  if (ih0 >= ih1 || iw0 >= iw1) return 0;
  if (p.divisorOverride !== undefined) return p.divisorOverride;
  return p.countIncludePad ? padded : (ih1 - ih0) * (iw1 - iw0);
}

function checkDivisor(p: Pool2dParams): void {
  if (p.divisorOverride === 0) {
    throw new RangeError("avgPool2d: divisorOverride must be non-zero");
  }
}

/** Average pooling (PyTorch semantics for count_include_pad, ceil_mode and divisor_override). */
export function avgPool2dForward(x: Float32Array, p: Pool2dParams): Float32Array {
  checkDivisor(p);
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w;
  const y = outputF32(planes * oh * ow);
  const win = new Int32Array(4);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const div = avgWindow(p, oy, ox, win);
        if (div === 0) {
          o++;
          continue;
        }
        const iw0 = win[2], iw1 = win[3];
        let s = 0;
        for (let ih = win[0]; ih < win[1]; ih++) {
          const row = base + ih * w;
          for (let iw = iw0; iw < iw1; iw++) s += x[row + iw];
        }
        y[o++] = s / div;
      }
    }
  }
  return y;
}

/** Gradient of {@link avgPool2dForward}; returns dx as a new [N, C, H, W] array. */
export function avgPool2dBackward(gy: Float32Array, p: Pool2dParams): Float32Array {
  checkDivisor(p);
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w;
  const dx = allocHost("float32", planes * inPlane) as Float32Array;
  const win = new Int32Array(4);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const div = avgWindow(p, oy, ox, win);
        if (div === 0) {
          o++;
          continue;
        }
        const g = gy[o++] / div;
        const iw0 = win[2], iw1 = win[3];
        for (let ih = win[0]; ih < win[1]; ih++) {
          const row = base + ih * w;
          for (let iw = iw0; iw < iw1; iw++) dx[row + iw] += g;
        }
      }
    }
  }
  return dx;
}

/**
 * Fills `lo`/`hi` with PyTorch's adaptive bins: bin i covers [floor(i*in/out), ceil((i+1)*in/out)),
 * so neighbouring bins may overlap when `in` is not a multiple of `out`.
 */
function adaptiveBins(inSize: number, outSize: number, lo: Int32Array, hi: Int32Array): void {
  for (let i = 0; i < outSize; i++) {
    lo[i] = Math.floor((i * inSize) / outSize);
    hi[i] = Math.floor(((i + 1) * inSize + outSize - 1) / outSize);
  }
}

/** Adaptive average pooling of [N, C, H, W] down to [N, C, OH, OW]. */
export function adaptiveAvgPool2dForward(
  x: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
): Float32Array {
  const hLo = new Int32Array(oh), hHi = new Int32Array(oh);
  const wLo = new Int32Array(ow), wHi = new Int32Array(ow);
  adaptiveBins(h, oh, hLo, hHi);
  adaptiveBins(w, ow, wLo, wHi);
  const planes = n * c;
  const inPlane = h * w;
  const y = outputF32(planes * oh * ow);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    for (let oy = 0; oy < oh; oy++) {
      const ih0 = hLo[oy], ih1 = hHi[oy];
      for (let ox = 0; ox < ow; ox++) {
        const iw0 = wLo[ox], iw1 = wHi[ox];
        let s = 0;
        for (let ih = ih0; ih < ih1; ih++) {
          const row = base + ih * w;
          for (let iw = iw0; iw < iw1; iw++) s += x[row + iw];
        }
        y[o++] = s / ((ih1 - ih0) * (iw1 - iw0));
      }
    }
  }
  return y;
}

/** Gradient of {@link adaptiveAvgPool2dForward}; returns dx as a new [N, C, H, W] array. */
export function adaptiveAvgPool2dBackward(
  gy: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
): Float32Array {
  const hLo = new Int32Array(oh), hHi = new Int32Array(oh);
  const wLo = new Int32Array(ow), wHi = new Int32Array(ow);
  adaptiveBins(h, oh, hLo, hHi);
  adaptiveBins(w, ow, wLo, wHi);
  const planes = n * c;
  const inPlane = h * w;
  const dx = allocHost("float32", planes * inPlane) as Float32Array;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    for (let oy = 0; oy < oh; oy++) {
      const ih0 = hLo[oy], ih1 = hHi[oy];
      for (let ox = 0; ox < ow; ox++) {
        const iw0 = wLo[ox], iw1 = wHi[ox];
        const g = gy[o++] / ((ih1 - ih0) * (iw1 - iw0));
        for (let ih = ih0; ih < ih1; ih++) {
          const row = base + ih * w;
          for (let iw = iw0; iw < iw1; iw++) dx[row + iw] += g;
        }
      }
    }
  }
  return dx;
}
