/**
 * The SIMD kernel of the plain 2 × 2 max pooling with stride 2 (pool.ts's `isPool2x2` case), in a
 * module of its own over the shared wasm memory: pool.ts runs it on whole planes, the fused
 * conv-and-pool kernel (wasm_conv_pool.ts) on its heap tiles.
 *
 * @module
 */

import { buildModule, Code, forUp, Op, SimdOp, ValType } from "./wasm.ts";
import { wasmMemory, wasmMemoryImport, wasmSimdAvailable } from "./wasm_gemm.ts";

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

/** The kernel's signature: byte pointers and counts. */
export type Pool2x2Fn = (...args: number[]) => void;

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
