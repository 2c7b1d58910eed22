/**
 * WebAssembly SIMD (f32x4) SGEMM for the cpu backend.
 *
 * Scalar JS tops out at a few GFLOP/s in V8; a 128-bit SIMD micro-kernel compiled by V8's wasm
 * backend does several times better (its emitter is in wasm_gemm_kernel.ts). The module is emitted
 * at load time by {@link buildModule} (no binaries in the repository). JS packs blocks of A and B
 * into the module's memory, one wasm call multiplies a whole packed block, and JS merges the
 * float32 result into C with alpha/beta.
 *
 * The memory is shared (where the engine has SharedArrayBuffer), so that large products are split
 * between threads (threads.ts): each thread multiplies the same packed A and B into its own
 * columns (or rows) of the result, so the result does not depend on the thread count.
 *
 * @module
 */

import {
  buildModule,
  Code,
  forUp,
  Frame,
  type FuncDef,
  type MemoryImport,
  Op,
  SimdOp,
  ValType,
} from "./wasm.ts";
import { emitKernel, type KernelShape } from "./wasm_gemm_kernel.ts";
import { type Plan, planFor, registerKernels } from "./threads.ts";

/** Signature of an emitted kernel (see {@link emitKernel}). */
type KernelFn = (
  pa: number,
  pb: number,
  pc: number,
  mp: number,
  ncp: number,
  kc: number,
  ldc: number,
  accumulate: number,
) => void;

// Tile shapes. Relaxed madd (one fused vfmadd on x64) measured ~40 GFLOP/s for 6x8 and ~37 for
// 4x8 in isolation against ~30 for the best mul+add kernel (4x8), so relaxed is preferred when it
// validates. Two row counts are kept because the conv GEMMs have small M: 6 output channels fit
// 6x8 exactly, 16 fit 4x8 exactly (6x8 would pad them to 18).
const NR = 8;
const KU = 4;
const RELAXED_SHAPES: KernelShape[] = [
  { mr: 6, nr: NR, relaxed: true, ku: KU },
  { mr: 4, nr: NR, relaxed: true, ku: KU },
];
// Without relaxed SIMD a 6x8 mul+add tile spills (~24 GFLOP/s), so both slots use 4x8 (~30).
const PLAIN_SHAPES: KernelShape[] = [
  { mr: 4, nr: NR, relaxed: false, ku: KU },
  { mr: 4, nr: NR, relaxed: false, ku: KU },
];

// Blocking. A KC x NR panel of B (8 KiB) stays in L1 while the MC x KC block of A (120 KiB) sits
// in L2; the KC x NC block of B (1 MiB) streams from L3. MC is a multiple of every MR.
const KC = 256;
const MC = 120;
const NC = 1024;
// Rows of C accumulated in wasm memory before they are merged into C; bounds that buffer to
// MCH x NC floats (3.75 MiB) however tall C is. A multiple of MC.
const MCH = 960;

// Byte layout of the shared memory: packed A, packed B, then the float32 C accumulator. One
// thread packs one MC x KC block of A at a time (at byte 0); threaded products pack all MCH / MC
// blocks of a depth step side by side before the threads start.
const PA_SLOT = MC * KC * 4;
const PA_BYTES = (MCH / MC) * PA_SLOT;
const PB_BYTES = KC * NC * 4;
const CB_AT = PA_BYTES + PB_BYTES;
// A KC x NC block of a B that is not transposed, copied row by row (zero-padded to whole panels)
// for the wasm packing kernel, after the largest accumulator.
const STAGE_AT = CB_AT + 4 * MCH * NC;
const PAGE = 65536;
// The memory may grow to wasm32's 4 GiB; a shared memory must declare its maximum.
const MAX_PAGES = 65536;
// Below this many multiply-adds per thread a product is not split. Measured on 2 cores (min of 60
// runs): 104^3 (1.1M) is 10% slower on two threads, 128^3 (2.1M) 10% faster, 160^3 25% faster;
// waking a worker and waiting for it costs ~50 us, and packing stays on the calling thread.
const MIN_WORK_PER_THREAD = 1 << 20;
// The most memory the GEMM itself ever uses (a full accumulator chunk and the staging block);
// everything from WASM_HEAP_BASE on is left to the other kernels sharing the memory (conv,
// pooling).
const GEMM_MAX_BYTES = STAGE_AT + 4 * KC * NC;

/** Byte offset in {@link wasmMemory} from which callers may keep their own data. */
export const WASM_HEAP_BASE: number = Math.ceil(GEMM_MAX_BYTES / PAGE) * PAGE;

/** The two kernels of one instantiated module. */
interface KernelPair {
  /** Kernel with MR = wideMr (6 with relaxed SIMD, otherwise 4). */
  wide: KernelFn;
  /** Kernel with MR = 4, for heights that 4 divides better than wideMr. */
  narrow: KernelFn;
  /** Packs a staged, not transposed block of B (see `emitPackRows`). */
  packRows: (src: number, pitch: number, dst: number, kcp: number, ncp: number) => void;
  /** Tile height of `wide`. */
  wideMr: number;
  /** Thread-pool kernel ids of `wide` and `narrow` (see threads.ts). */
  wideId: number;
  narrowId: number;
}

/**
 * Emits `packRows(src, pitch, dst, kcp, ncp)`: the NR-column panels of a kcp x ncp row-major block
 * (byte pitch `pitch`) written one after another, each depth-major (NR floats per depth step), as
 * the kernels read packed B. Two vector moves per depth step of a panel.
 */
