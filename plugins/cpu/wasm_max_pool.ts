/**
 * Emitter of the cpu backend's max pooling kernel (instantiated in wasm_conv_kernels.ts with the
 * other conv-module kernels; plugins/cpu/pool.ts drives it).
 *
 * @module
 */

import {
  BLOCK_VOID,
  Code,
  EVEN_LANES,
  forUp,
  Frame,
  type FuncDef,
  Op,
  SimdOp,
  ValType,
  whileLt,
} from "./wasm.ts";

const { i32, v128 } = ValType;

const V = { align: 0, offset: 0 };
const V16 = { align: 0, offset: 16 };

/**
 * Emits `maxPool(x, y, idx, planes, w, planeBytes, dh, dw, oh, ow, th, tw, sw, padW, kw)`. th/tw
 * hold per output row/column the clipped [first, end) input row/column as i32 pairs. The running
 * maximum and its index live in v128 locals and are updated with `v128.bitselect`: V8 lowers a
 * scalar f32 `select` to a branch, which unpredictable data would mispredict half the time.
 * `v > m || v != v` keeps PyTorch's rule that a NaN wins and later NaNs replace it. With stride 1
 * or 2 and no horizontal dilation, four neighbouring outputs are done together, one lane each
 * (stride 2: two loads and an even-lane shuffle), visiting the taps in the same order as one
 * output alone; where a window reaches past the row (padding, ceil mode), the lanes of taps
 * outside it read -inf instead (their loads may read a few floats past the row or before it:
 * the heap regions have room on both sides) and each lane starts from its first real tap. A row's
 * last outputs that do not fill four lanes are done one at a time in lane 0.
 */
