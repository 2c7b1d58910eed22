/**
 * Convolution drivers over the WebAssembly kernels of wasm_conv_kernels.ts: images are unrolled in
 * wasm memory, multiplied there by the wasm GEMM (or handed to an injected GEMM such as the blas
 * backend's as Float32Array views), and written back.
 *
 * @module
 */

import type { Conv2dParams, Gemm } from "./conv.ts";
import { WASM_HEAP_BASE, wasmHeap } from "./wasm_gemm.ts";
import type { ConvKernels, DirectFn } from "./wasm_conv_kernels.ts";

// ---------------------------------------------------------------------------------------------
// Convolution drivers. Pointers passed to the kernels are byte offsets; the JS side keeps float
// indices into the view returned by wasmHeap and multiplies by 4 at the call.

// Float bound on the per-chunk buffers, as in the JS lowering (8 MiB).
const CHUNK_FLOATS = 1 << 21;
// Depth block of the unpacked-B GEMM: sums are formed per block of this many products, which
// bounds float32 rounding growth like the packed GEMM's blocking.
const KC = 256;

/**
 * Float offsets of consecutive regions of the wasm heap (16-byte aligned, each followed by 16
 * spare floats for the kernels' vector overshoot) and a view of the heap that holds them. The
 * regions are scratch: the next call of any wasm kernel driver may reuse them.
 */
export function heapRegions(sizes: number[]): { at: number[]; f: Float32Array } {
  let o = WASM_HEAP_BASE >> 2;
  const at: number[] = [];
  for (const size of sizes) {
    at.push(o);
    o += Math.ceil(size / 4) * 4 + 16;
  }
  return { at, f: wasmHeap(4 * o - WASM_HEAP_BASE) };
}

/** Derived sizes of one convolution. */
interface Geometry {
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

function geometry(p: Conv2dParams): Geometry {
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
      const s = xOff + (pl * h + r) * w;
      f.set(x.subarray(s, s + w), dst + (pl * g.hp + r + padH) * g.wp + padW);
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
      const s = src + (pl * g.hp + r + padH) * g.wp + padW;
      dx.set(f.subarray(s, s + w), dxOff + (pl * h + r) * w);
    }
  }
}

function im2col(k: ConvKernels, p: Conv2dParams, g: Geometry, x: number, col: number, ld: number) {
  k.im2col(
    4 * x,
    4 * col,
    4 * ld,
    g.cg,
    g.hp,
    g.wp,
    p.kh,
    p.kw,
    p.strideH,
    p.strideW,
    p.dilationH,
    p.dilationW,
    p.oh,
    p.ow,
  );
}

function col2im(k: ConvKernels, p: Conv2dParams, g: Geometry, col: number, ld: number, dx: number) {
  k.col2im(
    4 * col,
    4 * ld,
    g.cg,
    g.hp,
    g.wp,
    p.kh,
    p.kw,
    p.strideH,
    p.strideW,
    p.dilationH,
    p.dilationW,
    p.oh,
    p.ow,
    4 * dx,
  );
}

