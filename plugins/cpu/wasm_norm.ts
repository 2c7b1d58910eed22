/**
 * WebAssembly SIMD kernels for batch normalisation over [N, C, inner] float32 data in the wasm heap,
 * each over a range of channels [ch0, ch1) so that thread plans can share channels out (norm.ts
 * drives them). A channel's data is N rows of `inner` contiguous floats; each row is summed in four
 * float32 lanes (and a scalar tail), and the rows' sums are added in float64.
 *
 * @module
 */

import { Code, forUp, Frame, type FuncDef, Op, SimdOp, ValType, whileLt } from "./wasm.ts";

const { i32, f32, f64, v128 } = ValType;
const V0 = { align: 0, offset: 0 };

/** Locals and parameters of the row loops. */
interface Rows {
  /** Parameters: N, C, inner, ch0, ch1. */
  n: number;
  c: number;
  inner: number;
  ch0: number;
  ch1: number;
  /** Locals. */
  ch: number;
  b: number;
  rowAt: number;
  i: number;
  innerB: number;
  vecB: number;
}

function rowLocals(f: Frame, params: [number, number, number, number, number]): Rows {
  const [n, c, inner, ch0, ch1] = params;
  return {
    n,
    c,
    inner,
    ch0,
    ch1,
    ch: f.local(i32),
    b: f.local(i32),
    rowAt: f.local(i32),
    i: f.local(i32),
    innerB: f.local(i32),
    vecB: f.local(i32),
  };
}

/** Emits `for (ch = ch0; ch < ch1; ch++) body()`, after setting innerB and vecB. */
function channels(c: Code, r: Rows, body: () => void): void {
  c.get(r.inner).i32(4).op(Op.i32Mul).set(r.innerB);
  c.get(r.inner).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(r.vecB);
  c.get(r.ch0).set(r.ch);
  whileLt(c, r.ch, r.ch1, 1, body);
}

/**
 * Emits, for each of the channel's N rows, rowAt = its byte offset ((b C + ch) inner 4), then
 * `vec()` for each whole vector and `scalar()` for each float of the tail, at byte offset
 * rowAt + i; `start()` before and `end()` after each row.
 */
function rows(
  c: Code,
  r: Rows,
  h: { start(): void; vec(): void; scalar(): void; end(): void },
): void {
  forUp(c, r.b, r.n, 1, () => {
    c.get(r.b).get(r.c).op(Op.i32Mul).get(r.ch).op(Op.i32Add).get(r.innerB).op(Op.i32Mul);
    c.set(r.rowAt);
    h.start();
    c.i32(0).set(r.i);
    whileLt(c, r.i, r.vecB, 16, h.vec);
    whileLt(c, r.i, r.innerB, 4, h.scalar);
    h.end();
  });
}

/** Pushes ptr + rowAt + i. */
function at(c: Code, r: Rows, ptr: number): Code {
  return c.get(ptr).get(r.rowAt).op(Op.i32Add).get(r.i).op(Op.i32Add);
}

/** s += (the f64 sum of the four f32 lanes of v) + tail, for f64 local s. */
function addLanes(c: Code, s: number, v: number, tail: number): void {
  c.get(s);
  for (let lane = 0; lane < 4; lane++) {
    c.get(v).simd(SimdOp.f32x4ExtractLane).op(lane).op(Op.f64PromoteF32);
    if (lane > 0) c.op(Op.f64Add);
  }
  c.get(tail).op(Op.f64PromoteF32, Op.f64Add, Op.f64Add).set(s);
}

/**
 * Emits `bnStats(x, out, n, c, inner, ch0, ch1)`: per channel the mean and the biased variance
 * (the mean of squared deviations from the float32-rounded mean) into out[2 ch] and out[2 ch + 1],
 * as float32.
 */
