/**
 * 2-D pooling kernels over plain typed arrays (NCHW, row-major, contiguous), following PyTorch's
 * CPU semantics: padding acts as -inf for max pooling and as zero for average pooling, and windows
 * are clipped to the input before reducing. The parameters and output size of every pooling are
 * here with max pooling; average and adaptive average pooling are in avg_pool.ts.
 *
 * Max pooling runs in wasm where available (wasm_conv.ts): its running maximum is a conditional
 * move there, while the JS comparison branches on the data and mispredicts about half the time.
 * The common 2×2 window with stride 2 (no padding, no dilation, no partial window) has its own
 * wasm kernel that pools four outputs per SIMD step. Max pooling's backward is in pool_backward.ts.
 *
 * @module
 */

import { outputF32, outputI32 } from "../../core/host_pool.ts";
import { buildModule, Code, forUp, Op, SimdOp, ValType } from "./wasm.ts";
import { heapRegions } from "./wasm_conv_heap.ts";
import { convKernels } from "./wasm_conv_kernels.ts";
import { planFor } from "./threads.ts";
import { wasmMemory, wasmMemoryImport, wasmSimdAvailable } from "./wasm_gemm.ts";

/** Shape and hyper-parameters of a 2-D pooling; `oh`/`ow` are precomputed by the caller. */
export interface Pool2dParams {
  /** Batch size. */
  n: number;
  /** Channels. */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Window height. */
  kh: number;
  /** Window width. */
  kw: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Implicit padding above and below. */
  padH: number;
  /** Implicit padding left and right. */
  padW: number;
  /** Vertical spacing between window taps (max pooling only; average pooling ignores it). */
  dilationH: number;
  /** Horizontal spacing between window taps (max pooling only; average pooling ignores it). */
  dilationW: number;
  /** Output height, see {@link pool2dOutputSize}. */
  oh: number;
  /** Output width, see {@link pool2dOutputSize}. */
  ow: number;
  /** Whether `oh`/`ow` were rounded up; kept for callers, the kernels only rely on `oh`/`ow`. */
  ceilMode: boolean;
  /** Average pooling: whether padded positions count towards the divisor. */
  countIncludePad: boolean;
  /** Average pooling: fixed divisor replacing the window size when set. */
  divisorOverride?: number;
}

/**
 * Output size of a pooling along one axis with PyTorch's rule: with `ceilMode` the size is rounded
 * up, but the last window must still start inside the input or the left padding.
 */
export function pool2dOutputSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/**
 * Max pooling. Returns the pooled values [N, C, OH, OW] and, for each, the flat index (h*W + w)
 * of the winning element inside its (n, c) plane. A NaN anywhere in a window wins, as in PyTorch.
 */
export function maxPool2dForward(
  x: Float32Array,
  p: Pool2dParams,
): { y: Float32Array; indices: Int32Array } {
  if (p.n * p.c > 0 && p.oh > 0 && p.ow > 0) {
    if (pool2x2 && isPool2x2(p)) return wasmMaxPool2x2(x, p);
    if (convKernels) return wasmMaxPool2d(x, p);
  }
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w;
  const y = outputF32(planes * oh * ow);
  const indices = outputI32(planes * oh * ow);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    for (let oy = 0; oy < oh; oy++) {
      const hs = oy * strideH - padH;
      let ih0 = hs;
      // Step by the dilation so that the first visited row is still a real tap of the window.
      while (ih0 < 0) ih0 += dilationH;
      const ih1 = Math.min(hs + (kh - 1) * dilationH + 1, h);
      for (let ox = 0; ox < ow; ox++) {
        const ws = ox * strideW - padW;
        let iw0 = ws;
        while (iw0 < 0) iw0 += dilationW;
        const iw1 = Math.min(ws + (kw - 1) * dilationW + 1, w);
        // PyTorch reports the first valid tap when nothing beats -inf (e.g. an all -inf window).
        let best = ih0 < ih1 && iw0 < iw1 ? ih0 * w + iw0 : -1;
        let m = -Infinity;
        for (let ih = ih0; ih < ih1; ih += dilationH) {
          const row = ih * w;
          for (let iw = iw0; iw < iw1; iw += dilationW) {
            const v = x[base + row + iw];
            // `v !== v` is the NaN test; later NaNs overwrite earlier ones, matching PyTorch.
            if (v > m || v !== v) {
              m = v;
              best = row + iw;
            }
          }
        }
        y[o] = m;
        indices[o] = best;
        o++;
      }
    }
  }
  return { y, indices };
}

/**
 * Writes, per output position along one axis, the first real tap at or after the window start
 * and the clipped end as an [first, end) pair (the loops of the JS kernel above).
 */
function windowTable(
  outSize: number,
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  t: Int32Array,
): void {
  for (let i = 0; i < outSize; i++) {
    const s = i * stride - pad;
    let first = s;
    while (first < 0) first += dilation;
    t[2 * i] = first;
    t[2 * i + 1] = Math.min(s + (kernel - 1) * dilation + 1, size);
  }
}

// Planes per wasm call, bounding the heap use to about 8 MiB.
const POOL_CHUNK_FLOATS = 1 << 21;

