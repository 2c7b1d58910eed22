/**
 * The driver of the WebAssembly SIMD SGEMM ({@link wasmSgemm}): the blocking loops over C, the
 * packing of A and B into the wasm memory in JS (B not transposed is staged in JS and packed by the
 * wasm `packRows` kernel), the split of a packed block between threads, and the merge of the
 * float32 accumulator into C with alpha/beta. The kernels, the memory and its byte layout are in
 * wasm_gemm.ts.
 *
 * @module
 */

import { type Plan, planFor } from "./threads.ts";
import {
  CB_AT,
  ensureBytes,
  F,
  KC,
  kernels,
  KU,
  MC,
  MCH,
  NC,
  NR,
  PA_BYTES,
  PA_SLOT,
  STAGE_AT,
} from "./wasm_gemm.ts";

// Below this many multiply-adds per thread a product is not split. Measured on 2 cores (min of 60
// runs): 104^3 (1.1M) is 10% slower on two threads, 128^3 (2.1M) 10% faster, 160^3 25% faster;
// waking a worker and waiting for it costs ~50 us, and packing stays on the calling thread.
const MIN_WORK_PER_THREAD = 1 << 20;

/**
 * Row-major SGEMM with the same contract as `sgemm` in gemm.ts (transposes, offsets, leading
 * dimensions, alpha/beta, beta = 0 overwriting C without reading it), computed by the wasm SIMD
 * kernels with float32 accumulation. Needs m, n, k > 0 ({@link sgemm} handles empty products) and
 * throws if {@link wasmSimdAvailable} is false.
 */
export function wasmSgemm(
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
  const ks = kernels;
  if (!ks) throw new Error("wasmSgemm: WebAssembly SIMD is not available");
  // Pick the tile height that wastes fewer padded rows (the wide tile is ~8% faster per row).
  const wideMr = ks.wideMr;
  const padWide = Math.ceil(m / wideMr) * wideMr;
  const useNarrow = wideMr !== 4 && Math.ceil(m / 4) * 4 * 1.08 < padWide;
  const mr = useNarrow ? 4 : wideMr;
  const kernel = useNarrow ? ks.narrow : ks.wide;
  const parts = Math.max(Math.ceil(Math.min(n, NC) / NR), Math.ceil(Math.min(m, MCH) / mr));
  const plan = planFor(m * n * k, parts, MIN_WORK_PER_THREAD);
  const kernelId = useNarrow ? ks.narrowId : ks.wideId;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = n - jc < NC ? n - jc : NC;
    const ncp = Math.ceil(nc / NR) * NR;
    for (let i0 = 0; i0 < m; i0 += MCH) {
      const mch = m - i0 < MCH ? m - i0 : MCH;
      const mchp = Math.ceil(mch / mr) * mr;
      ensureBytes(CB_AT + 4 * mchp * ncp);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = k - pc < KC ? k - pc : KC;
        const kcp = Math.ceil(kc / KU) * KU;
        packB(transB, b, bOff, ldb, jc, nc, ncp, pc, kc, kcp);
        if (plan.threads > 1) {
          for (let ic = 0; ic < mch; ic += MC) {
            const mc = mch - ic < MC ? mch - ic : MC;
            const mcp = Math.ceil(mc / mr) * mr;
            packA(transA, a, aOff, lda, i0 + ic, mc, mcp, mr, pc, kc, kcp, (ic / MC) * PA_SLOT);
          }
          splitBlock(plan, kernelId, mr, mch, ncp, kcp, pc === 0 ? 0 : 1);
          continue;
        }
        for (let ic = 0; ic < mch; ic += MC) {
          const mc = mch - ic < MC ? mch - ic : MC;
          const mcp = Math.ceil(mc / mr) * mr;
          packA(transA, a, aOff, lda, i0 + ic, mc, mcp, mr, pc, kc, kcp, 0);
          kernel(0, PA_BYTES, CB_AT + 4 * ic * ncp, mcp, ncp, kcp, 4 * ncp, pc === 0 ? 0 : 1);
        }
      }
      mergeC(mch, nc, ncp, alpha, beta, c, cOff + i0 * ldc + jc, ldc);
    }
  }
}

