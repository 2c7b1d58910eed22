/**
 * The gradients of `conv2dMaxPool2x2` (a unit-stride convolution then 2 × 2 max pooling) straight
 * from the pooled gradient, over the kernels of wasm_pool_grad.ts: the conv output's gradient is
 * never formed (three quarters of it are zeros), so there is no unpooling, im2col or col2im, and a
 * quarter of the dense products.
 *
 * @module
 */

import { IndexError } from "../../core/errors.ts";
import { outputF32 } from "../../core/host_pool.ts";
import type { Conv2dParams } from "./conv.ts";
import { planFor } from "./threads.ts";
import {
  CHUNK_FLOATS,
  geometry,
  heapRegions,
  MIN_WORK_PER_THREAD,
  padded,
  slot,
  touchPages,
} from "./wasm_conv_heap.ts";
import { MAX_BLOCKS, PARTIAL_FLOATS } from "./wasm_conv_weight.ts";
import type { ConvKernels } from "./wasm_conv_kernels.ts";

/** Whether {@linkcode wasmConvMaxPool2x2Backward} takes the conv `p`. */
export function poolGradApplies(p: Conv2dParams): boolean {
  return p.strideH === 1 && p.strideW === 1 && p.dilationH === 1 && p.dilationW === 1 &&
    p.groups === 1 && p.kw <= 8 && p.oh >= 2 && p.ow >= 2;
}

/** Which gradients {@linkcode wasmConvMaxPool2x2Backward} computes (at least x's or w's). */
export interface PoolGradWants {
  input: boolean;
  weight: boolean;
  /** The bias's: the sum of the (masked) pooled gradient per channel. */
  bias?: boolean;
}

/**
 * The input, weight and bias gradients of maxPool2x2(conv2d(x, w, b)), or with `y` (the forward's
 * output) of relu(maxPool2x2(conv2d(x, w, b))), for the pooled gradient `g` and the pooling
 * indices `idx` (flat indices into the conv output planes), where {@linkcode poolGradApplies};
 * null where x (for dW) or w (for dx) holds a NaN or infinity, whose products with the unpooled
 * gradient's zeros make NaNs in PyTorch's dense gradients that these sums would not have (the
 * caller then runs the dense path). Per image: each pooled element's window corner is computed
 * once, and its gradient masked by ReLU's backward and summed per channel;
 * dW gets g · window for every pooled element, and g · w is added onto the window in a per-thread
 * padded copy of the image's input gradient, whose interior is then copied out. Work items are
 * blocks of images that depend only on the batch and the weight size, each summing its weight
 * gradient into its own partial (added in block order after), so results do not depend on the
 * thread count.
 */