/** Planes per wasm call of the pooling kernels (an input plane and two output planes each). */
export function poolChunk(planes: number, inPlane: number, outPlane: number): number {
  return Math.max(1, Math.min(planes, Math.floor(POOL_CHUNK_FLOATS / (inPlane + 2 * outPlane))));
}
// Window taps from which max pooling runs on a second thread (ResNet-18's 3 × 3 pooling at batch
// 32 has 1.2M).
const POOL_WORK_PER_THREAD = 1 << 18;

function wasmMaxPool2d(x: Float32Array, p: Pool2dParams): { y: Float32Array; indices: Int32Array } {
  const k = convKernels!;
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w, outPlane = oh * ow;
  const chunk = poolChunk(planes, inPlane, outPlane);
  const { at, f } = heapRegions([
    chunk * inPlane,
    chunk * outPlane,
    chunk * outPlane,
    2 * oh,
    2 * ow,
  ]);
  const [X, Y, IDX, TH, TW] = at;
  const ints = new Int32Array(f.buffer);
  windowTable(oh, h, p.kh, p.strideH, p.padH, p.dilationH, ints.subarray(TH));
  windowTable(ow, w, p.kw, p.strideW, p.padW, p.dilationW, ints.subarray(TW));
  const y = outputF32(planes * outPlane);
  const indices = outputI32(planes * outPlane);
  // Planes are independent: ranges of them are work items (window taps as the unit of work).
  const plan = planFor(planes * outPlane * p.kh * p.kw, planes, POOL_WORK_PER_THREAD);
  for (let p0 = 0; p0 < planes; p0 += chunk) {
    const cnt = Math.min(chunk, planes - p0);
    f.set(x.subarray(p0 * inPlane, (p0 + cnt) * inPlane), X);
    const step = Math.ceil(cnt / (4 * plan.threads));
    for (let q0 = 0; q0 < cnt; q0 += step) {
      plan.item();
      plan.call(
        k.ids.maxPool,
        0,
        4 * (X + q0 * inPlane),
        4 * (Y + q0 * outPlane),
        4 * (IDX + q0 * outPlane),
        Math.min(step, cnt - q0),
        w,
        4 * inPlane,
        p.dilationH,
        p.dilationW,
        oh,
        ow,
        4 * TH,
        4 * TW,
        p.strideW,
        p.padW,
        p.kw,
      );
    }
    plan.run();
    y.set(f.subarray(Y, Y + cnt * outPlane), p0 * outPlane);
    indices.set(ints.subarray(IDX, IDX + cnt * outPlane), p0 * outPlane);
  }
  return { y, indices };
}

/**
 * Whether a max pooling is the plain 2×2 window with stride 2: no padding, no dilation, and every
 * window inside the input (ceil mode adds no partial window). Its windows are disjoint.
 */
export function isPool2x2(p: Pool2dParams): boolean {
  return p.kh === 2 && p.kw === 2 && p.strideH === 2 && p.strideW === 2 && p.padH === 0 &&
    p.padW === 0 && p.dilationH === 1 && p.dilationW === 1 && 2 * p.oh <= p.h &&
    2 * p.ow <= p.w;
}

/**
 * Emits `pool2x2(x, y, idx, planes, oh, ow, w, planeBytes)` over byte pointers: four outputs per
 * step. Two v128 loads per input row give eight columns, which shuffles split into the four
 * windows' left and right taps; the taps are then folded in window order with the generic
 * kernel's rule (`v > m || v != v` selects, so a NaN wins and a later NaN replaces it) through
 * `v128.bitselect`, for the values and their in-plane indices alike. The last step of a row may
 * run past `ow`: its extra lanes read the next row (or the spare floats after the region) and
 * write the next row's outputs, which that row then overwrites.
 */
