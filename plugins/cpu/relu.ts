/**
 * The cpu ReLU and its backward: sign-bit operations on the integer views of the values (no
 * data-dependent branch), in wasm SIMD over copies in the wasm heap from a few thousand elements,
 * with float16 and int32 variants; and helpers for the fused conv-pool kernels.
 *
 * @module
 */

import type { Tensor, TypedArray } from "../../core/mod.ts";
import { outputF32 } from "../../core/host_pool.ts";
import { hostArray } from "./kit.ts";
import { BLOCK_VOID, buildModule, Code, Op, SimdOp, ValType } from "./wasm.ts";
import { heapRegions } from "./wasm_conv_heap.ts";
import { wasmMemory, wasmMemoryImport, wasmSimdAvailable } from "./wasm_gemm.ts";

// Data-dependent branches mispredict about half the time on real activations, which costs more
// than the arithmetic: ReLU clears negative values through the sign bit of their integer view.
// From RELU_WASM_MIN elements on, the same bit operations run in wasm SIMD over a copy of the
// input in the wasm heap (copying in and out costs less than the scalar JS loop saves).
export function reluKernel(inputs: readonly Tensor[]): TypedArray[] {
  const x = inputs[0], n = x.numel();
  if (x.dtype === "float16") return [reluHalf(hostArray(x, "float16"), n)];
  const src = x.dtype === "int32" ? hostArray(x, "int32") : hostArray(x, "float32");
  const a = src instanceof Int32Array ? src : new Int32Array(src.buffer, src.byteOffset, n);
  const o = x.dtype === "int32" ? new Int32Array(n) : outputF32(n);
  const r = o instanceof Int32Array ? o : new Int32Array(o.buffer, o.byteOffset, n);
  if (reluWasm && n >= RELU_WASM_MIN) reluViaWasm(a, null, r, n);
  else reluInt32(a, r, n);
  return [o];
}

/** ReLU of float32 `x` in place, with the bits of the relu kernel. */
export function reluInPlaceF32(x: Float32Array): void {
  const n = x.length, a = new Int32Array(x.buffer, x.byteOffset, n);
  if (reluWasm && n >= RELU_WASM_MIN) reluViaWasm(a, null, a, n);
  else reluInt32(a, a, n);
}

/** ReLU's backward of float32 g for output y (g where y > 0, else 0) as a new pooled array. */
export function reluBackwardF32(g: Float32Array, y: Float32Array): Float32Array {
  const n = g.length;
  const gi = new Int32Array(g.buffer, g.byteOffset, n);
  const yi = new Int32Array(y.buffer, y.byteOffset, n);
  const o = outputF32(n);
  const r = new Int32Array(o.buffer, o.byteOffset, n);
  if (reluWasm && n >= RELU_WASM_MIN) {
    reluViaWasm(gi, yi, r, n);
    return o;
  }
  for (let i = 0; i < n; i++) {
    const v = yi[i];
    r[i] = gi[i] & ((-v & ~v) >> 31);
  }
  return o;
}

function reluInt32(a: Int32Array, r: Int32Array, n: number): Int32Array {
  for (let i = 0; i < n; i++) {
    const v = a[i];
    r[i] = v & ~(v >> 31);
  }
  return r;
}

// The wasm kernels: `relu(x, o, n)` and `reluBackward(g, y, o, n)` over byte pointers and a count
// of 32-bit lanes, eight per step (n is rounded up: the regions have 16 spare lanes after them).
// The bit operations are those of the JS loops, so the results are the same bits.
const RELU_WASM_MIN = 4096;
// Lanes per wasm call: bounds the heap the copies use to about 24 MiB.
const RELU_CHUNK = 1 << 21;

function emitRelu(backward: boolean): Code {
  const I32X4_SHR_S = 0xac, I32X4_NEG = 0xa1, V128_AND = 0x4e, V128_ANDNOT = 0x4f;
  const G = 0, Y = backward ? 1 : 0, O = backward ? 2 : 1, N = backward ? 3 : 2;
  const end = backward ? 4 : 3, v = end + 1;
  const c = new Code();
  // end = o + 4n; the pointers then step by 32 bytes, two vectors per pass (n is padded to 8).
  c.get(O).get(N).i32(4).op(Op.i32Mul, Op.i32Add).set(end);
  c.op(Op.block, BLOCK_VOID, Op.loop, BLOCK_VOID);
  c.get(O).get(end).op(Op.i32GeS, Op.brIf, 1);
  for (const offset of [0, 16]) {
    const V = { align: 0, offset };
    c.get(O);
    c.get(Y).simd(SimdOp.v128Load, V).set(v);
    if (backward) {
      // g & ((-y & ~y) >> 31)
      c.get(G).simd(SimdOp.v128Load, V);
      c.get(v).simd(I32X4_NEG).get(v).simd(V128_ANDNOT).i32(31).simd(I32X4_SHR_S).simd(V128_AND);
    } else {
      // v & ~(v >> 31)
      c.get(v).get(v).i32(31).simd(I32X4_SHR_S).simd(V128_ANDNOT);
    }
    c.simd(SimdOp.v128Store, V);
  }
  for (const p of backward ? [G, Y, O] : [Y, O]) c.get(p).i32(32).op(Op.i32Add).set(p);
  c.op(Op.br, 0, Op.end, Op.end);
  return c;
}

