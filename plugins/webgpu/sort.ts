/**
 * webgpu sort: a bitonic network per row over (value, index) pairs, whose total order makes the
 * result the stable sort (NaN last ascending, first descending, as on cpu and in PyTorch). Rows
 * are padded to a power of two P with entries that sort after everything. Rows with P ≤ 1024 sort
 * in one dispatch, a workgroup per row in workgroup memory; longer rows sort an index buffer in
 * global memory, one dispatch per step of the network (log₂P·(log₂P + 1)/2 of them).
 *
 * @module
 */

import type { Tensor, TensorSpec } from "../../core/mod.ts";
import { sizeOf } from "../../core/mod.ts";
import { ELEMENT_MAIN, elementGrid, prelude, wgslType } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { gpuBuffer, workgroupGrid } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

/** Longest padded row sorted in workgroup memory (keys and indices: 8 bytes each). */
const LOCAL_MAX = 1024;
const THREADS = 256;

interface SortAttrs {
  dim: number;
  descending: boolean;
}

// WGSL: key type K, `keyOf(v)` and `before(ka, ia, kb, ib, n)`: whether element (key ka at index
// ia) comes before (kb at ib) in the sorted row; indices ≥ n are padding and come last. Floats
// compare as integer keys of their bits: exact (no flush of subnormals), -0 equal to +0, and every
// NaN the largest key, so NaN sorts last ascending and first descending, in index order.
function order(t: "f32" | "f16" | "i32", descending: boolean): string {
  const key = t === "i32" ? "alias K = i32;\nfn keyOf(x: i32) -> K { return x; }" : `alias K = u32;
fn keyOf(x: f32) -> K {
  var b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }
  if ((b & 0x7fffffffu) == 0u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}`;
  return `${key}
fn before(ka: K, ia: u32, kb: K, ib: u32, n: u32) -> bool {
  let pa = ia >= n; let pb = ib >= n;
  if (pa || pb) { return !pa || (pb && ia < ib); }
  if (ka != kb) { return ka ${descending ? ">" : "<"} kb; }
  return ia < ib;
}
`;
}

