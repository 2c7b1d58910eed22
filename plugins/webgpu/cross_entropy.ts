/**
 * webgpu kernels of the fused cross-entropy (`crossEntropy`, `crossEntropyBackward`). The forward
 * is a dispatch with a workgroup per row (the row's max and Σ exp(x − max) reduced in workgroup
 * memory, then the row's log-sum-exp, loss and weight written by its first thread) and a
 * one-workgroup dispatch summing the rows' losses and weights into the reduced loss and the total
 * weight. The backward is one thread per element of dx. A target outside [0, C) that is not
 * `ignoreIndex` is recorded on the device (its row counts as ignored) and thrown as the cpu
 * backend's `IndexError` by the next readback. float16 logits are read as f16 and computed in
 * f32; the log-sum-exp and the total weight are f32.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import {
  crossEntropyBackwardOp,
  crossEntropyIndexSite,
  crossEntropyOp,
} from "../../losses/ops/cross_entropy.ts";
import type { CrossEntropyAttrs } from "../../losses/ops/cross_entropy.ts";
import {
  ELEMENT_MAIN,
  elementGrid,
  ERROR_BINDING,
  floatStore,
  INDEX_ERROR_WGSL,
  prelude,
} from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { gpuBuffer, sharedReduce, workgroupGrid, workgroupMain } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

type T = "f32" | "f16";

const wgSize = (n: number): number => Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(n))));
const TOTAL_WG = 256;

// f32 NaN from its bits: compilers may assume no NaNs and fold 0.0 / 0.0.
const NAN = "bitcast<f32>(0x7fc00000u)";

// Parameters of both ops: 0 rows (forward) or elements (backward), 1 C, 2 ignoreIndex, 3 site.
// Row r: lse, its loss (RL, T for "none", else f32 for the total pass) and its weight (RW).
function rowsSource(t: T, a: CrossEntropyAttrs, size: number): string {
  const bindings: Binding[] = [{ name: "X", type: t }, { name: "TG", type: "i32" }];
  if (a.weight) bindings.push({ name: "W", type: "f32" });
  bindings.push(
    { name: "LS", type: "f32", write: true },
    { name: "RL", type: a.reduction === "none" ? t : "f32", write: true },
    { name: "RW", type: "f32", write: true },
    ERROR_BINDING,
  );
  const store = a.reduction === "none" ? "toT(l)" : "l";
  return `${prelude(bindings)}${floatStore(t)}${INDEX_ERROR_WGSL}
${workgroupMain({ size, shared: { part: `array<f32, ${size}>` } })}
  let row = wid.y * nwg.x + wid.x;
  let live = row < PU(0u);
  let C = PU(1u);
  let base = row * C;
  var m = bitcast<f32>(0xff800000u);
  if (live) { for (var j = li; j < C; j += ${size}u) { m = max(m, f32(X[base + j])); } }
  part[li] = m;
  workgroupBarrier();
  ${sharedReduce("part", size, "max(part[li], part[li + s])")}
  let mx = part[0];
  workgroupBarrier();
  var acc = 0.0;
  if (live) { for (var j = li; j < C; j += ${size}u) { acc += exp(f32(X[base + j]) - mx); } }
  part[li] = acc;
  workgroupBarrier();
  ${sharedReduce("part", size, "part[li] + part[li + s]")}
  if (live && li == 0u) {
    let lse = mx + log(part[0]);
    LS[row] = lse;
    let v = TG[row];
    var wr = 0.0;
    var l = 0.0;
    if (v != P(2u)) {
      if (v < 0 || v >= i32(C)) {
        indexError(PU(3u), v);
      } else {
        wr = ${a.weight ? "W[u32(v)]" : "1.0"};
        l = wr * (lse - f32(X[base + u32(v)]));
      }
    }
    RL[row] = ${store};
    RW[row] = wr;
  }
}`;
}

// One workgroup: Σ row losses (unless "none") and Σ row weights.
function totalSource(t: T, a: CrossEntropyAttrs): string {
  const none = a.reduction === "none";
  const bindings: Binding[] = [];
  if (!none) bindings.push({ name: "RL", type: "f32" });
  bindings.push({ name: "RW", type: "f32" }, { name: "TOT", type: "f32", write: true });
  if (!none) bindings.push({ name: "LOSS", type: t, write: true });
  const loss = a.reduction === "sum"
    ? "LOSS[0] = toT(part[0].x);"
    : a.reduction === "mean"
    ? `LOSS[0] = toT(select(part[0].x / part[0].y, ${NAN}, part[0].y == 0.0));`
    : "";
  // Without a loss binding there is no f16 binding to enable f16 for: store as f32 then.
  return `${prelude(bindings)}${floatStore(none ? "f32" : t)}
${workgroupMain({ size: TOTAL_WG, shared: { part: `array<vec2<f32>, ${TOTAL_WG}>` } })}
  let n = PU(0u);
  var acc = vec2<f32>(0.0, 0.0);
  for (var r = li; r < n; r += ${TOTAL_WG}u) {
    acc += vec2<f32>(${none ? "0.0" : "RL[r]"}, RW[r]);
  }
  part[li] = acc;
  workgroupBarrier();
  ${sharedReduce("part", TOTAL_WG, "part[li] + part[li + s]")}
  if (li == 0u) {
    TOT[0] = part[0].y;
    ${loss}
  }
}`;
}

// dx[r, j] = (exp(x − lse_r) − [j = t_r])·s_r, 0 in ignored (and invalid) rows.
function backwardSource(t: T, a: CrossEntropyAttrs): string {
  const bindings: Binding[] = [
    { name: "G", type: t },
    { name: "X", type: t },
    { name: "TG", type: "i32" },
    { name: "LS", type: "f32" },
  ];
  // Only "mean" reads the total weight (an unread binding would leave the pipeline's layout).
  if (a.reduction === "mean") bindings.push({ name: "TOT", type: "f32" });
  if (a.weight) bindings.push({ name: "W", type: "f32" });
  bindings.push({ name: "DX", type: t, write: true }, ERROR_BINDING);
  const scale = a.reduction === "none"
    ? "f32(G[row])"
    : a.reduction === "sum"
    ? "f32(G[0])"
    : `select(f32(G[0]) / TOT[0], ${NAN}, TOT[0] == 0.0)`;
  return `${prelude(bindings)}${floatStore(t)}${INDEX_ERROR_WGSL}
${ELEMENT_MAIN}
  let C = PU(1u);
  let row = i / C;
  let j = i % C;
  let v = TG[row];
  if (v == P(2u)) { DX[i] = T(0.0); return; }
  if (v < 0 || v >= i32(C)) {
    DX[i] = T(0.0);
    if (j == 0u) { indexError(PU(3u), v); }
    return;
  }
  let s = ${a.weight ? "W[u32(v)]" : "1.0"} * ${scale};
  let d = exp(f32(X[i]) - LS[row]) - select(0.0, 1.0, j == u32(v));
  DX[i] = toT(d * s);
}`;
}

const typeOf = (x: Tensor): T => (x.dtype === "float16" ? "f16" : "f32");

/** Fused cross-entropy kernels of the webgpu backend (float32 and float16 logits). */
export function crossEntropyKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  const dtypes = ["float32", "float16", "int32"] as const;
  return {
    ...kernelFor(crossEntropyOp, {
      dtypes,
      supports,
      run(inputs, a): GpuBuffer[] {
        const x = inputs[0], t = typeOf(x);
        const [n, c] = x.shape;
        const none = a.reduction === "none";
        const loss = gpu.allocFor(x.dtype, none ? n : 1);
        const lse = gpu.allocFor("float32", n);
        const total = gpu.allocFor("float32", 1);
        const rowLoss = none ? loss : gpu.allocFor("float32", n);
        const rowWeight = gpu.allocFor("float32", n);
        const site = gpu.indexSite(crossEntropyIndexSite(x.shape));
        const params = [n, c, a.ignoreIndex, site];
        try {
          if (n > 0) {
            const size = wgSize(c);
            gpu.dispatch(
              "crossEntropy",
              gpu.pipeline(
                `crossEntropy/rows/${t}/${a.reduction}/${a.weight}/${size}`,
                () => rowsSource(t, a, size),
              ),
              [
                ...inputs.map(gpuBuffer),
                lse.buffer,
                rowLoss.buffer,
                rowWeight.buffer,
                gpu.errorBuffer,
              ],
              params,
              workgroupGrid(n),
            );
          }
          gpu.dispatch(
            "crossEntropy",
            gpu.pipeline(`crossEntropy/total/${t}/${a.reduction}`, () => totalSource(t, a)),
            none
              ? [rowWeight.buffer, total.buffer]
              : [rowLoss.buffer, rowWeight.buffer, total.buffer, loss.buffer],
            params,
            [1, 1, 1],
          );
        } finally {
          gpu.free(rowWeight);
          if (!none) gpu.free(rowLoss);
        }
        return [loss, lse, total];
      },
    }),
    ...kernelFor(crossEntropyBackwardOp, {
      dtypes,
      supports,
      run(inputs, a): GpuBuffer[] {
        const x = inputs[1], t = typeOf(x);
        const [n, c] = x.shape;
        const dx = gpu.allocFor(x.dtype, n * c);
        if (n * c === 0) return [dx];
        const site = gpu.indexSite(crossEntropyIndexSite(x.shape));
        gpu.dispatch(
          "crossEntropyBackward",
          gpu.pipeline(
            `crossEntropyBackward/${t}/${a.reduction}/${a.weight}`,
            () => backwardSource(t, a),
          ),
          [
            ...inputs.filter((_, k) => k !== 4 || a.reduction === "mean").map(gpuBuffer),
            dx.buffer,
            gpu.errorBuffer,
          ],
          [n * c, c, a.ignoreIndex, site],
          elementGrid(n * c),
        );
        return [dx];
      },
    }),
  };
}