type ReluFn = (...args: number[]) => void;

const reluWasm: { relu: ReluFn; reluBackward: ReluFn } | null = (() => {
  if (!wasmSimdAvailable || !wasmMemory) return null;
  const { i32, v128 } = ValType;
  try {
    const bytes = buildModule([
      {
        name: "relu",
        params: [i32, i32, i32],
        results: [],
        locals: [i32, v128],
        code: emitRelu(false),
      },
      {
        name: "reluBackward",
        params: [i32, i32, i32, i32],
        results: [],
        locals: [i32, v128],
        code: emitRelu(true),
      },
    ], wasmMemoryImport);
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: wasmMemory },
    }).exports;
    return { relu: e.relu as ReluFn, reluBackward: e.reluBackward as ReluFn };
  } catch {
    return null;
  }
})();

/**
 * ReLU in place over `n` floats of the wasm heap at byte pointer `at` (which must have 7 floats of
 * room after them), or null without wasm SIMD.
 */
export const reluHeap: ((at: number, n: number) => void) | null = reluWasm
  ? (at, n) => reluWasm.relu(at, at, n)
  : null;

// relu(a) (y null) or reluBackward(g = a, y) into r through the wasm heap, in chunks.
function reluViaWasm(a: Int32Array, y: Int32Array | null, r: Int32Array, n: number): void {
  const k = reluWasm!;
  const chunk = Math.min(n, RELU_CHUNK);
  const { at, f } = heapRegions(y ? [chunk, chunk, chunk] : [chunk, chunk]);
  const heap = new Int32Array(f.buffer);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    heap.set(a.subarray(s, s + m), at[0]);
    if (y) {
      heap.set(y.subarray(s, s + m), at[1]);
      k.reluBackward(4 * at[0], 4 * at[1], 4 * at[2], m);
    } else {
      k.relu(4 * at[0], 4 * at[1], m);
    }
    const o = at[y ? 2 : 1];
    r.set(heap.subarray(o, o + m), s);
  }
}

// ReLU's backward keeps g where y > 0: the mask comes from the sign bits of −y and ~y (both set
// only for a positive integer view, i.e. y > 0 or a positive NaN, as PyTorch's `y <= 0 ? 0 : g`),
// again with no data-dependent branch.
export function reluBackwardKernel(inputs: readonly Tensor[]): TypedArray[] {
  const [g, y] = inputs;
  const n = g.numel();
  if (g.dtype === "float16") {
    return [reluBackwardHalf(hostArray(g, "float16"), hostArray(y, "float16"), n)];
  }
  return [reluBackwardF32(hostArray(g, "float32"), hostArray(y, "float32"))];
}

// float16 ReLU and its backward: the same sign-bit tricks over Int16Array views (elements read
// sign-extended, so `>> 31` still gives the sign mask). Separate functions keep the float32 loops
// above monomorphic.
function reluHalf(src: Float16Array, n: number): Float16Array {
  const o = new Float16Array(n);
  const a = new Int16Array(src.buffer, src.byteOffset, n), r = new Int16Array(o.buffer, 0, n);
  for (let i = 0; i < n; i++) {
    const v = a[i];
    r[i] = v & ~(v >> 31);
  }
  return o;
}

function reluBackwardHalf(gs: Float16Array, ys: Float16Array, n: number): Float16Array {
  const gi = new Int16Array(gs.buffer, gs.byteOffset, n);
  const yi = new Int16Array(ys.buffer, ys.byteOffset, n);
  const o = new Float16Array(n);
  const r = new Int16Array(o.buffer, 0, n);
  for (let i = 0; i < n; i++) {
    const v = yi[i];
    r[i] = gi[i] & ((-v & ~v) >> 31);
  }
  return o;
}
