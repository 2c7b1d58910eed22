/**
 * Single-precision GEMM over typed arrays, row-major:
 * C[m, n] = alpha * sum_k opA(A)[m, k] * opB(B)[k, n] + beta * C[m, n].
 *
 * Two implementations: a WebAssembly SIMD kernel (wasm_gemm.ts, float32 accumulation, several
 * times faster) used when the engine supports it and the problem is big enough to amortise the
 * packing, and a pure-TypeScript fallback tuned for V8's optimising compiler: operands are packed
 * block by block into contiguous Float64Array panels and a 4x4 register-tiled micro-kernel runs
 * over them.
 *
 * @module
 */

import { wasmSimdAvailable } from "./wasm_gemm.ts";
import { wasmSgemm } from "./wasm_gemm_driver.ts";

/** Which implementation {@link sgemm} uses: chosen per call by size, or forced (for tests). */
export type GemmPath = "auto" | "wasm" | "scalar";

let path: GemmPath = "auto";

/**
 * Forces {@link sgemm} onto one implementation ("wasm" needs WebAssembly SIMD) or restores the
 * size-based choice ("auto"). Returns the previous setting so callers can restore it.
 */
export function setGemmPath(p: GemmPath): GemmPath {
  if (p === "wasm" && !wasmSimdAvailable) {
    throw new Error("setGemmPath: WebAssembly SIMD is not available");
  }
  const prev = path;
  path = p;
  return prev;
}

/** The current {@link setGemmPath} setting. */
export function gemmPath(): GemmPath {
  return path;
}

// Below this many multiply-adds the scalar kernel wins: the wasm path pays a fixed cost per call
// (packing into wasm memory, the call itself, and merging C back). Measured crossover: 8x8x8 is
// ~1.5x faster in scalar, 4x16x16 already ~1.2x faster in wasm, 16x16x16 ~1.3x.
const WASM_MIN_WORK = 1024;

// Register tile. 4x4 (unrolled twice over k) measured fastest on x64 V8: it keeps most of the 16
// accumulators in the 15 allocatable XMM registers; wider tiles spill on every iteration.
const MR = 4;
const NR = 4;
// Blocking: a KC x NR panel of B (8 KiB as doubles) stays in L1 while MC/MR panels of A stream
// from an MC x KC block (240 KiB) that fits L2; the KC x NC block of B lives in L2/L3.
// KC must be even (the kernel consumes k in pairs) and MC, NC multiples of the tile.
const KC = 256;
const MC = 120;
const NC = 1020;

// Packed panels are doubles, not floats: loading a float would cost an extra conversion per
// element in the hot loop, and double accumulation also matches the reference's rounding.
// The buffers are fixed-size module constants (bounded by the blocking above, so they never need
// to grow): V8 then folds their address and length into constants, and with the index masks in
// the kernel its bounds checks become compares against an immediate (~10% faster than unmasked).
const PA_MASK = 32767; // >= MC * KC - 1
const PB_MASK = 262143; // >= NC * KC - 1
const PA = new Float64Array(PA_MASK + 1 + 2 * MR);
const PB = new Float64Array(PB_MASK + 1 + 2 * NR);
// Result of one micro-kernel call; a separate store step applies alpha/beta and edge clipping.
const TILE = new Float64Array(MR * NR);

/**
 * Row-major SGEMM. `transA` means A is stored as [K, M] (lda >= M); otherwise [M, K] (lda >= K).
 * `transB` means B is stored as [N, K] (ldb >= K); otherwise [K, N] (ldb >= N).
 * C is [M, N] (ldc >= N).
 * Offsets select the start of each matrix inside its array (for batched calls).
 * With beta = 0, C is overwritten without being read (NaNs in C do not propagate).
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    scaleC(m, n, beta, c, cOff, ldc);
    return;
  }
  const wasm = path === "wasm" ||
    (path === "auto" && wasmSimdAvailable && m * n * k >= WASM_MIN_WORK);
  const impl = wasm ? wasmSgemm : scalarSgemm;
  impl(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
}

/** The pure-TypeScript implementation of {@link sgemm} (float64 accumulation; m, n, k > 0). */
function scalarSgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  for (let jc = 0; jc < n; jc += NC) {
    const nc = n - jc < NC ? n - jc : NC;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = k - pc < KC ? k - pc : KC;
      // Odd depths are padded with a zero row so the kernel can always step k by two.
      const kcp = (kc + 1) & ~1;
      // Later depth blocks accumulate onto what the first one stored.
      const bt = pc === 0 ? beta : 1;
      packB(transB, b, bOff, ldb, jc, nc, pc, kc, kcp);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = m - ic < MC ? m - ic : MC;
        packA(transA, a, aOff, lda, ic, mc, pc, kc, kcp);
        macroKernel(mc, nc, kcp, alpha, bt, c, cOff + ic * ldc + jc, ldc);
      }
    }
  }
}