export function wasmConvMaxPool2x2Backward(
  k: ConvKernels,
  g: Float32Array,
  idx: Int32Array,
  x: Float32Array,
  w: Float32Array,
  p: Conv2dParams,
  want: PoolGradWants,
  y: Float32Array | null = null,
): { dx: Float32Array | null; dw: Float32Array | null; db: Float32Array | null } | null {
  const geo = geometry(p);
  const { n, c, o, kh, kw } = p;
  const ph = p.oh >> 1, pw = p.ow >> 1, q = ph * pw;
  const vecs = kw > 4 ? 2 : 1;
  const rows = c * kh, plane = c * geo.inPlane, planeP = c * geo.planeP;
  const wsize = o * rows * 8;
  const count = Math.max(1, Math.min(MAX_BLOCKS, n, Math.floor(PARTIAL_FLOATS / wsize)));
  const size = Math.ceil(n / count);
  const blocks = Math.ceil(n / size);
  const work = n * o * q * rows * kw * ((want.input ? 1 : 0) + (want.weight ? 1 : 0));
  const plan = planFor(work, blocks, MIN_WORK_PER_THREAD);
  const pad = padded(p);
  const xpSlot = want.weight && pad ? slot(planeP) : 0;
  const tapSlot = slot(o * q) + 4;
  const perThread = tapSlot + xpSlot + (want.input ? slot(planeP) : 0);
  const perImage = (y ? 3 : 2) * o * q + o + (want.weight ? plane : 0) + (want.input ? plane : 0);
  const chunk = Math.min(n, Math.max(1, Math.floor(CHUNK_FLOATS / perImage / size)) * size);
  const { at, f } = heapRegions([
    chunk * o * q,
    chunk * o * q,
    want.weight ? chunk * plane : 0,
    want.input ? chunk * plane : 0,
    rows,
    want.input ? wsize : 0,
    4,
    q,
    want.weight ? blocks * wsize : 0,
    plan.threads * perThread,
    y ? chunk * o * q : 0,
    want.bias ? chunk * o : 0,
  ]);
  const [G, IDX, X, DX, ROWTAB, WPK, MASK, ORDER, PART, SCRATCH, Y, DB] = at;
  // Per thread: its bad-index flag, the taps of one image, padded x, padded dx.
  const ERR = SCRATCH, TAPS = SCRATCH + 4, XP = SCRATCH + tapSlot, DXP = XP + xpSlot;
  const ints = new Int32Array(f.buffer);
  for (let ci = 0, r = 0; ci < c; ci++) {
    for (let ky = 0; ky < kh; ky++) ints[ROWTAB + r++] = 4 * (ci * geo.planeP + ky * geo.wp);
  }
  for (let l = 0; l < 4; l++) ints[MASK + l] = 4 * (vecs - 1) + l < kw ? -1 : 0;
  poolOrder(ints, ORDER, ph, pw, kh, vecs);
  if (want.input) {
    for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) return null;
    f.fill(0, WPK, WPK + wsize);
    for (let r = 0; r < o * rows; r++) {
      for (let kx = 0; kx < kw; kx++) f[WPK + 8 * r + kx] = w[r * kw + kx];
    }
  }
  plan.scratchStride(4 * perThread);
  const ids = k.ids;
  const dx = want.input ? outputF32(n * plane) : null;
  const db = want.bias ? new Float64Array(o) : null;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const cnt = Math.min(chunk, n - b0);
    f.set(g.subarray(b0 * o * q, (b0 + cnt) * o * q), G);
    ints.set(idx.subarray(b0 * o * q, (b0 + cnt) * o * q), IDX);
    if (y) f.set(y.subarray(b0 * o * q, (b0 + cnt) * o * q), Y);
    if (want.weight) {
      f.set(x.subarray(b0 * plane, (b0 + cnt) * plane), X);
      if ((k.fns.nonFinite(4 * X, cnt * plane) as unknown as number) !== 0) return null;
    }
    for (let t = 0; t < plan.threads; t++) ints[ERR + t * perThread] = 0;
    for (let i0 = 0; i0 < cnt; i0 += size) {
      plan.item();
      const part = PART + ((b0 + i0) / size) * wsize;
      if (want.weight) plan.call(ids.zero, 0, 4 * part, wsize);
      for (let i = i0; i < Math.min(cnt, i0 + size); i++) {
        const gi = 4 * (G + i * o * q);
        const order = 4 * ORDER;
        plan.call(
          ids.poolTaps,
          0b10000010,
          4 * (IDX + i * o * q),
          4 * TAPS,
          o,
          ph,
          pw,
          p.ow,
          geo.wp,
          4 * ERR,
          gi,
          y ? 4 * (Y + i * o * q) : 0,
          db ? 4 * (DB + i * o) : 0,
        );
        if (want.weight) {
          const xi = X + i * plane;
          if (pad) plan.call(ids.pad, 0b10, 4 * xi, 4 * XP, c, p.h, p.w, p.padH, p.padW);
          const src = pad ? XP : xi;
          plan.call(
            vecs === 2 ? ids.poolWeightGrad2 : ids.poolWeightGrad1,
            pad ? 0b1010 : 0b10,
            gi,
            4 * TAPS,
            order,
            4 * src,
            4 * ROWTAB,
            4 * part,
            o,
            q,
            rows,
          );
        }
        if (want.input) {
          plan.call(ids.zero, 0b1, 4 * DXP, planeP);
          plan.call(
            vecs === 2 ? ids.poolInputGrad2 : ids.poolInputGrad1,
            0b1010,
            gi,
            4 * TAPS,
            order,
            4 * DXP,
            4 * ROWTAB,
            4 * WPK,
            4 * MASK,
            o,
            q,
            rows,
          );
          const dxi = DX + i * plane;
          plan.call(ids.unpad, 0b1, 4 * DXP, 4 * dxi, c, p.h, p.w, p.padH, p.padW);
        }
      }
    }
    if (dx) {
      plan.run(() => touchPages(dx, b0 * plane, (b0 + cnt) * plane));
      dx.set(f.subarray(DX, DX + cnt * plane), b0 * plane);
    } else {
      plan.run();
    }
    for (let t = 0; t < plan.threads; t++) {
      if (ints[ERR + t * perThread] !== 0) throw badIndex(idx, b0, cnt, p, o * q);
    }
    if (db) { for (let i = 0; i < cnt * o; i++) db[i % o] += f[DB + i]; }
  }
  const dbias = db ? Float32Array.from(db) : null;
  if (!want.weight) return { dx, dw: null, db: dbias };
  // The partials added in block order into the first (on this thread), then compacted.
  for (let b = 1; b < blocks; b++) k.fns.addInto(4 * PART, 4 * (PART + b * wsize), wsize);
  // Every element is written below.
  const dw = outputF32(o * rows * kw);
  for (let r = 0; r < o * rows; r++) {
    for (let kx = 0; kx < kw; kx++) dw[r * kw + kx] = f[PART + 8 * r + kx];
  }
  return { dx, dw, db: dbias };
}

