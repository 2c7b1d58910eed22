/**
 * WebAssembly kernels for the gradients of a unit-stride convolution followed by 2 × 2 max pooling
 * (`conv2dMaxPool2x2Backward`), computed from the pooled gradient without unpooling it. Of the
 * conv output's gradient only the pooling maxima are nonzero, one element in four, so the weight
 * gradient is a sum over the pooled elements of g · (the input window under the maximum) and the
 * input gradient adds g · w onto that window: a quarter of the dense products, with no im2col,
 * col2im or unpooled tensor. The driver is in wasm_conv_pool.ts.
 *
 * Layouts (byte pointers): a conv window row of up to 8 taps is two 4-lane vectors; "rows" are
 * the window's (channel, kernel row) pairs, each given by its byte offset from the window's
 * top-left corner in the (padded) input planes (`rowTab`, i32). Weight-shaped operands are
 * [o][rows][8] floats. `taps` holds, per pooled element, the byte offset of its window's top-left
 * corner (see {@link emitPoolTaps}).
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

const { i32, f32, f64, v128 } = ValType;

/** Window rows each pass of the gradient kernels keeps in registers (one or two vectors each). */
const ROWS_PER_PASS = 5;

const V0 = { align: 0, offset: 0 }, V1 = { align: 0, offset: 16 };

/**
 * Emits `poolTaps(idx, taps, planes, ph, pw, ow, wp, err, g, y, db)`: for the int32 max-pooling
 * indices of `planes` ph × pw pooled planes (flat indices into conv output planes of width `ow`,
 * each inside its 2 × 2 cell), taps[i] = the byte offset of the window's top-left corner in input
 * planes of row pitch `wp` floats (unit stride and dilation), i.e. 4 (v + y (wp - ow)) for index v
 * in conv row y. An index outside its cell gets offset 0 and sets the i32 at `err` to 1. With `y`
 * (nonzero), the pooled gradient g is masked in place by ReLU's backward for the output y (g kept
 * where y's bits are those of a positive float, as the cpu reluBackward kernel does); with `db`
 * (nonzero), db[plane] = the sum of the plane's (masked) g, summed in float64.
 */