/** C = beta * C, for k = 0 where there is nothing to multiply. */
function scaleC(m: number, n: number, beta: number, c: Float32Array, cOff: number, ldc: number) {
  for (let i = 0; i < m; i++) {
    const row = cOff + i * ldc;
    if (beta === 0) c.fill(0, row, row + n);
    else if (beta !== 1) { for (let j = 0; j < n; j++) c[row + j] = beta * c[row + j]; }
  }
}

/**
 * Packs rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) into PA as MR-row panels, each laid
 * out depth-major (MR consecutive values per k step). Rows past mc and depth past kc are zeros.
 */
function packA(
  trans: boolean,
  a: Float32Array,
  aOff: number,
  lda: number,
  i0: number,
  mc: number,
  p0: number,
  kc: number,
  kcp: number,
) {
  let d = 0;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = mc - ir < MR ? mc - ir : MR;
    if (trans) {
      // A is [K, M]: each k step reads MR contiguous values.
      for (let p = 0; p < kc; p++) {
        const src = aOff + (p0 + p) * lda + i0 + ir;
        const dst = d + p * MR;
        for (let r = 0; r < mr; r++) PA[dst + r] = a[src + r];
        for (let r = mr; r < MR; r++) PA[dst + r] = 0;
      }
    } else {
      // A is [M, K]: walk each source row contiguously, scattering with stride MR.
      for (let r = 0; r < MR; r++) {
        if (r < mr) {
          const src = aOff + (i0 + ir + r) * lda + p0;
          for (let p = 0; p < kc; p++) PA[d + p * MR + r] = a[src + p];
        } else {
          for (let p = 0; p < kc; p++) PA[d + p * MR + r] = 0;
        }
      }
    }
    for (let p = kc; p < kcp; p++) for (let r = 0; r < MR; r++) PA[d + p * MR + r] = 0;
    d += kcp * MR;
  }
}

/**
 * Packs depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into PB as NR-column panels, each
 * laid out depth-major. Columns past nc and depth past kc are zeros.
 */
function packB(
  trans: boolean,
  b: Float32Array,
  bOff: number,
  ldb: number,
  j0: number,
  nc: number,
  p0: number,
  kc: number,
  kcp: number,
) {
  let d = 0;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = nc - jr < NR ? nc - jr : NR;
    if (trans) {
      // B is [N, K]: walk each source row (one output column) contiguously.
      for (let q = 0; q < NR; q++) {
        if (q < nr) {
          const src = bOff + (j0 + jr + q) * ldb + p0;
          for (let p = 0; p < kc; p++) PB[d + p * NR + q] = b[src + p];
        } else {
          for (let p = 0; p < kc; p++) PB[d + p * NR + q] = 0;
        }
      }
    } else {
      // B is [K, N]: each k step reads NR contiguous values.
      for (let p = 0; p < kc; p++) {
        const src = bOff + (p0 + p) * ldb + j0 + jr;
        const dst = d + p * NR;
        for (let q = 0; q < nr; q++) PB[dst + q] = b[src + q];
        for (let q = nr; q < NR; q++) PB[dst + q] = 0;
      }
    }
    for (let p = kc; p < kcp; p++) for (let q = 0; q < NR; q++) PB[d + p * NR + q] = 0;
    d += kcp * NR;
  }
}

/**
 * Multiplies the packed mc x kcp block of A by the packed kcp x nc block of B and merges the result
 * into C (cIdx addresses the block's top-left element). Kept separate from sgemm so V8 optimises it
 * as an ordinary hot function instead of relying on on-stack replacement of one long call.
 */
