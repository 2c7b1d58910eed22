/**
 * WebAssembly im2col and col2im specialised to one convolution geometry, for the injected-GEMM
 * conv drivers of wasm_conv.ts (the blas backend).
 *
 * On small feature maps (ResNet's 8 × 8 to 2 × 2 at 32 × 32 input) the generic kernels of
 * wasm_conv_kernels.ts spend most of their time on loop control: a row of an 8 × 8 map is two
 * vectors, a row of a 2 × 2 map half of one. Here the geometry is known when the module is
 * emitted, so every (kernel tap, output row) of one plane becomes straight-line code: loads and
 * stores whose offsets are immediates, zero stores where a tap reads padding, and no padded copy
 * of the input at all. Only the loops over planes and images remain. A module is emitted once per
 * geometry and cached; geometries whose unrolled plane would be too long return null (the caller
 * falls back to the generic kernels).
 *
 * @example
 * ```ts
 * import { unrollKernelsFor } from "./wasm_gemm_conv_kernels.ts";
 * const geom = {
 *   h: 8, w: 8, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1,
 *   dilationH: 1, dilationW: 1, oh: 8, ow: 8,
 * };
 * const k = unrollKernelsFor(geom); // null without WebAssembly SIMD
 * if (k !== null && typeof k.im2col !== "function") throw new Error("no im2col");
 * ```
 *
 * @module
 */

import {
  BLOCK_VOID,
  buildModule,
  Code,
  EVEN_LANES,
  type FuncDef,
  Op,
  SimdOp,
  ValType,
} from "./wasm.ts";
import { wasmMemory, wasmMemoryImport, wasmSimdAvailable } from "./wasm_gemm.ts";
import type { Conv2dParams } from "./conv.ts";

const { i32 } = ValType;

/** The geometry a specialised module is emitted for (the per-plane part of Conv2dParams). */
export type UnrollGeometry = Pick<
  Conv2dParams,
  | "h"
  | "w"
  | "kh"
  | "kw"
  | "strideH"
  | "strideW"
  | "padH"
  | "padW"
  | "dilationH"
  | "dilationW"
  | "oh"
  | "ow"
>;

/**
 * `im2col(x, col, ldB, planes, images, xImageB, colImageB)` unrolls, for each of `images`
 * images, `planes` consecutive unpadded h × w planes (byte pointer x, image i at x + i·xImageB)
 * into kh·kw rows per plane of a column matrix (byte pitch ldB; image i's oh·ow columns start at
 * col + i·colImageB). Taps that read padding store zeros. Writes nothing outside those columns.
 *
 * `col2im(col, ldB, dx, planes, images, dxImageB, colImageB)` is its adjoint: it adds every
 * column entry that im2col would have read from a real pixel onto that pixel of dx.
 */
export interface UnrollKernels {
  /** Column matrix from unpadded planes. */
  im2col: (...args: number[]) => void;
  /**
   * Adds a column matrix back onto unpadded planes; null where its code would be too long (it
   * moves strided runs one float at a time, im2col four): the callers use the generic kernels.
   */
  col2im: ((...args: number[]) => void) | null;
}

// Straight-line operations per plane above which a kernel is not specialised: the code would
// grow past what is worth compiling (a 224 × 224 stem), and the generic loops amortise there.
// ResNet's 7 × 7 stride-2 stem at 32 × 32 input takes about 4,000 in im2col.
const MAX_OPS_PER_PLANE = 6000;

const I64_LOAD = 0x29, I64_STORE = 0x37, I32_LOAD = 0x28, I32_STORE = 0x36;
const F32_LOAD = 0x2a, F32_STORE = 0x38;

/** One run of a plane's code: `len` floats of a column row from source offset `src` (or zeros). */
interface Run {
  /** Byte offset in the column row block of the tap (y·ow + x)·4. */
  dst: number;
  /** Byte offset in the plane of the first source pixel, or -1 for zeros. */
  src: number;
  /** Floats. */
  len: number;
  /** Source step in floats between consecutive outputs (the horizontal stride). */
  step: number;
}

