/**
 * cpu reductions: sum, max, min over any set of dimensions, argmax/argmin, and fused softmax and
 * log-softmax.
 *
 * @module
 */

import type { Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import { allocHost, sizeOf } from "../../core/mod.ts";
import { outputF32, outputI32 } from "../../core/host_pool.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

interface ReduceAttrs {
  dims: number[];
  keepdim: boolean;
}

// When the reduced dims form one contiguous block the tensor is [outer, red, inner]; otherwise an
// odometer walks the input and maps each element to its output slot.
function blocks(
  shape: readonly number[],
  dims: readonly number[],
): [number, number, number] | null {
  for (let i = 1; i < dims.length; i++) if (dims[i] !== dims[i - 1] + 1) return null;
  const a = dims[0], b = dims[dims.length - 1];
  return [sizeOf(shape.slice(0, a)), sizeOf(shape.slice(a, b + 1)), sizeOf(shape.slice(b + 1))];
}

type Mode = 0 | 1 | 2; // sum, max, min

// Float sums (every gradient's sumToShape, bias gradients) get their own loops: the general ones
// below also see Int32Array and Uint8Array, and that polymorphism slows their hot loops ~2×.
// Accumulation is in float64 throughout; a float32 result may differ from a one-by-one float64
// sum only where the two float64 totals round to different float32 values (a last-bit tie).

// Sum of src[s..e) in float64 over eight independent accumulators: a single running sum is one
// dependent add per element (its latency bounds the loop), eight chains keep the adder busy.
function rowSum(src: Float32Array, s: number, e: number): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, i = s;
  for (const e8 = e - 7; i < e8; i += 8) {
    a0 += src[i];
    a1 += src[i + 1];
    a2 += src[i + 2];
    a3 += src[i + 3];
    a4 += src[i + 4];
    a5 += src[i + 5];
    a6 += src[i + 6];
    a7 += src[i + 7];
  }
  for (; i < e; i++) a0 += src[i];
  return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

// Adds rows [r0, r1) of a [rows, inner] block starting at `base` into the float64 `acc`, four rows
// per pass so that each accumulator is loaded and stored once per four rows.
function addRows(
  src: Float32Array,
  base: number,
  inner: number,
  r0: number,
  r1: number,
  acc: Float64Array,
): void {
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const b0 = base + r * inner, b1 = b0 + inner, b2 = b1 + inner, b3 = b2 + inner;
    for (let i = 0; i < inner; i++) {
      acc[i] += (src[b0 + i] + src[b1 + i]) + (src[b2 + i] + src[b3 + i]);
    }
  }
  for (; r < r1; r++) {
    const rb = base + r * inner;
    for (let i = 0; i < inner; i++) acc[i] += src[rb + i];
  }
}

/**
 * Sums a float32 array of `shape` over `dims` into `o` in float64 (see above); false where the
 * reduced dims are not one block or around one block of kept dims (the caller then loops itself).
 */
export function sumFloat32(
  src: Float32Array,
  shape: readonly number[],
  dims: number[],
  o: Float32Array,
): boolean {
  const bl = blocks(shape, dims);
  if (bl) {
    const [outer, red, inner] = bl;
    // Reducing trailing axes (or all of them): each output is the sum of one contiguous row.
    if (inner === 1) {
      for (let p = 0; p < outer; p++) o[p] = rowSum(src, p * red, (p + 1) * red);
      return true;
    }
    // Reducing leading (or middle) axes: rows of `inner` elements added into float64 scratch.
    const acc = new Float64Array(inner);
    for (let p = 0; p < outer; p++) {
      const base = p * red * inner, ob = p * inner;
      if (p > 0) acc.fill(0);
      addRows(src, base, inner, 0, red, acc);
      for (let i = 0; i < inner; i++) o[ob + i] = acc[i];
    }
    return true;
  }
  // Reducing every axis but a contiguous block of kept ones ([A, K, B] → [K], a conv bias gradient
  // over [0, 2, 3]): each output adds its A contiguous rows of B elements.
  const kept = shape.map((_, i) => i).filter((i) => !dims.includes(i));
  if (!kept.length || !kept.every((k, i) => i === 0 || k === kept[i - 1] + 1)) return false;
  const k0 = kept[0], k1 = kept[kept.length - 1];
  const outer = sizeOf(shape.slice(0, k0)), mid = sizeOf(shape.slice(k0, k1 + 1));
  const inner = sizeOf(shape.slice(k1 + 1));
  for (let k = 0; k < mid; k++) {
    let acc = 0;
    for (let p = 0; p < outer; p++) {
      const base = (p * mid + k) * inner;
      acc += rowSum(src, base, base + inner);
    }
    o[k] = acc;
  }
  return true;
}

