/**
 * WebAssembly kernels for the data movement around convolution and max pooling: im2col, col2im,
 * a bias-adding row copy, a dot-product GEMM for weight gradients, and branch-free max pooling.
 *
 * In V8 the JS versions of these loops cost more than the GEMMs they feed (LeNet's im2col alone
 * took longer than its product). The kernels share {@link wasmMemory} with the wasm GEMM, so the
 * column matrices they build are GEMM operands in place: the unpacked-B GEMM variant reads them
 * directly, and the blas backend gets them as Float32Array views of the same memory.
 *
 * @module
 */

import { BLOCK_VOID, buildModule, Code, type FuncDef, Op, SimdOp, ValType } from "./wasm.ts";
import type { Conv2dParams, Gemm } from "./conv.ts";
import {
  emitKernel,
  type KernelShape,
  WASM_HEAP_BASE,
  wasmHeap,
  wasmMemory,
  wasmRelaxedSimdAvailable,
  wasmSimdAvailable,
} from "./wasm_gemm.ts";

const { i32, f32, v128 } = ValType;

/** Allocates locals of one function after its parameters. */
class Frame {
  readonly locals: number[] = [];
  constructor(readonly nParams: number) {}
  /** A new local of type `t`; returns its index. */
  local(t: number): number {
    this.locals.push(t);
    return this.nParams + this.locals.length - 1;
  }
}

/** `for (v = 0; v < n; v += step) body()` over i32 locals; runs nothing when n <= 0. */
function forUp(c: Code, v: number, n: number, step: number, body: () => void): void {
  c.i32(0).set(v);
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(v).get(n).op(Op.i32GeS, Op.brIf, 1);
  body();
  c.get(v).i32(step).op(Op.i32Add).set(v);
  c.op(Op.br, 0, Op.end, Op.end);
}

/** `while (v < end) { body(); v += step }` without resetting `v` (step 0: the body steps). */
function whileLt(c: Code, v: number, end: number, step: number, body: () => void): void {
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(v).get(end).op(Op.i32GeS, Op.brIf, 1);
  body();
  if (step !== 0) c.get(v).i32(step).op(Op.i32Add).set(v);
  c.op(Op.br, 0, Op.end, Op.end);
}

const V = { align: 0, offset: 0 };

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
 * Unit-stride rows move four floats per instruction; im2col may write up to 3 floats past the end
 * of each row (the caller leaves room), col2im never does since those would be real pixels.
 */
