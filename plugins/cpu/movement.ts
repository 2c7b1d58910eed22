/**
 * cpu movement kernels: contiguous (a view read into a dense array), copyInto (a write through a
 * view), slice's backward, pad, cat, gather and scatterAdd.
 *
 * @module
 */

import type { Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import { allocHost, IndexError, shapeStr, sizeOf, sliceView, stridesOf } from "../../core/mod.ts";
import { hostArray, hostStorage } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

// Copies a strided view of `src` (offset, per-dim strides over `shape`) into or out of a contiguous
// array. `scatter` reverses the direction (contiguous → strided), `accumulate` adds instead.
function strided(
  src: TypedArray,
  dst: TypedArray,
  shape: readonly number[],
  offset: number,
  strides: readonly number[],
  scatter: boolean,
): void {
  const d = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  if (d === 0) {
    if (scatter) dst[offset] = src[0];
    else dst[0] = src[offset];
    return;
  }
  const last = d - 1, inner = shape[last], is = strides[last];
  const idx = new Array<number>(d).fill(0);
  let p = offset, o = 0;
  while (o < n) {
    if (scatter) { for (let j = 0; j < inner; j++) dst[p + j * is] = src[o + j]; }
    else for (let j = 0; j < inner; j++) dst[o + j] = src[p + j * is];
    o += inner;
    let k = last - 1;
    for (; k >= 0; k--) {
      idx[k]++;
      p += strides[k];
      if (idx[k] < shape[k]) break;
      p -= strides[k] * shape[k];
      idx[k] = 0;
    }
    if (k < 0) break;
  }
}

// Reads a view (offset, strides) into a fresh dense array.
function contiguousKernel(inputs: readonly Tensor[]): TypedArray[] {
  return [denseCopy(inputs[0])];
}

/** A view's elements (offset and strides into its host storage) as a fresh dense array. */
export function denseCopy(x: Tensor): TypedArray {
  const o = allocHost(x.dtype, x.numel());
  strided(hostStorage(x), o, x.shape, x.offset, x.strides, false);
  return o;
}

// Writes src (any layout) through dst's offset and strides into dst's own array.
function copyIntoKernel(inputs: readonly Tensor[]): TypedArray[] {
  const [dst, src] = inputs;
  const s = src.isDense ? hostArray(src) : denseCopy(src);
  strided(s, hostStorage(dst), dst.shape, dst.offset, dst.strides, true);
  return [];
}

interface SliceAttrs {
  starts: number[];
  steps: number[];
  shape: number[];
}

function sliceBackwardKernel(
  inputs: readonly Tensor[],
  a: SliceAttrs & { inputShape: number[] },
  out: readonly TensorSpec[],
): TypedArray[] {
  const g = inputs[0];
  const o = allocHost(g.dtype, sizeOf(out[0].shape));
  const [off, st] = sliceView(a.inputShape, a);
  strided(hostArray(g), o, a.shape, off, st, true);
  return [o];
}

function padKernel(
  inputs: readonly Tensor[],
  a: { before: number[]; after: number[]; value: number },
  out: readonly TensorSpec[],
): TypedArray[] {
  const x = inputs[0];
  const os = out[0].shape;
  const o = allocHost(x.dtype, sizeOf(os));
  if (a.value !== 0) o.fill(a.value);
  const st = stridesOf(os);
  let off = 0;
  for (let i = 0; i < os.length; i++) off += a.before[i] * st[i];
  strided(hostArray(x), o, x.shape, off, st, true);
  return [o];
}

function catKernel(
  inputs: readonly Tensor[],
  a: { dim: number },
  out: readonly TensorSpec[],
): TypedArray[] {
  const os = out[0].shape;
  const o = allocHost(out[0].dtype, sizeOf(os));
  const outer = sizeOf(os.slice(0, a.dim));
  const rowOut = sizeOf(os.slice(a.dim));
  let colOff = 0;
  for (const t of inputs) {
    const src = hostArray(t);
    const row = sizeOf(t.shape.slice(a.dim));
    for (let p = 0; p < outer; p++) {
      o.set(src.subarray(p * row, p * row + row), p * rowOut + colOff);
    }
    colOff += row;
  }
  return [o];
}

// Flat offset, in a tensor of `shape`, of every position of `index` with its `dim` coordinate
// replaced by the index value (bounds-checked). Gather and scatterAdd then run plain loops over it.
function indexTargets(
  op: string,
  index: Int32Array,
  ishape: readonly number[],
  shape: readonly number[],
  dim: number,
): Int32Array {
  const d = ishape.length;
  const st = stridesOf(shape);
  const idx = new Array<number>(d).fill(0);
  const n = index.length;
  const lim = shape[dim];
  const out = new Int32Array(n);
  let base = 0;
  for (let pos = 0; pos < n; pos++) {
    const v = index[pos];
    if (v < 0 || v >= lim) {
      throw new IndexError(
        `${op}: index ${v} is out of bounds for dimension ${dim} with size ${lim} (tensor ${
          shapeStr(shape)
        })`,
      );
    }
    out[pos] = base + v * st[dim];
    for (let k = d - 1; k >= 0; k--) {
      idx[k]++;
      if (k !== dim) base += st[k];
      if (idx[k] < ishape[k]) break;
      if (k !== dim) base -= st[k] * ishape[k];
      idx[k] = 0;
    }
  }
  return out;
}

function scatterAddKernel(
  inputs: readonly Tensor[],
  a: { dim: number; shape: number[] },
): TypedArray[] {
  const [index, src] = inputs;
  const s = hostArray(src);
  const o = allocHost(src.dtype, sizeOf(a.shape));
  const t = indexTargets("scatterAdd", hostArray(index, "int32"), index.shape, a.shape, a.dim);
  for (let p = 0; p < t.length; p++) o[t[p]] += s[p];
  return [o];
}

function gatherKernel(inputs: readonly Tensor[], a: { dim: number }): TypedArray[] {
  const [x, index] = inputs;
  const src = hostArray(x);
  const o = allocHost(x.dtype, index.numel());
  const t = indexTargets("gather", hostArray(index, "int32"), index.shape, x.shape, a.dim);
  for (let p = 0; p < t.length; p++) o[p] = src[t[p]];
  return [o];
}

/** Movement kernel table of the cpu backend. */
export const movementKernels: CpuKernelTable = {
  contiguous: { run: contiguousKernel, strided: true },
  copyInto: { run: copyIntoKernel, strided: true },
  sliceBackward: { run: sliceBackwardKernel },
  pad: { run: padKernel },
  cat: { run: catKernel },
  gather: { run: gatherKernel },
  scatterAdd: { run: scatterAddKernel },
};
