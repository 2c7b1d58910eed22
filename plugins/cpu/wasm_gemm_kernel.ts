/**
 * The register-tiled f32x4 micro-kernel of the wasm SGEMM: {@link KernelShape} describes a tile
 * variant and {@link emitKernel} emits its function body. The packed GEMM (wasm_gemm.ts) and the
 * unpacked-B GEMM of the convolution kernels (wasm_conv_kernels.ts) both instantiate it.
 *
 * @module
 */

import { BLOCK_VOID, Code, type FuncDef, Op, SimdOp, ValType } from "./wasm.ts";

/** Shape of a micro-kernel variant: an MR x NR tile of C kept in v128 registers. */
export interface KernelShape {
  /** Rows of C per tile (A values broadcast one at a time). */
  mr: number;
  /** Columns of C per tile; a multiple of 4 (one v128 holds 4 columns). */
  nr: number;
  /** Use relaxed SIMD `f32x4.relaxed_madd` instead of `f32x4.mul` + `f32x4.add`. */
  relaxed: boolean;
  /** Depth steps per loop iteration; the packed depth must be a multiple of it. */
  ku: number;
  /**
   * Read B unpacked (row-major, row pitch passed at run time) instead of as packed panels; the
   * kernel then takes two more parameters, `ldb` and A's panel stride, both in bytes.
   */
  directB?: boolean;
}

/**
 * Emits `kernel(pa, pb, pc, mp, ncp, kc, ldc, accumulate)`: for a packed mp x kc block of A (MR-row
 * panels, each depth-major: the MR values of one depth step are adjacent) and a packed kc x ncp
 * block of B (NR-column panels, each depth-major), computes the mp x ncp product into the float32
 * matrix at byte address pc with row pitch ldc bytes, overwriting it or (accumulate != 0) adding
 * to it. Pointers and
 * ldc are byte offsets; mp, ncp are positive multiples of MR, NR and kc >= 1.
 *
 * Loop order: column panels outside, row panels inside, so the kc x NR panel of B stays in L1
 * while A panels stream from L2; the depth loop keeps all MR * NR / 4 sums in v128 locals.
 */
