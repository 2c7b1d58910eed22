/**
 * Convolution drivers over the WebAssembly kernels of wasm_conv_kernels.ts, entirely in wasm: images
 * are padded and unrolled (or read in place by the direct kernels) in wasm memory, multiplied
 * there, and written back, on worker threads. The direct forward path is in wasm_conv_direct.ts,
 * the weight gradient's drivers in wasm_conv_weight.ts, those over an injected GEMM (the blas
 * backend's) in wasm_conv_gemm.ts, those of the fused conv-pool backward in wasm_conv_pool.ts; the
 * heap layout helpers that serve all are in wasm_conv_heap.ts.
 *
 * @module
 */

import { outputF32 } from "../../core/host_pool.ts";
import type { Conv2dParams } from "./conv.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";
import { type Plan, planFor } from "./threads.ts";
import {
  biasTable,
  CHUNK_FLOATS,
  geometry,
  heapRegions,
  MIN_WORK_PER_THREAD,
  padded,
  planIm2col,
  planPad,
  slot,
  touchPages,
  windowArgs,
} from "./wasm_conv_heap.ts";
import { forwardDirect, pickConvDirect } from "./wasm_conv_direct.ts";

// ---------------------------------------------------------------------------------------------
// Convolution drivers. Pointers passed to the kernels are byte offsets; the JS side keeps float
// indices into the view returned by wasmHeap and multiplies by 4 at the call.

// Depth block of the unpacked-B GEMM: sums are formed per block of this many products, which
// bounds float32 rounding growth like the packed GEMM's blocking.
const KC = 256;

// ---------------------------------------------------------------------------------------------
// The all-wasm drivers. Their kernel calls go through a thread plan (threads.ts): with one thread
// each call runs at once; with more, the calls of a batch chunk are shared out (by image, or by
// columns of the weight gradient) and run together, each thread with its own scratch. Every output
// element comes from the same calls in the same order either way, so results do not depend on the
// thread count.

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
