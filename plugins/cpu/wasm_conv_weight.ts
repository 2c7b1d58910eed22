/**
 * The weight gradient of a convolution entirely in wasm (the drivers of wasm_conv.ts, split out):
 * per image im2col and the dot kernel, with the images of a chunk unrolled side by side on
 * several threads; small weights (LeNet's) sum blocks of images into partial gradients.
 *
 * @module
 */

import type { Conv2dParams } from "./conv.ts";
import { type Plan, planFor } from "./threads.ts";
import {
  CHUNK_FLOATS,
  type Geometry,
  geometry,
  heapRegions,
  MIN_WORK_PER_THREAD,
  padded,
  planIm2col,
  planPad,
  ranges,
  slot,
} from "./wasm_conv_heap.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";

/**
 * Weight gradient entirely in wasm. Small weights (see {@link batchBlocks}) take
 * {@link backwardWeightBlocked}. Otherwise: per image and group, im2col and then
 * dW_g += gy_g @ col^T by the dot kernel, which reads gy's planes and the column rows in place. On
 * several threads the images of a chunk are first padded and unrolled side by side (work items are
 * ranges of planes), then each item adds every image's product into its own columns of dW, in
 * image order as on one thread.
 */
export function wasmConvBackwardWeight(
  k: ConvKernels,
  gy: Float32Array,
  x: Float32Array,
  p: Conv2dParams,
): Float32Array {
  const g = geometry(p);
  const { n, c, o, groups } = p;
  const { og, kk, pix, pixp } = g;
  const blocked = batchBlocks(n, o * kk);
  if (blocked) return backwardWeightBlocked(k, gy, x, p, g, blocked.size, blocked.count);
  // Columns of dW are shared out in whole tiles of the dot kernel.
  const tiles = Math.ceil(kk / k.dotCols);
  const plan = planFor(n * o * pix * kk, tiles, MIN_WORK_PER_THREAD);
  const threads = plan.threads;
  const khw = p.kh * p.kw;
  const pad = padded(p);
  // One thread pads and unrolls one image at a time; several keep the whole chunk unrolled.
  const perImage = threads > 1 ? c * khw * pixp + (pad ? c * g.planeP : 0) : 0;
  const chunk = Math.max(
    1,
    Math.min(n, Math.floor(CHUNK_FLOATS / (o * pix + c * g.inPlane + perImage))),
  );
  const { at, f } = heapRegions([
    chunk * o * pix,
    chunk * c * g.inPlane,
    pad ? (threads > 1 ? chunk : 1) * c * g.planeP : 0,
    threads > 1 ? chunk * c * khw * pixp : kk * pixp,
    o * kk,
  ]);
  const [GY, X, XP, COL, DW] = at;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(gy.subarray(b0 * o * pix, (b0 + cnt) * o * pix), GY);
    f.set(x.subarray(b0 * c * g.inPlane, (b0 + cnt) * c * g.inPlane), X);
    if (threads === 1) {
      for (let i = 0; i < cnt; i++) {
        const acc = b0 + i > 0 ? 1 : 0;
        const xi = X + i * c * g.inPlane;
        if (pad) planPad(plan, 0, k, p, c, xi, XP);
        for (let gi = 0; gi < groups; gi++) {
          const src = (pad ? XP : xi) + gi * g.cg * g.planeP;
          planIm2col(plan, 0, k, p, g, g.cg, src, COL, pixp);
          const gyAt = GY + (i * o + gi * og) * pix;
          planDot(plan, 0, k, gyAt, pix, COL, pixp, DW + gi * og * kk, kk, og, kk, pix, acc);
        }
      }
      continue;
    }
    // Planes (image, channel) are consecutive in X, XP and (as rows) in COL, so a range of planes
    // is one pad and one im2col call.
    ranges(cnt * c, 4 * threads, (lo, hi) => {
      plan.item();
      const src = pad ? XP + lo * g.planeP : X + lo * g.inPlane;
      if (pad) planPad(plan, 0, k, p, hi - lo, X + lo * g.inPlane, src);
      planIm2col(plan, 0, k, p, g, hi - lo, src, COL + lo * khw * pixp, pixp);
    });
    plan.run();
    // Each item owns some columns of dW and adds the images into them in order.
    ranges(tiles, 4 * threads, (lo, hi) => {
      const j0 = k.dotCols * lo, j1 = Math.min(kk, k.dotCols * hi);
      plan.item();
      for (let i = 0; i < cnt; i++) {
        const acc = b0 + i > 0 ? 1 : 0;
        for (let gi = 0; gi < groups; gi++) {
          const col = COL + (i * c + gi * g.cg) * khw * pixp;
          planDot(
            plan,
            0,
            k,
            GY + (i * o + gi * og) * pix,
            pix,
            col + j0 * pixp,
            pixp,
            DW + gi * og * kk + j0,
            kk,
            og,
            j1 - j0,
            pix,
            acc,
          );
        }
      }
    });
    plan.run();
  }
  return f.slice(DW, DW + o * kk);
}

/**
 * Records C[m, n] (+)= A[m, depth] B[n, depth]^T (float offsets and pitches) with the dot kernel,
 * with the `scratch` mask of Plan.call (bit 0: a, bit 2: b, bit 4: c).
 */