function macroKernel(
  mc: number,
  nc: number,
  kcp: number,
  alpha: number,
  beta: number,
  c: Float32Array,
  cIdx: number,
  ldc: number,
) {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = nc - jr < NR ? nc - jr : NR;
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = mc - ir < MR ? mc - ir : MR;
      microKernel(kcp, ir * kcp, jr * kcp, mc > 0);
      storeTile(mr, nr, alpha, beta, c, cIdx + ir * ldc + jr, ldc);
    }
  }
}

/** Merges TILE into the mr x nr corner of C at cIdx: C = alpha * TILE + beta * C. */
function storeTile(
  mr: number,
  nr: number,
  alpha: number,
  beta: number,
  c: Float32Array,
  cIdx: number,
  ldc: number,
) {
  for (let r = 0; r < mr; r++) {
    const row = cIdx + r * ldc;
    const t = r * NR;
    if (beta === 0) {
      for (let q = 0; q < nr; q++) c[row + q] = alpha * TILE[t + q];
    } else {
      for (let q = 0; q < nr; q++) c[row + q] = alpha * TILE[t + q] + beta * c[row + q];
    }
  }
}

/**
 * TILE = (MR x kcp panel of PA at ai) * (kcp x NR panel of PB at bi), two k steps per iteration.
 *
 * `live` is always true. Wrapping the body in a branch on it is deliberate: V8 then schedules the
 * multiply-adds column by column inside that block instead of computing all products ahead of all
 * sums, which cuts register spills; without the branch 512^3 ran ~1.5x slower (3.9 vs 6.0 GFLOP/s).
 */
function microKernel(kcp: number, ai: number, bi: number, live: boolean) {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kcp; p += 2) {
    // The masks are no-ops on valid indices; they bound the index so V8 compares it against the
    // constant buffer length. The `| 0` on the increments below spares integer overflow checks.
    const x = ai & PA_MASK;
    const y = bi & PB_MASK;
    if (live) {
      let a0 = PA[x];
      let a1 = PA[x + 1];
      let a2 = PA[x + 2];
      let a3 = PA[x + 3];
      let b = PB[y];
      c00 += a0 * b;
      c10 += a1 * b;
      c20 += a2 * b;
      c30 += a3 * b;
      b = PB[y + 1];
      c01 += a0 * b;
      c11 += a1 * b;
      c21 += a2 * b;
      c31 += a3 * b;
      b = PB[y + 2];
      c02 += a0 * b;
      c12 += a1 * b;
      c22 += a2 * b;
      c32 += a3 * b;
      b = PB[y + 3];
      c03 += a0 * b;
      c13 += a1 * b;
      c23 += a2 * b;
      c33 += a3 * b;

      a0 = PA[x + 4];
      a1 = PA[x + 5];
      a2 = PA[x + 6];
      a3 = PA[x + 7];
      b = PB[y + 4];
      c00 += a0 * b;
      c10 += a1 * b;
      c20 += a2 * b;
      c30 += a3 * b;
      b = PB[y + 5];
      c01 += a0 * b;
      c11 += a1 * b;
      c21 += a2 * b;
      c31 += a3 * b;
      b = PB[y + 6];
      c02 += a0 * b;
      c12 += a1 * b;
      c22 += a2 * b;
      c32 += a3 * b;
      b = PB[y + 7];
      c03 += a0 * b;
      c13 += a1 * b;
      c23 += a2 * b;
      c33 += a3 * b;
    }
    ai = (ai + 2 * MR) | 0;
    bi = (bi + 2 * NR) | 0;
  }
  TILE[0] = c00;
  TILE[1] = c01;
  TILE[2] = c02;
  TILE[3] = c03;
  TILE[4] = c10;
  TILE[5] = c11;
  TILE[6] = c12;
  TILE[7] = c13;
  TILE[8] = c20;
  TILE[9] = c21;
  TILE[10] = c22;
  TILE[11] = c23;
  TILE[12] = c30;
  TILE[13] = c31;
  TILE[14] = c32;
  TILE[15] = c33;
}