/**
 * Writes at int index `at` the order in which the kernels visit a channel's ph × pw pooled
 * elements (as byte offsets): in phases of every sy-th row and sx-th column, so that consecutive
 * windows do not overlap. The input-gradient kernel adds each window onto the planes; a window that
 * overlaps the one just written would read memory whose store is still in flight, which stalls
 * (measured: LeNet's conv2 input gradient 24.7 µs per image in row order, 14.4 in phases).
 */
function poolOrder(ints: Int32Array, at: number, ph: number, pw: number, kh: number, vecs: number) {
  // Windows of pooled rows sy apart start 2 sy - 1 or more rows apart; kh rows tall, they are
  // disjoint from 2 sy - 1 >= kh. Columns likewise for the 4 vecs floats each row writes.
  const sy = Math.min(ph, Math.ceil((kh + 1) / 2)),
    sx = Math.min(pw, Math.ceil((4 * vecs + 1) / 2));
  let j = at;
  for (let a = 0; a < sy; a++) {
    for (let b = 0; b < sx; b++) {
      for (let y = a; y < ph; y += sy) {
        for (let x = b; x < pw; x += sx) ints[j++] = 4 * (y * pw + x);
      }
    }
  }
}

/** The IndexError for pooling indices outside their 2 × 2 cells among images [b0, b0 + cnt). */
function badIndex(idx: Int32Array, b0: number, cnt: number, p: Conv2dParams, per: number): Error {
  const pw = p.ow >> 1, q = (p.oh >> 1) * pw;
  for (let i = b0 * per; i < (b0 + cnt) * per; i++) {
    const cell = i % q, py = Math.floor(cell / pw), px = cell % pw, v = idx[i];
    const d = v - (2 * py * p.ow + 2 * px);
    if (d !== 0 && d !== 1 && d !== p.ow && d !== p.ow + 1) {
      return new IndexError(
        `conv2dMaxPool2x2Backward: pooling index ${v} at flat position ${i} of the indices ` +
          `[${p.n}, ${p.o}, ${p.oh >> 1}, ${pw}] is outside its 2x2 cell of the ${p.oh}x${p.ow} ` +
          `conv output (expected ${2 * py * p.ow + 2 * px}, +1, +${p.ow} or +${p.ow + 1})`,
      );
    }
  }
  return new IndexError("conv2dMaxPool2x2Backward: a pooling index is outside its 2x2 cell");
}