function reduce(x: Tensor, a: ReduceAttrs, dtype: TensorSpec["dtype"], mode: Mode): TypedArray {
  const src = hostArray(x);
  const shape = x.shape;
  const outShape = shape.map((s, i) => (a.dims.includes(i) ? 1 : s));
  const o = allocHost(dtype, sizeOf(outShape));
  if (
    mode === 0 && src instanceof Float32Array && o instanceof Float32Array &&
    sumFloat32(src, shape, a.dims, o)
  ) return o;
  if (mode !== 0) o.fill(mode === 1 ? -Infinity : Infinity);
  const bl = blocks(shape, a.dims);
  if (bl) {
    const [outer, red, inner] = bl;
    for (let p = 0; p < outer; p++) {
      const base = p * red * inner;
      const ob = p * inner;
      if (inner === 1) {
        let acc = mode === 0 ? 0 : src[base];
        if (mode === 0) { for (let r = 0; r < red; r++) acc += src[base + r]; }
        else if (mode === 1) {
          for (let r = 1; r < red; r++) {
            const v = src[base + r];
            if (v > acc || v !== v) acc = v;
            if (acc !== acc) break;
          }
        } else {
          for (let r = 1; r < red; r++) {
            const v = src[base + r];
            if (v < acc || v !== v) acc = v;
            if (acc !== acc) break;
          }
        }
        o[ob] = acc;
        continue;
      }
      for (let r = 0; r < red; r++) {
        const rb = base + r * inner;
        if (mode === 0) { for (let i = 0; i < inner; i++) o[ob + i] += src[rb + i]; }
        else if (mode === 1) {
          for (let i = 0; i < inner; i++) {
            const v = src[rb + i];
            if (v > o[ob + i] || v !== v) o[ob + i] = v;
          }
        } else {
          for (let i = 0; i < inner; i++) {
            const v = src[rb + i];
            if (v < o[ob + i] || v !== v) o[ob + i] = v;
          }
        }
      }
    }
    return o;
  }
  const kept = shape.map((_, i) => i).filter((i) => !a.dims.includes(i));
  if (kept.length && kept.every((k, i) => i === 0 || k === kept[i - 1] + 1)) {
    // Reducing around one contiguous block of kept dims ([A, K, B] → [K]), e.g. a conv bias
    // gradient over [0, 2, 3]: each output accumulates its rows in a register.
    const k0 = kept[0], k1 = kept[kept.length - 1];
    const outer = sizeOf(shape.slice(0, k0)), mid = sizeOf(shape.slice(k0, k1 + 1));
    const inner = sizeOf(shape.slice(k1 + 1));
    for (let k = 0; k < mid; k++) {
      let acc = mode === 0 ? 0 : src[k * inner];
      for (let p = 0; p < outer; p++) {
        const base = (p * mid + k) * inner;
        if (mode === 0) { for (let i = 0; i < inner; i++) acc += src[base + i]; }
        else if (mode === 1) {
          for (let i = 0; i < inner; i++) {
            const v = src[base + i];
            if (v > acc || v !== v) acc = v;
          }
        } else {
          for (let i = 0; i < inner; i++) {
            const v = src[base + i];
            if (v < acc || v !== v) acc = v;
          }
        }
      }
      o[k] = acc;
    }
    return o;
  }
  const d = shape.length;
  const ost = new Array<number>(d);
  let acc = 1;
  for (let i = d - 1; i >= 0; i--) {
    ost[i] = outShape[i] === 1 && shape[i] !== 1 ? 0 : acc;
    acc *= outShape[i];
  }
  const idx = new Array<number>(d).fill(0);
  const n = src.length;
  let oi = 0;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    if (mode === 0) o[oi] += v;
    else if (mode === 1) {
      if (v > o[oi] || v !== v) o[oi] = v;
    } else if (v < o[oi] || v !== v) o[oi] = v;
    for (let k = d - 1; k >= 0; k--) {
      idx[k]++;
      oi += ost[k];
      if (idx[k] < shape[k]) break;
      oi -= ost[k] * shape[k];
      idx[k] = 0;
    }
  }
  return o;
}

