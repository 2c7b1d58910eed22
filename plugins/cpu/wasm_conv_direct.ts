/**
 * The direct-convolution forward path of the all-wasm drivers: where the channel counts are small
 * and the output rows wide enough, the kernels of wasm_product_kernels.ts (emitConvDirect) read the
 * padded input planes in place through a table of tap offsets, with no column matrix. The fused
 * forward convolution + 2 × 2 max pooling runs on it too. The forward driver of wasm_conv.ts
 * takes this path where {@link pickConvDirect} finds a kernel.
 *
 * @module
 */

import { outputF32, outputI32 } from "../../core/host_pool.ts";
import type { Conv2dParams } from "./conv.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";
import { type DirectConvShape, directTile } from "./wasm_product_kernels.ts";
import { planFor } from "./threads.ts";
import {
  biasTable,
  CHUNK_FLOATS,
  type Geometry,
  geometry,
  heapRegions,
  MIN_WORK_PER_THREAD,
  padded,
  planPad,
  slot,
  touchPages,
} from "./wasm_conv_heap.ts";

// The direct forward kernels take groups of at most this many input and output channels: above it
// the im2col GEMM's packed panels are as fast and its depth blocking bounds rounding growth.
const DIRECT_MAX_CHANNELS = 16;

/** A direct forward kernel (id) and its tile (channels x pixels of a row). */
interface DirectPick {
  id: number;
  chans: number;
  width: number;
}

/**
 * The direct convolution kernel (wasm_product_kernels.ts, emitConvDirect) for a forward convolution,
 * or null where it does not apply: it needs unit horizontal stride, output rows at least a tile
 * wide, and small channel counts. Of the two tiles (over pixels of a row, or over output
 * channels) it takes the one that wastes fewer lanes, if that wastes at most half of them.
 */
export function pickConvDirect(k: ConvKernels, p: Conv2dParams, g: Geometry): DirectPick | null {
  if (p.strideW !== 1 || g.og > DIRECT_MAX_CHANNELS || g.cg > DIRECT_MAX_CHANNELS) return null;
  let best: DirectPick | null = null, bestUse = 0.5;
  const shapes: [number, DirectConvShape][] = [
    [k.ids.convPixels, k.convPixels],
    [k.ids.convChannels, k.convChannels],
  ];
  for (const [id, shape] of shapes) {
    const { chans, width } = directTile(shape);
    if (p.ow < width) continue;
    const use = (g.og / (Math.ceil(g.og / chans) * chans)) *
      (p.ow / (Math.ceil(p.ow / width) * width));
    if (use >= bestUse) {
      best = { id, chans, width };
      bestUse = use;
    }
  }
  return best;
}

/**
 * For tests: the tile (output channels x pixels of a row) of the direct kernel that
 * {@link wasmConvForward} takes for `p`, or null where it takes im2col and the GEMM.
 *
 * @example
 * ```ts
 * import { forwardDirectTile } from "./wasm_conv_direct.ts";
 * import { convKernels } from "./wasm_conv_kernels.ts";
 * const p = {
 *   n: 1, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, strideH: 1, strideW: 1, padH: 2, padW: 2,
 *   dilationH: 1, dilationW: 1, groups: 1, oh: 28, ow: 28,
 * };
 * if (convKernels) console.log(forwardDirectTile(convKernels, p)); // { chans: 6, width: 8 }
 * ```
 */
export function forwardDirectTile(
  k: ConvKernels,
  p: Conv2dParams,
): { chans: number; width: number } | null {
  const d = pickConvDirect(k, p, geometry(p));
  return d && { chans: d.chans, width: d.width };
}

/**
 * Writes the direct kernel's tables at float indices of the heap: at `tab` (kk i32) the byte
 * offset of each tap from the top-left of a group's padded planes, taps ordered by kernel row,
 * channel, column; at `rows` (2 oh i32) each output row's range of taps [first, end) that read a
 * real input row (the others read only zero padding and are skipped).
 */
