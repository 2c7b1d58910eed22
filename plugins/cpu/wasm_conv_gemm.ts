/**
 * Convolution drivers over an injected GEMM (the blas backend's sgemm): the images of a chunk are
 * unrolled side by side in wasm memory (by the per-geometry kernels of wasm_gemm_conv_kernels.ts
 * where they apply, else by wasm_conv_kernels.ts's), the GEMM reads that column matrix as a
 * Float32Array view, and the results are scattered back. The all-wasm drivers are in
 * wasm_conv.ts.
 *
 * @module
 */

import { outputF32 } from "../../core/host_pool.ts";
import type { Conv2dParams, Gemm } from "./conv.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";
import { type UnrollKernels, unrollKernelsFor } from "./wasm_gemm_conv_kernels.ts";
import {
  biasTable,
  CHUNK_FLOATS,
  type Geometry,
  geometry,
  heapRegions,
  windowArgs,
} from "./wasm_conv_heap.ts";

/**
 * dst[d, d + len) = src[s, s + len). Short rows are copied by a loop: a `subarray` per row costs
 * more than the copy itself on small feature maps (ResNet's 8 × 8 and smaller).
 */
function copyRow(src: Float32Array, s: number, dst: Float32Array, d: number, len: number): void {
  if (len >= 64) dst.set(src.subarray(s, s + len), d);
  else for (let q = 0; q < len; q++) dst[d + q] = src[s + q];
}

/** Copies `planes` planes of x into the heap at `dst`, zero-padded to hp x wp. */
function loadPadded(
  x: Float32Array,
  xOff: number,
  planes: number,
  p: Conv2dParams,
  g: Geometry,
  f: Float32Array,
  dst: number,
): void {
  const { h, w, padH, padW } = p;
  if (padH === 0 && padW === 0) {
    f.set(x.subarray(xOff, xOff + planes * g.inPlane), dst);
    return;
  }
  f.fill(0, dst, dst + planes * g.planeP);
  for (let pl = 0; pl < planes; pl++) {
    for (let r = 0; r < h; r++) {
      copyRow(x, xOff + (pl * h + r) * w, f, dst + (pl * g.hp + r + padH) * g.wp + padW, w);
    }
  }
}

/** Inverse of {@link loadPadded}: copies the interior of padded heap planes into `dx`. */
function storeUnpadded(
  f: Float32Array,
  src: number,
  planes: number,
  p: Conv2dParams,
  g: Geometry,
  dx: Float32Array,
  dxOff: number,
): void {
  const { h, w, padH, padW } = p;
  if (padH === 0 && padW === 0) {
    dx.set(f.subarray(src, src + planes * g.inPlane), dxOff);
    return;
  }
  for (let pl = 0; pl < planes; pl++) {
    for (let r = 0; r < h; r++) {
      copyRow(f, src + (pl * g.hp + r + padH) * g.wp + padW, dx, dxOff + (pl * h + r) * w, w);
    }
  }
}

function im2col(k: ConvKernels, p: Conv2dParams, g: Geometry, x: number, col: number, ld: number) {
  k.im2col(4 * x, 4 * col, 4 * ld, g.cg, ...windowArgs(p, g));
}

function col2im(k: ConvKernels, p: Conv2dParams, g: Geometry, col: number, ld: number, dx: number) {
  k.col2im(4 * col, 4 * ld, g.cg, ...windowArgs(p, g), 4 * dx);
}

/**
 * Row pitch in floats of a heap matrix whose rows hold `cols` floats: whole cache lines (rows start
 * on a line where the matrix does, so the im2col stores and the library's loads never straddle a
 * line shared with the next image's columns) and room for the unroll kernels' overshoot.
 */
function linePitch(cols: number): number {
  return Math.ceil(cols / 16) * 16 + 16;
}

/** Images per batched chunk of the injected-GEMM path, as in the JS lowering. */
function gemmChunk(p: Conv2dParams, g: Geometry, extra: number): number {
  const perImage = (g.kk + g.og) * g.pix + extra;
  return Math.max(1, Math.min(p.n, Math.floor(CHUNK_FLOATS / perImage)));
}