// The key of X[k] (f16 is widened exactly to f32).
function load(t: "f32" | "f16" | "i32", k: string): string {
  return t === "i32" ? `keyOf(X[${k}])` : `keyOf(f32(X[${k}]))`;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

// One workgroup per row: load, run the whole network in workgroup memory, write values and indices.
function sortLocal(
  gpu: Gpu,
  x: Tensor,
  out: [GpuBuffer, GpuBuffer],
  rows: number,
  n: number,
  inner: number,
  p: number,
  descending: boolean,
): void {
  const t = wgslType(x.dtype);
  const pipe = gpu.pipeline(`sortLocal/${t}/${descending}`, () =>
    `${
      prelude([
        { name: "X", type: t },
        { name: "O", type: t, write: true },
        { name: "I", type: "i32", write: true },
      ])
    }${order(t, descending)}
var<workgroup> sk: array<K, ${LOCAL_MAX}>;
var<workgroup> si: array<u32, ${LOCAL_MAX}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(0u);
  let n = PU(1u); let inner = PU(2u); let P = PU(3u);
  let base = (row / inner) * n * inner + row % inner;
  for (var j = li; j < P; j += ${THREADS}u) {
    if (live && j < n) { sk[j] = ${load(t, "base + j * inner")}; } else { sk[j] = K(0); }
    si[j] = j;
  }
  workgroupBarrier();
  for (var k = 2u; k <= P; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      for (var h = li; h < P / 2u; h += ${THREADS}u) {
        let a = (h / j) * 2u * j + h % j; let b = a + j;
        let ka = sk[a]; let kb = sk[b]; let ia = si[a]; let ib = si[b];
        let swap = select(before(ka, ia, kb, ib, n), before(kb, ib, ka, ia, n), (a & k) == 0u);
        if (swap) { sk[a] = kb; sk[b] = ka; si[a] = ib; si[b] = ia; }
      }
      workgroupBarrier();
    }
  }
  if (live) {
    for (var j = li; j < n; j += ${THREADS}u) {
      let src = si[j]; let o = base + j * inner;
      O[o] = X[base + src * inner]; I[o] = i32(src);
    }
  }
}`);
  gpu.dispatch(
    "sort",
    pipe,
    [gpuBuffer(x), out[0].buffer, out[1].buffer],
    [rows, n, inner, p],
    workgroupGrid(rows),
  );
}

// Longer rows: the network over an index buffer W (rows × P) in global memory.
function sortGlobal(
  gpu: Gpu,
  x: Tensor,
  out: [GpuBuffer, GpuBuffer],
  rows: number,
  n: number,
  inner: number,
  p: number,
  descending: boolean,
): void {
  const t = wgslType(x.dtype);
  const w = gpu.allocFor("int32", rows * p);
  const xb = gpuBuffer(x);
  const head = (bindings: Parameters<typeof prelude>[0]) =>
    `${prelude(bindings)}${order(t, descending)}`;
  const init = gpu.pipeline(`sortInit`, () =>
    `${prelude([{ name: "W", type: "u32", write: true }])}
${ELEMENT_MAIN}
  W[i] = i % PU(1u);
}`);
  gpu.dispatch("sort", init, [w.buffer], [rows * p, p], elementGrid(rows * p));
  const step = gpu.pipeline(
    `sortStep/${t}/${descending}`,
    () =>
      `${head([{ name: "X", type: t }, { name: "W", type: "u32", write: true }])}
fn key(base: u32, idx: u32, n: u32, inner: u32) -> K {
  if (idx >= n) { return K(0); }
  return ${load(t, "base + idx * inner")};
}
${ELEMENT_MAIN}
  let n = PU(1u); let inner = PU(2u); let P = PU(3u); let k = PU(4u); let j = PU(5u);
  let half = P / 2u;
  let row = i / half; let h = i % half;
  let base = (row / inner) * n * inner + row % inner;
  let a = (h / j) * 2u * j + h % j; let b = a + j;
  let ia = W[row * P + a]; let ib = W[row * P + b];
  let ka = key(base, ia, n, inner); let kb = key(base, ib, n, inner);
  let swap = select(before(ka, ia, kb, ib, n), before(kb, ib, ka, ia, n), (a & k) == 0u);
  if (swap) { W[row * P + a] = ib; W[row * P + b] = ia; }
}`,
  );
  const threads = rows * (p / 2);
  for (let k = 2; k <= p; k *= 2) {
    for (let j = k >> 1; j > 0; j >>= 1) {
      gpu.dispatch(
        "sort",
        step,
        [xb, w.buffer],
        [threads, n, inner, p, k, j],
        elementGrid(threads),
      );
    }
  }
  const fin = gpu.pipeline(`sortWrite/${t}`, () =>
    `${
      prelude([
        { name: "X", type: t },
        { name: "W", type: "u32" },
        { name: "O", type: t, write: true },
        { name: "I", type: "i32", write: true },
      ])
    }
${ELEMENT_MAIN}
  let n = PU(1u); let inner = PU(2u); let P = PU(3u);
  let row = i / n; let j = i % n;
  let base = (row / inner) * n * inner + row % inner;
  let src = W[row * P + j]; let o = base + j * inner;
  O[o] = X[base + src * inner]; I[o] = i32(src);
}`);
  gpu.dispatch(
    "sort",
    fin,
    [xb, w.buffer, out[0].buffer, out[1].buffer],
    [rows * n, n, inner, p],
    elementGrid(rows * n),
  );
  gpu.free(w);
}

function sortKernel(gpu: Gpu, x: Tensor, a: SortAttrs, specs: readonly TensorSpec[]): GpuBuffer[] {
  const values = gpu.allocFor(specs[0].dtype, sizeOf(specs[0].shape));
  const indices = gpu.allocFor("int32", sizeOf(specs[1].shape));
  const n = x.shape[a.dim];
  const inner = sizeOf(x.shape.slice(a.dim + 1));
  const rows = n === 0 ? 0 : x.numel() / n;
  if (rows === 0) return [values, indices];
  const p = nextPow2(n);
  const run = p <= LOCAL_MAX ? sortLocal : sortGlobal;
  run(gpu, x, [values, indices], rows, n, inner, p, a.descending);
  return [values, indices];
}

/** Sort kernel table of the webgpu backend. */
export function sortKernels(gpu: Gpu): WebGpuKernelTable {
  return {
    sort: {
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run: (i, a: SortAttrs, out: readonly TensorSpec[]) => sortKernel(gpu, i[0], a, out),
    },
  };
}