interface ArgAttrs {
  dim: number | null;
  keepdim: boolean;
}

function argReduce(x: Tensor, a: ArgAttrs, max: boolean): Int32Array {
  const src = hostArray(x);
  const [outer, red, inner] = a.dim === null ? [1, x.numel(), 1] : blocks(x.shape, [a.dim])!;
  const o = outputI32(outer * inner);
  for (let p = 0; p < outer; p++) {
    for (let i = 0; i < inner; i++) {
      const base = p * red * inner + i;
      let best = src[base], bi = 0;
      for (let r = 1; r < red && best === best; r++) {
        const v = src[base + r * inner];
        if (max ? v > best || v !== v : v < best || v !== v) {
          best = v;
          bi = r;
        }
      }
      o[p * inner + i] = bi;
    }
  }
  return o;
}

function softmaxKernel(log: boolean) {
  return (inputs: readonly Tensor[], a: { dim: number }): Float32Array[] => {
    const x = inputs[0];
    const src = hostArray(x, "float32");
    const [outer, n, inner] = blocks(x.shape, [a.dim])!;
    const o = outputF32(x.numel());
    for (let p = 0; p < outer; p++) {
      for (let i = 0; i < inner; i++) {
        const base = p * n * inner + i;
        let m = -Infinity;
        for (let r = 0; r < n; r++) {
          const v = src[base + r * inner];
          if (v > m || v !== v) m = v;
        }
        if (m === -Infinity) m = 0;
        let s = 0;
        for (let r = 0; r < n; r++) {
          const e = Math.exp(src[base + r * inner] - m);
          if (!log) o[base + r * inner] = e;
          s += e;
        }
        if (log) {
          const ls = m + Math.log(s);
          for (let r = 0; r < n; r++) o[base + r * inner] = src[base + r * inner] - ls;
        } else {
          const inv = 1 / s;
          for (let r = 0; r < n; r++) o[base + r * inner] *= inv;
        }
      }
    }
    return [o];
  };
}

/** Reduction kernel table of the cpu backend. */
export const reduceKernels: CpuKernelTable = {
  sum: { run: (i, a: ReduceAttrs, out) => [reduce(i[0], a, out[0].dtype, 0)] },
  max: { run: (i, a: ReduceAttrs, out) => [reduce(i[0], a, out[0].dtype, 1)] },
  min: { run: (i, a: ReduceAttrs, out) => [reduce(i[0], a, out[0].dtype, 2)] },
  argmax: { run: (i, a: ArgAttrs) => [argReduce(i[0], a, true)] },
  argmin: { run: (i, a: ArgAttrs) => [argReduce(i[0], a, false)] },
  softmax: { run: softmaxKernel(false), dtypes: ["float32"] },
  logSoftmax: { run: softmaxKernel(true), dtypes: ["float32"] },
};
