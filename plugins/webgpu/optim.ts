/**
 * webgpu kernels of the fused SGD, Adam/AdamW and Adagrad updates (`sgdUpdate`, `adamUpdate`,
 * `adagradUpdate`): one
 * dispatch reads the parameter, its gradient and its state once and writes the new parameter and
 * state into fresh buffers, which the optimizer swaps into the parameter's and state's storage.
 * AMSGrad takes a second, small dispatch first (the running maximum), because one dispatch with
 * all nine buffers would exceed the default limit of eight storage buffers per shader stage.
 * RMSprop runs as its decomposition.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import {
  adagradUpdateForeachOp,
  adagradUpdateOp,
  adamUpdateForeachOp,
  adamUpdateOp,
  foreachInputs,
  foreachKernel,
  sgdUpdateForeachOp,
  sgdUpdateOp,
} from "../../optim/ops.ts";
import { ELEMENT_MAIN, elementGrid, fbits, prelude } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import type { Binding } from "./wgsl.ts";
import { gpuBuffer } from "./kit_launch.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

const r = (name: string): Binding => ({ name, type: "f32" });
const w = (name: string): Binding => ({ name, type: "f32", write: true });

// The (weight-decayed, possibly negated) gradient: PF(1) is ±1, PF(2) the L2 weight decay.
const GRAD = `
  let x = X[i];
  var d = GR[i] * PF(1u);
  if (PF(2u) != 0.0) { d = d + PF(2u) * x; }`;

// SGD params: n, sign, weight decay, lr, momentum, 1 − dampening, nesterov.
const SGD_BODY: Record<"plain" | "first" | "momentum", [Binding[], string]> = {
  plain: [[r("X"), r("GR"), w("NX")], `NX[i] = x - PF(3u) * d;`],
  first: [
    [r("X"), r("GR"), w("NX"), w("NB")],
    `NB[i] = d;
  NX[i] = x - PF(3u) * select(d, d + PF(4u) * d, P(6u) != 0);`,
  ],
  momentum: [
    [r("X"), r("GR"), r("B"), w("NX"), w("NB")],
    `let m = PF(4u) * B[i] + PF(5u) * d;
  NB[i] = m;
  NX[i] = x - PF(3u) * select(m, d + PF(4u) * m, P(6u) != 0);`,
  ],
};

// Adam params: n, sign, L2 weight decay, decoupled decay factor, β₁, β₂, 1 − β₁, 1 − β₂,
// step size η/(1 − β₁ᵗ), √(1 − β₂ᵗ), ε. With AMSGrad, VM holds the already updated maximum.
function adamSource(amsgrad: boolean): string {
  const bindings = [r("X"), r("GR"), r("M"), r("V")];
  if (amsgrad) bindings.push(r("VM"));
  bindings.push(w("NX"), w("NM"), w("NV"));
  return `${prelude(bindings)}
${ELEMENT_MAIN}${GRAD}
  let m = PF(4u) * M[i] + PF(6u) * d;
  let v = PF(5u) * V[i] + PF(7u) * d * d;
  NM[i] = m;
  NV[i] = v;
  let denom = sqrt(${amsgrad ? "VM[i]" : "v"}) / PF(9u) + PF(10u);
  NX[i] = x * PF(3u) - PF(8u) * (m / denom);
}`;
}

// The AMSGrad running maximum max(v̂, v′), NaN-propagating as the decomposition's `maximum`.
const VMAX_SOURCE = `${prelude([r("X"), r("GR"), r("V"), r("VM"), w("NVM")])}
${ELEMENT_MAIN}${GRAD}
  let v = PF(5u) * V[i] + PF(7u) * d * d;
  let old = VM[i];
  NVM[i] = select(max(old, v), bitcast<f32>(0x7fc00000u), old != old || v != v);
}`;

// Adagrad params: n, sign, weight decay, lr / (1 + (t − 1)·lrDecay), ε.
const ADAGRAD_SOURCE = `${prelude([r("X"), r("GR"), r("S"), w("NX"), w("NS")])}
${ELEMENT_MAIN}${GRAD}
  let s = S[i] + d * d;
  NS[i] = s;
  NX[i] = x - PF(3u) * (d / (sqrt(s) + PF(4u)));
}`;

function adagradKernels(gpu: Gpu): WebGpuKernelTable {
  return kernelFor(adagradUpdateOp, {
    dtypes: ["float32"],
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs, a): GpuBuffer[] {
      const n = inputs[0].numel();
      const outs = [gpu.allocFor("float32", n), gpu.allocFor("float32", n)];
      if (n === 0) return outs;
      const params = [
        n,
        fbits(a.maximize ? -1 : 1),
        fbits(a.weightDecay),
        fbits(a.lr / (1 + (a.step - 1) * a.lrDecay)),
        fbits(a.eps),
      ];
      const pipe = gpu.pipeline("adagradUpdate", () => ADAGRAD_SOURCE);
      gpu.dispatch(
        "adagradUpdate",
        pipe,
        [...inputs.map(gpuBuffer), outs[0].buffer, outs[1].buffer],
        params,
        elementGrid(n),
      );
      return outs;
    },
  });
}

function sgdKernels(gpu: Gpu): WebGpuKernelTable {
  const one = kernelFor(sgdUpdateOp, {
    dtypes: ["float32"],
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs, a): GpuBuffer[] {
      const n = inputs[0].numel();
      const mode = a.momentum === 0 ? "plain" : a.first ? "first" : "momentum";
      const outs = Array.from(
        { length: mode === "plain" ? 1 : 2 },
        () => gpu.allocFor("float32", n),
      );
      if (n === 0) return outs;
      const [bindings, body] = SGD_BODY[mode];
      const pipe = gpu.pipeline(`sgdUpdate/${mode}`, () =>
        `${prelude(bindings)}
${ELEMENT_MAIN}${GRAD}
  ${body}
}`);
      const params = [
        n,
        fbits(a.maximize ? -1 : 1),
        fbits(a.weightDecay),
        fbits(a.lr),
        fbits(a.momentum),
        fbits(1 - a.dampening),
        a.nesterov ? 1 : 0,
      ];
      gpu.dispatch(
        "sgdUpdate",
        pipe,
        [...inputs.map(gpuBuffer), ...outs.map((o) => o.buffer)],
        params,
        elementGrid(n),
      );
      return outs;
    },
  });
  // Every parameter's update dispatched from one kernel call (no op dispatch in between).
  return {
    ...one,
    ...kernelFor(sgdUpdateForeachOp, foreachKernel(one.sgdUpdate, foreachInputs.sgdUpdate)),
  };
}

function adamKernels(gpu: Gpu): WebGpuKernelTable {
  return kernelFor(adamUpdateOp, {
    dtypes: ["float32"],
    supports: (inputs) => withinLimits(gpu, inputs),
    run(inputs, a): GpuBuffer[] {
      const n = inputs[0].numel();
      const outs = Array.from({ length: a.amsgrad ? 4 : 3 }, () => gpu.allocFor("float32", n));
      if (n === 0) return outs;
      const params = [
        n,
        fbits(a.maximize ? -1 : 1),
        fbits(a.decoupled ? 0 : a.weightDecay),
        fbits(a.decoupled ? 1 - a.lr * a.weightDecay : 1),
        fbits(a.beta1),
        fbits(a.beta2),
        fbits(1 - a.beta1),
        fbits(1 - a.beta2),
        fbits(a.lr / (1 - a.beta1 ** a.step)),
        fbits(Math.sqrt(1 - a.beta2 ** a.step)),
        fbits(a.eps),
      ];
      const [x, g, m, v] = inputs.map(gpuBuffer);
      const grid = elementGrid(n);
      if (a.amsgrad) {
        const vmax = gpu.pipeline("adamUpdate/vmax", () => VMAX_SOURCE);
        gpu.dispatch(
          "adamUpdate",
          vmax,
          [x, g, v, gpuBuffer(inputs[4]), outs[3].buffer],
          params,
          grid,
        );
      }
      const pipe = gpu.pipeline(`adamUpdate/${a.amsgrad}`, () => adamSource(a.amsgrad));
      const bufs = [x, g, m, v];
      if (a.amsgrad) bufs.push(outs[3].buffer);
      bufs.push(outs[0].buffer, outs[1].buffer, outs[2].buffer);
      gpu.dispatch("adamUpdate", pipe, bufs, params, grid);
      return outs;
    },
  });
}

/** Fused optimizer-update kernels of the webgpu backend (float32). */
export function optimKernels(gpu: Gpu): WebGpuKernelTable {
  const adam = adamKernels(gpu), adagrad = adagradKernels(gpu);
  return {
    ...sgdKernels(gpu),
    ...adam,
    ...kernelFor(adamUpdateForeachOp, foreachKernel(adam.adamUpdate, foreachInputs.adamUpdate)),
    ...adagrad,
    ...kernelFor(
      adagradUpdateForeachOp,
      foreachKernel(adagrad.adagradUpdate, foreachInputs.adagradUpdate),
    ),
  };
}
