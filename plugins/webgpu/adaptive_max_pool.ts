/**
 * webgpu kernel of adaptive max pooling, one thread per output cell: the maximum of its adaptive
 * window (PyTorch's bins) and the flat index `h·W + w` of the winner, with the cpu kernel's rules
 * (a NaN wins, tested on the bits; a window of −∞ reports its first element). float16 is read as
 * f16 and compared in f32. The gradient is the core `scatterAdd` op, which has its own kernel.
 *
 * @module
 */

import type { Tensor } from "../../core/mod.ts";
import { kernelFor, sizeOf } from "../../core/mod.ts";
import { adaptiveMaxPool2dOp } from "../../layers/ops/adaptive_max_pool.ts";
import { ELEMENT_MAIN, elementGrid, floatStore, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu } from "./device.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

type Float = "f32" | "f16";

const FORWARD = (t: Float): string =>
  `${
    prelude([
      { name: "X", type: t },
      { name: "Y", type: t, write: true },
      { name: "I", type: "i32", write: true },
    ])
  }${floatStore(t)}
${ELEMENT_MAIN}
  let H = P(1u); let W = P(2u); let OH = P(3u); let OW = P(4u); let ii = i32(i);
  let ox = ii % OW; let oy = (ii / OW) % OH; let base = (ii / (OW * OH)) * H * W;
  let h0 = (oy * H) / OH; let h1 = ((oy + 1) * H + OH - 1) / OH;
  let w0 = (ox * W) / OW; let w1 = ((ox + 1) * W + OW - 1) / OW;
  var best = h0 * W + w0;
  var m = -bitcast<f32>(0x7f800000u);
  for (var ih = h0; ih < h1; ih++) {
    for (var iw = w0; iw < w1; iw++) {
      let v = f32(X[base + ih * W + iw]);
      if (v > m || (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) { m = v; best = ih * W + iw; }
    }
  }
  Y[i] = toT(m);
  I[i] = best;
}`;

/** Adaptive max pooling kernel table of the webgpu backend. */
export function adaptiveMaxPoolKernels(gpu: Gpu): WebGpuKernelTable {
  return {
    ...kernelFor(adaptiveMaxPool2dOp, {
      dtypes: ["float32", "float16"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run(inputs, a, out) {
        const x = inputs[0];
        const total = sizeOf(out[0].shape);
        const y = gpu.allocFor(x.dtype, total), idx = gpu.allocFor("int32", total);
        if (total === 0) return [y, idx];
        const t: Float = x.dtype === "float16" ? "f16" : "f32";
        const pipe = gpu.pipeline(`adaptiveMaxPool2d/${t}`, () => FORWARD(t));
        const p = [total, x.shape[2], x.shape[3], a.outputSize[0], a.outputSize[1]];
        gpu.dispatch(
          "adaptiveMaxPool2d",
          pipe,
          [gpuBuffer(x), y.buffer, idx.buffer],
          p,
          elementGrid(total),
        );
        return [y, idx];
      },
    }),
  };
}