export function emitMaxPool(): FuncDef {
  const X = 0, Y = 1, IDX = 2, PLANES = 3, W = 4, PLANEB = 5, DH = 6, DW = 7, OH = 8, OW = 9;
  const TH = 10, TW = 11, SW = 12, PADW = 13, KW = 14;
  const f = new Frame(15);
  const pl = f.local(i32), oy = f.local(i32), ox = f.local(i32), ih0 = f.local(i32);
  const ih1 = f.local(i32), iw0 = f.local(i32), iw1 = f.local(i32), ih = f.local(i32);
  const iw = f.local(i32), idx = f.local(i32), o = f.local(i32), base = f.local(i32);
  const row = f.local(i32), start = f.local(i32), wide = f.local(i32), kj = f.local(i32);
  const m = f.local(v128), best = f.local(v128), v = f.local(v128), cond = f.local(v128);
  const lanes = f.local(v128), cols = f.local(v128), valid = f.local(v128);
  const zero = f.local(v128), wvec = f.local(v128), inside = f.local(i32);
  const c = new Code();
  c.get(X).set(base);
  c.i32(0).set(o);
  c.i32(0).simd(SimdOp.i32x4Splat).set(zero);
  c.get(W).simd(SimdOp.i32x4Splat).set(wvec);
  // Lane j of a four-output block reads column start + j·sw: the lanes' offsets.
  c.get(SW).i32(1).op(Op.i32Eq, Op.if, BLOCK_VOID);
  c.i32x4Const([0, 1, 2, 3]).set(lanes);
  c.op(Op.else);
  c.i32x4Const([0, 2, 4, 6]).set(lanes);
  c.op(Op.end);
  // Whether blocks of four apply at all: stride 1 or 2, no horizontal dilation.
  c.get(DW).i32(1).op(Op.i32Eq).get(SW).i32(1).op(Op.i32Eq).get(SW).i32(2).op(Op.i32Eq, Op.i32Or);
  c.op(Op.i32And).set(wide);
  // One block: outputs ox..ox+3 of the row, lane j's window [start + j·sw, + kw); `masked` where
  // some window reaches outside the row.
  const block = (masked: boolean) => {
    if (masked) {
      // Lane j's first real column max(start + j·sw, 0), and whether it is before its window's
      // clipped end min(start + j·sw + kw, w) (into `cond`).
      c.get(start).simd(SimdOp.i32x4Splat).get(lanes).simd(SimdOp.i32x4Add).tee(cols);
      c.get(zero).simd(SimdOp.i32x4MaxS).tee(valid);
      c.get(cols).get(KW).simd(SimdOp.i32x4Splat).simd(SimdOp.i32x4Add).get(wvec);
      c.simd(SimdOp.i32x4MinS).simd(SimdOp.i32x4LtS).set(cond);
    }
    c.get(ih0).get(ih1).op(Op.i32LtS, Op.if, BLOCK_VOID);
    if (masked) {
      c.get(ih0).get(W).op(Op.i32Mul).simd(SimdOp.i32x4Splat).get(valid).simd(SimdOp.i32x4Add);
      c.i32(-1).simd(SimdOp.i32x4Splat).get(cond).simd(SimdOp.v128Bitselect).set(best);
    } else {
      c.get(ih0).get(W).op(Op.i32Mul).get(start).op(Op.i32Add).simd(SimdOp.i32x4Splat);
      c.get(lanes).simd(SimdOp.i32x4Add).set(best);
    }
    c.op(Op.else);
    c.i32(-1).simd(SimdOp.i32x4Splat).set(best);
    c.op(Op.end);
    c.f32x4Const(-Infinity).set(m);
    c.get(ih0).set(ih);
    whileLt(c, ih, ih1, 0, () => {
      c.get(ih).get(W).op(Op.i32Mul).get(start).op(Op.i32Add).set(row);
      c.i32(0).set(kj);
      whileLt(c, kj, KW, 1, () => {
        c.get(row).get(kj).op(Op.i32Add).tee(idx).i32(4).op(Op.i32Mul).get(base).op(Op.i32Add);
        c.tee(iw).simd(SimdOp.v128Load, V).set(v);
        c.get(SW).i32(2).op(Op.i32Eq, Op.if, BLOCK_VOID);
        c.get(v).get(iw).simd(SimdOp.v128Load, V16).simd(SimdOp.i8x16Shuffle).op(...EVEN_LANES);
        c.set(v).op(Op.end);
        if (masked) {
          // Lanes whose tap column start + j·sw + kj is outside [0, w) read -inf.
          c.get(start).get(kj).op(Op.i32Add).simd(SimdOp.i32x4Splat).get(lanes);
          c.simd(SimdOp.i32x4Add).tee(cols).get(zero).simd(SimdOp.i32x4GeS);
          c.get(cols).get(wvec).simd(SimdOp.i32x4LtS).simd(SimdOp.v128And).set(valid);
          c.get(v).f32x4Const(-Infinity).get(valid).simd(SimdOp.v128Bitselect).set(v);
        }
        c.get(v).get(m).simd(SimdOp.f32x4Gt).get(v).get(v).simd(SimdOp.f32x4Ne);
        c.simd(SimdOp.v128Or).set(cond);
        c.get(v).get(m).get(cond).simd(SimdOp.v128Bitselect).set(m);
        c.get(idx).simd(SimdOp.i32x4Splat).get(lanes).simd(SimdOp.i32x4Add);
        c.get(best).get(cond).simd(SimdOp.v128Bitselect).set(best);
      });
      c.get(ih).get(DH).op(Op.i32Add).set(ih);
    });
    c.get(Y).get(o).op(Op.i32Add).get(m).simd(SimdOp.v128Store, V);
    c.get(IDX).get(o).op(Op.i32Add).get(best).simd(SimdOp.v128Store, V);
    c.get(o).i32(16).op(Op.i32Add).set(o);
  };
  forUp(c, pl, PLANES, 1, () => {
    forUp(c, oy, OH, 1, () => {
      c.get(TH).get(oy).i32(8).op(Op.i32Mul, Op.i32Add).tee(ih0).mem(Op.i32Load, 2, 4).set(ih1);
      c.get(ih0).mem(Op.i32Load, 2).set(ih0);
      c.i32(0).set(ox);
      whileLt(c, ox, OW, 0, () => {
        // start = ox·sw − padW; a block when four outputs are left, masked unless start ≥ 0 and
        // the fourth window ends inside the row.
        c.get(ox).get(SW).op(Op.i32Mul).get(PADW).op(Op.i32Sub).set(start);
        c.get(wide).get(ox).i32(4).op(Op.i32Add).get(OW).op(Op.i32LeS, Op.i32And);
        c.op(Op.if, BLOCK_VOID);
        c.get(start).i32(0).op(Op.i32GeS);
        c.get(start).get(SW).i32(3).op(Op.i32Mul, Op.i32Add).get(KW).op(Op.i32Add).get(W);
        c.op(Op.i32LeS, Op.i32And).set(inside);
        c.get(inside).op(Op.if, BLOCK_VOID);
        block(false);
        c.op(Op.else);
        block(true);
        c.op(Op.end);
        c.get(ox).i32(4).op(Op.i32Add).set(ox);
        c.op(Op.else);
        c.get(TW).get(ox).i32(8).op(Op.i32Mul, Op.i32Add).tee(iw0).mem(Op.i32Load, 2, 4);
        c.set(iw1);
        c.get(iw0).mem(Op.i32Load, 2).set(iw0);
        // PyTorch reports the first valid tap when nothing beats -inf.
        c.get(ih0).get(W).op(Op.i32Mul).get(iw0).op(Op.i32Add).i32(-1);
        c.get(ih0).get(ih1).op(Op.i32LtS).get(iw0).get(iw1).op(Op.i32LtS, Op.i32And, Op.select);
        c.simd(SimdOp.i32x4Splat).set(best);
        c.f32x4Const(-Infinity).set(m);
        c.get(ih0).set(ih);
        whileLt(c, ih, ih1, 0, () => {
          c.get(ih).get(W).op(Op.i32Mul).set(row);
          c.get(iw0).set(iw);
          whileLt(c, iw, iw1, 0, () => {
            c.get(row).get(iw).op(Op.i32Add).tee(idx);
            c.i32(4).op(Op.i32Mul).get(base).op(Op.i32Add);
            c.simd(SimdOp.v128Load32Splat, { align: 2, offset: 0 }).set(v);
            c.get(v).get(m).simd(SimdOp.f32x4Gt).get(v).get(v).simd(SimdOp.f32x4Ne);
            c.simd(SimdOp.v128Or).set(cond);
            c.get(v).get(m).get(cond).simd(SimdOp.v128Bitselect).set(m);
            c.get(idx).simd(SimdOp.i32x4Splat).get(best).get(cond).simd(SimdOp.v128Bitselect);
            c.set(best);
            c.get(iw).get(DW).op(Op.i32Add).set(iw);
          });
          c.get(ih).get(DH).op(Op.i32Add).set(ih);
        });
        c.get(Y).get(o).op(Op.i32Add).get(m).simd(SimdOp.f32x4ExtractLane).op(0);
        c.mem(Op.f32Store, 2);
        c.get(IDX).get(o).op(Op.i32Add).get(best).simd(SimdOp.i32x4ExtractLane).op(0);
        c.mem(Op.i32Store, 2);
        c.get(o).i32(4).op(Op.i32Add).set(o);
        c.get(ox).i32(1).op(Op.i32Add).set(ox);
        c.op(Op.end);
      });
    });
    c.get(base).get(PLANEB).op(Op.i32Add).set(base);
  });
  return {
    name: "maxPool",
    params: new Array(15).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `maxPoolScatter(gy, idx, dx, planes, outPlane, inPlaneBytes)`, max pooling's backward over
 * byte pointers: per plane, zeroes its input plane of dx, then adds each gy[o] onto
 * dx[idx[o]] where idx[o] ≥ 0, in output order (float32 adds, the JS loop's sums).
 */
export function emitMaxPoolScatter(): FuncDef {
  const GY = 0, IDX = 1, DX = 2, PLANES = 3, OUTP = 4, INB = 5;
  const f = new Frame(6);
  const pl = f.local(i32), o = f.local(i32), at = f.local(i32), z = f.local(i32);
  const end = f.local(i32);
  const c = new Code();
  forUp(c, pl, PLANES, 1, () => {
    c.get(DX).set(z);
    c.get(DX).get(INB).op(Op.i32Add).set(end);
    whileLt(c, z, end, 4, () => {
      c.get(z).f32(0).mem(Op.f32Store, 2);
    });
    forUp(c, o, OUTP, 1, () => {
      c.get(IDX).mem(Op.i32Load, 2).set(at);
      c.get(at).i32(0).op(Op.i32GeS, Op.if, BLOCK_VOID);
      c.get(DX).get(at).i32(4).op(Op.i32Mul, Op.i32Add).set(at);
      c.get(at).get(at).mem(Op.f32Load, 2).get(GY).mem(Op.f32Load, 2).op(Op.f32Add);
      c.mem(Op.f32Store, 2);
      c.op(Op.end);
      c.get(IDX).i32(4).op(Op.i32Add).set(IDX);
      c.get(GY).i32(4).op(Op.i32Add).set(GY);
    });
    c.get(DX).get(INB).op(Op.i32Add).set(DX);
  });
  return {
    name: "maxPoolScatter",
    params: new Array(6).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `maxPoolS1(x, y, idx, hm, hc, planes, h, w, oh, ow, kh, kw, padH, padW, pitch)`, max
 * pooling with stride 1 and no dilation, over byte pointers, as two passes per plane: along each
 * input row the maximum of each output column's window and its column (into the row-pitched
 * scratch `hm`/`hc`, `pitch` floats a row), then down each output column the maximum of those over
 * the window's rows. Both passes fold in window order with the generic kernel's rule (`v > m ||
 * v != v` selects), which makes the result that of the row-major scan: the first maximum, the last
 * NaN, and the first real tap where nothing beats -inf. kh·kw taps per output become kh + kw.
 * Four outputs per step; columns outside the row read -inf. The row pass reads up to `padW`
 * floats before a row and `padW + 3` after it; the column pass writes only the outputs of its
 * planes (the lanes past a row's end are not stored).
 */
export function emitMaxPoolS1(): FuncDef {
  const X = 0, Y = 1, IDX = 2, HM = 3, HC = 4, PLANES = 5, H = 6, W = 7, OH = 8, OW = 9;
  const KH = 10, KW = 11, PADH = 12, PADW = 13, PITCH = 14;
  const f = new Frame(15);
  const pl = f.local(i32), r = f.local(i32), ox = f.local(i32), t = f.local(i32);
  const start = f.local(i32), at = f.local(i32), hrow = f.local(i32), oy = f.local(i32);
  const r0 = f.local(i32), r1 = f.local(i32), yo = f.local(i32), left = f.local(i32);
  const m = f.local(v128), best = f.local(v128), v = f.local(v128), cond = f.local(v128);
  const cols = f.local(v128), lanes = f.local(v128), zero = f.local(v128), wvec = f.local(v128);
  const c = new Code();
  c.i32x4Const([0, 1, 2, 3]).set(lanes);
  c.i32(0).simd(SimdOp.i32x4Splat).set(zero);
  c.get(W).simd(SimdOp.i32x4Splat).set(wvec);
  // One tap of the fold: v against the running (m, best); `index` pushes the taps' indices.
  const fold = (index: () => void) => {
    c.get(v).get(m).simd(SimdOp.f32x4Gt).get(v).get(v).simd(SimdOp.f32x4Ne);
    c.simd(SimdOp.v128Or).set(cond);
    c.get(v).get(m).get(cond).simd(SimdOp.v128Bitselect).set(m);
    index();
    c.get(best).get(cond).simd(SimdOp.v128Bitselect).set(best);
  };
  // ox − padW + lanes: each lane's first window column (before clipping).
  const firstCols = () => {
    c.get(ox).get(PADW).op(Op.i32Sub).simd(SimdOp.i32x4Splat).get(lanes).simd(SimdOp.i32x4Add);
  };
  forUp(c, pl, PLANES, 1, () => {
    forUp(c, r, H, 1, () => {
      c.get(r).get(PITCH).op(Op.i32Mul).i32(4).op(Op.i32Mul).set(hrow);
      c.i32(0).set(ox);
      whileLt(c, ox, OW, 4, () => {
        c.get(ox).get(PADW).op(Op.i32Sub).set(start);
        c.f32x4Const(-Infinity).set(m);
        firstCols();
        c.get(zero).simd(SimdOp.i32x4MaxS).set(best);
        forUp(c, t, KW, 1, () => {
          c.get(start).get(t).op(Op.i32Add).tee(at).simd(SimdOp.i32x4Splat).get(lanes);
          c.simd(SimdOp.i32x4Add).set(cols);
          c.get(X).get(r).get(W).op(Op.i32Mul).get(at).op(Op.i32Add).i32(4);
          c.op(Op.i32Mul, Op.i32Add).simd(SimdOp.v128Load, V);
          c.f32x4Const(-Infinity);
          c.get(cols).get(zero).simd(SimdOp.i32x4GeS).get(cols).get(wvec).simd(SimdOp.i32x4LtS);
          c.simd(SimdOp.v128And).simd(SimdOp.v128Bitselect).set(v);
          fold(() => c.get(cols));
        });
        c.get(hrow).get(ox).i32(4).op(Op.i32Mul, Op.i32Add).set(at);
        c.get(HM).get(at).op(Op.i32Add).get(m).simd(SimdOp.v128Store, V);
        c.get(HC).get(at).op(Op.i32Add).get(best).simd(SimdOp.v128Store, V);
      });
    });
    c.i32(0).set(yo);
    forUp(c, oy, OH, 1, () => {
      // The window's rows [r0, r1): max(oy − padH, 0) and min(oy − padH + kh, h).
      c.get(oy).get(PADH).op(Op.i32Sub).tee(r0).i32(0).get(r0).i32(0).op(Op.i32GtS, Op.select);
      c.set(r0);
      c.get(oy).get(PADH).op(Op.i32Sub).get(KH).op(Op.i32Add).tee(r1).get(H).get(r1).get(H);
      c.op(Op.i32LtS, Op.select).set(r1);
      c.i32(0).set(ox);
      whileLt(c, ox, OW, 4, () => {
        c.f32x4Const(-Infinity).set(m);
        // The first real tap: row r0, column max(ox − padW + lane, 0).
        firstCols();
        c.get(zero).simd(SimdOp.i32x4MaxS).get(r0).get(W).op(Op.i32Mul).simd(SimdOp.i32x4Splat);
        c.simd(SimdOp.i32x4Add).set(best);
        c.get(r0).set(r);
        whileLt(c, r, r1, 1, () => {
          c.get(r).get(PITCH).op(Op.i32Mul).get(ox).op(Op.i32Add).i32(4).op(Op.i32Mul).set(at);
          c.get(HM).get(at).op(Op.i32Add).simd(SimdOp.v128Load, V).set(v);
          fold(() => {
            c.get(HC).get(at).op(Op.i32Add).simd(SimdOp.v128Load, V);
            c.get(r).get(W).op(Op.i32Mul).simd(SimdOp.i32x4Splat).simd(SimdOp.i32x4Add);
          });
        });
        c.get(yo).get(ox).i32(4).op(Op.i32Mul, Op.i32Add).set(at);
        c.get(OW).get(ox).op(Op.i32Sub).tee(left).i32(4).op(Op.i32GeS, Op.if, BLOCK_VOID);
        c.get(Y).get(at).op(Op.i32Add).get(m).simd(SimdOp.v128Store, V);
        c.get(IDX).get(at).op(Op.i32Add).get(best).simd(SimdOp.v128Store, V);
        c.op(Op.else);
        for (let j = 0; j < 3; j++) {
          c.get(left).i32(j).op(Op.i32GtS, Op.if, BLOCK_VOID);
          c.get(Y).get(at).op(Op.i32Add).get(m).simd(SimdOp.f32x4ExtractLane).op(j);
          c.mem(Op.f32Store, 2, 4 * j);
          c.get(IDX).get(at).op(Op.i32Add).get(best).simd(SimdOp.i32x4ExtractLane).op(j);
          c.mem(Op.i32Store, 2, 4 * j);
          c.op(Op.end);
        }
        c.op(Op.end);
      });
      c.get(yo).get(OW).i32(4).op(Op.i32Mul, Op.i32Add).set(yo);
    });
    c.get(X).get(H).get(W).op(Op.i32Mul).i32(4).op(Op.i32Mul, Op.i32Add).set(X);
    c.get(Y).get(yo).op(Op.i32Add).set(Y);
    c.get(IDX).get(yo).op(Op.i32Add).set(IDX);
  });
  return {
    name: "maxPoolS1",
    params: new Array(15).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}
