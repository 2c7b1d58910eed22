/**
 * WebAssembly kernels (emitted at run time) for the data movement around convolution and max
 * pooling: im2col, col2im, a bias-adding row copy and branch-free max pooling (their emitters are
 * in wasm_move_kernels.ts); the module also holds the product kernels of wasm_product_kernels.ts
 * and those of wasm_pool_grad.ts and wasm_norm.ts, all registered with the thread pool. This file
 * builds and instantiates the module; the drivers that call its kernels are in wasm_conv*.ts,
 * pool.ts and norm.ts.
 *
 * In V8 the JS versions of these loops cost more than the GEMMs they feed (LeNet's im2col alone
 * took longer than its product). The kernels share {@link wasmMemory} with the wasm GEMM, so the
 * column matrices they build are GEMM operands in place: the unpacked-B GEMM variant reads them
 * directly, and the blas backend gets them as Float32Array views of the same memory.
 *
 * @module
 */

import { buildModule } from "./wasm.ts";
import {
  wasmMemory,
  wasmMemoryImport,
  wasmRelaxedSimdAvailable,
  wasmSimdAvailable,
} from "./wasm_gemm.ts";
import { emitKernel, type KernelShape } from "./wasm_gemm_kernel.ts";
import { emitPad, emitRows, emitUnroll, emitZero } from "./wasm_move_kernels.ts";
import { emitMaxPool, emitMaxPoolS1, emitMaxPoolScatter } from "./wasm_max_pool.ts";
import { registerKernels } from "./threads.ts";
import { type DirectConvShape, emitConvDirect, emitDot } from "./wasm_product_kernels.ts";
import { emitBnApply, emitBnGradApply, emitBnGradSums, emitBnStats } from "./wasm_norm.ts";
import {
  emitAddInto,
  emitNonFinite,
  emitPoolInputGrad,
  emitPoolTaps,
  emitPoolWeightGrad,
} from "./wasm_pool_grad.ts";

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
  /** Row copy between two pitches. */
  copyRows: (src: number, lds: number, dst: number, ldd: number, rows: number, n: number) => void;
  /** C (+)= A B^T along rows. */
  dot: (...args: number[]) => void;
  /** Columns of C per tile of `dot`: ranges of columns that are multiples of it waste no work. */
  dotCols: number;
  /** Branch-free max pooling. */
  maxPool: (...args: number[]) => void;
  /** Unpacked-B GEMM with the wide tile. */
  directWide: DirectFn;
  /** Unpacked-B GEMM with 4-row tiles. */
  directNarrow: DirectFn;
  /** Rows of C per tile of `directWide`. */
  wideMr: number;
  /** Tile of `convPixels` (direct convolution vectorised over pixels). */
  convPixels: DirectConvShape;
  /** Tile of `convChannels` (direct convolution vectorised over output channels). */
  convChannels: DirectConvShape;
  /** The kernels' ids for thread plans (threads.ts), by export name. */
  ids: Readonly<Record<KernelName, number>>;
  /** Every kernel by export name, for direct calls on the calling thread. */
  fns: Readonly<Record<KernelName, (...args: number[]) => void>>;
}

/** Export names of the conv module, in registration order. */
const NAMES = [
  "im2col",
  "col2im",
  "biasRows",
  "dot",
  "maxPool",
  "directWide",
  "directNarrow",
  "pad",
  "unpad",
  "zero",
  "dotPlane",
  "convPixels",
  "convChannels",
  "poolTaps",
  "nonFinite",
  "addInto",
  "bnStats",
  "bnApply",
  "bnGradSums",
  "bnGradApply",
  "bnApplyRelu",
  "bnGradSumsRelu",
  "bnGradApplyRelu",
  "maxPoolScatter",
  "poolWeightGrad1",
  "poolWeightGrad2",
  "poolInputGrad1",
  "poolInputGrad2",
  "copyRows",
  "maxPoolS1",
] as const;

/** Name of one conv-module kernel. */
export type KernelName = (typeof NAMES)[number];

// Tiles of the direct convolution kernels: 12 sums in registers (with the operands, within the 15
// vector registers V8 allocates on x64).
const DIRECT_PIXELS: DirectConvShape = { mode: "pixels", a: 6, b: 2 };
const DIRECT_CHANNELS: DirectConvShape = { mode: "channels", a: 4, b: 2 };

function instantiate(): ConvKernels | null {
  if (!wasmSimdAvailable || !wasmMemory) return null;
  const relaxed = wasmRelaxedSimdAvailable;
  const wide: KernelShape = { mr: relaxed ? 6 : 4, nr: 8, relaxed, ku: 1, directB: true };
  const narrow: KernelShape = { mr: 4, nr: 8, relaxed, ku: 1, directB: true };
  try {
    const bytes = buildModule([
      emitUnroll("im2col"),
      emitUnroll("col2im"),
      emitRows(true),
      relaxed ? emitDot("dot", 2, 5, true) : emitDot("dot", 2, 4, false),
      relaxed ? emitDot("dotPlane", 2, 5, true, true) : emitDot("dotPlane", 2, 4, false, true),
      emitMaxPool(),
      emitKernel("directWide", wide),
      emitKernel("directNarrow", narrow),
      emitPad("pad"),
      emitPad("unpad"),
      emitZero(),
      emitConvDirect("convPixels", DIRECT_PIXELS, relaxed),
      emitConvDirect("convChannels", DIRECT_CHANNELS, relaxed),
      emitPoolTaps(),
      emitNonFinite(),
      emitAddInto(),
      emitBnStats(),
      emitBnApply(),
      emitBnGradSums(),
      emitBnGradApply(),
      emitBnApply(true),
      emitBnGradSums(true),
      emitBnGradApply(true),
      emitMaxPoolScatter(),
      emitPoolWeightGrad(1, relaxed),
      emitPoolWeightGrad(2, relaxed),
      emitPoolInputGrad(1, relaxed),
      emitPoolInputGrad(2, relaxed),
      emitRows(false),
      emitMaxPoolS1(),
    ], wasmMemoryImport);
    const module = new WebAssembly.Module(bytes);
    const e = new WebAssembly.Instance(module, { env: { memory: wasmMemory } }).exports;
    const idList = registerKernels(wasmMemory, bytes, e, NAMES);
    const ids = Object.fromEntries(NAMES.map((n, i) => [n, idList[i]])) as Record<
      KernelName,
      number
    >;
    const fns = Object.fromEntries(NAMES.map((n) => [n, e[n]])) as Record<
      KernelName,
      (...args: number[]) => void
    >;
    return {
      ids,
      fns,
      im2col: e.im2col as UnrollFn,
      col2im: e.col2im as UnrollFn,
      biasRows: e.biasRows as ConvKernels["biasRows"],
      copyRows: e.copyRows as ConvKernels["copyRows"],
      dot: e.dot as ConvKernels["dot"],
      maxPool: e.maxPool as ConvKernels["maxPool"],
      directWide: e.directWide as DirectFn,
      directNarrow: e.directNarrow as DirectFn,
      wideMr: wide.mr,
      dotCols: relaxed ? 5 : 4,
      convPixels: DIRECT_PIXELS,
      convChannels: DIRECT_CHANNELS,
    };
  } catch {
    return null;
  }
}

/** The conv/pool wasm kernels over {@link wasmMemory}, or null where they cannot run. */
export const convKernels: ConvKernels | null = instantiate();
