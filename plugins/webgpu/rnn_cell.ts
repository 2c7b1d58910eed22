/**
 * webgpu kernels of the fused LSTM and GRU cells (`lstmCell`, `lstmCellBackward`, `gruCell`,
 * `gruCellBackward`), one thread per element of the `[R, H]` state. The LSTM forward reads the
 * element's four gate preactivations and c, and writes h', c' and the activated gates (the
 * workspace); its backward reads the workspace, c, c' and the gradients of h' and/or c' (a pipeline
 * per combination) and writes the gates' and c's gradients. The GRU kernels read the element's
 * three gates of each projection and h (and the gradient of h'); the backward recomputes the
 * gates. float32 only: float16 runs as the ops' decompositions.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import {
  gruCellBackwardOp,
  gruCellOp,
  lstmCellBackwardOp,
  lstmCellOp,
} from "../../layers/ops/rnn_cell.ts";
import { ELEMENT_MAIN, elementGrid, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

const r = (name: string): Binding => ({ name, type: "f32" });
const w = (name: string): Binding => ({ name, type: "f32", write: true });

// σ and tanh as the webgpu elementwise kernels compute them (tanh clamped against overflow), NaN
// kept (tested on the bits: compilers may fold x != x away, and clamp may not return a NaN).
const MATH = `
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanhf(x: f32) -> f32 {
  return select(tanh(clamp(x, -15.0, 15.0)), x, (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u);
}
`;

// The element's state index i in [0, R·H), its row's hidden size H and its first gate's index a.
const INDEX = `
  let H = PU(1u);
  let a = (i / H) * 4u * H + i % H;`;

const FORWARD = `${prelude([r("G"), r("C"), w("HO"), w("CO"), w("WS")])}${MATH}
${ELEMENT_MAIN}${INDEX}
  let ig = sigm(G[a]);
  let fg = sigm(G[a + H]);
  let gg = tanhf(G[a + 2u * H]);
  let og = sigm(G[a + 3u * H]);
  WS[a] = ig;
  WS[a + H] = fg;
  WS[a + 2u * H] = gg;
  WS[a + 3u * H] = og;
  let cn = fg * C[i] + ig * gg;
  CO[i] = cn;
  HO[i] = og * tanhf(cn);
}`;

type Given = "dh" | "dc" | "both";

function backwardSource(given: Given): string {
  const bindings = [r("WS"), r("C"), r("C1")];
  if (given !== "dc") bindings.push(r("DH"));
  if (given !== "dh") bindings.push(r("DC"));
  bindings.push(w("DG"), w("DCP"));
  return `${prelude(bindings)}${MATH}
${ELEMENT_MAIN}${INDEX}
  let ig = WS[a];
  let fg = WS[a + H];
  let gg = WS[a + 2u * H];
  let og = WS[a + 3u * H];
  let tc = tanhf(C1[i]);
  let gh = ${given === "dc" ? "0.0" : "DH[i]"};
  let dct = ${given === "dh" ? "0.0" : "DC[i]"} + gh * og * (1.0 - tc * tc);
  DG[a] = dct * gg * ig * (1.0 - ig);
  DG[a + H] = dct * C[i] * fg * (1.0 - fg);
  DG[a + 2u * H] = dct * ig * (1.0 - gg * gg);
  DG[a + 3u * H] = gh * tc * og * (1.0 - og);
  DCP[i] = dct * fg;
}`;
}

// A GRU element's gates from XI and HH [R, 3H] (a: its r gate's index).
const GRU_GATES = `
  let H = PU(1u);
  let a = (i / H) * 3u * H + i % H;
  let hn = HH[a + 2u * H];
  let rg = sigm(XI[a] + HH[a]);
  let zg = sigm(XI[a + H] + HH[a + H]);
  let ng = tanhf(XI[a + 2u * H] + rg * hn);`;

const GRU_FORWARD = `${prelude([r("XI"), r("HH"), r("HP"), w("HO")])}${MATH}
${ELEMENT_MAIN}${GRU_GATES}
  HO[i] = ng + zg * (HP[i] - ng);
}`;

const GRU_BACKWARD = `${
  prelude([r("XI"), r("HH"), r("HP"), r("GH"), w("DXI"), w("DHH"), w("DHP")])
}${MATH}
${ELEMENT_MAIN}${GRU_GATES}
  let g = GH[i];
  let dpn = g * (1.0 - zg) * (1.0 - ng * ng);
  let dpz = g * (HP[i] - ng) * zg * (1.0 - zg);
  let dpr = dpn * hn * rg * (1.0 - rg);
  DXI[a] = dpr;
  DHH[a] = dpr;
  DXI[a + H] = dpz;
  DHH[a + H] = dpz;
  DXI[a + 2u * H] = dpn;
  DHH[a + 2u * H] = dpn * rg;
  DHP[i] = g * zg;
}`;

// Threads (R·H) and H of a cell call on c [..., H].
function dims(c: Tensor): [number, number] {
  return [c.numel(), c.shape[c.ndim - 1]];
}

/** Fused LSTM and GRU cell kernels of the webgpu backend (float32). */
export function rnnCellKernels(gpu: Gpu): WebGpuKernelTable {
  return {
    ...kernelFor(lstmCellOp, {
      dtypes: ["float32"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run([gates, c]): GpuBuffer[] {
        const [n, hidden] = dims(c);
        const outs = [
          gpu.allocFor("float32", n),
          gpu.allocFor("float32", n),
          gpu.allocFor("float32", gates.numel()),
        ];
        if (n === 0) return outs;
        gpu.dispatch(
          "lstmCell",
          gpu.pipeline("lstmCell", () => FORWARD),
          [gpuBuffer(gates), gpuBuffer(c), ...outs.map((o) => o.buffer)],
          [n, hidden],
          elementGrid(n),
        );
        return outs;
      },
    }),
    ...kernelFor(lstmCellBackwardOp, {
      dtypes: ["float32"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run(inputs, a): GpuBuffer[] {
        const [ws, c] = inputs;
        const [n, hidden] = dims(c);
        const outs = [gpu.allocFor("float32", ws.numel()), gpu.allocFor("float32", n)];
        if (n === 0) return outs;
        const given: Given = a.dh && a.dc ? "both" : a.dh ? "dh" : "dc";
        gpu.dispatch(
          "lstmCellBackward",
          gpu.pipeline(`lstmCellBackward/${given}`, () => backwardSource(given)),
          [...inputs.map(gpuBuffer), ...outs.map((o) => o.buffer)],
          [n, hidden],
          elementGrid(n),
        );
        return outs;
      },
    }),
    ...kernelFor(gruCellOp, {
      dtypes: ["float32"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run(inputs): GpuBuffer[] {
        const [n, hidden] = dims(inputs[2]);
        const out = gpu.allocFor("float32", n);
        if (n === 0) return [out];
        gpu.dispatch(
          "gruCell",
          gpu.pipeline("gruCell", () => GRU_FORWARD),
          [...inputs.map(gpuBuffer), out.buffer],
          [n, hidden],
          elementGrid(n),
        );
        return [out];
      },
    }),
    ...kernelFor(gruCellBackwardOp, {
      dtypes: ["float32"],
      supports: (inputs: readonly Tensor[]) => withinLimits(gpu, inputs),
      run(inputs): GpuBuffer[] {
        const [n, hidden] = dims(inputs[2]);
        const outs = inputs.slice(0, 3).map((t) => gpu.allocFor("float32", t.numel()));
        if (n === 0) return outs;
        gpu.dispatch(
          "gruCellBackward",
          gpu.pipeline("gruCellBackward", () => GRU_BACKWARD),
          [...inputs.map(gpuBuffer), ...outs.map((o) => o.buffer)],
          [n, hidden],
          elementGrid(n),
        );
        return outs;
      },
    }),
  };
}
