/**
 * Shared checks of the all-wasm conv drivers' tests: float64 direct convolutions and gradients,
 * comparison within float32 rounding of long sums, and "the same bits on one and two threads".
 */

import assert from "node:assert/strict";
import type { Conv2dParams } from "../../plugins/cpu/conv.ts";
import { setCallerWorks, threadsUnavailable, workerItems } from "../../plugins/cpu/threads.ts";
import { getNumThreads, setNumThreads } from "../../plugins/cpu/threads_count.ts";

/** y = conv(x, w) + bias in float64. */
export function refForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
): Float64Array {
  const cg = p.c / p.groups, og = p.o / p.groups;
  const y = new Float64Array(p.n * p.o * p.oh * p.ow);
  for (let b = 0; b < p.n; b++) {
    for (let oc = 0; oc < p.o; oc++) {
      const g = Math.floor(oc / og);
      for (let yo = 0; yo < p.oh; yo++) {
        for (let xo = 0; xo < p.ow; xo++) {
          let s = bias ? bias[oc] : 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let ki = 0; ki < p.kh; ki++) {
              const iy = yo * p.strideH - p.padH + ki * p.dilationH;
              if (iy < 0 || iy >= p.h) continue;
              for (let kj = 0; kj < p.kw; kj++) {
                const ix = xo * p.strideW - p.padW + kj * p.dilationW;
                if (ix < 0 || ix >= p.w) continue;
                s += w[((oc * cg + ci) * p.kh + ki) * p.kw + kj] *
                  x[((b * p.c + g * cg + ci) * p.h + iy) * p.w + ix];
              }
            }
          }
          y[((b * p.o + oc) * p.oh + yo) * p.ow + xo] = s;
        }
      }
    }
  }
  return y;
}

/** dW[o, ci, ki, kj] = sum over n, y, x of gy[n, o, y, x] * x[n, g*cg + ci, iy, ix], in float64. */
export function refWeight(gy: Float32Array, x: Float32Array, p: Conv2dParams): Float64Array {
  const cg = p.c / p.groups, og = p.o / p.groups;
  const dw = new Float64Array(p.o * cg * p.kh * p.kw);
  for (let b = 0; b < p.n; b++) {
    for (let oc = 0; oc < p.o; oc++) {
      const g = Math.floor(oc / og);
      for (let ci = 0; ci < cg; ci++) {
        for (let ki = 0; ki < p.kh; ki++) {
          for (let kj = 0; kj < p.kw; kj++) {
            let s = 0;
            for (let y = 0; y < p.oh; y++) {
              const iy = y * p.strideH - p.padH + ki * p.dilationH;
              if (iy < 0 || iy >= p.h) continue;
              for (let xo = 0; xo < p.ow; xo++) {
                const ix = xo * p.strideW - p.padW + kj * p.dilationW;
                if (ix < 0 || ix >= p.w) continue;
                s += gy[((b * p.o + oc) * p.oh + y) * p.ow + xo] *
                  x[((b * p.c + g * cg + ci) * p.h + iy) * p.w + ix];
              }
            }
            dw[((oc * cg + ci) * p.kh + ki) * p.kw + kj] += s;
          }
        }
      }
    }
  }
  return dw;
}

/** dx = the transposed convolution of gy with w, in float64. */
export function refInput(gy: Float32Array, w: Float32Array, p: Conv2dParams): Float64Array {
  const cg = p.c / p.groups, og = p.o / p.groups;
  const dx = new Float64Array(p.n * p.c * p.h * p.w);
  for (let b = 0; b < p.n; b++) {
    for (let oc = 0; oc < p.o; oc++) {
      const g = Math.floor(oc / og);
      for (let yo = 0; yo < p.oh; yo++) {
        for (let xo = 0; xo < p.ow; xo++) {
          const v = gy[((b * p.o + oc) * p.oh + yo) * p.ow + xo];
          for (let ci = 0; ci < cg; ci++) {
            for (let ki = 0; ki < p.kh; ki++) {
              const iy = yo * p.strideH - p.padH + ki * p.dilationH;
              if (iy < 0 || iy >= p.h) continue;
              for (let kj = 0; kj < p.kw; kj++) {
                const ix = xo * p.strideW - p.padW + kj * p.dilationW;
                if (ix < 0 || ix >= p.w) continue;
                dx[((b * p.c + g * cg + ci) * p.h + iy) * p.w + ix] += v *
                  w[((oc * cg + ci) * p.kh + ki) * p.kw + kj];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** |got - want| within float32 rounding of sums of `terms` products (relative to the largest). */
export function close(what: string, got: Float32Array, want: Float64Array, terms: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  const tol = 2 ** -22 * Math.sqrt(terms) * Math.max(scale, 1) + 1e-6;
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]} (tolerance ${tol})`);
    }
  }
}

/** Asserts `a` and `b` hold the same float32 bits (NaN payloads and signed zeros included). */
export function sameBits(what: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]} (bits differ)`);
  }
}

/** Whether worker threads run here. */
export const threaded: boolean = threadsUnavailable() === null;

/** f() on one thread and on two (the workers doing every item), asserted bit-identical. */
export function onOneAndTwo(
  what: string,
  f: () => Float32Array,
  mustThread: boolean,
): Float32Array {
  const before = getNumThreads();
  const prev = setCallerWorks(false);
  try {
    setNumThreads(1);
    const one = f();
    if (!threaded) return one;
    setNumThreads(2);
    const items = workerItems();
    const two = f();
    if (mustThread) assert.ok(workerItems() > items, `${what}: the workers ran no item`);
    sameBits(what, one, two);
    return one;
  } finally {
    setCallerWorks(prev);
    setNumThreads(before);
  }
}

/** Whether the conv is over the driver's threshold for two threads (2^19 multiply-adds each). */
export const bigEnough = (p: Conv2dParams): boolean =>
  p.n * p.o * p.oh * p.ow * (p.c / p.groups) * p.kh * p.kw >= 1 << 20;
