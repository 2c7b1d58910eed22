/**
 * webgpu matmul: 64×64 output tiles per 16×16 workgroup, K in steps of 16 staged in workgroup
 * memory as vec4 columns; each thread keeps its 4×4 outputs in four `vec4<f32>` accumulators
 * (private arrays indexed at run time end up in slow memory after WGSL→SPIR-V). Batches run along
 * the grid's z with broadcast batch strides; `transA`/`transB` only change how tiles are loaded.
 * float16 operands are loaded as f16 and widened into the f32 tiles, so products accumulate in f32;
 * results are rounded to f16 when stored.
 *
 * @module
 */

import type { MatmulAttrs, Tensor, TensorSpec } from "../../core/mod.ts";
import { broadcastStrides, sizeOf } from "../../core/mod.ts";
import { floatStore, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

const TILE = 64;
const BK = 16;
const MAX_BATCH_RANK = 6;

interface TileOperand {
  /** Storage buffer name in the shader. */
  buf: "A" | "B";
  /** Workgroup tile it fills. */
  tile: "As" | "Bs";
  /** Element offset variable of the batch. */
  off: "aOff" | "bOff";
  /** Tile index variable (row of A, column of B), its origin and its extent. */
  idx: "m" | "n";
  origin: "m0" | "n0";
  size: "M" | "N";
}

const A_TILE: TileOperand = {
  buf: "A",
  tile: "As",
  off: "aOff",
  idx: "m",
  origin: "m0",
  size: "M",
};
const B_TILE: TileOperand = {
  buf: "B",
  tile: "Bs",
  off: "bOff",
  idx: "n",
  origin: "n0",
  size: "N",
};

// Loads one BK-deep slice of an operand's 64-wide tile into tile[k][i/4]: A's rows (As[k][m/4])
// or B's columns (Bs[k][n/4]). Each of the 256 threads moves 4 values, reading 4 consecutive
// elements along whichever direction is contiguous in memory: the tile index (A transposed, B
// plain) or k (A plain, B transposed).
function loadTile(o: TileOperand, alongTile: boolean): string {
  const { buf, tile, off, idx: i, origin, size } = o;
  if (alongTile) {
    // Stored [K, size]: element (i, k) at k * size + i.
    return `{
      let k = li / 16u; let ${i}q = (li % 16u) * 4u; let kk = k0 + k;
      var v = vec4<f32>(0.0);
      if (kk < K) {
        let row = ${off} + kk * ${size} + ${origin} + ${i}q;
        if (${origin} + ${i}q < ${size}) { v.x = f32(${buf}[row]); }
        if (${origin} + ${i}q + 1u < ${size}) { v.y = f32(${buf}[row + 1u]); }
        if (${origin} + ${i}q + 2u < ${size}) { v.z = f32(${buf}[row + 2u]); }
        if (${origin} + ${i}q + 3u < ${size}) { v.w = f32(${buf}[row + 3u]); }
      }
      ${tile}[k * 16u + ${i}q / 4u] = v;
    }`;
  }
  // Stored [size, K]: contiguous along k.
  return `{
      let ${i} = li / 4u; let kq = (li % 4u) * 4u; let ${i}${i} = ${origin} + ${i};
      let row = ${off} + ${i}${i} * K + k0 + kq;
      for (var j = 0u; j < 4u; j++) {
        var v = 0.0;
        if (${i}${i} < ${size} && k0 + kq + j < K) { v = f32(${buf}[row + j]); }
        ${tile}[(kq + j) * 16u + ${i} / 4u][${i} % 4u] = v;
      }
    }`;
}

function store(row: number, acc: string): string {
  return `{
    let m = m0 + ty * 4u + ${row}u;
    if (m < M) {
      let o = cOff + m * N + n0 + tx * 4u;
      let n = n0 + tx * 4u;
      if (n < N) { C[o] = toT(${acc}.x); }
      if (n + 1u < N) { C[o + 1u] = toT(${acc}.y); }
      if (n + 2u < N) { C[o + 2u] = toT(${acc}.z); }
      if (n + 3u < N) { C[o + 3u] = toT(${acc}.w); }
    }
  }`;
}

function matmulSource(transA: boolean, transB: boolean, br: number, t: "f32" | "f16"): string {
  const batch: string[] = [];
  for (let d = br - 1; d >= 0; d--) {
    batch.push(
      `{ let sz = PU(${3 + d}u); let c = r % sz; r = r / sz; ` +
        `aOff += c * PU(${3 + br + d}u); bOff += c * PU(${3 + 2 * br + d}u); }`,
    );
  }
  return `${
    prelude([
      { name: "A", type: t },
      { name: "B", type: t },
      { name: "C", type: t, write: true },
    ])
  }${floatStore(t)}
var<workgroup> As: array<vec4<f32>, ${BK * 16}>;
var<workgroup> Bs: array<vec4<f32>, ${BK * 16}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let M = PU(0u); let N = PU(1u); let K = PU(2u);
  let tx = lid.x; let ty = lid.y;
  let m0 = wid.y * ${TILE}u; let n0 = wid.x * ${TILE}u;
  var aOff = 0u; var bOff = 0u; var r = wid.z;
  ${batch.join("\n  ")}
  aOff *= M * K; bOff *= K * N;
  let cOff = wid.z * M * N;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    ${loadTile(A_TILE, transA)}
    ${loadTile(B_TILE, !transB)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let a = As[kk * 16u + ty];
      let b = Bs[kk * 16u + tx];
      acc0 += a.x * b; acc1 += a.y * b; acc2 += a.z * b; acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  ${store(0, "acc0")}
  ${store(1, "acc1")}
  ${store(2, "acc2")}
  ${store(3, "acc3")}
}`;
}

function matmulKernel(
  gpu: Gpu,
  x: Tensor,
  y: Tensor,
  a: MatmulAttrs,
  os: readonly number[],
): GpuBuffer {
  const out = gpu.allocFor(x.dtype, sizeOf(os));
  const m = os[os.length - 2], n = os[os.length - 1];
  const k = a.transA ? x.shape[x.ndim - 2] : x.shape[x.ndim - 1];
  const batch = os.slice(0, -2);
  const nb = sizeOf(batch);
  if (m === 0 || n === 0 || nb === 0) return out;
  // Batch strides in whole matrices; size-1 and broadcast dims drop out.
  const sx = broadcastStrides(x.shape.slice(0, -2), batch);
  const sy = broadcastStrides(y.shape.slice(0, -2), batch);
  const keep = batch.map((s, i) => s !== 1 ? i : -1).filter((i) => i >= 0);
  const bs = keep.map((i) => batch[i]);
  const br = bs.length;
  const t = x.dtype === "float16" ? "f16" : "f32";
  const pipe = gpu.pipeline(
    `matmul/${t}/${a.transA ? "T" : "N"}${a.transB ? "T" : "N"}/${br}`,
    () => matmulSource(a.transA, a.transB, br, t),
  );
  gpu.dispatch(
    "matmul",
    pipe,
    [gpuBuffer(x), gpuBuffer(y), out.buffer],
    [m, n, k, ...bs, ...keep.map((i) => sx[i]), ...keep.map((i) => sy[i])],
    [Math.ceil(n / TILE), Math.ceil(m / TILE), nb],
  );
  return out;
}

/** Matmul kernel table of the webgpu backend. */
export function matmulKernels(gpu: Gpu): WebGpuKernelTable {
  return {
    matmul: {
      dtypes: ["float32", "float16"],
      supports(inputs: readonly Tensor[]) {
        const lim = withinLimits(gpu, inputs);
        if (lim !== true) return lim;
        const [x, y] = inputs;
        const batch = Math.max(x.ndim, y.ndim) - 2;
        if (batch > MAX_BATCH_RANK) return `matmul with more than ${MAX_BATCH_RANK} batch dims`;
        const nb = Math.max(sizeOf(x.shape.slice(0, -2)), sizeOf(y.shape.slice(0, -2)));
        if (nb > 65535) return `matmul batch of ${nb} exceeds 65535`;
        return true;
      },
      run: (inputs, a: MatmulAttrs, out: readonly TensorSpec[]) => [
        matmulKernel(gpu, inputs[0], inputs[1], a, out[0].shape),
      ],
    },
  };
}
