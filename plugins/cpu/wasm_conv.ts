/**
 * Convolution drivers over the WebAssembly kernels of wasm_conv_kernels.ts, entirely in wasm: images
 * are padded and unrolled (or read in place by the direct kernels) in wasm memory, multiplied
 * there, and written back, on worker threads. The weight gradient's drivers are in
 * wasm_conv_weight.ts, those over an injected GEMM (the blas backend's) in wasm_conv_gemm.ts, those
 * of the fused conv-pool backward in wasm_conv_pool.ts; the heap layout helpers here serve all.
 *
 * @module
 */

import { outputF32 } from "../../core/host_pool.ts";
import type { Conv2dParams } from "./conv.ts";
import { WASM_HEAP_BASE, wasmHeap } from "./wasm_gemm.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";
import { type DirectConvShape, directTile } from "./wasm_product_kernels.ts";
import { type Plan, planFor } from "./threads.ts";

// ---------------------------------------------------------------------------------------------
// Convolution drivers. Pointers passed to the kernels are byte offsets; the JS side keeps float
// indices into the view returned by wasmHeap and multiplies by 4 at the call.

// Float bound on the per-chunk buffers, as in the JS lowering (8 MiB).
export const CHUNK_FLOATS = 1 << 21;
// Depth block of the unpacked-B GEMM: sums are formed per block of this many products, which
// bounds float32 rounding growth like the packed GEMM's blocking.
const KC = 256;

/**
 * Float offsets of consecutive regions of the wasm heap (64-byte aligned, each followed by 16
 * spare floats for the kernels' vector overshoot) and a view of the heap that holds them. The
 * regions are scratch: the next call of any wasm kernel driver may reuse them.
 */
export function heapRegions(sizes: number[]): { at: number[]; f: Float32Array } {
  let o = WASM_HEAP_BASE >> 2; // page-aligned
  const at: number[] = [];
  for (const size of sizes) {
    at.push(o);
    // Each region starts on a cache line (16 floats), with at least 16 floats of room past it.
    o += Math.ceil(size / 16) * 16 + 16;
  }
  return { at, f: wasmHeap(4 * o - WASM_HEAP_BASE) };
}

/** Derived sizes of one convolution. */
export interface Geometry {
  cg: number;
  og: number;
  kk: number;
  pix: number;
  hp: number;
  wp: number;
  planeP: number;
  inPlane: number;
  /** Row pitch of a per-image column matrix: room for 8-column panels and 3 floats of overshoot. */
  pixp: number;
  /** Columns the unpacked-B GEMM computes: pix rounded up to its 8-column panels. */
  ncp: number;
}

export function geometry(p: Conv2dParams): Geometry {
  const cg = p.c / p.groups, og = p.o / p.groups;
  const pix = p.oh * p.ow;
  const hp = p.h + 2 * p.padH, wp = p.w + 2 * p.padW;
  return {
    cg,
    og,
    kk: cg * p.kh * p.kw,
    pix,
    hp,
    wp,
    planeP: hp * wp,
    inPlane: p.h * p.w,
    pixp: Math.ceil((pix + 4) / 8) * 8,
    ncp: Math.ceil(pix / 8) * 8,
  };
}

// ---------------------------------------------------------------------------------------------
// The all-wasm drivers. Their kernel calls go through a thread plan (threads.ts): with one thread
// each call runs at once; with more, the calls of a batch chunk are shared out (by image, or by
// columns of the weight gradient) and run together, each thread with its own scratch. Every output
// element comes from the same calls in the same order either way, so results do not depend on the
// thread count.

// Below this many multiply-adds per thread a convolution stays on one thread. Measured on 2 cores
// (min of 60 runs): LeNet-5's convs at ~2M multiply-adds (conv1 at batch 16, conv2 at batch 8)
// are even to 20% faster on two threads, at 7-15M (batch 64) 1.4-1.8x.
export const MIN_WORK_PER_THREAD = 1 << 19;

