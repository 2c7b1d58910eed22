/**
 * What the wasm convolution drivers (wasm_conv*.ts) and the other heap-based kernels share: the
 * layout of scratch regions on the wasm heap (float offsets; the drivers multiply by 4 for the
 * kernels' byte pointers), a convolution's derived sizes, and helpers that record kernel calls and
 * size per-thread scratch for a thread plan (threads.ts).
 *
 * @module
 */

import type { Conv2dParams } from "./conv.ts";
import { WASM_HEAP_BASE, wasmHeap } from "./wasm_gemm.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";
import type { Plan } from "./threads.ts";

// Float bound on the per-chunk buffers, as in the JS lowering (8 MiB).
export const CHUNK_FLOATS = 1 << 21;

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