function directTables(f: Float32Array, tab: number, rows: number, p: Conv2dParams, g: Geometry) {
  const t32 = new Int32Array(f.buffer, f.byteOffset + 4 * tab, g.kk);
  let t = 0;
  for (let ki = 0; ki < p.kh; ki++) {
    for (let ci = 0; ci < g.cg; ci++) {
      for (let kj = 0; kj < p.kw; kj++) {
        t32[t++] = 4 * ((ci * g.hp + ki * p.dilationH) * g.wp + kj * p.dilationW);
      }
    }
  }
  const r32 = new Int32Array(f.buffer, f.byteOffset + 4 * rows, 2 * p.oh);
  const perRow = g.cg * p.kw;
  for (let oy = 0; oy < p.oh; oy++) {
    const iy = oy * p.strideH - p.padH;
    let lo = 0, hi = p.kh;
    while (lo < hi && iy + lo * p.dilationH < 0) lo++;
    while (hi > lo && iy + (hi - 1) * p.dilationH >= p.h) hi--;
    r32[2 * oy] = lo < hi ? lo * perRow : 0;
    r32[2 * oy + 1] = lo < hi ? hi * perRow : 0;
  }
}

/**
 * Packs the weights for the direct kernel at float index `dst`: per group, blocks of `chans`
 * output channels, each [tap][chans] in {@link directTables}' tap order, mp channels per group
 * (the rows past og zero).
 */
function packDirect(
  f: Float32Array,
  dst: number,
  w: Float32Array,
  p: Conv2dParams,
  g: Geometry,
  chans: number,
  mp: number,
): void {
  const { og, kk, cg } = g;
  const khw = p.kh * p.kw;
  f.fill(0, dst, dst + p.groups * mp * kk);
  for (let oc = 0; oc < p.o; oc++) {
    const gi = Math.floor(oc / og), r = oc % og;
    const base = dst + gi * mp * kk + Math.floor(r / chans) * chans * kk + (r % chans);
    let t = 0;
    for (let ki = 0; ki < p.kh; ki++) {
      for (let ci = 0; ci < cg; ci++) {
        const s = oc * kk + ci * khw + ki * p.kw;
        for (let kj = 0; kj < p.kw; kj++) f[base + chans * t++] = w[s + kj];
      }
    }
  }
}

/**
 * Forward convolution by the direct kernel (see {@link pickConvDirect}): per image, padding into
 * the thread's scratch, then per group one kernel call that reads the padded planes in place and
 * writes the output planes with their bias. Each image is one work item.
 */
export function forwardDirect(
  k: ConvKernels,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
  g: Geometry,
  d: DirectPick,
): Float32Array {
  return forwardDirectInto(k, x, w, bias, p, g, d, null).y;
}

/**
 * {@link forwardDirect}, or with `pool2x2` its output max-pooled by 2 × 2 windows of stride 2 in the
 * heap (by `pool2x2`, the SIMD kernel of wasm_pool2x2.ts, over each chunk once the threads are done), so
 * that only the pooled values and their indices (flat, within each conv output plane, as the
 * maxPool2d op's) leave the heap.
 */
