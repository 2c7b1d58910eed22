/**
 * The product kernels of the conv module (wasm_conv_kernels.ts instantiates them with the rest):
 * the dot-product GEMM of weight gradients, which reads gy and the column rows (or the padded
 * input planes) in place, and the direct convolution, which reads padded input planes in place and
 * writes output rows with their bias.
 *
 * @module
 */

import {
  BLOCK_VOID,
  Code,
  forUp,
  Frame,
  type FuncDef,
  Op,
  SimdOp,
  ValType,
  whileLt,
} from "./wasm.ts";

const { i32, f32, v128 } = ValType;

/**
 * Emits `dot(a, lda, b, ldb, c, ldc, m, n, k, acc)`: C[m, n] (+)= A[m, k] B[n, k]^T with both
 * operands read row-major along k (byte pointers and pitches). This is the weight-gradient
 * product gy @ col^T without transposing or packing either side; `rows` x `cols` tiles of C are
 * summed in four lanes each and reduced at the end. Edge tiles re-read the last row and skip its
 * stores. With `relaxed`, the products are summed by `f32x4.relaxed_madd` (one fused multiply-add
 * on x64), which halves the floating-point instructions of the loop.
 *
 * With `plane`, the kernel is `dotPlane(a, lda, b, tab, c, ldc, m, n, oh, ow, ldx, acc)`, the same
 * product with B's rows read straight from padded input planes instead of a column matrix: row j
 * of B (kernel tap j) is the oh x ow window at byte pointer b + tab[j] (tab: i32 byte offsets)
 * with row pitch ldx bytes, i.e. B[j, y * ow + x] = b[tab[j] + y * ldx + 4x], which is im2col's
 * row j for unit horizontal stride. A's rows hold oh * ow floats each.
 */