export function emitPoolTaps(): FuncDef {
  const IDX = 0,
    TAPS = 1,
    PLANES = 2,
    PH = 3,
    PW = 4,
    OW = 5,
    WP = 6,
    ERR = 7,
    G = 8,
    Y = 9,
    DB = 10;
  const f = new Frame(11);
  const pl = f.local(i32), py = f.local(i32), px = f.local(i32), v = f.local(i32);
  const d = f.local(i32), ok = f.local(i32), bad = f.local(i32), rowBase = f.local(i32);
  const e = f.local(i32), skip = f.local(i32), yv = f.local(i32), s = f.local(f64);
  const c = new Code();
  c.i32(0).set(e);
  c.get(WP).get(OW).op(Op.i32Sub).set(skip);
  c.i32(0).set(bad);
  forUp(c, pl, PLANES, 1, () => {
    c.i32(0).op(Op.f64ConvertI32S).set(s);
    forUp(c, py, PH, 1, () => {
      c.get(py).get(OW).op(Op.i32Mul).i32(2).op(Op.i32Mul).set(rowBase);
      forUp(c, px, PW, 1, () => {
        c.get(IDX).get(e).op(Op.i32Add).mem(Op.i32Load, 2).set(v);
        // d = v - (2 py ow + 2 px): 0, 1, ow or ow + 1 inside the cell.
        c.get(v).get(rowBase).op(Op.i32Sub).get(px).i32(2).op(Op.i32Mul, Op.i32Sub).set(d);
        c.get(d).i32(2).op(Op.i32LtU);
        c.get(d).get(OW).op(Op.i32Sub).i32(2).op(Op.i32LtU, Op.i32Or).set(ok);
        c.get(bad).get(ok).i32(1).op(Op.i32Xor, Op.i32Or).set(bad);
        c.get(TAPS).get(e).op(Op.i32Add);
        // 4 (v + (2 py + (d >= ow)) skip), or 0 where the index is bad
        c.get(v);
        c.get(py).i32(2).op(Op.i32Mul).get(d).get(OW).op(Op.i32GeS, Op.i32Add);
        c.get(skip).op(Op.i32Mul, Op.i32Add).i32(4).op(Op.i32Mul);
        c.i32(0).get(ok).op(Op.select);
        c.mem(Op.i32Store, 2);
        c.get(Y).op(Op.if, BLOCK_VOID);
        // g & ((-y & ~y) >> 31)
        c.get(Y).get(e).op(Op.i32Add).mem(Op.i32Load, 2).set(yv);
        c.get(G).get(e).op(Op.i32Add);
        c.get(G).get(e).op(Op.i32Add).mem(Op.i32Load, 2);
        c.i32(0).get(yv).op(Op.i32Sub).get(yv).i32(-1).op(Op.i32Xor, Op.i32And);
        c.i32(31).op(Op.i32ShrS, Op.i32And).mem(Op.i32Store, 2);
        c.op(Op.end);
        c.get(s).get(G).get(e).op(Op.i32Add).mem(Op.f32Load, 2).op(Op.f64PromoteF32, Op.f64Add);
        c.set(s);
        c.get(e).i32(4).op(Op.i32Add).set(e);
      });
    });
    c.get(DB).op(Op.if, BLOCK_VOID);
    c.get(DB).get(pl).i32(4).op(Op.i32Mul, Op.i32Add).get(s).op(Op.f32DemoteF64);
    c.mem(Op.f32Store, 2);
    c.op(Op.end);
  });
  c.get(bad).op(Op.if, BLOCK_VOID);
  c.get(ERR).i32(1).mem(Op.i32Store, 2);
  c.op(Op.end);
  return {
    name: "poolTaps",
    params: new Array(11).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/** Emits `addInto(dst, src, n)`: dst[i] += src[i] for n floats, n a multiple of 4. */
export function emitAddInto(): FuncDef {
  const DST = 0, SRC = 1, N = 2;
  const f = new Frame(3);
  const i = f.local(i32), end = f.local(i32);
  const c = new Code();
  c.get(N).i32(4).op(Op.i32Mul).set(end);
  c.i32(0).set(i);
  whileLt(c, i, end, 16, () => {
    c.get(DST).get(i).op(Op.i32Add);
    c.get(DST).get(i).op(Op.i32Add).simd(SimdOp.v128Load, V0);
    c.get(SRC).get(i).op(Op.i32Add).simd(SimdOp.v128Load, V0);
    c.simd(SimdOp.f32x4Add).simd(SimdOp.v128Store, V0);
  });
  return { name: "addInto", params: [i32, i32, i32], results: [], locals: f.locals, code: c };
}

/**
 * Emits `nonFinite(x, n) -> i32`: 1 if any of the n floats at x is NaN or infinite, else 0 (x · 0
 * is NaN exactly for those).
 */
export function emitNonFinite(): FuncDef {
  const X = 0, N = 1;
  const f = new Frame(2);
  const i = f.local(i32), end = f.local(i32), vec = f.local(v128), s = f.local(f32);
  const c = new Code();
  c.f32x4Const(0).set(vec);
  c.f32(0).set(s);
  c.get(N).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(end);
  c.i32(0).set(i);
  whileLt(c, i, end, 16, () => {
    c.get(X).get(i).op(Op.i32Add).simd(SimdOp.v128Load, V0).f32x4Const(0).simd(SimdOp.f32x4Mul);
    c.get(vec).simd(SimdOp.f32x4Add).set(vec);
  });
  c.get(N).i32(4).op(Op.i32Mul).set(end);
  whileLt(c, i, end, 4, () => {
    c.get(X).get(i).op(Op.i32Add).mem(Op.f32Load, 2).f32(0).op(Op.f32Mul);
    c.get(s).op(Op.f32Add).set(s);
  });
  c.get(vec).get(vec).simd(SimdOp.f32x4Ne).simd(SimdOp.v128AnyTrue);
  c.get(s).get(s).op(Op.f32Ne, Op.i32Or);
  return { name: "nonFinite", params: [i32, i32], results: [i32], locals: f.locals, code: c };
}

/** a * b + acc for three v128 locals, fused where `relaxed`; leaves the result on the stack. */
function madd(c: Code, a: number, b: number, acc: number, relaxed: boolean): void {
  if (relaxed) c.get(a).get(b).get(acc).simd(SimdOp.f32x4RelaxedMadd);
  else c.get(acc).get(a).get(b).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
}

/** Parameter indices shared by the gradient kernels. */
interface Params {
  g: number;
  taps: number;
  order: number;
  planes: number;
  rowTab: number;
  o: number;
  q: number;
  rows: number;
}

/** Locals of {@link channelPasses}. */
interface Loop {
  oi: number;
  r: number;
  j: number;
  e: number;
  qB: number;
  gq: number;
  tq: number;
  gs: number;
  base: number;
  off: number[];
}

function loopLocals(f: Frame): Loop {
  return {
    oi: f.local(i32),
    r: f.local(i32),
    j: f.local(i32),
    e: f.local(i32),
    qB: f.local(i32),
    gq: f.local(i32),
    tq: f.local(i32),
    gs: f.local(v128),
    base: f.local(i32),
    off: Array.from({ length: ROWS_PER_PASS }, () => f.local(i32)),
  };
}

/**
 * The loops both gradient kernels share: for each output channel, the window rows in passes of
 * {@link ROWS_PER_PASS} (then one at a time), and in each pass the channel's pooled elements in
 * the order of `order` (i32 byte offsets into a channel's g and taps). `open(rows)` runs before a
 * pass over rows [r, r + rows) with their offsets in `off`, `each(rows)` per pooled element with
 * its splat gradient in `gs` and window corner in `base`, `close(rows)` after the pass.
 */
function channelPasses(
  c: Code,
  p: Params,
  v: Loop,
  hooks: { open(rows: number): void; each(rows: number): void; close(rows: number): void },
): void {
  c.get(p.q).i32(4).op(Op.i32Mul).set(v.qB);
  c.get(p.g).set(v.gq);
  c.get(p.taps).set(v.tq);
  forUp(c, v.oi, p.o, 1, () => {
    c.i32(0).set(v.r);
    const pass = (rows: number) => {
      for (let k = 0; k < rows; k++) {
        c.get(p.rowTab).get(v.r).i32(4).op(Op.i32Mul, Op.i32Add).mem(Op.i32Load, 2, 4 * k);
        c.set(v.off[k]);
      }
      hooks.open(rows);
      c.i32(0).set(v.j);
      whileLt(c, v.j, v.qB, 4, () => {
        c.get(p.order).get(v.j).op(Op.i32Add).mem(Op.i32Load, 2).set(v.e);
        c.get(v.gq).get(v.e).op(Op.i32Add).simd(SimdOp.v128Load32Splat, { align: 2, offset: 0 });
        c.set(v.gs);
        c.get(p.planes).get(v.tq).get(v.e).op(Op.i32Add).mem(Op.i32Load, 2).op(Op.i32Add);
        c.set(v.base);
        hooks.each(rows);
      });
      hooks.close(rows);
      c.get(v.r).i32(rows).op(Op.i32Add).set(v.r);
    };
    // Full passes while r + ROWS_PER_PASS <= rows, then single rows.
    c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
    c.get(v.r).i32(ROWS_PER_PASS).op(Op.i32Add).get(p.rows).op(Op.i32GtS, Op.brIf, 1);
    pass(ROWS_PER_PASS);
    c.op(Op.br, 0, Op.end, Op.end);
    whileLt(c, v.r, p.rows, 0, () => pass(1));
    c.get(v.gq).get(v.qB).op(Op.i32Add).set(v.gq);
    c.get(v.tq).get(v.qB).op(Op.i32Add).set(v.tq);
  });
}

/** Byte offset of vector h of window row k in a [rows][8]-float block. */
const at = (k: number, h: number) => ({ align: 0, offset: 32 * k + 16 * h });

/**
 * Emits `poolWeightGrad{vecs}(g, taps, order, x, rowTab, acc, o, q, rows)`: for each output
 * channel oi, window row r and pooled element e of channel oi,
 * acc[oi][r][0..4 vecs) += g[oi][e] * x[taps[oi][e] + rowTab[r] + 0..16 vecs bytes), `vecs` (1 or
 * 2) vectors of 4 taps per row. Lanes past the kernel width sum whatever follows the row and are
 * to be ignored.
 */
export function emitPoolWeightGrad(vecs: 1 | 2, relaxed: boolean): FuncDef {
  const p: Params = { g: 0, taps: 1, order: 2, planes: 3, rowTab: 4, o: 6, q: 7, rows: 8 };
  const ACC = 5;
  const f = new Frame(9);
  const v = loopLocals(f);
  const dst = f.local(i32), addr = f.local(i32), xv = f.local(v128);
  const acc = Array.from({ length: ROWS_PER_PASS }, () => [f.local(v128), f.local(v128)]);
  const c = new Code();
  channelPasses(c, p, v, {
    open(rows) {
      // dst = acc + (oi * rows + r) * 32
      c.get(ACC).get(v.oi).get(p.rows).op(Op.i32Mul).get(v.r).op(Op.i32Add);
      c.i32(32).op(Op.i32Mul, Op.i32Add).set(dst);
      for (let k = 0; k < rows; k++) {
        for (let h = 0; h < vecs; h++) c.get(dst).simd(SimdOp.v128Load, at(k, h)).set(acc[k][h]);
      }
    },
    each(rows) {
      for (let k = 0; k < rows; k++) {
        c.get(v.base).get(v.off[k]).op(Op.i32Add).set(addr);
        for (let h = 0; h < vecs; h++) {
          c.get(addr).simd(SimdOp.v128Load, h ? V1 : V0).set(xv);
          madd(c, v.gs, xv, acc[k][h], relaxed);
          c.set(acc[k][h]);
        }
      }
    },
    close(rows) {
      for (let k = 0; k < rows; k++) {
        for (let h = 0; h < vecs; h++) c.get(dst).get(acc[k][h]).simd(SimdOp.v128Store, at(k, h));
      }
    },
  });
  return {
    name: `poolWeightGrad${vecs}`,
    params: new Array(9).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `poolInputGrad{vecs}(g, taps, order, dx, rowTab, w, mask, o, q, rows)`: for each output
 * channel oi, window row r and pooled element e, dx[taps[oi][e] + rowTab[r] + 0..16 vecs bytes)
 * += g[oi][e] * w[oi][r][0..4 vecs), where `mask` (a vector of i32 lanes, all ones or zero)
 * selects the lanes of the last vector within the kernel width: the others are written back
 * unchanged, so the kernel never alters an element outside the window (nor a neighbour's, should
 * g be infinite). It reads and writes up to 4 vecs floats from each window row's start, so the
 * planes need room past their end.
 */
export function emitPoolInputGrad(vecs: 1 | 2, relaxed: boolean): FuncDef {
  const p: Params = { g: 0, taps: 1, order: 2, planes: 3, rowTab: 4, o: 7, q: 8, rows: 9 };
  const W = 5, MASK = 6;
  const f = new Frame(10);
  const v = loopLocals(f);
  const src = f.local(i32), addr = f.local(i32), old = f.local(v128), mask = f.local(v128);
  const wv = Array.from({ length: ROWS_PER_PASS }, () => [f.local(v128), f.local(v128)]);
  const c = new Code();
  c.get(MASK).simd(SimdOp.v128Load, V0).set(mask);
  channelPasses(c, p, v, {
    open(rows) {
      c.get(W).get(v.oi).get(p.rows).op(Op.i32Mul).get(v.r).op(Op.i32Add);
      c.i32(32).op(Op.i32Mul, Op.i32Add).set(src);
      for (let k = 0; k < rows; k++) {
        for (let h = 0; h < vecs; h++) c.get(src).simd(SimdOp.v128Load, at(k, h)).set(wv[k][h]);
      }
    },
    each(rows) {
      for (let k = 0; k < rows; k++) {
        c.get(v.base).get(v.off[k]).op(Op.i32Add).set(addr);
        for (let h = 0; h < vecs; h++) {
          c.get(addr);
          c.get(addr).simd(SimdOp.v128Load, h ? V1 : V0).set(old);
          madd(c, v.gs, wv[k][h], old, relaxed);
          if (h === vecs - 1) c.get(old).get(mask).simd(SimdOp.v128Bitselect);
          c.simd(SimdOp.v128Store, h ? V1 : V0);
        }
      }
    },
    close() {},
  });
  return {
    name: `poolInputGrad${vecs}`,
    params: new Array(10).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}