/** Floats of a per-thread scratch slot of `size` floats: 16-byte aligned, 16 floats of overshoot. */
export function slot(size: number): number {
  return Math.ceil(size / 4) * 4 + 16;
}

/**
 * Writes a zero into every 4 KiB page of a[lo, hi) (a fresh array), so that the page faults of
 * its first touch are taken now: passed to Plan.run, they overlap the workers' kernels instead of
 * slowing the copy out of the heap that follows (~2 µs per page).
 */
export function touchPages(a: Float32Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i += 1024) a[i] = 0;
  if (hi > lo) a[hi - 1] = 0;
}

/** Calls `body(lo, hi)` for `pieces` (or fewer) consecutive non-empty ranges of [0, total). */
export function ranges(
  total: number,
  pieces: number,
  body: (lo: number, hi: number) => void,
): void {
  const step = Math.ceil(total / pieces);
  for (let lo = 0; lo < total; lo += step) body(lo, Math.min(total, lo + step));
}

/**
 * The window arguments that im2col and col2im share, after their pointers and plane count: padded
 * plane height and width, kernel size, strides, dilations and output size.
 */
export function windowArgs(p: Conv2dParams, g: Geometry): number[] {
  return [g.hp, g.wp, p.kh, p.kw, p.strideH, p.strideW, p.dilationH, p.dilationW, p.oh, p.ow];
}

/**
 * Records `im2col` of `planes` consecutive padded planes at x into rows of pitch ld at col, with
 * the `scratch` mask of Plan.call (bit 0: x, bit 1: col).
 */
export function planIm2col(
  plan: Plan,
  scratch: number,
  k: ConvKernels,
  p: Conv2dParams,
  g: Geometry,
  planes: number,
  x: number,
  col: number,
  ld: number,
): void {
  plan.call(
    k.ids.im2col,
    scratch,
    4 * x,
    4 * col,
    4 * ld,
    planes,
    ...windowArgs(p, g),
  );
}

/** The unpacked-B kernel for an m-row product and its tile height (the wasmSgemm rule). */
function pickDirect(k: ConvKernels, m: number): { id: number; mr: number } {
  const padWide = Math.ceil(m / k.wideMr) * k.wideMr;
  const narrow = k.wideMr !== 4 && Math.ceil(m / 4) * 4 * 1.08 < padWide;
  return narrow ? { id: k.ids.directNarrow, mr: 4 } : { id: k.ids.directWide, mr: k.wideMr };
}

/**
 * Packs, per group, the rows x depth matrix A_g[r, q] = a[aOff(g, r, q)] into mr-row panels
 * (depth-major, rows padded with zeros to mp) at `dst`, group after group.
 */
function packPanels(
  f: Float32Array,
  dst: number,
  groups: number,
  rows: number,
  depth: number,
  mr: number,
  mp: number,
  a: Float32Array,
  rowStride: number,
  depthStride: number,
  groupStride: number,
): void {
  f.fill(0, dst, dst + groups * mp * depth);
  for (let g = 0; g < groups; g++) {
    const base = dst + g * mp * depth;
    for (let r = 0; r < rows; r++) {
      const d = base + Math.floor(r / mr) * depth * mr + (r % mr);
      const s = g * groupStride + r * rowStride;
      for (let q = 0; q < depth; q++) f[d + q * mr] = a[s + q * depthStride];
    }
  }
}

/**
 * Records the unpacked-B GEMM over depth blocks: C[mp, ncp] = A(panels) B(rows of pitch ldb), with
 * the `scratch` mask of Plan.call (bit 1: pb, bit 2: pc).
 */
function directGemm(
  plan: Plan,
  scratch: number,
  fn: number,
  mr: number,
  mp: number,
  ncp: number,
  depth: number,
  pa: number,
  pb: number,
  ldb: number,
  pc: number,
  ldc: number,
): void {
  for (let d = 0; d < depth; d += KC) {
    const kc = Math.min(KC, depth - d);
    plan.call(
      fn,
      scratch,
      4 * (pa + d * mr),
      4 * (pb + d * ldb),
      4 * pc,
      mp,
      ncp,
      kc,
      4 * ldc,
      d > 0 ? 1 : 0,
      4 * ldb,
      4 * depth * mr,
    );
  }
}