/** Per tap, the runs of one plane: where each output row reads from, or zeros. */
function planeRuns(g: UnrollGeometry): Run[][] {
  const taps: Run[][] = [];
  for (let ki = 0; ki < g.kh; ki++) {
    for (let kj = 0; kj < g.kw; kj++) {
      const runs: Run[] = [];
      const offW = kj * g.dilationW - g.padW;
      // Output columns [lo, hi) read real pixels.
      let lo = 0;
      while (lo < g.ow && lo * g.strideW + offW < 0) lo++;
      let hi = lo;
      while (hi < g.ow && hi * g.strideW + offW < g.w) hi++;
      for (let y = 0; y < g.oh; y++) {
        const ih = y * g.strideH + ki * g.dilationH - g.padH;
        const rowDst = y * g.ow * 4;
        if (ih < 0 || ih >= g.h || hi === lo) {
          runs.push({ dst: rowDst, src: -1, len: g.ow, step: 1 });
          continue;
        }
        if (lo > 0) runs.push({ dst: rowDst, src: -1, len: lo, step: 1 });
        const src = (ih * g.w + lo * g.strideW + offW) * 4;
        runs.push({ dst: rowDst + lo * 4, src, len: hi - lo, step: g.strideW });
        if (hi < g.ow) runs.push({ dst: rowDst + hi * 4, src: -1, len: g.ow - hi, step: 1 });
      }
      // Merge consecutive zero runs and contiguous unit-step copies (whole rows of a tap that
      // reads no padding are one run).
      const merged: Run[] = [];
      for (const r of runs) {
        const last = merged[merged.length - 1];
        if (
          last && last.dst + last.len * 4 === r.dst &&
          ((last.src < 0 && r.src < 0) ||
            (last.src >= 0 && r.src >= 0 && last.step === 1 && r.step === 1 &&
              last.src + last.len * 4 === r.src))
        ) {
          last.len += r.len;
        } else {
          merged.push({ ...r });
        }
      }
      taps.push(merged);
    }
  }
  return taps;
}

/** Number of memory operations one kernel emits for the runs (for the size bound). */
function opCount(taps: Run[][], fwd: boolean): number {
  let n = 0;
  for (const runs of taps) {
    for (const r of runs) {
      if (r.step === 1) n += (r.len >> 2) + ((r.len & 3) >> 1) + (r.len & 1);
      else if (fwd && r.step === 2) n += (r.len >> 2) + (r.len & 3);
      else n += r.len;
    }
  }
  return n;
}

const V = (offset: number) => ({ align: 0, offset });

/**
 * Emits one kernel. Parameters: (a, ldB, b, planes, images, bImageB, colImageB) where for im2col
 * a = x (planes), b = col; for col2im a = col, b = dx. Locals walk the planes and column rows.
 */
function emit(name: "im2col" | "col2im", g: UnrollGeometry, taps: Run[][]): FuncDef {
  const fwd = name === "im2col";
  // Parameters in the order of the exported signatures.
  const P0 = 0, P1 = 1, P2 = 2, PLANES = 3, IMAGES = 4, PIMG = 5, CIMG = 6;
  const X = fwd ? P0 : P2, COL = fwd ? P1 : P0, LDB = fwd ? P2 : P1;
  const img = 7, pl = 8, s = 9, d = 10, sImg = 11, dImg = 12;
  const locals = [i32, i32, i32, i32, i32, i32];
  const c = new Code();
  const planeB = g.h * g.w * 4;
  const khw = g.kh * g.kw;
  c.get(X).set(sImg);
  c.get(COL).set(dImg);
  loop(c, img, IMAGES, () => {
    c.get(sImg).set(s);
    c.get(dImg).set(d);
    loop(c, pl, PLANES, () => {
      for (let t = 0; t < khw; t++) {
        for (const r of taps[t]) {
          if (fwd) copyRun(c, r, s, d);
          else if (r.src >= 0) addRun(c, r, s, d);
        }
        if (t < khw - 1) c.get(d).get(LDB).op(Op.i32Add).set(d);
      }
      // d walked khw − 1 rows; the next plane starts one row further.
      c.get(d).get(LDB).op(Op.i32Add).set(d);
      c.get(s).i32(planeB).op(Op.i32Add).set(s);
    });
    c.get(sImg).get(PIMG).op(Op.i32Add).set(sImg);
    c.get(dImg).get(CIMG).op(Op.i32Add).set(dImg);
  });
  return { name, params: new Array(7).fill(i32), results: [], locals, code: c };
}

/** `for (v = 0; v < n; v++) body()` over i32 locals. */
function loop(c: Code, v: number, n: number, body: () => void): void {
  c.i32(0).set(v);
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(v).get(n).op(Op.i32GeS, Op.brIf, 1);
  body();
  c.get(v).i32(1).op(Op.i32Add).set(v);
  c.op(Op.br, 0, Op.end, Op.end);
}