/**
 * Multiplies the packed A blocks (one per MC rows of the mch-row chunk, PA_SLOT bytes apart) by
 * the packed B block on `plan`'s threads. The work items are ranges of NR-column panels of B, or,
 * where there are fewer panels than threads, ranges of mr-row panels of A: each writes its own part
 * of the accumulator with exactly the kernel call one thread would make there.
 */
function splitBlock(
  plan: Plan,
  kernelId: number,
  mr: number,
  mch: number,
  ncp: number,
  kcp: number,
  acc: number,
): void {
  // About four items per thread, so that a thread the OS leaves waiting holds back little.
  const pieces = 4 * plan.threads;
  const colPanels = ncp / NR;
  if (colPanels >= plan.threads) {
    const step = Math.ceil(colPanels / Math.max(1, Math.floor(pieces / Math.ceil(mch / MC))));
    for (let ic = 0; ic < mch; ic += MC) {
      const mcp = Math.ceil(Math.min(MC, mch - ic) / mr) * mr;
      for (let j0 = 0; j0 < colPanels; j0 += step) {
        const j1 = Math.min(colPanels, j0 + step);
        const pb = PA_BYTES + j0 * kcp * NR * 4;
        const pc = CB_AT + 4 * (ic * ncp + j0 * NR);
        plan.item();
        plan.call(kernelId, 0, (ic / MC) * PA_SLOT, pb, pc, mcp, (j1 - j0) * NR, kcp, 4 * ncp, acc);
      }
    }
  } else {
    // Row panels numbered across the MC-row blocks; every block but the last holds MC / mr.
    const perBlock = MC / mr;
    const rowPanels = Math.ceil(mch / mr);
    const step = Math.ceil(rowPanels / pieces);
    for (let g = 0; g < rowPanels;) {
      const block = Math.floor(g / perBlock);
      const hi = Math.min(rowPanels, g + step, (block + 1) * perBlock);
      const local = g - block * perBlock;
      const pa = block * PA_SLOT + local * mr * kcp * 4;
      const pc = CB_AT + 4 * (block * MC + local * mr) * ncp;
      plan.item();
      plan.call(kernelId, 0, pa, PA_BYTES, pc, (hi - g) * mr, ncp, kcp, 4 * ncp, acc);
      g = hi;
    }
  }
  plan.run();
}

/** C[0..mc, 0..nc] (at cIdx) = alpha * CB + beta * C; with beta = 0 C is not read. */
function mergeC(
  mc: number,
  nc: number,
  ncp: number,
  alpha: number,
  beta: number,
  c: Float32Array,
  cIdx: number,
  ldc: number,
) {
  const f = F;
  const cb = CB_AT >> 2;
  for (let i = 0; i < mc; i++) {
    const row = cIdx + i * ldc;
    const src = cb + i * ncp;
    if (beta === 0) {
      if (alpha === 1) c.set(f.subarray(src, src + nc), row);
      else for (let j = 0; j < nc; j++) c[row + j] = alpha * f[src + j];
    } else {
      for (let j = 0; j < nc; j++) c[row + j] = alpha * f[src + j] + beta * c[row + j];
    }
  }
}

/**
 * Packs rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) at byte `at` as mr-row panels, each
 * depth-major (mr consecutive values per depth step). Rows up to mcp and depth up to kcp are zeros.
 */
