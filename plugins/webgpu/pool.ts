/**
 * webgpu pooling kernels: max pooling (values and the flat argmax index within each input plane,
 * as i32), average pooling with PyTorch's padding, ceil-mode and divisor rules, adaptive average
 * pooling, and their backward ops. Backward kernels run one thread per input pixel and gather the
 * windows that cover it, so no atomics are needed. float16 tensors are read as f16, summed in f32
 * and rounded once when stored.
 *
 * @module
 */

import type { Tensor } from "../../core/mod.ts";
import type { Pool2dAttrs } from "../../layers/mod.ts";
import { kernelFor, sizeOf } from "../../core/mod.ts";
import {
  adaptiveAvgPool2dBackwardOp,
  adaptiveAvgPool2dOp,
  avgPool2dBackwardOp,
  avgPool2dOp,
  gatherPooledOp,
  maxPool2dBackwardOp,
  maxPool2dOp,
} from "../../layers/ops/pool.ts";
import { ELEMENT_MAIN, elementGrid, floatStore, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

type Float = "f32" | "f16";

const DIMS = `
  let H = P(1u); let W = P(2u); let KH = P(3u); let KW = P(4u); let SH = P(5u); let SW = P(6u);
  let PH = P(7u); let PW = P(8u); let DH = P(9u); let DW = P(10u); let OH = P(11u); let OW = P(12u);
  let ii = i32(i);`;

// Divisor of average-pooling window (oy, ox), 0 for a window that covers no input (cpu avgWindow).
const AVG_DIV = `
fn avgDiv(oy: i32, ox: i32) -> f32 {
  let H = P(1u); let W = P(2u); let KH = P(3u); let KW = P(4u);
  let h0 = oy * P(5u) - P(7u); let w0 = ox * P(6u) - P(8u);
  let h1 = min(h0 + KH, H + P(7u)); let w1 = min(w0 + KW, W + P(8u));
  let padded = (h1 - h0) * (w1 - w0);
  let a0 = max(h0, 0); let b0 = max(w0, 0); let a1 = min(h1, H); let b1 = min(w1, W);
  if (a0 >= a1 || b0 >= b1) { return 0.0; }
  if (P(14u) != 0) { return f32(P(14u)); }
  return f32(select((a1 - a0) * (b1 - b0), padded, P(13u) != 0));
}`;

const MAX_FORWARD = (t: Float): string =>
  `${
    prelude([
      { name: "X", type: t },
      { name: "Y", type: t, write: true },
      { name: "I", type: "i32", write: true },
    ])
  }${floatStore(t)}
${ELEMENT_MAIN}
${DIMS}
  let ox = ii % OW; let oy = (ii / OW) % OH; let base = (ii / (OW * OH)) * H * W;
  let hs = oy * SH - PH; let ws = ox * SW - PW;
  var h0 = hs; while (h0 < 0) { h0 += DH; }
  var w0 = ws; while (w0 < 0) { w0 += DW; }
  let h1 = min(hs + (KH - 1) * DH + 1, H); let w1 = min(ws + (KW - 1) * DW + 1, W);
  var best = select(-1, h0 * W + w0, h0 < h1 && w0 < w1);
  var m = -bitcast<f32>(0x7f800000u);
  for (var ih = h0; ih < h1; ih += DH) {
    for (var iw = w0; iw < w1; iw += DW) {
      let v = f32(X[base + ih * W + iw]);
      if (v > m || v != v) { m = v; best = ih * W + iw; }
    }
  }
  Y[i] = toT(m);
  I[i] = best;
}`;

const MAX_BACKWARD = (t: Float): string =>
  `${
    prelude([
      { name: "GY", type: t },
      { name: "I", type: "i32" },
      { name: "DX", type: t, write: true },
    ])
  }${floatStore(t)}
${ELEMENT_MAIN}
${DIMS}
  let iw = ii % W; let ih = (ii / W) % H; let plane = ii / (W * H);
  let th = ih + PH - (KH - 1) * DH; let tw = iw + PW - (KW - 1) * DW;
  let y0 = select(0, (th + SH - 1) / SH, th > 0); let y1 = min(OH - 1, (ih + PH) / SH);
  let x0 = select(0, (tw + SW - 1) / SW, tw > 0); let x1 = min(OW - 1, (iw + PW) / SW);
  let me = ih * W + iw;
  var acc = 0.0;
  for (var oy = y0; oy <= y1; oy++) {
    for (var ox = x0; ox <= x1; ox++) {
      let o = (plane * OH + oy) * OW + ox;
      if (I[o] == me) { acc += f32(GY[o]); }
    }
  }
  DX[i] = toT(acc);
}`;

const AVG_FORWARD = (t: Float): string =>
  `${prelude([{ name: "X", type: t }, { name: "Y", type: t, write: true }])}${AVG_DIV}${
    floatStore(t)
  }
${ELEMENT_MAIN}
${DIMS}
  let ox = ii % OW; let oy = (ii / OW) % OH; let base = (ii / (OW * OH)) * H * W;
  let d = avgDiv(oy, ox);
  if (d == 0.0) { Y[i] = toT(0.0); return; }
  let h0 = max(oy * SH - PH, 0); let w0 = max(ox * SW - PW, 0);
  let h1 = min(oy * SH - PH + KH, H); let w1 = min(ox * SW - PW + KW, W);
  var s = 0.0;
  for (var ih = h0; ih < h1; ih++) {
    for (var iw = w0; iw < w1; iw++) { s += f32(X[base + ih * W + iw]); }
  }
  Y[i] = toT(s / d);
}`;

const AVG_BACKWARD = (t: Float): string =>
  `${prelude([{ name: "GY", type: t }, { name: "DX", type: t, write: true }])}${AVG_DIV}${
    floatStore(t)
  }
${ELEMENT_MAIN}
${DIMS}
  let iw = ii % W; let ih = (ii / W) % H; let plane = ii / (W * H);
  let th = ih + PH - KH + 1; let tw = iw + PW - KW + 1;
  let y0 = select(0, (th + SH - 1) / SH, th > 0); let y1 = min(OH - 1, (ih + PH) / SH);
  let x0 = select(0, (tw + SW - 1) / SW, tw > 0); let x1 = min(OW - 1, (iw + PW) / SW);
  var acc = 0.0;
  for (var oy = y0; oy <= y1; oy++) {
    for (var ox = x0; ox <= x1; ox++) {
      let d = avgDiv(oy, ox);
      if (d != 0.0) { acc += f32(GY[(plane * OH + oy) * OW + ox]) / d; }
    }
  }
  DX[i] = toT(acc);
}`;

const ADAPTIVE_DIMS = `
  let H = P(1u); let W = P(2u); let OH = P(3u); let OW = P(4u); let ii = i32(i);`;

const ADAPTIVE_FORWARD = (t: Float): string =>
  `${prelude([{ name: "X", type: t }, { name: "Y", type: t, write: true }])}${floatStore(t)}
${ELEMENT_MAIN}
${ADAPTIVE_DIMS}
  let ox = ii % OW; let oy = (ii / OW) % OH; let base = (ii / (OW * OH)) * H * W;
  let h0 = (oy * H) / OH; let h1 = ((oy + 1) * H + OH - 1) / OH;
  let w0 = (ox * W) / OW; let w1 = ((ox + 1) * W + OW - 1) / OW;
  var s = 0.0;
  for (var ih = h0; ih < h1; ih++) {
    for (var iw = w0; iw < w1; iw++) { s += f32(X[base + ih * W + iw]); }
  }
  Y[i] = toT(s / f32((h1 - h0) * (w1 - w0)));
}`;

const ADAPTIVE_BACKWARD = (t: Float): string =>
  `${prelude([{ name: "GY", type: t }, { name: "DX", type: t, write: true }])}${floatStore(t)}
${ELEMENT_MAIN}
${ADAPTIVE_DIMS}
  let iw = ii % W; let ih = (ii / W) % H; let plane = ii / (W * H);
  var acc = 0.0;
  for (var oy = (ih * OH) / H; oy <= min(OH - 1, ((ih + 1) * OH) / H); oy++) {
    let h0 = (oy * H) / OH; let h1 = ((oy + 1) * H + OH - 1) / OH;
    if (ih < h0 || ih >= h1) { continue; }
    for (var ox = (iw * OW) / W; ox <= min(OW - 1, ((iw + 1) * OW) / W); ox++) {
      let w0 = (ox * W) / OW; let w1 = ((ox + 1) * W + OW - 1) / OW;
      if (iw < w0 || iw >= w1) { continue; }
      acc += f32(GY[(plane * OH + oy) * OW + ox]) / f32((h1 - h0) * (w1 - w0));
    }
  }
  DX[i] = toT(acc);
}`;

function poolParams(total: number, x: readonly number[], y: readonly number[], a: Pool2dAttrs) {
  return [
    total,
    x[2],
    x[3],
    a.kernelSize[0],
    a.kernelSize[1],
    a.stride[0],
    a.stride[1],
    a.padding[0],
    a.padding[1],
    a.dilation[0],
    a.dilation[1],
    y[2],
    y[3],
    a.countIncludePad ? 1 : 0,
    a.divisorOverride ?? 0,
  ];
}

// Output 0 has the float dtype of input 0; a second output (max pooling's indices) is int32.
function launch(
  gpu: Gpu,
  op: string,
  code: (t: Float) => string,
  inputs: readonly Tensor[],
  outs: number,
  total: number,
  params: number[],
): GpuBuffer[] {
  const dtype = inputs[0].dtype;
  const o = Array.from(
    { length: outs },
    (_, k) => gpu.allocFor(k === 0 ? dtype : "int32", total),
  );
  if (total === 0) return o;
  const t: Float = dtype === "float16" ? "f16" : "f32";
  const pipe = gpu.pipeline(`${op}/${t}`, () => code(t));
  gpu.dispatch(
    op,
    pipe,
    [...inputs.map(gpuBuffer), ...o.map((b) => b.buffer)],
    params,
    elementGrid(total),
  );
  return o;
}

const GATHER = (t: Float): string =>
  `${
    prelude([
      { name: "G", type: t },
      { name: "I", type: "i32" },
      { name: "O", type: t, write: true },
    ] as Binding[])
  }${floatStore(t)}
${ELEMENT_MAIN}
  // Indices come from maxPool2d (-1 for an empty window); any other out-of-plane value reads 0
  // rather than another plane's element or past the buffer.
  let k = I[i];
  if (k < 0 || k >= P(1u)) { O[i] = T(0.0); return; }
  O[i] = G[(i / PU(2u)) * PU(1u) + u32(k)];
}`;

/** Pooling kernel table of the webgpu backend. */
export function poolKernels(gpu: Gpu): WebGpuKernelTable {
  const supports = (inputs: readonly Tensor[]) => withinLimits(gpu, inputs);
  const floats = ["float32", "float16"] as const;
  return {
    ...kernelFor(maxPool2dOp, {
      dtypes: floats,
      supports,
      run(inputs, a, out) {
        const total = sizeOf(out[0].shape);
        const p = poolParams(total, inputs[0].shape, out[0].shape, a);
        return launch(gpu, "maxPool2d", MAX_FORWARD, inputs, 2, total, p);
      },
    }),
    ...kernelFor(maxPool2dBackwardOp, {
      supports,
      run(inputs, a) {
        const total = sizeOf(a.shape);
        const p = poolParams(total, a.shape, inputs[0].shape, a);
        return launch(gpu, "maxPool2dBackward", MAX_BACKWARD, inputs, 1, total, p);
      },
    }),
    ...kernelFor(gatherPooledOp, {
      supports,
      run(inputs) {
        const [g, idx] = inputs;
        const p = [idx.numel(), g.shape[2] * g.shape[3], idx.shape[2] * idx.shape[3]];
        return launch(gpu, "maxPool2dGather", GATHER, inputs, 1, idx.numel(), p);
      },
    }),
    ...kernelFor(avgPool2dOp, {
      dtypes: floats,
      supports,
      run(inputs, a, out) {
        const total = sizeOf(out[0].shape);
        const p = poolParams(total, inputs[0].shape, out[0].shape, a);
        return launch(gpu, "avgPool2d", AVG_FORWARD, inputs, 1, total, p);
      },
    }),
    ...kernelFor(avgPool2dBackwardOp, {
      supports,
      run(inputs, a) {
        const total = sizeOf(a.shape);
        const p = poolParams(total, a.shape, inputs[0].shape, a);
        return launch(gpu, "avgPool2dBackward", AVG_BACKWARD, inputs, 1, total, p);
      },
    }),
    ...kernelFor(adaptiveAvgPool2dOp, {
      dtypes: floats,
      supports,
      run(inputs, a, out) {
        const total = sizeOf(out[0].shape);
        const [, , h, w] = inputs[0].shape;
        const p = [total, h, w, a.outputSize[0], a.outputSize[1]];
        return launch(gpu, "adaptiveAvgPool2d", ADAPTIVE_FORWARD, inputs, 1, total, p);
      },
    }),
    ...kernelFor(adaptiveAvgPool2dBackwardOp, {
      supports,
      run(inputs, a) {
        const total = sizeOf(a.shape);
        const [, , h, w] = a.shape;
        const p = [total, h, w, a.outputSize[0], a.outputSize[1]];
        return launch(gpu, "adaptiveAvgPool2dBackward", ADAPTIVE_BACKWARD, inputs, 1, total, p);
      },
    }),
  };
}