/** im2col of one run: zeros or a copy, widest moves first, none past the run. */
function copyRun(c: Code, r: Run, s: number, d: number): void {
  let at = 0;
  if (r.src < 0) {
    for (; at + 4 <= r.len; at += 4) {
      c.get(d).f32x4Const(0).simd(SimdOp.v128Store, V(r.dst + at * 4));
    }
    for (; at < r.len; at++) c.get(d).i32(0).mem(I32_STORE, 2, r.dst + at * 4);
    return;
  }
  if (r.step === 2) {
    // Four outputs from eight consecutive floats: two loads and a shuffle of the even lanes. The
    // second load reads one float past the run's last source (the heap regions have room).
    for (; at + 4 <= r.len; at += 4) {
      const so = r.src + at * 8;
      c.get(d).get(s).simd(SimdOp.v128Load, V(so)).get(s).simd(SimdOp.v128Load, V(so + 16));
      c.simd(SimdOp.i8x16Shuffle).op(...EVEN_LANES).simd(SimdOp.v128Store, V(r.dst + at * 4));
    }
  }
  if (r.step !== 1) {
    for (; at < r.len; at++) {
      c.get(d).get(s).mem(I32_LOAD, 2, r.src + at * r.step * 4).mem(I32_STORE, 2, r.dst + at * 4);
    }
    return;
  }
  for (; at + 4 <= r.len; at += 4) {
    c.get(d).get(s).simd(SimdOp.v128Load, V(r.src + at * 4)).simd(
      SimdOp.v128Store,
      V(r.dst + at * 4),
    );
  }
  if (at + 2 <= r.len) {
    c.get(d).get(s).mem(I64_LOAD, 3, r.src + at * 4).mem(I64_STORE, 3, r.dst + at * 4);
    at += 2;
  }
  if (at < r.len) {
    c.get(d).get(s).mem(I32_LOAD, 2, r.src + at * 4).mem(I32_STORE, 2, r.dst + at * 4);
  }
}

/** col2im of one run: dx[src…] += col[dst…] (here s walks dx and d walks the column rows). */
function addRun(c: Code, r: Run, s: number, d: number): void {
  let at = 0;
  if (r.step === 1) {
    for (; at + 4 <= r.len; at += 4) {
      const so = r.src + at * 4;
      c.get(s).get(s).simd(SimdOp.v128Load, V(so));
      c.get(d).simd(SimdOp.v128Load, V(r.dst + at * 4)).simd(SimdOp.f32x4Add);
      c.simd(SimdOp.v128Store, V(so));
    }
  }
  for (; at < r.len; at++) {
    const so = r.src + at * r.step * 4;
    c.get(s).get(s).mem(F32_LOAD, 2, so);
    c.get(d).mem(F32_LOAD, 2, r.dst + at * 4).op(Op.f32Add).mem(F32_STORE, 2, so);
  }
}

const cache = new Map<string, UnrollKernels | null>();
// Geometries kept compiled; the oldest is dropped beyond this (a model has a few dozen).
const MAX_CACHED = 128;

/**
 * The kernels specialised to `g`, emitted on first use and cached; null without WebAssembly SIMD
 * or where one plane's unrolled code would be too long.
 */
export function unrollKernelsFor(g: UnrollGeometry): UnrollKernels | null {
  const key = [
    g.h,
    g.w,
    g.kh,
    g.kw,
    g.strideH,
    g.strideW,
    g.padH,
    g.padW,
    g.dilationH,
    g.dilationW,
    g.oh,
    g.ow,
  ].join(",");
  let k = cache.get(key);
  if (k === undefined) {
    k = build(g);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, k);
  }
  return k;
}

function build(g: UnrollGeometry): UnrollKernels | null {
  if (!wasmSimdAvailable || !wasmMemory) return null;
  const taps = planeRuns(g);
  if (opCount(taps, true) > MAX_OPS_PER_PLANE) return null;
  const adjoint = opCount(taps, false) <= MAX_OPS_PER_PLANE;
  try {
    const funcs = [emit("im2col", g, taps), ...(adjoint ? [emit("col2im", g, taps)] : [])];
    const module = new WebAssembly.Module(buildModule(funcs, wasmMemoryImport));
    const e = new WebAssembly.Instance(module, { env: { memory: wasmMemory } }).exports;
    return {
      im2col: e.im2col as UnrollKernels["im2col"],
      col2im: adjoint ? e.col2im as NonNullable<UnrollKernels["col2im"]> : null,
    };
  } catch {
    return null;
  }
}
