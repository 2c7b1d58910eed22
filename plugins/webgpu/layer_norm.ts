/**
 * webgpu kernels of the fused row normalisation (`normRows`, `normRowsBackward`; layer and group
 * norm). The forward is one dispatch with a workgroup per row: a strided pass and a tree in
 * workgroup memory for the mean, a second for the squared deviations from it (two-pass, no
 * cancellation), then y with the affine applied, and the row's mean and rstd. The backward is a
 * dispatch with a workgroup per row for dx (the row's Σĝ and Σĝ·x̂ reduced together), and, where a
 * weight or bias gradient is wanted, one with a workgroup per weight element for dweight and dbias.
 * The workgroup is the smallest power of two from 32 to 256 covering the row (or the elements of
 * a weight element). float16 is read as f16 and computed in f32; mean and rstd are f32.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { normRowsBackwardOp, normRowsOp } from "../../layers/ops/layer_norm.ts";
import type { NormRowsAttrs } from "../../layers/ops/layer_norm.ts";
import { fbits, floatStore, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { gpuBuffer, sharedReduce, workgroupGrid, workgroupMain } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

type T = "f32" | "f16";

const wgSize = (n: number): number => Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(n))));

// Parameters: 0 rows (or weight elements), 1 rowSize, 2 groups, 3 inner, 4 eps bits, 5 rows.
function params(x: Tensor, a: NormRowsAttrs, count: number): number[] {
  return [count, a.rowSize, a.groups, a.inner, fbits(a.eps), x.numel() / a.rowSize];
}

const HEAD = `
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(0u);
  let D = PU(1u); let G = PU(2u); let S = PU(3u);
  let base = row * D;
  let wo = (row % G) * D;`;

function forwardSource(t: T, w: boolean, b: boolean, size: number): string {
  const bindings: Binding[] = [{ name: "X", type: t }];
  if (w) bindings.push({ name: "W", type: t });
  if (b) bindings.push({ name: "B", type: t });
  bindings.push(
    { name: "Y", type: t, write: true },
    { name: "M", type: "f32", write: true },
    { name: "RS", type: "f32", write: true },
  );
  const affine = [w ? " * f32(W[k])" : "", b ? " + f32(B[k])" : ""].join("");
  return `${prelude(bindings)}${floatStore(t)}
${workgroupMain({ size, shared: { part: `array<f32, ${size}>` } })}${HEAD}
  var acc = 0.0;
  if (live) { for (var j = li; j < D; j += ${size}u) { acc += f32(X[base + j]); } }
  part[li] = acc;
  workgroupBarrier();
  ${sharedReduce("part", size, "part[li] + part[li + s]")}
  let mean = part[0] / f32(D);
  workgroupBarrier();
  var sq = 0.0;
  if (live) {
    for (var j = li; j < D; j += ${size}u) { let v = f32(X[base + j]) - mean; sq += v * v; }
  }
  part[li] = sq;
  workgroupBarrier();
  ${sharedReduce("part", size, "part[li] + part[li + s]")}
  let rstd = 1.0 / sqrt(part[0] / f32(D) + PF(4u));
  if (live) {
    for (var j = li; j < D; j += ${size}u) {
      let k = (wo + j) / S;
      Y[base + j] = toT((f32(X[base + j]) - mean) * rstd${affine});
    }
    if (li == 0u) { M[row] = mean; RS[row] = rstd; }
  }
}`;
}

// dx = rstd·(ĝ − Σĝ/D − x̂·Σĝx̂/D) with ĝ = g·weight, the two sums reduced as one vec2.
function dxSource(t: T, w: boolean, size: number): string {
  const bindings: Binding[] = [
    { name: "GY", type: t },
    { name: "X", type: t },
    { name: "M", type: "f32" },
    { name: "RS", type: "f32" },
  ];
  if (w) bindings.push({ name: "W", type: t });
  bindings.push({ name: "DX", type: t, write: true });
  const gw = w ? "f32(GY[base + j]) * f32(W[(wo + j) / S])" : "f32(GY[base + j])";
  return `${prelude(bindings)}${floatStore(t)}
${workgroupMain({ size, shared: { part: `array<vec2<f32>, ${size}>` } })}${HEAD}
  var mean = 0.0; var rstd = 0.0;
  if (live) { mean = M[row]; rstd = RS[row]; }
  var acc = vec2<f32>(0.0, 0.0);
  if (live) {
    for (var j = li; j < D; j += ${size}u) {
      let gw = ${gw};
      acc += vec2<f32>(gw, gw * (f32(X[base + j]) - mean) * rstd);
    }
  }
  part[li] = acc;
  workgroupBarrier();
  ${sharedReduce("part", size, "part[li] + part[li + s]")}
  let c1 = part[0].x / f32(D);
  let c2 = part[0].y / f32(D);
  if (live) {
    for (var j = li; j < D; j += ${size}u) {
      let gw = ${gw};
      let xh = (f32(X[base + j]) - mean) * rstd;
      DX[base + j] = toT(rstd * (gw - c1 - xh * c2));
    }
  }
}`;
}

// Weight element k of group gk = k·S / D covers, in each of the rows n·G + gk, the S elements from
// (k·S) mod D: a workgroup per k reduces Σg·x̂ and Σg over those (rows / G)·S elements.
function dwSource(t: T, dw: boolean, db: boolean, size: number): string {
  const bindings: Binding[] = [
    { name: "GY", type: t },
    { name: "X", type: t },
    { name: "M", type: "f32" },
    { name: "RS", type: "f32" },
  ];
  if (dw) bindings.push({ name: "DW", type: t, write: true });
  if (db) bindings.push({ name: "DB", type: t, write: true });
  return `${prelude(bindings)}${floatStore(t)}
${workgroupMain({ size, shared: { part: `array<vec2<f32>, ${size}>` } })}
  let k = wid.y * nwg.x + wid.x;
  let live = k < PU(0u);
  let D = PU(1u); let G = PU(2u); let S = PU(3u);
  let gk = (k * S) / D;
  let j0 = (k * S) % D;
  let total = (PU(5u) / G) * S;
  var acc = vec2<f32>(0.0, 0.0);
  if (live) {
    for (var e = li; e < total; e += ${size}u) {
      let row = (e / S) * G + gk;
      let i = row * D + j0 + e % S;
      let g = f32(GY[i]);
      acc += vec2<f32>(g * (f32(X[i]) - M[row]) * RS[row], g);
    }
  }
  part[li] = acc;
  workgroupBarrier();
  ${sharedReduce("part", size, "part[li] + part[li + s]")}
  if (live && li == 0u) {
    ${dw ? "DW[k] = toT(part[0].x);" : ""}
    ${db ? "DB[k] = toT(part[0].y);" : ""}
  }
}`;
}

const typeOf = (x: Tensor): T => (x.dtype === "float16" ? "f16" : "f32");

/** Row-normalisation kernels of the webgpu backend (layer and group norm; float32 and float16). */
export function layerNormKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  return {
    ...kernelFor(normRowsOp, {
      dtypes: ["float32", "float16"],
      supports,
      run(inputs, a): GpuBuffer[] {
        const x = inputs[0], t = typeOf(x);
        const rows = x.numel() / a.rowSize;
        const outs = [
          gpu.allocFor(x.dtype, x.numel()),
          gpu.allocFor("float32", rows),
          gpu.allocFor("float32", rows),
        ];
        if (rows === 0) return outs;
        const size = wgSize(a.rowSize);
        gpu.dispatch(
          "normRows",
          gpu.pipeline(
            `normRows/${t}/${a.weight}/${a.bias}/${size}`,
            () => forwardSource(t, a.weight, a.bias, size),
          ),
          [...inputs.map(gpuBuffer), ...outs.map((o) => o.buffer)],
          params(x, a, rows),
          workgroupGrid(rows),
        );
        return outs;
      },
    }),
    ...kernelFor(normRowsBackwardOp, {
      dtypes: ["float32", "float16"],
      supports,
      run(inputs, a): GpuBuffer[] {
        const [g, x, mean, rstd] = inputs;
        const t = typeOf(x);
        const rows = x.numel() / a.rowSize;
        const count = a.groups * a.rowSize / a.inner;
        const dx = gpu.allocFor(x.dtype, x.numel());
        const dp = [a.weight, a.bias].filter((f) => f).map(() => gpu.allocFor(x.dtype, count));
        if (rows === 0) return [dx, ...dp];
        const stats = [g, x, mean, rstd].map(gpuBuffer);
        const size = wgSize(a.rowSize);
        gpu.dispatch(
          "normRowsBackward",
          gpu.pipeline(
            `normRowsBackward/dx/${t}/${a.weight}/${size}`,
            () => dxSource(t, a.weight, size),
          ),
          [...inputs.map(gpuBuffer), dx.buffer],
          params(x, a, rows),
          workgroupGrid(rows),
        );
        if (dp.length) {
          const psize = wgSize((rows / a.groups) * a.inner);
          gpu.dispatch(
            "normRowsBackward",
            gpu.pipeline(
              `normRowsBackward/dw/${t}/${a.weight}/${a.bias}/${psize}`,
              () => dwSource(t, a.weight, a.bias, psize),
            ),
            [...stats, ...dp.map((o) => o.buffer)],
            params(x, a, count),
            workgroupGrid(count),
          );
        }
        return [dx, ...dp];
      },
    }),
  };
}
