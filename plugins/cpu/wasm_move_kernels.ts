/**
 * Emitters of the conv module's own kernels (instantiated in wasm_conv_kernels.ts): the data
 * movement around convolution and max pooling (im2col and col2im, pad and unpad, zero, the row
 * copies with and without a bias); max pooling's kernel is in wasm_max_pool.ts.
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

const { i32, f32, v128 } = ValType;

const V = { align: 0, offset: 0 };
const V16 = { align: 0, offset: 16 };

/** local = a * b (i32 locals or constants pushed by the callbacks). */
function mulInto(c: Code, dst: number, a: number, b: number, scale = 1): void {
  c.get(a).get(b).op(Op.i32Mul);
  if (scale !== 1) c.i32(scale).op(Op.i32Mul);
  c.set(dst);
}

// Shared parameter order of im2col and col2im: the conv geometry over zero-padded input planes
// (hp x wp), so that no tap ever falls outside a plane and rows need no edge tests.
const GEOM = ["cg", "hp", "wp", "kh", "kw", "sh", "sw", "dh", "dw", "oh", "ow"] as const;

/**
 * Emits `im2col(x, col, ldb, ...GEOM)` (byte pointers, `ldb` the byte pitch of a column row) or
 * `col2im(col, ldb, ...GEOM, dx)` which adds the rows back onto the padded planes at dx.
 * Unit-stride rows move four floats per instruction, im2col's stride-2 rows four per two loads and
 * a shuffle; im2col may write up to 3 floats past the end of each row (the caller leaves room),
 * col2im never does since those would be real pixels.
 */