function emitPool2x2(): Code {
  const X = 0, Y = 1, IDX = 2, PLANES = 3, OH = 4, OW = 5, W = 6, PLANEB = 7;
  let n = 8;
  const pl = n++, oy = n++, ox = n++, r0 = n++, r1 = n++, yo = n++, io = n++, rowB = n++;
  const a = n++, b = n++, m = n++, best = n++, v = n++, i0 = n++, cond = n++;
  const v1 = n++, vw = n++, vw1 = n++, lane = n++;
  const c = new Code();
  const V = { align: 0, offset: 0 }, V16 = { align: 0, offset: 16 };
  const I32X4_ADD = 0xae, I8X16_SHUFFLE = 0x0d;
  // Splits the eight floats of (a, b) into their even or odd ones.
  const taps = (first: number) => {
    c.get(a).get(b).simd(I8X16_SHUFFLE);
    for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) c.op(4 * (first + 2 * j) + k);
  };
  // Folds the taps on the stack, whose in-plane indices are i0 + step, into (m, best).
  const fold = (step: number) => {
    c.set(v);
    c.get(v).get(m).simd(SimdOp.f32x4Gt).get(v).get(v).simd(SimdOp.f32x4Ne).simd(SimdOp.v128Or);
    c.set(cond);
    c.get(v).get(m).get(cond).simd(SimdOp.v128Bitselect).set(m);
    c.get(i0).get(step).simd(I32X4_ADD).get(best).get(cond).simd(SimdOp.v128Bitselect).set(best);
  };
  c.i32(1).simd(SimdOp.i32x4Splat).set(v1);
  c.get(W).simd(SimdOp.i32x4Splat).set(vw);
  c.get(W).i32(1).op(Op.i32Add).simd(SimdOp.i32x4Splat).set(vw1);
  c.simd(SimdOp.v128Const);
  for (const k of [0, 2, 4, 6]) {
    for (const byte of new Uint8Array(new Int32Array([k]).buffer)) c.op(byte);
  }
  c.set(lane);
  c.get(W).i32(4).op(Op.i32Mul).set(rowB);
  c.get(Y).set(yo);
  c.get(IDX).set(io);
  forUp(c, pl, PLANES, 1, () => {
    forUp(c, oy, OH, 1, () => {
      c.get(X).get(oy).get(rowB).op(Op.i32Mul).i32(2).op(Op.i32Mul, Op.i32Add).tee(r0);
      c.get(rowB).op(Op.i32Add).set(r1);
      // In-plane index of the first window's top-left tap, 2·oy·w, plus 0, 2, 4, 6.
      c.get(oy).get(W).op(Op.i32Mul).i32(2).op(Op.i32Mul).simd(SimdOp.i32x4Splat);
      c.get(lane).simd(I32X4_ADD).set(i0);
      forUp(c, ox, OW, 4, () => {
        c.get(r0).simd(SimdOp.v128Load, V).set(a);
        c.get(r0).simd(SimdOp.v128Load, V16).set(b);
        taps(0);
        c.set(m);
        c.get(i0).set(best);
        taps(1);
        fold(v1);
        c.get(r1).simd(SimdOp.v128Load, V).set(a);
        c.get(r1).simd(SimdOp.v128Load, V16).set(b);
        taps(0);
        fold(vw);
        taps(1);
        fold(vw1);
        c.get(yo).get(m).simd(SimdOp.v128Store, V);
        c.get(io).get(best).simd(SimdOp.v128Store, V);
        c.get(r0).i32(32).op(Op.i32Add).set(r0);
        c.get(r1).i32(32).op(Op.i32Add).set(r1);
        c.get(yo).i32(16).op(Op.i32Add).set(yo);
        c.get(io).i32(16).op(Op.i32Add).set(io);
        c.get(i0).i32(8).simd(SimdOp.i32x4Splat).simd(I32X4_ADD).set(i0);
      });
      // Back up over the lanes past ow: ox stopped at ow rounded up to a multiple of 4.
      c.get(yo).get(ox).get(OW).op(Op.i32Sub).i32(4).op(Op.i32Mul, Op.i32Sub).set(yo);
      c.get(io).get(ox).get(OW).op(Op.i32Sub).i32(4).op(Op.i32Mul, Op.i32Sub).set(io);
    });
    c.get(X).get(PLANEB).op(Op.i32Add).set(X);
  });
  return c;
}

type Pool2x2Fn = (...args: number[]) => void;

const pool2x2: Pool2x2Fn | null = (() => {
  if (!wasmSimdAvailable || !wasmMemory) return null;
  const { i32, v128 } = ValType;
  try {
    const bytes = buildModule([{
      name: "pool2x2",
      params: new Array(8).fill(i32),
      results: [],
      locals: [...new Array(8).fill(i32), ...new Array(11).fill(v128)],
      code: emitPool2x2(),
    }], wasmMemoryImport);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: wasmMemory },
    });
    return inst.exports.pool2x2 as Pool2x2Fn;
  } catch {
    return null;
  }
})();

/**
 * The SIMD 2 × 2 max-pooling kernel over heap byte pointers, `(x, y, idx, planes, oh, ow, w,
 * planeBytes)` (it may write up to 3 lanes past each output row and read past each input row), or
 * null without WebAssembly SIMD; for the fused conv-and-pool kernel.
 */
export const maxPool2x2Heap: Pool2x2Fn | null = pool2x2;

function wasmMaxPool2x2(
  x: Float32Array,
  p: Pool2dParams,
): { y: Float32Array; indices: Int32Array } {
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w, outPlane = oh * ow;
  const chunk = poolChunk(planes, inPlane, outPlane);
  const { at, f } = heapRegions([chunk * inPlane, chunk * outPlane, chunk * outPlane]);
  const [X, Y, IDX] = at;
  const ints = new Int32Array(f.buffer);
  const y = outputF32(planes * outPlane);
  const indices = outputI32(planes * outPlane);
  for (let p0 = 0; p0 < planes; p0 += chunk) {
    const cnt = Math.min(chunk, planes - p0);
    f.set(x.subarray(p0 * inPlane, (p0 + cnt) * inPlane), X);
    pool2x2!(4 * X, 4 * Y, 4 * IDX, cnt, oh, ow, w, 4 * inPlane);
    y.set(f.subarray(Y, Y + cnt * outPlane), p0 * outPlane);
    indices.set(ints.subarray(IDX, IDX + cnt * outPlane), p0 * outPlane);
  }
  return { y, indices };
}