/** The unpacked-B kernel for an m-row product and its tile height (the wasmSgemm rule). */
function pickDirect(k: ConvKernels, m: number): { fn: DirectFn; mr: number } {
  const padWide = Math.ceil(m / k.wideMr) * k.wideMr;
  const narrow = k.wideMr !== 4 && Math.ceil(m / 4) * 4 * 1.08 < padWide;
  return narrow ? { fn: k.directNarrow, mr: 4 } : { fn: k.directWide, mr: k.wideMr };
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

/** Runs the unpacked-B GEMM over depth blocks: C[mp, ncp] = A(panels) B(rows of pitch ldb). */
function directGemm(
  fn: DirectFn,
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
    fn(
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

function biasTable(f: Float32Array, at: number, bias: Float32Array | null, o: number): void {
  // Adding -0 leaves every value (also -0) unchanged, so a missing or zero bias is an exact copy.
  for (let oc = 0; oc < o; oc++) f[at + oc] = bias && bias[oc] !== 0 ? bias[oc] : -0;
}

/**
 * Forward convolution entirely in wasm: per image, im2col into a cache-sized column matrix, the
 * unpacked-B GEMM straight from it, and a bias-adding copy into the output planes.
 */
export function wasmConvForward(
  k: ConvKernels,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  p: Conv2dParams,
): Float32Array {
  const g = geometry(p);
  const { n, c, o, groups } = p;
  const { og, kk, pix, pixp } = g;
  const { fn, mr } = pickDirect(k, og);
  const mp = Math.ceil(og / mr) * mr;
  const chunk = Math.max(1, Math.min(n, Math.floor(CHUNK_FLOATS / (o * pix))));
  const { at, f } = heapRegions([
    c * g.planeP,
    kk * pixp,
    mp * pixp,
    groups * mp * kk,
    chunk * o * pix,
    o,
  ]);
  const [XP, COL, CT, PA, Y, BIAS] = at;
  packPanels(f, PA, groups, og, kk, mr, mp, w, kk, 1, og * kk);
  biasTable(f, BIAS, bias, o);
  const y = new Float32Array(n * o * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    for (let i = 0; i < cnt; i++) {
      loadPadded(x, (b0 + i) * c * g.inPlane, c, p, g, f, XP);
      for (let gi = 0; gi < groups; gi++) {
        im2col(k, p, g, XP + gi * g.cg * g.planeP, COL, pixp);
        directGemm(fn, mr, mp, g.ncp, kk, PA + gi * mp * kk, COL, pixp, CT, pixp);
        k.biasRows(
          4 * CT,
          4 * pixp,
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

/**
 * Input gradient entirely in wasm: per image and group, the unpacked-B GEMM W_g^T @ gy reads gy's
 * planes in place, and col2im adds the column gradients onto zero-padded planes.
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
  const { fn, mr } = pickDirect(k, kk);
  const mp = Math.ceil(kk / mr) * mr;
  const chunk = Math.max(1, Math.min(n, Math.floor(CHUNK_FLOATS / (o * pix))));
  const { at, f } = heapRegions([chunk * o * pix, mp * pixp, groups * mp * og, c * g.planeP]);
  const [GY, CT, PA, DXP] = at;
  packPanels(f, PA, groups, kk, og, mr, mp, w, 1, kk, og * kk);
  const dx = new Float32Array(n * c * g.inPlane);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(gy.subarray(b0 * o * pix, (b0 + cnt) * o * pix), GY);
    for (let i = 0; i < cnt; i++) {
      f.fill(0, DXP, DXP + c * g.planeP);
      for (let gi = 0; gi < groups; gi++) {
        const gyAt = GY + (i * o + gi * og) * pix;
        directGemm(fn, mr, mp, g.ncp, og, PA + gi * mp * og, gyAt, pix, CT, pixp);
        col2im(k, p, g, CT, pixp, DXP + gi * g.cg * g.planeP);
      }
      storeUnpadded(f, DXP, c, p, g, dx, (b0 + i) * c * g.inPlane);
    }
  }
  return dx;
}

/**
 * Weight gradient entirely in wasm: per image and group, im2col and then dW_g += gy_g @ col^T by
 * the dot kernel, which reads gy's planes and the column rows in place.
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
  const chunk = Math.max(1, Math.min(n, Math.floor(CHUNK_FLOATS / (o * pix))));
  const { at, f } = heapRegions([chunk * o * pix, c * g.planeP, kk * pixp, o * kk]);
  const [GY, XP, COL, DW] = at;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(gy.subarray(b0 * o * pix, (b0 + cnt) * o * pix), GY);
    for (let i = 0; i < cnt; i++) {
      loadPadded(x, (b0 + i) * c * g.inPlane, c, p, g, f, XP);
      const acc = b0 + i > 0 ? 1 : 0;
      for (let gi = 0; gi < groups; gi++) {
        im2col(k, p, g, XP + gi * g.cg * g.planeP, COL, pixp);
        const gyAt = GY + (i * o + gi * og) * pix;
        k.dot(
          4 * gyAt,
          4 * pix,
          4 * COL,
          4 * pixp,
          4 * (DW + gi * og * kk),
          4 * kk,
          og,
          kk,
          pix,
          acc,
        );
      }
    }
  }
  return f.slice(DW, DW + o * kk);
}

/** Images per batched chunk of the injected-GEMM path, as in the JS lowering. */
function gemmChunk(p: Conv2dParams, g: Geometry, extra: number): number {
  const perImage = (g.kk + g.og) * g.pix + extra;
  return Math.max(1, Math.min(p.n, Math.floor(CHUNK_FLOATS / perImage)));
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
  const { n, c, o, groups } = p;
  const { og, kk, pix } = g;
  const chunk = gemmChunk(p, g, c * g.planeP + o * pix);
  const ldp = chunk * pix + 8;
  const { at, f } = heapRegions([chunk * c * g.planeP, kk * ldp, og * ldp, chunk * o * pix, o]);
  const [XP, COL, OUT, Y, BIAS] = at;
  biasTable(f, BIAS, bias, o);
  const y = new Float32Array(n * o * pix);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    loadPadded(x, b0 * c * g.inPlane, cnt * c, p, g, f, XP);
    for (let gi = 0; gi < groups; gi++) {
      for (let i = 0; i < cnt; i++) {
        im2col(k, p, g, XP + (i * c + gi * g.cg) * g.planeP, COL + i * pix, ldp);
      }
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

/** Copies gy's planes [og of group gi, images b0..b0+cnt) side by side into a heap matrix. */
function gatherGy(
  f: Float32Array,
  dst: number,
  ld: number,
  gy: Float32Array,
  p: Conv2dParams,
  g: Geometry,
  gi: number,
  b0: number,
  cnt: number,
): void {
  const { pix, og } = g;
  for (let oc = 0; oc < og; oc++) {
    for (let i = 0; i < cnt; i++) {
      const s = ((b0 + i) * p.o + gi * og + oc) * pix;
      f.set(gy.subarray(s, s + pix), dst + oc * ld + i * pix);
    }
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
  const chunk = gemmChunk(p, g, c * g.planeP);
  const ldp = chunk * pix + 8;
  const { at, f } = heapRegions([og * ldp, kk * ldp, chunk * c * g.planeP]);
  const [GYG, COL, DXP] = at;
  const dx = new Float32Array(n * c * g.inPlane);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.fill(0, DXP, DXP + cnt * c * g.planeP);
    for (let gi = 0; gi < groups; gi++) {
      gatherGy(f, GYG, ldp, gy, p, g, gi, b0, cnt);
      gemm(true, false, kk, cnt * pix, og, 1, w, gi * og * kk, kk, f, GYG, ldp, 0, f, COL, ldp);
      for (let i = 0; i < cnt; i++) {
        col2im(k, p, g, COL + i * pix, ldp, DXP + (i * c + gi * g.cg) * g.planeP);
      }
    }
    storeUnpadded(f, DXP, cnt * c, p, g, dx, b0 * c * g.inPlane);
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
  const { n, c, o, groups } = p;
  const { og, kk, pix } = g;
  const chunk = gemmChunk(p, g, c * g.planeP);
  const ldp = chunk * pix + 8;
  const { at, f } = heapRegions([chunk * c * g.planeP, kk * ldp, og * ldp]);
  const [XP, COL, GYG] = at;
  const dw = new Float32Array(o * kk);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    loadPadded(x, b0 * c * g.inPlane, cnt * c, p, g, f, XP);
    for (let gi = 0; gi < groups; gi++) {
      for (let i = 0; i < cnt; i++) {
        im2col(k, p, g, XP + (i * c + gi * g.cg) * g.planeP, COL + i * pix, ldp);
      }
      gatherGy(f, GYG, ldp, gy, p, g, gi, b0, cnt);
      const beta = b0 === 0 ? 0 : 1;
      gemm(false, true, og, kk, cnt * pix, 1, f, GYG, ldp, f, COL, ldp, beta, dw, gi * og * kk, kk);
    }
  }
  return dw;
}