function emitPackRows(): FuncDef {
  const SRC = 0, PITCH = 1, DST = 2, KCP = 3, NCP = 4;
  const f = new Frame(5);
  const jr = f.local(ValType.i32), p = f.local(ValType.i32), s = f.local(ValType.i32);
  const c = new Code();
  const V0 = { align: 0, offset: 0 }, V16 = { align: 0, offset: 16 };
  forUp(c, jr, NCP, NR, () => {
    c.get(SRC).get(jr).i32(4).op(Op.i32Mul, Op.i32Add).set(s);
    forUp(c, p, KCP, 1, () => {
      c.get(DST).get(s).simd(SimdOp.v128Load, V0).simd(SimdOp.v128Store, V0);
      c.get(DST).get(s).simd(SimdOp.v128Load, V16).simd(SimdOp.v128Store, V16);
      c.get(s).get(PITCH).op(Op.i32Add).set(s);
      c.get(DST).i32(4 * NR).op(Op.i32Add).set(DST);
    });
  });
  return {
    name: "packRows",
    params: new Array(5).fill(ValType.i32),
    results: [],
    locals: f.locals,
    code: c,
  };
}

function instantiate(memory: WebAssembly.Memory, shapes: KernelShape[]): KernelPair | null {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return null;
  try {
    const bytes = buildModule(
      [emitKernel("wide", shapes[0]), emitKernel("narrow", shapes[1]), emitPackRows()],
      wasmMemoryImport,
    );
    if (!WebAssembly.validate(bytes)) return null;
    const module = new WebAssembly.Module(bytes);
    const { exports } = new WebAssembly.Instance(module, { env: { memory } });
    const [wideId, narrowId] = registerKernels(memory, bytes, exports, ["wide", "narrow"]);
    return {
      wide: exports.wide as KernelFn,
      narrow: exports.narrow as KernelFn,
      packRows: exports.packRows as KernelPair["packRows"],
      wideMr: shapes[0].mr,
      wideId,
      narrowId,
    };
  } catch {
    return null;
  }
}

/** A shared memory where the engine allows one (SharedArrayBuffer), else an unshared one. */
function createMemory(): { memory: WebAssembly.Memory; shared: boolean } | null {
  if (typeof WebAssembly !== "object") return null;
  const initial = Math.ceil((CB_AT + 4 * MC * NC) / PAGE);
  try {
    const shared = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
    if (shared.buffer instanceof SharedArrayBuffer) return { memory: shared, shared: true };
  } catch {
    // No threads proposal or no SharedArrayBuffer (a browser page that is not cross-origin
    // isolated): the kernels run on one thread over an ordinary memory.
  }
  return { memory: new WebAssembly.Memory({ initial }), shared: false };
}

// Both variants share one memory, so switching between them (for tests) keeps the buffers.
const created = createMemory();
const memory: WebAssembly.Memory | null = created ? created.memory : null;

/**
 * How the wasm modules over {@link wasmMemory} must declare their memory import (shared, with the
 * maximum), or undefined for the default unshared import.
 */
export const wasmMemoryImport: MemoryImport | undefined = created?.shared
  ? { shared: true, maximum: MAX_PAGES }
  : undefined;

const plainKernels = memory ? instantiate(memory, PLAIN_SHAPES) : null;
const relaxedKernels = memory ? instantiate(memory, RELAXED_SHAPES) : null;
let kernels: KernelPair | null = relaxedKernels ?? plainKernels;
// View of the memory; replaced whenever the memory grows (growing detaches the old buffer).
let F = new Float32Array(memory ? memory.buffer : new ArrayBuffer(0));

/**
 * The linear memory of the GEMM kernels (null without WebAssembly), shared with the other wasm
 * kernels so that their buffers can be GEMM operands without copying.
 */
export const wasmMemory: WebAssembly.Memory | null = memory;

/**
 * Makes [WASM_HEAP_BASE, WASM_HEAP_BASE + bytes) of {@link wasmMemory} exist and returns a view of
 * the whole memory. The view is valid until the memory grows again (a later call with more bytes).
 */
export function wasmHeap(bytes: number): Float32Array {
  ensureBytes(WASM_HEAP_BASE + bytes);
  return F;
}

/** Whether this engine runs WebAssembly SIMD, i.e. whether {@link wasmSgemm} can be called. */
export const wasmSimdAvailable: boolean = plainKernels !== null;

/** Whether this engine validates relaxed SIMD (`f32x4.relaxed_madd`). */
export const wasmRelaxedSimdAvailable: boolean = relaxedKernels !== null;

/**
 * Selects the relaxed-SIMD kernels (the default when available) or the plain mul+add ones, so
 * tests can cover the fallback on engines that have both. Returns whether relaxed is now in use.
 */
export function useRelaxedSimd(on: boolean): boolean {
  kernels = on && relaxedKernels ? relaxedKernels : plainKernels;
  return kernels !== null && kernels === relaxedKernels;
}

function ensureBytes(bytes: number): void {
  const mem = memory!;
  const have = mem.buffer.byteLength;
  if (have < bytes) mem.grow(Math.ceil((bytes - have) / PAGE));
  if (F.buffer !== mem.buffer) F = new Float32Array(mem.buffer);
}

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