export function emitUnroll(name: "im2col" | "col2im"): FuncDef {
  const fwd = name === "im2col";
  const f = new Frame(3 + GEOM.length);
  const g = (k: (typeof GEOM)[number]) => (fwd ? 3 : 2) + GEOM.indexOf(k);
  const X = fwd ? 0 : 2 + GEOM.length, COL = fwd ? 1 : 0, LDB = fwd ? 2 : 1;
  const [CG, HP, WP, KH, KW, SH, SW, DH, DW, OH, OW] = GEOM.map(g);
  const ci = f.local(i32), ki = f.local(i32), kj = f.local(i32), y = f.local(i32);
  const xo = f.local(i32), s0 = f.local(i32), s = f.local(i32), row = f.local(i32);
  const colRow = f.local(i32), planeB = f.local(i32), rowStep = f.local(i32);
  const owB = f.local(i32), swB = f.local(i32), dhB = f.local(i32), dwB = f.local(i32);
  const pBase = f.local(i32), kBase = f.local(i32), tap = f.local(i32), vecB = f.local(i32);
  const c = new Code();
  mulInto(c, planeB, HP, WP, 4);
  mulInto(c, rowStep, SH, WP, 4);
  mulInto(c, dhB, DH, WP, 4);
  c.get(OW).i32(4).op(Op.i32Mul).set(owB);
  c.get(OW).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(vecB);
  c.get(SW).i32(4).op(Op.i32Mul).set(swB);
  c.get(DW).i32(4).op(Op.i32Mul).set(dwB);
  c.get(COL).set(colRow);
  c.get(X).set(pBase);
  forUp(c, ci, CG, 1, () => {
    c.get(pBase).set(kBase);
    forUp(c, ki, KH, 1, () => {
      c.get(kBase).set(tap);
      forUp(c, kj, KW, 1, () => {
        c.get(tap).set(s0);
        c.get(colRow).set(row);
        forUp(c, y, OH, 1, () => {
          c.i32(0).set(xo);
          c.get(SW).i32(1).op(Op.i32Eq, Op.if, BLOCK_VOID);
          if (fwd) {
            whileLt(c, xo, owB, 16, () => {
              c.get(row).get(xo).op(Op.i32Add);
              c.get(s0).get(xo).op(Op.i32Add).simd(SimdOp.v128Load, V);
              c.simd(SimdOp.v128Store, V);
            });
          } else {
            whileLt(c, xo, vecB, 16, () => {
              c.get(s0).get(xo).op(Op.i32Add);
              c.get(s0).get(xo).op(Op.i32Add).simd(SimdOp.v128Load, V);
              c.get(row).get(xo).op(Op.i32Add).simd(SimdOp.v128Load, V);
              c.simd(SimdOp.f32x4Add).simd(SimdOp.v128Store, V);
            });
            whileLt(c, xo, owB, 4, () => {
              c.get(s0).get(xo).op(Op.i32Add);
              c.get(s0).get(xo).op(Op.i32Add).mem(Op.f32Load, 2);
              c.get(row).get(xo).op(Op.i32Add).mem(Op.f32Load, 2);
              c.op(Op.f32Add).mem(Op.f32Store, 2);
            });
          }
          c.op(Op.else);
          c.get(s0).set(s);
          if (fwd) {
            // Stride 2: four outputs from eight consecutive floats, two loads and a shuffle of the
            // even lanes, over the row's whole vectors (the second load reads one float past the
            // last source: the heap regions have room); the loop below does the rest.
            c.get(SW).i32(2).op(Op.i32Eq, Op.if, BLOCK_VOID);
            whileLt(c, xo, vecB, 16, () => {
              c.get(row).get(xo).op(Op.i32Add);
              c.get(s).simd(SimdOp.v128Load, V).get(s).simd(SimdOp.v128Load, V16);
              c.simd(SimdOp.i8x16Shuffle).op(...EVEN_LANES).simd(SimdOp.v128Store, V);
              c.get(s).i32(32).op(Op.i32Add).set(s);
            });
            c.op(Op.end);
          }
          whileLt(c, xo, owB, 4, () => {
            if (fwd) {
              c.get(row).get(xo).op(Op.i32Add).get(s).mem(Op.f32Load, 2).mem(Op.f32Store, 2);
            } else {
              c.get(s).get(s).mem(Op.f32Load, 2);
              c.get(row).get(xo).op(Op.i32Add).mem(Op.f32Load, 2);
              c.op(Op.f32Add).mem(Op.f32Store, 2);
            }
            c.get(s).get(swB).op(Op.i32Add).set(s);
          });
          c.op(Op.end);
          c.get(s0).get(rowStep).op(Op.i32Add).set(s0);
          c.get(row).get(owB).op(Op.i32Add).set(row);
        });
        c.get(colRow).get(LDB).op(Op.i32Add).set(colRow);
        c.get(tap).get(dwB).op(Op.i32Add).set(tap);
      });
      c.get(kBase).get(dhB).op(Op.i32Add).set(kBase);
    });
    c.get(pBase).get(planeB).op(Op.i32Add).set(pBase);
  });
  return {
    name,
    params: new Array(3 + GEOM.length).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `pad(src, dst, planes, h, w, padH, padW)`, which copies `planes` h x w planes (byte
 * pointers) into zero-bordered (h + 2 padH) x (w + 2 padW) planes, or `unpad` with the same
 * arguments, which copies the interiors of such padded planes at src out to h x w planes at dst.
 * They move padding out of JS, so that it runs on the thread that needs the planes.
 */
export function emitPad(name: "pad" | "unpad"): FuncDef {
  const SRC = 0, DST = 1, PLANES = 2, H = 3, W = 4, PH = 5, PW = 6;
  const f = new Frame(7);
  const pl = f.local(i32), y = f.local(i32), xo = f.local(i32), s = f.local(i32), d = f.local(i32);
  const hp = f.local(i32), wp = f.local(i32), yEnd = f.local(i32), skip = f.local(i32);
  const c = new Code();
  const copyRow = () => {
    c.i32(0).set(xo);
    vectorSteps(c, xo, W, () => {
      c.get(d).get(s).simd(SimdOp.v128Load, V).simd(SimdOp.v128Store, V);
      c.get(s).i32(16).op(Op.i32Add).set(s);
      c.get(d).i32(16).op(Op.i32Add).set(d);
    });
    whileLt(c, xo, W, 1, () => {
      c.get(d).get(s).mem(Op.f32Load, 2).mem(Op.f32Store, 2);
      c.get(s).i32(4).op(Op.i32Add).set(s);
      c.get(d).i32(4).op(Op.i32Add).set(d);
    });
  };
  const zeros = (count: number) => zeroRun(c, xo, count, d);
  c.get(H).get(PH).op(Op.i32Add).get(PH).op(Op.i32Add).set(hp);
  c.get(W).get(PW).op(Op.i32Add).get(PW).op(Op.i32Add).set(wp);
  c.get(PH).get(H).op(Op.i32Add).set(yEnd);
  c.get(SRC).set(s);
  c.get(DST).set(d);
  if (name === "pad") {
    forUp(c, pl, PLANES, 1, () => {
      forUp(c, y, hp, 1, () => {
        c.get(y).get(PH).op(Op.i32GeS).get(y).get(yEnd).op(Op.i32LtS, Op.i32And);
        c.op(Op.if, BLOCK_VOID);
        zeros(PW);
        copyRow();
        zeros(PW);
        c.op(Op.else);
        zeros(wp);
        c.op(Op.end);
      });
    });
  } else {
    // Bytes to skip: padH rows (top or bottom) and padW columns (each side of a row).
    c.get(PH).get(wp).op(Op.i32Mul).i32(4).op(Op.i32Mul).set(skip);
    forUp(c, pl, PLANES, 1, () => {
      c.get(s).get(skip).op(Op.i32Add).set(s);
      forUp(c, y, H, 1, () => {
        c.get(s).get(PW).i32(4).op(Op.i32Mul, Op.i32Add).set(s);
        copyRow();
        c.get(s).get(PW).i32(4).op(Op.i32Mul, Op.i32Add).set(s);
      });
      c.get(s).get(skip).op(Op.i32Add).set(s);
    });
  }
  return { name, params: new Array(7).fill(i32), results: [], locals: f.locals, code: c };
}

/** `while (v + 4 <= n) { body(); v += 4 }`: the whole-vector part of a row of n floats. */
function vectorSteps(c: Code, v: number, n: number, body: () => void): void {
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(v).i32(4).op(Op.i32Add).get(n).op(Op.i32GtS, Op.brIf, 1);
  body();
  c.get(v).i32(4).op(Op.i32Add).set(v);
  c.op(Op.br, 0, Op.end, Op.end);
}

/** Stores `n` (an i32 local) zero floats at byte pointer local `d`, advancing it; uses local v. */
function zeroRun(c: Code, v: number, n: number, d: number): void {
  c.i32(0).set(v);
  vectorSteps(c, v, n, () => {
    c.get(d).f32x4Const(0).simd(SimdOp.v128Store, V);
    c.get(d).i32(16).op(Op.i32Add).set(d);
  });
  whileLt(c, v, n, 1, () => {
    c.get(d).f32(0).mem(Op.f32Store, 2);
    c.get(d).i32(4).op(Op.i32Add).set(d);
  });
}

/** Emits `zero(dst, n)`: stores n zero floats from byte pointer dst. */
export function emitZero(): FuncDef {
  const DST = 0, N = 1;
  const f = new Frame(2);
  const i = f.local(i32), d = f.local(i32);
  const c = new Code();
  c.get(DST).set(d);
  zeroRun(c, i, N, d);
  return { name: "zero", params: [i32, i32], results: [], locals: f.locals, code: c };
}

/**
 * Emits `biasRows(src, lds, dst, rows, n, bias)` (`withBias`): copies `rows` rows of n floats
 * (source pitch `lds` bytes) to consecutive rows at dst, adding bias[r] to row r; or
 * `copyRows(src, lds, dst, ldd, rows, n)`: the same copy to rows `ldd` bytes apart, without a bias.
 * Writes nothing past a row.
 */
export function emitRows(withBias: boolean): FuncDef {
  const SRC = 0, LDS = 1, DST = 2;
  const [LDD, ROWS, N, BIAS] = withBias ? [-1, 3, 4, 5] : [3, 4, 5, -1];
  const f = new Frame(6);
  const r = f.local(i32), xo = f.local(i32), nB = f.local(i32), vecB = f.local(i32);
  const bv = withBias ? f.local(v128) : -1, b = withBias ? f.local(f32) : -1;
  const c = new Code();
  c.get(N).i32(4).op(Op.i32Mul).set(nB);
  c.get(N).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(vecB);
  forUp(c, r, ROWS, 1, () => {
    if (withBias) {
      c.get(BIAS).mem(Op.f32Load, 2).set(b);
      c.get(b).simd(SimdOp.f32x4Splat).set(bv);
    }
    c.i32(0).set(xo);
    whileLt(c, xo, vecB, 16, () => {
      c.get(DST).get(xo).op(Op.i32Add);
      c.get(SRC).get(xo).op(Op.i32Add).simd(SimdOp.v128Load, V);
      if (withBias) c.get(bv).simd(SimdOp.f32x4Add);
      c.simd(SimdOp.v128Store, V);
    });
    whileLt(c, xo, nB, 4, () => {
      c.get(DST).get(xo).op(Op.i32Add);
      c.get(SRC).get(xo).op(Op.i32Add).mem(Op.f32Load, 2);
      if (withBias) c.get(b).op(Op.f32Add);
      c.mem(Op.f32Store, 2);
    });
    c.get(SRC).get(LDS).op(Op.i32Add).set(SRC);
    c.get(DST).get(withBias ? nB : LDD).op(Op.i32Add).set(DST);
    if (withBias) c.get(BIAS).i32(4).op(Op.i32Add).set(BIAS);
  });
  return {
    name: withBias ? "biasRows" : "copyRows",
    params: new Array(6).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}