export function biasTable(f: Float32Array, at: number, bias: Float32Array | null, o: number): void {
  // Adding -0 leaves every value (also -0) unchanged, so a missing or zero bias is an exact copy.
  for (let oc = 0; oc < o; oc++) f[at + oc] = bias && bias[oc] !== 0 ? bias[oc] : -0;
}

/** Records `pad` (or, if there is no padding, a copy-free no-op) of `planes` planes. */
export function planPad(
  plan: Plan,
  scratch: number,
  k: ConvKernels,
  p: Conv2dParams,
  planes: number,
  src: number,
  dst: number,
): void {
  plan.call(k.ids.pad, scratch, 4 * src, 4 * dst, planes, p.h, p.w, p.padH, p.padW);
}

/** Whether the conv pads its input. */
export const padded = (p: Conv2dParams): boolean => p.padH !== 0 || p.padW !== 0;

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
function pickConvDirect(k: ConvKernels, p: Conv2dParams, g: Geometry): DirectPick | null {
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
 * import { forwardDirectTile } from "./wasm_conv.ts";
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
function forwardDirect(
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
 * heap (by `pool2x2`, pool.ts's SIMD kernel, over each chunk once the threads are done), so
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
  const indices = pool ? new Int32Array(n * o * ppix) : null;
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
 * as pool.ts's SIMD `pool2x2` (which may write up to 3 lanes past each output row).
 */
export type Pool2x2Heap = (...args: number[]) => void;

/** Whether {@link wasmConvForwardMaxPool2x2} applies to `p`. */
export function convMaxPool2x2Direct(k: ConvKernels, p: Conv2dParams): boolean {
  return p.oh >= 2 && p.ow >= 2 && pickConvDirect(k, p, geometry(p)) !== null;
}

/**
 * Forward convolution entirely in wasm: per image, padding, im2col into a cache-sized column
 * matrix, the unpacked-B GEMM straight from it, and a bias-adding copy into the output planes.
 * Each image is one work item; each thread has its own padded planes, columns and product.
 */
export function wasmConvForward(
  k: ConvKernels,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
): Float32Array {
  const g = geometry(p);
  const direct = pickConvDirect(k, p, g);
  if (direct) return forwardDirect(k, x, w, bias, p, g, direct);
  const { n, c, o, groups } = p;
  const { og, kk, pix, pixp } = g;
  const { id, mr } = pickDirect(k, og);
  const mp = Math.ceil(og / mr) * mr;
  const plan = planFor(n * o * pix * kk, n, MIN_WORK_PER_THREAD);
  const chunk = Math.max(1, Math.min(n, Math.floor(CHUNK_FLOATS / (o * pix + c * g.inPlane))));
  // Per thread, side by side: padded planes of one image, its columns, the product.
  const pad = padded(p);
  const xpSlot = pad ? slot(c * g.planeP) : 0, colSlot = slot(kk * pixp);
  const perThread = xpSlot + colSlot + slot(mp * pixp);
  const { at, f } = heapRegions([
    chunk * c * g.inPlane,
    plan.threads * perThread,
    groups * mp * kk,
    chunk * o * pix,
    o,
  ]);
  const [X, SCRATCH, PA, Y, BIAS] = at;
  const XP = SCRATCH, COL = SCRATCH + xpSlot, CT = COL + colSlot;
  packPanels(f, PA, groups, og, kk, mr, mp, w, kk, 1, og * kk);
  biasTable(f, BIAS, bias, o);
  plan.scratchStride(4 * perThread);
  const y = outputF32(n * o * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(x.subarray(b0 * c * g.inPlane, (b0 + cnt) * c * g.inPlane), X);
    for (let i = 0; i < cnt; i++) {
      plan.item();
      const xi = X + i * c * g.inPlane;
      if (pad) planPad(plan, 0b10, k, p, c, xi, XP);
      for (let gi = 0; gi < groups; gi++) {
        const src = (pad ? XP : xi) + gi * g.cg * g.planeP;
        planIm2col(plan, pad ? 0b11 : 0b10, k, p, g, g.cg, src, COL, pixp);
        directGemm(plan, 0b110, id, mr, mp, g.ncp, kk, PA + gi * mp * kk, COL, pixp, CT, pixp);
        plan.call(
          k.ids.biasRows,
          0b1,
          4 * CT,
          4 * pixp,
          4 * (Y + (i * o + gi * og) * pix),
          og,
          pix,
          4 * (BIAS + gi * og),
        );
      }
    }
    plan.run(() => touchPages(y, b0 * o * pix, (b0 + cnt) * o * pix));
    y.set(f.subarray(Y, Y + cnt * o * pix), b0 * o * pix);
  }
  return y;
}

/**
 * Input gradient entirely in wasm: per image and group, the unpacked-B GEMM W_g^T @ gy reads gy's
 * planes in place, and col2im adds the column gradients onto zeroed padded planes, whose interior
 * is then copied out. Each image is one work item; each thread has its own product and planes.
 */
export function wasmConvBackwardInput(
  k: ConvKernels,
  gy: Float32Array,
  w: Float32Array,
  p: Conv2dParams,
): Float32Array {
  const g = geometry(p);
  const { n, c, o, groups } = p;
  const { og, kk, pix, pixp } = g;
  const { id, mr } = pickDirect(k, kk);
  const mp = Math.ceil(kk / mr) * mr;
  const plan = planFor(n * o * pix * kk, n, MIN_WORK_PER_THREAD);
  const chunk = Math.max(1, Math.min(n, Math.floor(CHUNK_FLOATS / (o * pix + c * g.inPlane))));
  const pad = padded(p);
  const ctSlot = slot(mp * pixp), perThread = ctSlot + (pad ? slot(c * g.planeP) : 0);
  const { at, f } = heapRegions([
    chunk * o * pix,
    plan.threads * perThread,
    groups * mp * og,
    chunk * c * g.inPlane,
  ]);
  const [GY, CT, PA, DX] = at;
  const DXP = CT + ctSlot;
  packPanels(f, PA, groups, kk, og, mr, mp, w, 1, kk, og * kk);
  plan.scratchStride(4 * perThread);
  const dx = outputF32(n * c * g.inPlane);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(gy.subarray(b0 * o * pix, (b0 + cnt) * o * pix), GY);
    for (let i = 0; i < cnt; i++) {
      plan.item();
      // Without padding the image's own planes in DX are the accumulator.
      const acc = pad ? DXP : DX + i * c * g.inPlane;
      plan.call(k.ids.zero, pad ? 0b1 : 0, 4 * acc, c * g.planeP);
      for (let gi = 0; gi < groups; gi++) {
        const gyAt = GY + (i * o + gi * og) * pix;
        directGemm(plan, 0b100, id, mr, mp, g.ncp, og, PA + gi * mp * og, gyAt, pix, CT, pixp);
        plan.call(
          k.ids.col2im,
          pad ? 0b1 | (1 << 13) : 0b1,
          4 * CT,
          4 * pixp,
          g.cg,
          ...windowArgs(p, g),
          4 * (acc + gi * g.cg * g.planeP),
        );
      }
      if (pad) {
        const dxi = DX + i * c * g.inPlane;
        plan.call(k.ids.unpad, 0b1, 4 * DXP, 4 * dxi, c, p.h, p.w, p.padH, p.padW);
      }
    }
    plan.run(() => touchPages(dx, b0 * c * g.inPlane, (b0 + cnt) * c * g.inPlane));
    dx.set(f.subarray(DX, DX + cnt * c * g.inPlane), b0 * c * g.inPlane);
  }
  return dx;
}