function emitUnroll(name: "im2col" | "col2im"): FuncDef {
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
 * Emits `biasRows(src, lds, dst, rows, n, bias)`: copies `rows` rows of n floats (source pitch
 * `lds` bytes) to consecutive rows at dst, adding bias[r] to row r. Writes nothing past a row.
 */
function emitBiasRows(): FuncDef {
  const SRC = 0, LDS = 1, DST = 2, ROWS = 3, N = 4, BIAS = 5;
  const f = new Frame(6);
  const r = f.local(i32), xo = f.local(i32), nB = f.local(i32), vecB = f.local(i32);
  const bv = f.local(v128), b = f.local(f32);
  const c = new Code();
  c.get(N).i32(4).op(Op.i32Mul).set(nB);
  c.get(N).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(vecB);
  forUp(c, r, ROWS, 1, () => {
    c.get(BIAS).mem(Op.f32Load, 2).set(b);
    c.get(b).simd(SimdOp.f32x4Splat).set(bv);
    c.i32(0).set(xo);
    whileLt(c, xo, vecB, 16, () => {
      c.get(DST).get(xo).op(Op.i32Add);
      c.get(SRC).get(xo).op(Op.i32Add).simd(SimdOp.v128Load, V).get(bv).simd(SimdOp.f32x4Add);
      c.simd(SimdOp.v128Store, V);
    });
    whileLt(c, xo, nB, 4, () => {
      c.get(DST).get(xo).op(Op.i32Add);
      c.get(SRC).get(xo).op(Op.i32Add).mem(Op.f32Load, 2).get(b).op(Op.f32Add);
      c.mem(Op.f32Store, 2);
    });
    c.get(SRC).get(LDS).op(Op.i32Add).set(SRC);
    c.get(DST).get(nB).op(Op.i32Add).set(DST);
    c.get(BIAS).i32(4).op(Op.i32Add).set(BIAS);
  });
  return {
    name: "biasRows",
    params: new Array(6).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/**
 * Emits `dot(a, lda, b, ldb, c, ldc, m, n, k, acc)`: C[m, n] (+)= A[m, k] B[n, k]^T with both
 * operands read row-major along k (byte pointers and pitches). This is the weight-gradient
 * product gy @ col^T without transposing or packing either side; 2x4 tiles of C are summed in
 * four lanes each and reduced at the end. Edge tiles re-read the last row and skip its stores.
 */
function emitDot(): FuncDef {
  const A = 0, LDA = 1, B = 2, LDB = 3, C = 4, LDC = 5, M = 6, N = 7, K = 8, ACC = 9;
  const f = new Frame(10);
  const i = f.local(i32), j = f.local(i32), p = f.local(i32), kB = f.local(i32);
  const k4B = f.local(i32), addr = f.local(i32);
  const ap = [f.local(i32), f.local(i32)];
  const bp = [f.local(i32), f.local(i32), f.local(i32), f.local(i32)];
  const va = [f.local(v128), f.local(v128)], vb = f.local(v128);
  const acc: number[][] = [[], []];
  for (let r = 0; r < 2; r++) for (let q = 0; q < 4; q++) acc[r].push(f.local(v128));
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
  const step = (load: number, memAlign: number, inc: number, end: number) => {
    whileLt(c, p, end, inc, () => {
      for (let r = 0; r < 2; r++) {
        c.get(ap[r]).get(p).op(Op.i32Add).simd(load, { align: memAlign, offset: 0 }).set(va[r]);
      }
      for (let q = 0; q < 4; q++) {
        c.get(bp[q]).get(p).op(Op.i32Add).simd(load, { align: memAlign, offset: 0 }).set(vb);
        for (let r = 0; r < 2; r++) {
          c.get(acc[r][q]).get(va[r]).get(vb).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
          c.set(acc[r][q]);
        }
      }
    });
  };
  c.get(K).i32(4).op(Op.i32Mul).set(kB);
  c.get(K).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).set(k4B);
  forUp(c, i, M, 2, () => {
    for (let r = 0; r < 2; r++) {
      clampedRow(i, r, M, A, LDA);
      c.set(ap[r]);
    }
    forUp(c, j, N, 4, () => {
      for (let q = 0; q < 4; q++) {
        clampedRow(j, q, N, B, LDB);
        c.set(bp[q]);
      }
      for (const row of acc) for (const a of row) c.f32x4Const(0).set(a);
      c.i32(0).set(p);
      step(SimdOp.v128Load, 0, 16, k4B);
      step(SimdOp.v128Load32Zero, 2, 4, kB);
      for (let r = 0; r < 2; r++) {
        for (let q = 0; q < 4; q++) {
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
  return { name: "dot", params: new Array(10).fill(i32), results: [], locals: f.locals, code: c };
}

/**
 * Emits `maxPool(x, y, idx, planes, w, planeBytes, dh, dw, oh, ow, th, tw)`. th/tw hold per output
 * row/column the clipped [first, end) input row/column as i32 pairs. The running maximum and its
 * index live in lane 0 of v128 locals and are updated with `v128.bitselect`: V8 lowers a scalar
 * f32 `select` to a branch, which unpredictable data would mispredict half the time.
 * `v > m || v != v` keeps PyTorch's rule that a NaN wins and later NaNs replace it.
 */
function emitMaxPool(): FuncDef {
  const X = 0, Y = 1, IDX = 2, PLANES = 3, W = 4, PLANEB = 5, DH = 6, DW = 7, OH = 8, OW = 9;
  const TH = 10, TW = 11;
  const f = new Frame(12);
  const pl = f.local(i32), oy = f.local(i32), ox = f.local(i32), ih0 = f.local(i32);
  const ih1 = f.local(i32), iw0 = f.local(i32), iw1 = f.local(i32), ih = f.local(i32);
  const iw = f.local(i32), idx = f.local(i32), o = f.local(i32), base = f.local(i32);
  const row = f.local(i32);
  const m = f.local(v128), best = f.local(v128), v = f.local(v128), cond = f.local(v128);
  const c = new Code();
  c.get(X).set(base);
  c.i32(0).set(o);
  forUp(c, pl, PLANES, 1, () => {
    forUp(c, oy, OH, 1, () => {
      c.get(TH).get(oy).i32(8).op(Op.i32Mul, Op.i32Add).tee(ih0).mem(Op.i32Load, 2, 4).set(ih1);
      c.get(ih0).mem(Op.i32Load, 2).set(ih0);
      forUp(c, ox, OW, 1, () => {
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
      });
    });
    c.get(base).get(PLANEB).op(Op.i32Add).set(base);
  });
  return {
    name: "maxPool",
    params: new Array(12).fill(i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

/** `im2col`/`col2im` signature: pointers, pitch and the GEOM values. */
export type UnrollFn = (...args: number[]) => void;

/** Signature of the unpacked-B GEMM kernel (see `emitKernel` with `directB`). */
export type DirectFn = (
  pa: number,
  pb: number,
  pc: number,
  mp: number,
  ncp: number,
  kc: number,
  ldc: number,
  accumulate: number,
  ldb: number,
  strideA: number,
) => void;

/** The instantiated kernels; null when the engine lacks WebAssembly SIMD. */
export interface ConvKernels {
  /** Unrolls padded planes into a column matrix. */
  im2col: UnrollFn;
  /** Adds a column matrix back onto padded planes. */
  col2im: UnrollFn;
  /** Row copy with a per-row bias. */
  biasRows: (src: number, lds: number, dst: number, rows: number, n: number, bias: number) => void;
  /** C (+)= A B^T along rows. */
  dot: (...args: number[]) => void;
  /** Branch-free max pooling. */
  maxPool: (...args: number[]) => void;
  /** Unpacked-B GEMM with the wide tile. */
  directWide: DirectFn;
  /** Unpacked-B GEMM with 4-row tiles. */
  directNarrow: DirectFn;
  /** Rows of C per tile of `directWide`. */
  wideMr: number;
}

function instantiate(): ConvKernels | null {
  if (!wasmSimdAvailable || !wasmMemory) return null;
  const relaxed = wasmRelaxedSimdAvailable;
  const wide: KernelShape = { mr: relaxed ? 6 : 4, nr: 8, relaxed, ku: 1, directB: true };
  const narrow: KernelShape = { mr: 4, nr: 8, relaxed, ku: 1, directB: true };
  try {
    const bytes = buildModule([
      emitUnroll("im2col"),
      emitUnroll("col2im"),
      emitBiasRows(),
      emitDot(),
      emitMaxPool(),
      emitKernel("directWide", wide),
      emitKernel("directNarrow", narrow),
    ]);
    const module = new WebAssembly.Module(bytes);
    const e = new WebAssembly.Instance(module, { env: { memory: wasmMemory } }).exports;
    return {
      im2col: e.im2col as UnrollFn,
      col2im: e.col2im as UnrollFn,
      biasRows: e.biasRows as ConvKernels["biasRows"],
      dot: e.dot as ConvKernels["dot"],
      maxPool: e.maxPool as ConvKernels["maxPool"],
      directWide: e.directWide as DirectFn,
      directNarrow: e.directNarrow as DirectFn,
      wideMr: wide.mr,
    };
  } catch {
    return null;
  }
}

/** The conv/pool wasm kernels over {@link wasmMemory}, or null where they cannot run. */
export const convKernels: ConvKernels | null = instantiate();

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