function packA(
  trans: boolean,
  a: Float32Array,
  aOff: number,
  lda: number,
  i0: number,
  mc: number,
  mcp: number,
  mr: number,
  p0: number,
  kc: number,
  kcp: number,
  at: number,
) {
  const f = F;
  let d = at >> 2;
  for (let ir = 0; ir < mcp; ir += mr) {
    const rows = mc - ir < mr ? mc - ir : mr;
    if (trans) {
      // A is [K, M]: each depth step reads `rows` contiguous values.
      for (let p = 0; p < kc; p++) {
        const src = aOff + (p0 + p) * lda + i0 + ir;
        const dst = d + p * mr;
        for (let r = 0; r < rows; r++) f[dst + r] = a[src + r];
        for (let r = rows; r < mr; r++) f[dst + r] = 0;
      }
    } else if (rows === mr) {
      // A is [M, K]: read the mr source rows side by side so the panel is written sequentially.
      const s0 = aOff + (i0 + ir) * lda + p0;
      for (let p = 0; p < kc; p++) {
        const dst = d + p * mr;
        for (let r = 0, s = s0 + p; r < mr; r++, s += lda) f[dst + r] = a[s];
      }
    } else {
      // Ragged last panel: walk each source row contiguously, scattering with stride mr.
      for (let r = 0; r < mr; r++) {
        if (r < rows) {
          const src = aOff + (i0 + ir + r) * lda + p0;
          for (let p = 0; p < kc; p++) f[d + p * mr + r] = a[src + p];
        } else {
          for (let p = 0; p < kc; p++) f[d + p * mr + r] = 0;
        }
      }
    }
    f.fill(0, d + kc * mr, d + kcp * mr);
    d += kcp * mr;
  }
}

/**
 * Packs depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) at byte PA_BYTES as NR-column
 * panels, each depth-major. Columns up to ncp and depth up to kcp are zeros. Called by wasmSgemm
 * only, where the kernels exist.
 */
function packB(
  trans: boolean,
  b: Float32Array,
  bOff: number,
  ldb: number,
  j0: number,
  nc: number,
  ncp: number,
  p0: number,
  kc: number,
  kcp: number,
) {
  if (!trans) {
    // B is [K, N]: the block's rows are copied into the staging block (row pitch ncp, zeros in
    // the padding), then packed by the wasm kernel. Packed here, a panel's depth steps are a row
    // pitch apart in B (a page or more for wide B), which cost JS about 2 ns a value (2.7 of
    // 5.7 ms for 64 x 2048 x 576).
    ensureBytes(STAGE_AT + 4 * kcp * ncp);
    const f = F, s = STAGE_AT >> 2;
    for (let p = 0; p < kc; p++) {
      const src = bOff + (p0 + p) * ldb + j0;
      f.set(b.subarray(src, src + nc), s + p * ncp);
      if (nc < ncp) f.fill(0, s + p * ncp + nc, s + (p + 1) * ncp);
    }
    if (kc < kcp) f.fill(0, s + kc * ncp, s + kcp * ncp);
    kernels!.packRows(STAGE_AT, 4 * ncp, PA_BYTES, kcp, ncp);
    return;
  }
  // B is [N, K].
  const f = F;
  let d = PA_BYTES >> 2;
  for (let jr = 0; jr < ncp; jr += NR) {
    const cols = nc - jr < NR ? nc - jr : NR;
    if (cols === NR) {
      // Read the NR source rows (output columns) side by side so that the packed
      // panel is written sequentially (~1.7x faster than one strided pass per row).
      const s0 = bOff + (j0 + jr) * ldb + p0;
      const s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
      const s4 = s3 + ldb, s5 = s4 + ldb, s6 = s5 + ldb, s7 = s6 + ldb;
      for (let p = 0; p < kc; p++) {
        const dst = d + p * NR;
        f[dst] = b[s0 + p];
        f[dst + 1] = b[s1 + p];
        f[dst + 2] = b[s2 + p];
        f[dst + 3] = b[s3 + p];
        f[dst + 4] = b[s4 + p];
        f[dst + 5] = b[s5 + p];
        f[dst + 6] = b[s6 + p];
        f[dst + 7] = b[s7 + p];
      }
    } else {
      // Ragged last panel: walk each source row (one output column) contiguously.
      for (let q = 0; q < NR; q++) {
        if (q < cols) {
          const src = bOff + (j0 + jr + q) * ldb + p0;
          for (let p = 0; p < kc; p++) f[d + p * NR + q] = b[src + p];
        } else {
          for (let p = 0; p < kc; p++) f[d + p * NR + q] = 0;
        }
      }
    }
    f.fill(0, d + kc * NR, d + kcp * NR);
    d += kcp * NR;
  }
}