export function emitKernel(name: string, shape: KernelShape): FuncDef {
  const { mr, nr, relaxed, ku } = shape;
  const direct = shape.directB === true;
  const nv = nr / 4;
  // Parameters; the direct variant adds B's row pitch and A's panel stride (both in bytes).
  const PA = 0, PB = 1, PC = 2, MP = 3, NCP = 4, KC = 5, LDC = 6, ACC = 7, LDB = 8, SA = 9;
  const P = direct ? 10 : 8;
  // i32 locals.
  const J = P,
    I = P + 1,
    AP = P + 2,
    BP = P + 3,
    AEND = P + 4,
    APAN = P + 5,
    BPAN = P + 6,
    CCOL = P + 7,
    CROW = P + 8,
    T = P + 9,
    STRIDE_A = P + 10,
    STRIDE_B = P + 11,
    ROWSTEP = P + 12,
    DEPTH_A = P + 13;
  const nI32 = 14;
  // v128 locals: accumulators, B vectors, the broadcast A value.
  const ACC0 = P + nI32;
  const accLocal = (r: number, v: number) => ACC0 + r * nv + v;
  const BV0 = ACC0 + mr * nv;
  const AV = BV0 + nv;
  const locals = [
    ...new Array(nI32).fill(ValType.i32),
    ...new Array(mr * nv + nv + 1).fill(ValType.v128),
  ];
  const c = new Code();
  const mem = (offset: number, align = 4) => ({ align, offset });

  // Writes the tile to C at CROW, first adding what C holds when `add` is set.
  const emitStore = (add: boolean) => {
    c.get(CROW).set(T);
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        c.get(T).get(accLocal(r, v));
        if (add) c.get(T).simd(SimdOp.v128Load, mem(16 * v)).simd(SimdOp.f32x4Add);
        c.simd(SimdOp.v128Store, mem(16 * v));
      }
      if (r + 1 < mr) c.get(T).get(LDC).op(Op.i32Add).set(T);
    }
  };

  // Byte strides of one packed panel and of MR rows of C.
  c.get(KC).i32(mr * 4).op(Op.i32Mul).set(DEPTH_A);
  if (direct) c.get(SA).set(STRIDE_A);
  else c.get(DEPTH_A).set(STRIDE_A);
  if (direct) c.i32(nr * 4).set(STRIDE_B);
  else c.get(KC).i32(nr * 4).op(Op.i32Mul).set(STRIDE_B);
  c.get(LDC).i32(mr).op(Op.i32Mul).set(ROWSTEP);
  c.i32(0).set(J);
  c.get(PB).set(BPAN);
  c.get(PC).set(CCOL);
  c.op(Op.loop, BLOCK_VOID); // column panels
  {
    c.i32(0).set(I);
    c.get(PA).set(APAN);
    c.get(CCOL).set(CROW);
    c.op(Op.loop, BLOCK_VOID); // row panels
    {
      // Sums start from zero for every depth block and are added to C only at the end, so each
      // output is a sum of per-block partial sums (blocked summation): float32 rounding error then
      // grows with KC + K / KC rather than with K.
      for (let r = 0; r < mr; r++) {
        for (let v = 0; v < nv; v++) c.f32x4Const(0).set(accLocal(r, v));
      }
      c.get(APAN).set(AP);
      c.get(BPAN).set(BP);
      c.get(APAN).get(DEPTH_A).op(Op.i32Add).set(AEND);
      c.op(Op.loop, BLOCK_VOID); // depth
      {
        for (let u = 0; u < ku; u++) {
          for (let v = 0; v < nv; v++) {
            const off = direct ? 16 * v : 16 * v + u * nr * 4;
            c.get(BP).simd(SimdOp.v128Load, mem(off)).set(BV0 + v);
          }
          // The direct variant reads B unpacked: the next depth step is one row pitch further.
          if (direct) c.get(BP).get(LDB).op(Op.i32Add).set(BP);
          for (let r = 0; r < mr; r++) {
            c.get(AP).simd(SimdOp.v128Load32Splat, mem(4 * r + u * mr * 4, 2)).set(AV);
            for (let v = 0; v < nv; v++) {
              if (relaxed) {
                c.get(AV).get(BV0 + v).get(accLocal(r, v)).simd(SimdOp.f32x4RelaxedMadd);
              } else {
                c.get(accLocal(r, v)).get(AV).get(BV0 + v).simd(SimdOp.f32x4Mul)
                  .simd(SimdOp.f32x4Add);
              }
              c.set(accLocal(r, v));
            }
          }
        }
        c.get(AP).i32(ku * mr * 4).op(Op.i32Add).set(AP);
        if (!direct) c.get(BP).i32(ku * nr * 4).op(Op.i32Add).set(BP);
        c.get(AP).get(AEND).op(Op.i32LtU, Op.brIf, 0);
      }
      c.op(Op.end);
      c.get(ACC).op(Op.if, BLOCK_VOID);
      emitStore(true);
      c.op(Op.else);
      emitStore(false);
      c.op(Op.end);
      c.get(APAN).get(STRIDE_A).op(Op.i32Add).set(APAN);
      c.get(CROW).get(ROWSTEP).op(Op.i32Add).set(CROW);
      c.get(I).i32(mr).op(Op.i32Add).tee(I).get(MP).op(Op.i32LtU, Op.brIf, 0);
    }
    c.op(Op.end);
    c.get(BPAN).get(STRIDE_B).op(Op.i32Add).set(BPAN);
    c.get(CCOL).i32(nr * 4).op(Op.i32Add).set(CCOL);
    c.get(J).i32(nr).op(Op.i32Add).tee(J).get(NCP).op(Op.i32LtU, Op.brIf, 0);
  }
  c.op(Op.end);
  const i32 = ValType.i32;
  return {
    name,
    params: new Array(P).fill(i32),
    results: [],
    locals,
    code: c,
  };
}