/**
 * Floats per image of the injected-GEMM path's heap input planes: unpadded where the kernels
 * specialised to the geometry (`u`, wasm_gemm_conv_kernels.ts) read them, padded otherwise.
 */
function heapPlanes(p: Conv2dParams, g: Geometry, u: UnrollKernels | null): number {
  return p.c * (u ? g.inPlane : g.planeP);
}

/** Copies images [b0, b0 + cnt) of x into the heap at dst, laid out for {@link unrollChunk}. */
function loadChunk(
  u: UnrollKernels | null,
  x: Float32Array,
  b0: number,
  cnt: number,
  p: Conv2dParams,
  g: Geometry,
  f: Float32Array,
  dst: number,
): void {
  const per = p.c * g.inPlane;
  if (u) f.set(x.subarray(b0 * per, (b0 + cnt) * per), dst);
  else loadPadded(x, b0 * per, cnt * p.c, p, g, f, dst);
}

/**
 * im2col of group gi of a chunk's `cnt` images (heap planes at xs, from {@link loadChunk}) into
 * the column matrix at col (pitch ld), images side by side.
 */
function unrollChunk(
  k: ConvKernels,
  u: UnrollKernels | null,
  p: Conv2dParams,
  g: Geometry,
  xs: number,
  gi: number,
  cnt: number,
  col: number,
  ld: number,
): void {
  if (u) {
    const per = p.c * g.inPlane;
    u.im2col(4 * (xs + gi * g.cg * g.inPlane), 4 * col, 4 * ld, g.cg, cnt, 4 * per, 4 * g.pix);
    return;
  }
  for (let i = 0; i < cnt; i++) {
    im2col(k, p, g, xs + (i * p.c + gi * g.cg) * g.planeP, col + i * g.pix, ld);
  }
}

/**
 * Forward convolution over an injected GEMM (the blas backend): the images of a chunk are
 * unrolled side by side by wasm im2col into one heap column matrix, which the GEMM reads as a
 * Float32Array view; the bias-adding copy scatters the product into the output planes.
 */
export function wasmConvForwardGemm(
  k: ConvKernels,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
  gemm: Gemm,
): Float32Array {
  const g = geometry(p);
  const { n, o, groups } = p;
  const { og, kk, pix } = g;
  const u = unrollKernelsFor(p);
  const xPer = heapPlanes(p, g, u);
  const chunk = gemmChunk(p, g, xPer + o * pix);
  const ldp = linePitch(chunk * pix);
  const { at, f } = heapRegions([chunk * xPer, kk * ldp, og * ldp, chunk * o * pix, o]);
  const [XP, COL, OUT, Y, BIAS] = at;
  biasTable(f, BIAS, bias, o);
  const y = outputF32(n * o * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    loadChunk(u, x, b0, cnt, p, g, f, XP);
    for (let gi = 0; gi < groups; gi++) {
      unrollChunk(k, u, p, g, XP, gi, cnt, COL, ldp);
      gemm(false, false, og, cnt * pix, kk, 1, w, gi * og * kk, kk, f, COL, ldp, 0, f, OUT, ldp);
      for (let i = 0; i < cnt; i++) {
        k.biasRows(
          4 * (OUT + i * pix),
          4 * ldp,
          4 * (Y + (i * o + gi * og) * pix),
          og,
          pix,
          4 * (BIAS + gi * og),
        );
      }
    }
    y.set(f.subarray(Y, Y + cnt * o * pix), b0 * o * pix);
  }
  return y;
}

/** Copies the gy of images [b0, b0 + cnt) into the heap at `stage`, as it is laid out in gy. */
function stageGy(
  f: Float32Array,
  stage: number,
  gy: Float32Array,
  p: Conv2dParams,
  g: Geometry,
  b0: number,
  cnt: number,
): void {
  const per = p.o * g.pix;
  f.set(gy.subarray(b0 * per, (b0 + cnt) * per), stage);
}

/**
 * Lays the planes of group gi of a staged chunk ({@link stageGy}) side by side as an [og,
 * cnt · pix] matrix at dst (pitch ld): one wasm row copy per image. A JS copy per plane cost more
 * than the copying on small maps (2,048 planes of 64 floats in ResNet's first stage).
 */
