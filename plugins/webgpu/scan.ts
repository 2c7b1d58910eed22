/**
 * webgpu scans and products along one dimension: cumsum and cumprod (forward or reversed) and the
 * prod reduction. A row is scanned by one thread, or, when rows are long and few, by a workgroup:
 * each thread folds a contiguous chunk, a prefix over the chunk totals in workgroup memory gives
 * each chunk its starting value, and the chunks are scanned again from there. float16 is read as
 * f16, accumulated in f32 and rounded once per stored element; int32 wraps on overflow.
 *
 * @module
 */

import type { Tensor, TensorSpec } from "../../core/mod.ts";
import { sizeOf } from "../../core/mod.ts";
import { ELEMENT_MAIN, elementGrid, floatStore, prelude, wgslType } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { gpuBuffer, workgroupGrid } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

const THREADS = 256;
// Rows at least this long, when there are few of them, get a workgroup each.
const LONG = 512;
const FEW = 4096;

interface ScanAttrs {
  dim: number;
  reverse: boolean;
}

interface ProdAttrs {
  dim: number;
  keepdim: boolean;
}

// WGSL shared by the kernels over storage type t: accumulator type A, `load(k)` and `store(k, v)`.
function head(t: "f32" | "f16" | "i32", product: boolean): string {
  const io = prelude([{ name: "X", type: t }, { name: "O", type: t, write: true }]);
  const acc = t === "i32" ? "i32" : "f32";
  return `${io}${t === "i32" ? "" : floatStore(t)}alias A = ${acc};
const INIT = A(${product ? 1 : 0});
fn comb(a: A, b: A) -> A { return a ${product ? "*" : "+"} b; }
fn load(k: u32) -> A { return A(X[k]); }
fn store(k: u32, v: A) { O[k] = ${t === "i32" ? "v" : "toT(v)"}; }
`;
}

// Parameters: rows, n, inner, reverse. Element r of a row (in scan order) is at `at(base, r)`.
const POSITION = `fn at(base: u32, r: u32) -> u32 {
  let n = PU(1u); let j = select(r, n - 1u - r, PU(3u) == 1u);
  return base + j * PU(2u);
}
fn rowBase(row: u32) -> u32 { let n = PU(1u); let inner = PU(2u); return (row / inner) * n * inner + row % inner; }
`;

function scanKernel(gpu: Gpu, x: Tensor, a: ScanAttrs, product: boolean): GpuBuffer {
  const out = gpu.allocFor(x.dtype, x.numel());
  const n = x.shape[a.dim];
  if (x.numel() === 0) return out;
  const inner = sizeOf(x.shape.slice(a.dim + 1));
  const rows = x.numel() / n;
  const t = wgslType(x.dtype);
  const op = product ? "cumprod" : "cumsum";
  const params = [rows, n, inner, a.reverse ? 1 : 0];
  const bufs = [gpuBuffer(x), out.buffer];
  if (n >= LONG && rows <= FEW) {
    const pipe = gpu.pipeline(`${op}Wg/${t}`, () =>
      `${head(t, product)}${POSITION}
var<workgroup> part: array<A, ${THREADS}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(0u);
  let n = PU(1u);
  let chunk = (n + ${THREADS - 1}u) / ${THREADS}u;
  let r0 = min(li * chunk, n); let r1 = min(r0 + chunk, n);
  let base = rowBase(row);
  var acc = INIT;
  if (live) { for (var r = r0; r < r1; r++) { acc = comb(acc, load(at(base, r))); } }
  part[li] = acc;
  workgroupBarrier();
  if (li == 0u) {
    var run = INIT;
    for (var c = 0u; c < ${THREADS}u; c++) { let v = part[c]; part[c] = run; run = comb(run, v); }
  }
  workgroupBarrier();
  if (live) {
    var s = part[li];
    for (var r = r0; r < r1; r++) { let k = at(base, r); s = comb(s, load(k)); store(k, s); }
  }
}`);
    gpu.dispatch(op, pipe, bufs, params, workgroupGrid(rows));
    return out;
  }
  const pipe = gpu.pipeline(`${op}/${t}`, () =>
    `${head(t, product)}${POSITION}
${ELEMENT_MAIN}
  let base = rowBase(i);
  var acc = INIT;
  for (var r = 0u; r < PU(1u); r++) { let k = at(base, r); acc = comb(acc, load(k)); store(k, acc); }
}`);
  gpu.dispatch(op, pipe, bufs, params, elementGrid(rows));
  return out;
}

function prodKernel(gpu: Gpu, x: Tensor, a: ProdAttrs, spec: TensorSpec): GpuBuffer {
  const size = sizeOf(spec.shape);
  const out = gpu.allocFor(x.dtype, size);
  if (size === 0) return out;
  const n = x.shape[a.dim];
  const inner = sizeOf(x.shape.slice(a.dim + 1));
  const t = wgslType(x.dtype);
  const params = [size, n, inner, 0];
  const bufs = [gpuBuffer(x), out.buffer];
  if (n >= LONG && size <= FEW) {
    const pipe = gpu.pipeline(`prodWg/${t}`, () =>
      `${head(t, true)}${POSITION}
var<workgroup> part: array<A, ${THREADS}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(0u);
  let base = rowBase(row);
  var acc = INIT;
  if (live) { for (var r = li; r < PU(1u); r += ${THREADS}u) { acc = comb(acc, load(at(base, r))); } }
  part[li] = acc;
  workgroupBarrier();
  for (var s = ${THREADS / 2}u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] = comb(part[li], part[li + s]); }
    workgroupBarrier();
  }
  if (live && li == 0u) { store(row, part[0]); }
}`);
    gpu.dispatch("prod", pipe, bufs, params, workgroupGrid(size));
    return out;
  }
  const pipe = gpu.pipeline(`prod/${t}`, () =>
    `${head(t, true)}${POSITION}
${ELEMENT_MAIN}
  let base = rowBase(i);
  var acc = INIT;
  for (var r = 0u; r < PU(1u); r++) { acc = comb(acc, load(at(base, r))); }
  store(i, acc);
}`);
  gpu.dispatch("prod", pipe, bufs, params, elementGrid(size));
  return out;
}

/** Scan and product kernel table of the webgpu backend. */
export function scanKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  const dtypes = ["float32", "float16", "int32"] as const;
  return {
    cumsum: {
      supports,
      dtypes,
      run: (i, a: ScanAttrs) => [scanKernel(gpu, i[0], a, false)],
    },
    cumprod: {
      supports,
      dtypes,
      run: (i, a: ScanAttrs) => [scanKernel(gpu, i[0], a, true)],
    },
    prod: {
      supports,
      dtypes,
      run: (i, a: ProdAttrs, out: readonly TensorSpec[]) => [prodKernel(gpu, i[0], a, out[0])],
    },
  };
}