function planDot(
  plan: Plan,
  scratch: number,
  k: ConvKernels,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  m: number,
  n: number,
  depth: number,
  acc: number,
): void {
  plan.call(k.ids.dot, scratch, 4 * a, 4 * lda, 4 * b, 4 * ldb, 4 * c, 4 * ldc, m, n, depth, acc);
}

// The weight gradient of a batch is summed per block of images into at most MAX_BLOCKS partial
// gradients of at most PARTIAL_FLOATS floats in all, then the partials are added in block order.
export const MAX_BLOCKS = 16;
export const PARTIAL_FLOATS = 1 << 18;

/**
 * The blocks of images (size, count) whose partial weight gradients {@link backwardWeightBlocked}
 * sums, or null where there would be fewer than two or their partials would take too much memory.
 * It depends on the batch and the weight size only, never on the thread count.
 */
function batchBlocks(n: number, weights: number): { size: number; count: number } | null {
  const size = Math.ceil(n / MAX_BLOCKS), count = Math.ceil(n / size);
  return count >= 2 && count * weights <= PARTIAL_FLOATS ? { size, count } : null;
}

/**
 * Weight gradient for small weights (LeNet's): each block of images is one work item that pads,
 * unrolls and multiplies its images one by one (dW_b += gy_g @ col^T, as on one thread, with the
 * padded planes and columns in the thread's own cache-sized scratch) into the block's partial
 * gradient; the partials are then added in block order. The blocks are the same on any number of
 * threads, so every element of dW is the same sum in the same order.
 */
function backwardWeightBlocked(
  k: ConvKernels,
  gy: Float32Array,
  x: Float32Array,
  p: Conv2dParams,
  g: Geometry,
  size: number,
  count: number,
): Float32Array {
  const { n, c, o, groups } = p;
  const { og, kk, pix, pixp } = g;
  const plan = planFor(n * o * pix * kk, count, MIN_WORK_PER_THREAD);
  const pad = padded(p);
  // With unit horizontal stride the dot kernel can read the (padded) planes in place, without
  // im2col. It sums each output row's ow % 4 last products one lane at a time, each costing as
  // much as four: on narrow rows (conv2's 10) im2col then costs less (measured on 2 cores).
  const inPlace = p.strideW === 1 && (p.ow % 4 === 0 || p.ow >= 48);
  const perImage = o * pix + c * g.inPlane;
  const chunk = Math.min(n, Math.max(1, Math.floor(CHUNK_FLOATS / perImage / size)) * size);
  const xpSlot = pad ? slot(c * g.planeP) : 0;
  const perThread = xpSlot + (inPlace ? 0 : slot(kk * pixp));
  const { at, f } = heapRegions([
    chunk * o * pix,
    chunk * c * g.inPlane,
    count * o * kk,
    plan.threads * perThread,
    inPlace ? kk : 0,
  ]);
  const [GY, X, PART, SCRATCH, TAB] = at;
  const XP = SCRATCH, COL = SCRATCH + xpSlot;
  if (inPlace) tapOffsets(f, TAB, p, g);
  plan.scratchStride(4 * perThread);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(gy.subarray(b0 * o * pix, (b0 + cnt) * o * pix), GY);
    f.set(x.subarray(b0 * c * g.inPlane, (b0 + cnt) * c * g.inPlane), X);
    for (let i0 = 0; i0 < cnt; i0 += size) {
      plan.item();
      const part = PART + ((b0 + i0) / size) * o * kk;
      for (let i = i0; i < Math.min(cnt, i0 + size); i++) {
        const xi = X + i * c * g.inPlane;
        if (pad) planPad(plan, 0b10, k, p, c, xi, XP);
        for (let gi = 0; gi < groups; gi++) {
          const src = (pad ? XP : xi) + gi * g.cg * g.planeP;
          const gyAt = GY + (i * o + gi * og) * pix;
          const acc = i > i0 ? 1 : 0;
          const dst = part + gi * og * kk;
          if (inPlace) {
            plan.call(
              k.ids.dotPlane,
              pad ? 0b100 : 0,
              4 * gyAt,
              4 * pix,
              4 * src,
              4 * TAB,
              4 * dst,
              4 * kk,
              og,
              kk,
              p.oh,
              p.ow,
              4 * p.strideH * g.wp,
              acc,
            );
            continue;
          }
          planIm2col(plan, pad ? 0b11 : 0b10, k, p, g, g.cg, src, COL, pixp);
          planDot(plan, 0b100, k, gyAt, pix, COL, pixp, dst, kk, og, kk, pix, acc);
        }
      }
    }
    plan.run();
  }
  const dw = f.slice(PART, PART + o * kk);
  for (let b = 1; b < count; b++) {
    const at = PART + b * o * kk;
    for (let j = 0; j < dw.length; j++) dw[j] += f[at + j];
  }
  return dw;
}

/**
 * Writes at float index `at` of the heap, as i32, the byte offset of each kernel tap (channel of
 * a group, row, column; im2col's row order) from the top-left of the group's padded planes.
 */
function tapOffsets(f: Float32Array, at: number, p: Conv2dParams, g: Geometry): void {
  const tab = new Int32Array(f.buffer, f.byteOffset + 4 * at, g.kk);
  let t = 0;
  for (let ci = 0; ci < g.cg; ci++) {
    for (let ki = 0; ki < p.kh; ki++) {
      for (let kj = 0; kj < p.kw; kj++) {
        tab[t++] = 4 * ((ci * g.hp + ki * p.dilationH) * g.wp + kj * p.dilationW);
      }
    }
  }
}
