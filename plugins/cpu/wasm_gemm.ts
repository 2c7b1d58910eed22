/**
 * WebAssembly SIMD (f32x4) SGEMM for the cpu backend.
 *
 * Scalar JS tops out at a few GFLOP/s in V8; a 128-bit SIMD micro-kernel compiled by V8's wasm
 * backend does several times better (its emitter is in wasm_gemm_kernel.ts). The module is emitted
 * at load time by {@link buildModule} (no binaries in the repository). JS packs blocks of A and B
 * into the module's memory, one wasm call multiplies a whole packed block, and JS merges the
 * float32 result into C with alpha/beta. This file holds the tile shapes, the blocking and byte
 * layout of the memory, the memory itself and the instantiated kernels; the driver that packs,
 * multiplies and merges (`wasmSgemm`) is in wasm_gemm_driver.ts.
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
import { registerKernels } from "./threads.ts";

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
export const NR = 8;
export const KU = 4;
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
export const KC = 256;
export const MC = 120;
export const NC = 1024;
// Rows of C accumulated in wasm memory before they are merged into C; bounds that buffer to
// MCH x NC floats (3.75 MiB) however tall C is. A multiple of MC.
export const MCH = 960;

// Byte layout of the shared memory: packed A, packed B, then the float32 C accumulator. One
// thread packs one MC x KC block of A at a time (at byte 0); threaded products pack all MCH / MC
// blocks of a depth step side by side before the threads start.
export const PA_SLOT = MC * KC * 4;
export const PA_BYTES = (MCH / MC) * PA_SLOT;
const PB_BYTES = KC * NC * 4;
export const CB_AT = PA_BYTES + PB_BYTES;
// A KC x NC block of a B that is not transposed, copied row by row (zero-padded to whole panels)
// for the wasm packing kernel, after the largest accumulator.
export const STAGE_AT = CB_AT + 4 * MCH * NC;
const PAGE = 65536;
// The memory may grow to wasm32's 4 GiB; a shared memory must declare its maximum.
const MAX_PAGES = 65536;
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
export let kernels: KernelPair | null = relaxedKernels ?? plainKernels;
// View of the memory; replaced whenever the memory grows (growing detaches the old buffer).
export let F: Float32Array = new Float32Array(memory ? memory.buffer : new ArrayBuffer(0));

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

/** Whether this engine runs WebAssembly SIMD, i.e. whether `wasmSgemm` can be called. */
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

export function ensureBytes(bytes: number): void {
  const mem = memory!;
  const have = mem.buffer.byteLength;
  if (have < bytes) mem.grow(Math.ceil((bytes - have) / PAGE));
  if (F.buffer !== mem.buffer) F = new Float32Array(mem.buffer);
}