export function emitDot(
  name: string,
  rows: number,
  cols: number,
  relaxed: boolean,
  plane = false,
): FuncDef {
  const A = 0, LDA = 1, B = 2, LDB = 3, C = 4, LDC = 5, M = 6, N = 7, K = 8, ACC = plane ? 11 : 9;
  const TAB = 3, OH = 8, OW = 9, LDX = 10;
  const f = new Frame(plane ? 12 : 10);
  const i = f.local(i32), j = f.local(i32), p = f.local(i32), kB = f.local(i32);
  const k4B = f.local(i32), addr = f.local(i32);
  // plane: the offset into A (contiguous over the window), the current row of B and its ends.
  const pa = f.local(i32), rowB = f.local(i32), y = f.local(i32);
  const ap = Array.from({ length: rows }, () => f.local(i32));
  const bp = Array.from({ length: cols }, () => f.local(i32));
  const va = Array.from({ length: rows }, () => f.local(v128)), vb = f.local(v128);
  const acc = Array.from({ length: rows }, () => Array.from({ length: cols }, () => f.local(v128)));
  const s = f.local(f32);
  const c = new Code();
  // Row index min(base + d, last), as a byte pointer: ptr + that * pitch.
  const clampedRow = (base: number, d: number, count: number, ptr: number, pitch: number) => {
    c.get(ptr);
    c.get(base).i32(d).op(Op.i32Add);
    c.get(count).i32(1).op(Op.i32Sub);
    c.get(base).i32(d).op(Op.i32Add).get(count).op(Op.i32LtS, Op.select);
    c.get(pitch).op(Op.i32Mul, Op.i32Add);
  };
  // Sums over B offsets [p, end) in steps of inc bytes; A is read at the same offsets, or with
  // `plane` at pa, which advances with p.
  const step = (load: number, memAlign: number, inc: number, end: number) => {
    whileLt(c, p, end, 0, () => {
      for (let r = 0; r < rows; r++) {
        c.get(ap[r]).get(plane ? pa : p).op(Op.i32Add);
        c.simd(load, { align: memAlign, offset: 0 }).set(va[r]);
      }
      for (let q = 0; q < cols; q++) {
        c.get(bp[q]).get(p).op(Op.i32Add).simd(load, { align: memAlign, offset: 0 }).set(vb);
        for (let r = 0; r < rows; r++) {
          if (relaxed) {
            c.get(va[r]).get(vb).get(acc[r][q]).simd(SimdOp.f32x4RelaxedMadd);
          } else {
            c.get(acc[r][q]).get(va[r]).get(vb).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
          }
          c.set(acc[r][q]);
        }
      }
      c.get(p).i32(inc).op(Op.i32Add).set(p);
      if (plane) c.get(pa).i32(inc).op(Op.i32Add).set(pa);
    });
  };
  if (plane) {
    c.get(OW).i32(4).op(Op.i32Mul).set(kB);
    c.get(OW).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(k4B);
  } else {
    c.get(K).i32(4).op(Op.i32Mul).set(kB);
    c.get(K).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(k4B);
  }
  forUp(c, i, M, rows, () => {
    for (let r = 0; r < rows; r++) {
      clampedRow(i, r, M, A, LDA);
      c.set(ap[r]);
    }
    forUp(c, j, N, cols, () => {
      for (let q = 0; q < cols; q++) {
        if (plane) {
          // b + tab[min(j + q, n - 1)]
          c.get(B).get(TAB);
          c.get(j).i32(q).op(Op.i32Add);
          c.get(N).i32(1).op(Op.i32Sub);
          c.get(j).i32(q).op(Op.i32Add).get(N).op(Op.i32LtS, Op.select);
          c.i32(4).op(Op.i32Mul, Op.i32Add).mem(Op.i32Load, 2).op(Op.i32Add);
        } else {
          clampedRow(j, q, N, B, LDB);
        }
        c.set(bp[q]);
      }
      for (const row of acc) for (const a of row) c.f32x4Const(0).set(a);
      if (plane) {
        c.i32(0).set(pa);
        c.i32(0).set(rowB);
        forUp(c, y, OH, 1, () => {
          c.get(rowB).set(p);
          c.get(rowB).get(k4B).op(Op.i32Add).set(addr);
          step(SimdOp.v128Load, 0, 16, addr);
          c.get(rowB).get(kB).op(Op.i32Add).set(addr);
          step(SimdOp.v128Load32Zero, 2, 4, addr);
          c.get(rowB).get(LDX).op(Op.i32Add).set(rowB);
        });
      } else {
        c.i32(0).set(p);
        step(SimdOp.v128Load, 0, 16, k4B);
        step(SimdOp.v128Load32Zero, 2, 4, kB);
      }
      for (let r = 0; r < rows; r++) {
        for (let q = 0; q < cols; q++) {
          c.get(i).i32(r).op(Op.i32Add).get(M).op(Op.i32LtS);
          c.get(j).i32(q).op(Op.i32Add).get(N).op(Op.i32LtS, Op.i32And, Op.if, BLOCK_VOID);
          c.get(C).get(i).i32(r).op(Op.i32Add).get(LDC).op(Op.i32Mul, Op.i32Add);
          c.get(j).i32(q).op(Op.i32Add).i32(4).op(Op.i32Mul, Op.i32Add).set(addr);
          for (let lane = 0; lane < 4; lane++) {
            c.get(acc[r][q]).simd(SimdOp.f32x4ExtractLane).op(lane);
            if (lane > 0) c.op(Op.f32Add);
          }
          c.set(s);
          c.get(ACC).op(Op.if, BLOCK_VOID);
          c.get(s).get(addr).mem(Op.f32Load, 2).op(Op.f32Add).set(s);
          c.op(Op.end);
          c.get(addr).get(s).mem(Op.f32Store, 2);
          c.op(Op.end);
        }
      }
    });
  });
  return {
    name,
    params: new Array(plane ? 12 : 10).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/** Tile shape of a direct convolution kernel (see {@link emitConvDirect}). */
export interface DirectConvShape {
  /**
   * `pixels`: `a` output channels (weights broadcast) by `b` vectors of 4 consecutive pixels of an
   * output row. `channels`: `a` vectors of 4 output channels by `b` consecutive pixels (inputs
   * broadcast).
   */
  mode: "pixels" | "channels";
  a: number;
  b: number;
}

/** Output channels and pixels of one tile of a direct convolution kernel. */
export function directTile(s: DirectConvShape): { chans: number; width: number } {
  return s.mode === "pixels" ? { chans: s.a, width: 4 * s.b } : { chans: 4 * s.a, width: s.b };
}

/**
 * Emits `name(x, tab, w, y, bias, kk, oh, ow, ldx, plane, mo, mp, rows)`, a convolution that reads
 * zero-padded input planes in place (implicit GEMM, no column matrix) for unit horizontal stride:
 * y[ch, oy, ox] = bias[ch] + sum over taps t in [rows[2 oy], rows[2 oy + 1]) of
 * wp[t, ch] * x[tab[t] + oy * ldx + 4 ox] (byte pointers and offsets; tab: i32 byte offsets of
 * the kk taps from the planes' top-left; ldx: input bytes per output row; plane: bytes per output
 * plane of oh x ow floats). The weights are packed per block of `chans` channels (see
 * {@link directTile}) as [block][tap][chans], mp channels in all (rows past mo are zero); only
 * the mo first channels are stored. Each tile of `chans` channels by `width` pixels of one output
 * row keeps its sums in registers over all its taps, from the bias, and is stored once. A row's
 * last tile is moved left to end at the row's end (ow >= width), recomputing some pixels to the
 * same bits. With `relaxed`, products are summed by `f32x4.relaxed_madd`.
 */
export function emitConvDirect(name: string, shape: DirectConvShape, relaxed: boolean): FuncDef {
  const X = 0, TAB = 1, W = 2, Y = 3, BIAS = 4, KK = 5, OH = 6, OW = 7, LDX = 8, PLANE = 9;
  const MO = 10, MP = 11, ROWS = 12;
  const pixels = shape.mode === "pixels";
  const { chans, width } = directTile(shape);
  const f = new Frame(13);
  const ob = f.local(i32), oy = f.local(i32), ox = f.local(i32), oxc = f.local(i32);
  const xrow = f.local(i32), xa = f.local(i32), tp = f.local(i32), tEnd = f.local(i32);
  const wp = f.local(i32), wb = f.local(i32), addr = f.local(i32), rp = f.local(i32);
  const owL = f.local(i32), yrow = f.local(i32);
  const acc = Array.from(
    { length: shape.a },
    () => Array.from({ length: shape.b }, () => f.local(v128)),
  );
  const xv = Array.from({ length: shape.b }, () => f.local(v128)), wv = f.local(v128);
  const c = new Code();
  const madd = (x: number, w: number, a: number) => {
    if (relaxed) c.get(x).get(w).get(a).simd(SimdOp.f32x4RelaxedMadd);
    else c.get(a).get(x).get(w).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
    c.set(a);
  };
  c.get(OW).i32(width).op(Op.i32Sub).set(owL);
  c.get(W).set(wb);
  forUp(c, ob, MP, chans, () => {
    c.get(X).set(xrow);
    c.get(ROWS).set(rp);
    c.get(Y).set(yrow);
    forUp(c, oy, OH, 1, () => {
      c.i32(0).set(ox);
      whileLt(c, ox, OW, width, () => {
        // oxc = min(ox, ow - width)
        c.get(ox).get(owL).get(ox).get(owL).op(Op.i32LtS, Op.select).set(oxc);
        c.get(xrow).get(oxc).i32(4).op(Op.i32Mul, Op.i32Add).set(xa);
        // Sums start from the bias.
        c.get(BIAS).get(ob).i32(4).op(Op.i32Mul, Op.i32Add).set(addr);
        for (let r = 0; r < shape.a; r++) {
          if (pixels) c.get(addr).simd(SimdOp.v128Load32Splat, { align: 2, offset: 4 * r });
          else c.get(addr).simd(SimdOp.v128Load, { align: 0, offset: 16 * r });
          c.set(acc[r][0]);
          for (let q = 1; q < shape.b; q++) c.get(acc[r][0]).set(acc[r][q]);
        }
        c.get(rp).mem(Op.i32Load, 2, 0).set(tp);
        c.get(rp).mem(Op.i32Load, 2, 4).set(tEnd);
        c.get(wb).get(tp).i32(4 * chans).op(Op.i32Mul, Op.i32Add).set(wp);
        c.get(TAB).get(tp).i32(4).op(Op.i32Mul, Op.i32Add).set(tp);
        c.get(TAB).get(tEnd).i32(4).op(Op.i32Mul, Op.i32Add).set(tEnd);
        whileLt(c, tp, tEnd, 0, () => {
          c.get(xa).get(tp).mem(Op.i32Load, 2).op(Op.i32Add).set(addr);
          for (let q = 0; q < shape.b; q++) {
            if (pixels) c.get(addr).simd(SimdOp.v128Load, { align: 0, offset: 16 * q });
            else c.get(addr).simd(SimdOp.v128Load32Splat, { align: 2, offset: 4 * q });
            c.set(xv[q]);
          }
          for (let r = 0; r < shape.a; r++) {
            if (pixels) c.get(wp).simd(SimdOp.v128Load32Splat, { align: 2, offset: 4 * r });
            else c.get(wp).simd(SimdOp.v128Load, { align: 0, offset: 16 * r });
            c.set(wv);
            for (let q = 0; q < shape.b; q++) madd(xv[q], wv, acc[r][q]);
          }
          c.get(tp).i32(4).op(Op.i32Add).set(tp);
          c.get(wp).i32(4 * chans).op(Op.i32Add).set(wp);
        });
        // Store the tile's channels below mo: y + ch * plane + (oy * ow + oxc) * 4.
        const store = (ch: number, body: () => void) => {
          c.get(ob).i32(ch).op(Op.i32Add).get(MO).op(Op.i32LtS, Op.if, BLOCK_VOID);
          c.get(yrow).get(oxc).i32(4).op(Op.i32Mul, Op.i32Add);
          c.get(ob).i32(ch).op(Op.i32Add).get(PLANE).op(Op.i32Mul, Op.i32Add).set(addr);
          body();
          c.op(Op.end);
        };
        for (let r = 0; r < shape.a; r++) {
          if (pixels) {
            store(r, () => {
              for (let q = 0; q < shape.b; q++) {
                c.get(addr).get(acc[r][q]).simd(SimdOp.v128Store, { align: 0, offset: 16 * q });
              }
            });
            continue;
          }
          for (let lane = 0; lane < 4; lane++) {
            store(4 * r + lane, () => {
              for (let q = 0; q < shape.b; q++) {
                c.get(addr).get(acc[r][q]).simd(SimdOp.f32x4ExtractLane).op(lane);
                c.mem(Op.f32Store, 2, 4 * q);
              }
            });
          }
        }
      });
      c.get(xrow).get(LDX).op(Op.i32Add).set(xrow);
      c.get(yrow).get(OW).i32(4).op(Op.i32Mul, Op.i32Add).set(yrow);
      c.get(rp).i32(8).op(Op.i32Add).set(rp);
    });
    c.get(wb).get(KK).i32(4 * chans).op(Op.i32Mul, Op.i32Add).set(wb);
  });
  return { name, params: new Array(13).fill(i32), results: [], locals: f.locals, code: c };
}
