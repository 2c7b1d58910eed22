/**
 * cpu kernel of adaptive max pooling: per plane, the maximum of each adaptive window and its flat
 * index `h·W + w`, with PyTorch's rule that a NaN wins (the last NaN of the window) and that a
 * window of −∞ reports its first element. The gradient is the core `scatterAdd` op.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import { outputF32, outputI32 } from "../../core/host_pool.ts";
import {
  adaptiveEnd,
  adaptiveMaxPool2dOp,
  adaptiveStart,
} from "../../layers/ops/adaptive_max_pool.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

/** Adaptive max pooling of a dense [N, C, H, W] array; returns the values and the indices. */
export function adaptiveMaxPool2dForward(
  x: Float32Array,
  planes: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
): { y: Float32Array; indices: Int32Array } {
  const y = outputF32(planes * oh * ow);
  const indices = outputI32(planes * oh * ow);
  const h0 = new Int32Array(oh), h1 = new Int32Array(oh);
  const w0 = new Int32Array(ow), w1 = new Int32Array(ow);
  for (let i = 0; i < oh; i++) [h0[i], h1[i]] = [adaptiveStart(i, h, oh), adaptiveEnd(i, h, oh)];
  for (let i = 0; i < ow; i++) [w0[i], w1[i]] = [adaptiveStart(i, w, ow), adaptiveEnd(i, w, ow)];
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let best = -Infinity, at = h0[oy] * w + w0[ox];
        for (let ih = h0[oy]; ih < h1[oy]; ih++) {
          for (let iw = w0[ox]; iw < w1[ox]; iw++) {
            const v = x[base + ih * w + iw];
            if (v > best || v !== v) {
              best = v;
              at = ih * w + iw;
            }
          }
        }
        y[o] = best;
        indices[o] = at;
      }
    }
  }
  return { y, indices };
}

/** Adaptive max pooling kernel table of the cpu backend. */
export const adaptiveMaxPoolKernels: CpuKernelTable = {
  ...kernelFor(adaptiveMaxPool2dOp, {
    dtypes: ["float32"],
    run([x], a) {
      const [n, c, h, w] = x.shape;
      const r = adaptiveMaxPool2dForward(
        hostArray(x, "float32"),
        n * c,
        h,
        w,
        a.outputSize[0],
        a.outputSize[1],
      );
      return [r.y, r.indices];
    },
  }),
};
