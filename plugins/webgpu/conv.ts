/**
 * webgpu conv2d and its two backward ops as direct convolutions (NCHW / OIHW, any stride, padding,
 * dilation and groups), one thread per element of the result: an output pixel for the forward pass,
 * an input pixel for the input gradient (gathering the output pixels whose windows cover it, so no
 * atomics), and a weight tap for the weight gradient. float16 tensors are read as f16 and the sums
 * accumulate in f32, rounded once when stored.
 *
 * @module
 */

import type { Tensor } from "../../core/mod.ts";
import type { Conv2dAttrs } from "../../layers/mod.ts";
import { kernelFor, sizeOf } from "../../core/mod.ts";
import { conv2dBackwardInputOp, conv2dBackwardWeightOp, conv2dOp } from "../../layers/ops/conv.ts";
import { ELEMENT_MAIN, elementGrid, floatStore, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

// Parameter block shared by the three kernels (index: meaning).
const DIMS = `
  let N = P(1u); let C = P(2u); let H = P(3u); let W = P(4u); let O = P(5u);
  let KH = P(6u); let KW = P(7u); let SH = P(8u); let SW = P(9u); let PH = P(10u); let PW = P(11u);
  let DH = P(12u); let DW = P(13u); let G = P(14u); let OH = P(15u); let OW = P(16u);
  let CG = C / G; let OG = O / G;
  let ii = i32(i);`;

function params(
  total: number,
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  a: Conv2dAttrs,
): number[] {
  return [
    total,
    x[0],
    x[1],
    x[2],
    x[3],
    w[0],
    w[2],
    w[3],
    a.stride[0],
    a.stride[1],
    a.padding[0],
    a.padding[1],
    a.dilation[0],
    a.dilation[1],
    a.groups,
    y[2],
    y[3],
  ];
}

type Float = "f32" | "f16";

const FORWARD = (bias: boolean, t: Float) =>
  `${
    prelude([
      { name: "X", type: t },
      { name: "Wt", type: t },
      ...(bias ? [{ name: "Bias", type: t }] : []),
      { name: "Y", type: t, write: true },
    ])
  }${floatStore(t)}
${ELEMENT_MAIN}
${DIMS}
  let ox = ii % OW; let oy = (ii / OW) % OH; let o = (ii / (OW * OH)) % O; let n = ii / (OW * OH * O);
  let g = o / OG;
  var acc = ${bias ? "f32(Bias[o])" : "0.0"};
  for (var cg = 0; cg < CG; cg++) {
    let xb = (n * C + g * CG + cg) * H * W;
    let wb = (o * CG + cg) * KH * KW;
    for (var ky = 0; ky < KH; ky++) {
      let iy = oy * SH - PH + ky * DH;
      if (iy < 0 || iy >= H) { continue; }
      for (var kx = 0; kx < KW; kx++) {
        let ix = ox * SW - PW + kx * DW;
        if (ix < 0 || ix >= W) { continue; }
        acc += f32(X[xb + iy * W + ix]) * f32(Wt[wb + ky * KW + kx]);
      }
    }
  }
  Y[i] = toT(acc);
}`;

const BACKWARD_INPUT = (t: Float) =>
  `${
    prelude([
      { name: "GY", type: t },
      { name: "Wt", type: t },
      { name: "DX", type: t, write: true },
    ])
  }${floatStore(t)}
${ELEMENT_MAIN}
${DIMS}
  let ix = ii % W; let iy = (ii / W) % H; let c = (ii / (W * H)) % C; let n = ii / (W * H * C);
  let g = c / CG; let cg = c % CG;
  var acc = 0.0;
  for (var og = 0; og < OG; og++) {
    let o = g * OG + og;
    let gb = (n * O + o) * OH * OW;
    let wb = (o * CG + cg) * KH * KW;
    for (var ky = 0; ky < KH; ky++) {
      let ty = iy + PH - ky * DH;
      if (ty < 0 || ty % SH != 0) { continue; }
      let oy = ty / SH;
      if (oy >= OH) { continue; }
      for (var kx = 0; kx < KW; kx++) {
        let tx = ix + PW - kx * DW;
        if (tx < 0 || tx % SW != 0) { continue; }
        let ox = tx / SW;
        if (ox >= OW) { continue; }
        acc += f32(GY[gb + oy * OW + ox]) * f32(Wt[wb + ky * KW + kx]);
      }
    }
  }
  DX[i] = toT(acc);
}`;

const BACKWARD_WEIGHT = (t: Float) =>
  `${
    prelude([
      { name: "GY", type: t },
      { name: "X", type: t },
      { name: "GW", type: t, write: true },
    ])
  }${floatStore(t)}
${ELEMENT_MAIN}
${DIMS}
  let kx = ii % KW; let ky = (ii / KW) % KH; let cg = (ii / (KW * KH)) % CG; let o = ii / (KW * KH * CG);
  let c = (o / OG) * CG + cg;
  var acc = 0.0;
  for (var n = 0; n < N; n++) {
    let gb = (n * O + o) * OH * OW;
    let xb = (n * C + c) * H * W;
    for (var oy = 0; oy < OH; oy++) {
      let iy = oy * SH - PH + ky * DH;
      if (iy < 0 || iy >= H) { continue; }
      for (var ox = 0; ox < OW; ox++) {
        let ix = ox * SW - PW + kx * DW;
        if (ix < 0 || ix >= W) { continue; }
        acc += f32(GY[gb + oy * OW + ox]) * f32(X[xb + iy * W + ix]);
      }
    }
  }
  GW[i] = toT(acc);
}`;

function run(
  gpu: Gpu,
  op: string,
  key: string,
  code: () => string,
  inputs: readonly Tensor[],
  total: number,
  p: number[],
): GpuBuffer {
  const out = gpu.allocFor(inputs[0].dtype, total);
  if (total === 0) return out;
  const pipe = gpu.pipeline(key, code);
  gpu.dispatch(op, pipe, [...inputs.map(gpuBuffer), out.buffer], p, elementGrid(total));
  return out;
}

const wgsl = (t: Tensor): Float => (t.dtype === "float16" ? "f16" : "f32");

/** Convolution kernel table of the webgpu backend. */
export function convKernels(gpu: Gpu): WebGpuKernelTable {
  const base = {
    dtypes: ["float32", "float16"] as const,
    supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
  };
  return {
    ...kernelFor(conv2dOp, {
      ...base,
      run(inputs, a, out) {
        const [x, w, b] = inputs;
        const ys = out[0].shape;
        const total = sizeOf(ys);
        return [
          run(
            gpu,
            "conv2d",
            `conv2d/${b ? "bias" : "nobias"}/${x.dtype}`,
            () => FORWARD(!!b, wgsl(x)),
            inputs,
            total,
            params(total, x.shape, w.shape, ys, a),
          ),
        ];
      },
    }),
    ...kernelFor(conv2dBackwardInputOp, {
      ...base,
      run(inputs, a) {
        const [gy, w] = inputs;
        const total = sizeOf(a.shape);
        return [
          run(
            gpu,
            "conv2dBackwardInput",
            `conv2dBackwardInput/${gy.dtype}`,
            () => BACKWARD_INPUT(wgsl(gy)),
            inputs,
            total,
            params(total, a.shape, w.shape, gy.shape, a),
          ),
        ];
      },
    }),
    ...kernelFor(conv2dBackwardWeightOp, {
      ...base,
      run(inputs, a) {
        const [gy, x] = inputs;
        const total = sizeOf(a.shape);
        return [
          run(
            gpu,
            "conv2dBackwardWeight",
            `conv2dBackwardWeight/${gy.dtype}`,
            () => BACKWARD_WEIGHT(wgsl(gy)),
            inputs,
            total,
            params(total, x.shape, a.shape, gy.shape, a),
          ),
        ];
      },
    }),
  };
}