export function emitBnStats(): FuncDef {
  const X = 0, OUT = 1;
  const f = new Frame(7);
  const r = rowLocals(f, [2, 3, 4, 5, 6]);
  const acc = f.local(v128), d = f.local(v128), m4 = f.local(v128);
  const tail = f.local(f32), td = f.local(f32), m = f.local(f32);
  const s = f.local(f64), count = f.local(f64);
  const c = new Code();
  c.get(r.n).get(r.inner).op(Op.i32Mul).op(Op.f64ConvertI32S).set(count);
  const start = () => {
    c.f32x4Const(0).set(acc);
    c.f32(0).set(tail);
  };
  const end = () => addLanes(c, s, acc, tail);
  channels(c, r, () => {
    c.i32(0).op(Op.f64ConvertI32S).set(s);
    rows(c, r, {
      start,
      vec() {
        at(c, r, X).simd(SimdOp.v128Load, V0).get(acc).simd(SimdOp.f32x4Add).set(acc);
      },
      scalar() {
        at(c, r, X).mem(Op.f32Load, 2).get(tail).op(Op.f32Add).set(tail);
      },
      end,
    });
    c.get(s).get(count).op(Op.f64Div, Op.f32DemoteF64).set(m);
    c.get(m).simd(SimdOp.f32x4Splat).set(m4);
    c.get(OUT).get(r.ch).i32(8).op(Op.i32Mul, Op.i32Add).get(m).mem(Op.f32Store, 2);
    c.i32(0).op(Op.f64ConvertI32S).set(s);
    rows(c, r, {
      start,
      vec() {
        at(c, r, X).simd(SimdOp.v128Load, V0).get(m4).simd(SimdOp.f32x4Sub).set(d);
        c.get(d).get(d).simd(SimdOp.f32x4Mul).get(acc).simd(SimdOp.f32x4Add).set(acc);
      },
      scalar() {
        at(c, r, X).mem(Op.f32Load, 2).get(m).op(Op.f32Sub).set(td);
        c.get(td).get(td).op(Op.f32Mul).get(tail).op(Op.f32Add).set(tail);
      },
      end,
    });
    c.get(OUT).get(r.ch).i32(8).op(Op.i32Mul, Op.i32Add);
    c.get(s).get(count).op(Op.f64Div, Op.f32DemoteF64).mem(Op.f32Store, 2, 4);
  });
  return {
    name: "bnStats",
    params: new Array(7).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/** Replaces the f32x4 on the stack by its ReLU, with the relu kernel's bits: v & ~(v >> 31). */
function reluVec(c: Code, tmp: number): void {
  c.set(tmp).get(tmp).get(tmp).i32(31).simd(SimdOp.i32x4ShrS).simd(SimdOp.v128AndNot);
}

/** Replaces the f32 on the stack by its ReLU, with the same bits as {@link reluVec}. */
function reluScalar(c: Code, tmp: number): void {
  c.op(Op.i32ReinterpretF32).set(tmp).get(tmp).get(tmp).i32(31).op(Op.i32ShrS).i32(-1);
  c.op(Op.i32Xor, Op.i32And, Op.f32ReinterpretI32);
}

/** Masks the f32x4 g on the stack by y at Y + rowAt + i: g & ((−y & ~y) >> 31), ReLU's backward. */
function maskVec(c: Code, r: Rows, Y: number, yv: number): void {
  at(c, r, Y).simd(SimdOp.v128Load, V0).set(yv);
  c.get(yv).simd(SimdOp.i32x4Neg).get(yv).simd(SimdOp.v128AndNot).i32(31).simd(SimdOp.i32x4ShrS);
  c.simd(SimdOp.v128And);
}

/** Pushes the f32 g at G + rowAt + i masked by y at Y + rowAt + i (as {@link maskVec}). */
function maskedScalar(c: Code, r: Rows, G: number, Y: number, yi: number): void {
  at(c, r, G).mem(Op.i32Load, 2);
  at(c, r, Y).mem(Op.i32Load, 2).set(yi);
  c.i32(0).get(yi).op(Op.i32Sub).get(yi).i32(-1).op(Op.i32Xor, Op.i32And).i32(31);
  c.op(Op.i32ShrS, Op.i32And, Op.f32ReinterpretI32);
}

/**
 * Emits `bnApply(x, y, ss, n, c, inner, ch0, ch1)`: y = x · ss[2 ch] + ss[2 ch + 1] per channel
 * (float32 scale and shift); with `relu`, `bnApplyRelu` (same parameters) stores its ReLU.
 */
export function emitBnApply(relu = false): FuncDef {
  const X = 0, Y = 1, SS = 2;
  const f = new Frame(8);
  const r = rowLocals(f, [3, 4, 5, 6, 7]);
  const sc4 = f.local(v128), sh4 = f.local(v128), sc = f.local(f32), sh = f.local(f32);
  const tv = f.local(v128), ti = f.local(i32);
  const c = new Code();
  channels(c, r, () => {
    c.get(SS).get(r.ch).i32(8).op(Op.i32Mul, Op.i32Add).mem(Op.f32Load, 2).set(sc);
    c.get(SS).get(r.ch).i32(8).op(Op.i32Mul, Op.i32Add).mem(Op.f32Load, 2, 4).set(sh);
    c.get(sc).simd(SimdOp.f32x4Splat).set(sc4);
    c.get(sh).simd(SimdOp.f32x4Splat).set(sh4);
    rows(c, r, {
      start() {},
      vec() {
        at(c, r, Y);
        at(c, r, X).simd(SimdOp.v128Load, V0).get(sc4).simd(SimdOp.f32x4Mul);
        c.get(sh4).simd(SimdOp.f32x4Add);
        if (relu) reluVec(c, tv);
        c.simd(SimdOp.v128Store, V0);
      },
      scalar() {
        at(c, r, Y);
        at(c, r, X).mem(Op.f32Load, 2).get(sc).op(Op.f32Mul).get(sh).op(Op.f32Add);
        if (relu) reluScalar(c, ti);
        c.mem(Op.f32Store, 2);
      },
      end() {},
    });
  });
  return {
    name: relu ? "bnApplyRelu" : "bnApply",
    params: new Array(8).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `bnGradSums(g, x, mean, sums, n, c, inner, ch0, ch1)`: per channel Σ g and Σ g (x − m), m
 * the float32 mean[ch], into sums[2 ch] and sums[2 ch + 1] as float64. With `relu`,
 * `bnGradSumsRelu(g, x, mean, sums, n, c, inner, ch0, ch1, y)` first masks g by ReLU's output y.
 */
export function emitBnGradSums(relu = false): FuncDef {
  const G = 0, X = 1, MEAN = 2, SUMS = 3, Y = 9;
  const f = new Frame(relu ? 10 : 9);
  const r = rowLocals(f, [4, 5, 6, 7, 8]);
  const accG = f.local(v128), accGX = f.local(v128), gv = f.local(v128), m4 = f.local(v128);
  const tailG = f.local(f32), tailGX = f.local(f32), gs = f.local(f32), m = f.local(f32);
  const sg = f.local(f64), sgx = f.local(f64);
  const yv = f.local(v128), yi = f.local(i32);
  const c = new Code();
  channels(c, r, () => {
    c.get(MEAN).get(r.ch).i32(4).op(Op.i32Mul, Op.i32Add).mem(Op.f32Load, 2).set(m);
    c.get(m).simd(SimdOp.f32x4Splat).set(m4);
    c.i32(0).op(Op.f64ConvertI32S).set(sg);
    c.i32(0).op(Op.f64ConvertI32S).set(sgx);
    rows(c, r, {
      start() {
        c.f32x4Const(0).set(accG);
        c.f32x4Const(0).set(accGX);
        c.f32(0).set(tailG);
        c.f32(0).set(tailGX);
      },
      vec() {
        at(c, r, G).simd(SimdOp.v128Load, V0);
        if (relu) maskVec(c, r, Y, yv);
        c.set(gv);
        c.get(gv).get(accG).simd(SimdOp.f32x4Add).set(accG);
        at(c, r, X).simd(SimdOp.v128Load, V0).get(m4).simd(SimdOp.f32x4Sub);
        c.get(gv).simd(SimdOp.f32x4Mul).get(accGX).simd(SimdOp.f32x4Add).set(accGX);
      },
      scalar() {
        if (relu) maskedScalar(c, r, G, Y, yi);
        else at(c, r, G).mem(Op.f32Load, 2);
        c.set(gs);
        c.get(gs).get(tailG).op(Op.f32Add).set(tailG);
        at(c, r, X).mem(Op.f32Load, 2).get(m).op(Op.f32Sub).get(gs).op(Op.f32Mul);
        c.get(tailGX).op(Op.f32Add).set(tailGX);
      },
      end() {
        addLanes(c, sg, accG, tailG);
        addLanes(c, sgx, accGX, tailGX);
      },
    });
    c.get(SUMS).get(r.ch).i32(16).op(Op.i32Mul, Op.i32Add).get(sg).mem(Op.f64Store, 3);
    c.get(SUMS).get(r.ch).i32(16).op(Op.i32Mul, Op.i32Add).get(sgx).mem(Op.f64Store, 3, 8);
  });
  return {
    name: relu ? "bnGradSumsRelu" : "bnGradSums",
    params: new Array(relu ? 10 : 9).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `bnGradApply(g, x, dx, coef, n, c, inner, ch0, ch1)`: dx = k g − kx x + k0 per channel,
 * with (k, kx, k0) = coef[3 ch .. 3 ch + 3) (float32). With `relu`,
 * `bnGradApplyRelu(g, x, dx, coef, n, c, inner, ch0, ch1, y)` first masks g by ReLU's output y.
 */
export function emitBnGradApply(relu = false): FuncDef {
  const G = 0, X = 1, DX = 2, COEF = 3, Y = 9;
  const f = new Frame(relu ? 10 : 9);
  const r = rowLocals(f, [4, 5, 6, 7, 8]);
  const k4 = f.local(v128), kx4 = f.local(v128), k04 = f.local(v128);
  const k = f.local(f32), kx = f.local(f32), k0 = f.local(f32), base = f.local(i32);
  const yv = f.local(v128), yi = f.local(i32);
  const c = new Code();
  channels(c, r, () => {
    c.get(COEF).get(r.ch).i32(12).op(Op.i32Mul, Op.i32Add).set(base);
    c.get(base).mem(Op.f32Load, 2).set(k);
    c.get(base).mem(Op.f32Load, 2, 4).set(kx);
    c.get(base).mem(Op.f32Load, 2, 8).set(k0);
    c.get(k).simd(SimdOp.f32x4Splat).set(k4);
    c.get(kx).simd(SimdOp.f32x4Splat).set(kx4);
    c.get(k0).simd(SimdOp.f32x4Splat).set(k04);
    rows(c, r, {
      start() {},
      vec() {
        at(c, r, DX);
        at(c, r, G).simd(SimdOp.v128Load, V0);
        if (relu) maskVec(c, r, Y, yv);
        c.get(k4).simd(SimdOp.f32x4Mul);
        at(c, r, X).simd(SimdOp.v128Load, V0).get(kx4).simd(SimdOp.f32x4Mul);
        c.simd(SimdOp.f32x4Sub).get(k04).simd(SimdOp.f32x4Add).simd(SimdOp.v128Store, V0);
      },
      scalar() {
        at(c, r, DX);
        if (relu) maskedScalar(c, r, G, Y, yi);
        else at(c, r, G).mem(Op.f32Load, 2);
        c.get(k).op(Op.f32Mul);
        at(c, r, X).mem(Op.f32Load, 2).get(kx).op(Op.f32Mul);
        c.op(Op.f32Sub).get(k0).op(Op.f32Add).mem(Op.f32Store, 2);
      },
      end() {},
    });
  });
  return {
    name: relu ? "bnGradApplyRelu" : "bnGradApply",
    params: new Array(relu ? 10 : 9).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}