function gatherGy(
  k: ConvKernels,
  stage: number,
  dst: number,
  ld: number,
  p: Conv2dParams,
  g: Geometry,
  gi: number,
  cnt: number,
): void {
  const { pix, og } = g;
  for (let i = 0; i < cnt; i++) {
    const src = stage + (i * p.o + gi * og) * pix;
    k.copyRows(4 * src, 4 * pix, 4 * (dst + i * pix), 4 * ld, og, pix);
  }
}

/** Input gradient over an injected GEMM: one W_g^T @ gy product per chunk and group, wasm col2im. */
export function wasmConvBackwardInputGemm(
  k: ConvKernels,
  gy: Float32Array,
  w: Float32Array,
  p: Conv2dParams,
  gemm: Gemm,
): Float32Array {
  const g = geometry(p);
  const { n, c, groups } = p;
  const { og, kk, pix } = g;
  // The specialised kernels only where they include col2im; else the generic ones throughout.
  const uk = unrollKernelsFor(p);
  const u = uk?.col2im ? uk : null;
  const xPer = heapPlanes(p, g, u);
  const chunk = gemmChunk(p, g, xPer + p.o * pix);
  const ldp = linePitch(chunk * pix);
  const { at, f } = heapRegions([og * ldp, kk * ldp, chunk * xPer, chunk * p.o * pix]);
  const [GYG, COL, DXP, GYS] = at;
  const dx = outputF32(n * c * g.inPlane);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.fill(0, DXP, DXP + cnt * xPer);
    stageGy(f, GYS, gy, p, g, b0, cnt);
    for (let gi = 0; gi < groups; gi++) {
      gatherGy(k, GYS, GYG, ldp, p, g, gi, cnt);
      gemm(true, false, kk, cnt * pix, og, 1, w, gi * og * kk, kk, f, GYG, ldp, 0, f, COL, ldp);
      if (u) {
        const dxAt = 4 * (DXP + gi * g.cg * g.inPlane);
        u.col2im!(4 * COL, 4 * ldp, dxAt, g.cg, cnt, 4 * c * g.inPlane, 4 * pix);
        continue;
      }
      for (let i = 0; i < cnt; i++) {
        col2im(k, p, g, COL + i * pix, ldp, DXP + (i * c + gi * g.cg) * g.planeP);
      }
    }
    if (u) dx.set(f.subarray(DXP, DXP + cnt * c * g.inPlane), b0 * c * g.inPlane);
    else storeUnpadded(f, DXP, cnt * c, p, g, dx, b0 * c * g.inPlane);
  }
  return dx;
}

/** Weight gradient over an injected GEMM: one gy_g @ col^T product per chunk and group. */
export function wasmConvBackwardWeightGemm(
  k: ConvKernels,
  gy: Float32Array,
  x: Float32Array,
  p: Conv2dParams,
  gemm: Gemm,
): Float32Array {
  const g = geometry(p);
  const { n, o, groups } = p;
  const { og, kk, pix } = g;
  const u = unrollKernelsFor(p);
  const xPer = heapPlanes(p, g, u);
  const chunk = gemmChunk(p, g, xPer + o * pix);
  const ldp = linePitch(chunk * pix);
  const { at, f } = heapRegions([chunk * xPer, kk * ldp, og * ldp, chunk * o * pix]);
  const [XP, COL, GYG, GYS] = at;
  const dw = outputF32(o * kk);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    loadChunk(u, x, b0, cnt, p, g, f, XP);
    stageGy(f, GYS, gy, p, g, b0, cnt);
    for (let gi = 0; gi < groups; gi++) {
      unrollChunk(k, u, p, g, XP, gi, cnt, COL, ldp);
      gatherGy(k, GYS, GYG, ldp, p, g, gi, cnt);
      const beta = b0 === 0 ? 0 : 1;
      gemm(false, true, og, kk, cnt * pix, 1, f, GYG, ldp, f, COL, ldp, beta, dw, gi * og * kk, kk);
    }
  }
  return dw;
}