function forwardDirectInto(
  k: ConvKernels,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
  g: Geometry,
  d: DirectPick,
  pool2x2: Pool2x2Heap | null,
  relu: HeapRelu | null = null,
): { y: Float32Array; indices: Int32Array | null } {
  const { n, c, o, groups } = p;
  const { og, kk, pix } = g;
  const pool = pool2x2 !== null;
  const mp = Math.ceil(og / d.chans) * d.chans;
  const plan = planFor(n * o * pix * kk, n, MIN_WORK_PER_THREAD);
  const poh = pool ? p.oh >> 1 : 0, pow = pool ? p.ow >> 1 : 0, ppix = poh * pow;
  const perImage = o * pix + c * g.inPlane + 2 * o * ppix;
  const chunk = Math.max(1, Math.min(n, Math.floor(CHUNK_FLOATS / perImage)));
  const pad = padded(p);
  const perThread = pad ? slot(c * g.planeP) : 0;
  const { at, f } = heapRegions([
    chunk * c * g.inPlane,
    plan.threads * perThread,
    groups * mp * kk,
    kk,
    2 * p.oh,
    chunk * o * pix,
    o,
    chunk * o * ppix,
    chunk * o * ppix,
  ]);
  const [X, XP, PW, TAB, ROWS, Y, BIAS, PY, PI] = at;
  packDirect(f, PW, w, p, g, d.chans, mp);
  directTables(f, TAB, ROWS, p, g);
  biasTable(f, BIAS, bias, o);
  plan.scratchStride(4 * perThread);
  const ints = new Int32Array(f.buffer);
  const y = outputF32(n * o * (pool ? ppix : pix));
  const indices = pool ? outputI32(n * o * ppix) : null;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(x.subarray(b0 * c * g.inPlane, (b0 + cnt) * c * g.inPlane), X);
    for (let i = 0; i < cnt; i++) {
      plan.item();
      const xi = X + i * c * g.inPlane;
      if (pad) planPad(plan, 0b10, k, p, c, xi, XP);
      for (let gi = 0; gi < groups; gi++) {
        plan.call(
          d.id,
          pad ? 0b1 : 0,
          4 * ((pad ? XP : xi) + gi * g.cg * g.planeP),
          4 * TAB,
          4 * (PW + gi * mp * kk),
          4 * (Y + (i * o + gi * og) * pix),
          4 * (BIAS + gi * og),
          kk,
          p.oh,
          p.ow,
          4 * p.strideH * g.wp,
          4 * pix,
          og,
          mp,
          4 * ROWS,
        );
      }
    }
    if (pool2x2 && indices) {
      plan.run();
      // The SIMD 2 × 2 kernel pools the whole chunk in one call on this thread (it writes a few
      // lanes past each row, which the next row overwrites, so it cannot be split by image).
      pool2x2(4 * Y, 4 * PY, 4 * PI, cnt * o, poh, pow, p.ow, 4 * pix);
      relu?.(4 * PY, cnt * o * ppix);
      y.set(f.subarray(PY, PY + cnt * o * ppix), b0 * o * ppix);
      indices.set(ints.subarray(PI, PI + cnt * o * ppix), b0 * o * ppix);
      continue;
    }
    plan.run(() => touchPages(y, b0 * o * pix, (b0 + cnt) * o * pix));
    y.set(f.subarray(Y, Y + cnt * o * pix), b0 * o * pix);
  }
  return { y, indices };
}

/**
 * Forward convolution followed by 2 × 2 max pooling with stride 2 (floor mode), in one pass over
 * the heap: the pooled values and their argmax indices as the maxPool2d op gives them for the
 * conv's output. Null where the direct kernel does not apply (the caller then runs the two ops).
 */
export function wasmConvForwardMaxPool2x2(
  k: ConvKernels,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
  pool2x2: Pool2x2Heap,
  relu: HeapRelu | null = null,
): { y: Float32Array; indices: Int32Array } | null {
  const g = geometry(p);
  const direct = pickConvDirect(k, p, g);
  if (!direct || p.oh < 2 || p.ow < 2) return null;
  const r = forwardDirectInto(k, x, w, bias, p, g, direct, pool2x2, relu);
  return { y: r.y, indices: r.indices! };
}

/**
 * ReLU in place over `n` floats of the heap at byte pointer `at`, writing up to 7 floats past them
 * (elementwise.ts's wasm kernel).
 */
export type HeapRelu = (at: number, n: number) => void;

/**
 * A 2 × 2 max-pooling kernel over heap byte pointers: (x, y, idx, planes, oh, ow, w, planeBytes),
 * as the SIMD `pool2x2` of wasm_pool2x2.ts (which may write up to 3 lanes past each output row).
 */
export type Pool2x2Heap = (...args: number[]) => void;

/** Whether {@link wasmConvForwardMaxPool2x2} applies to `p`. */
export function convMaxPool2x2Direct(k: ConvKernels, p: Conv2dParams): boolean {
  return p.oh >= 2 && p.ow >= 2 && pickConvDirect(k, p, geometry(p)) !== null;
}
