/**
 * cuda kernels of the fused optimizer updates (`sgdUpdate`, `adamUpdate` with AdamW and AMSGrad,
 * `adagradUpdate`, `rmspropUpdate`): one launch per parameter reads the parameter, its gradient
 * and its state once and writes the new parameter and state into fresh buffers, which the
 * optimizer swaps into the parameter's and state's storage. (The ops take one parameter each, so
 * there is one launch per parameter tensor.) float16 parameters and state are computed in float
 * and rounded once per output.
 *
 * @module
 */

import type { DType } from "../../../core/mod.ts";
import type {
  AdagradUpdateAttrs,
  AdamUpdateAttrs,
  RmspropUpdateAttrs,
  SgdUpdateAttrs,
} from "../../../optim/ops.ts";
import { foreachInputs, foreachKernel } from "../../../optim/ops.ts";
import { allocOutput, launchN, ptr } from "./kit_launch.ts";
import { cType, FLOATS, kernelSource, load, sourceCache, store, tag } from "./kit_source.ts";
import type { Cuda, CudaBuffer, CudaKernelTable, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import type { Tensor, TensorSpec } from "../../../core/mod.ts";

interface Layout {
  /** Input buffer names, in order (x and gr first). */
  ins: readonly string[];
  /** Output buffer names, in order. */
  outs: readonly string[];
  /** Float parameter names after `n`. */
  floats: readonly string[];
  /** Int parameter names after the floats. */
  ints?: readonly string[];
  /** Body statements; `x` and `d` (the signed, L2-decayed gradient) are defined. */
  body: (st: (e: string) => string, ld: (e: string) => string) => string;
}

function updateSource(op: string, variant: string, dtype: DType, l: Layout): KernelSource {
  const name = `denn_${op}_${variant}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const st = (e: string) => store(dtype, e);
  const params = [
    ...l.outs.map((o) => `${T}* __restrict__ ${o}`),
    ...l.ins.map((i) => `const ${T}* __restrict__ ${i}`),
    "long long n",
    ...l.floats.map((f) => `float ${f}`),
    ...(l.ints ?? []).map((f) => `int ${f}`),
  ];
  const body = `  for (long long i = denn_gid(); i < n; i += denn_gsize()) {
    const float x = ${ld("X[i]")};
    float d = ${ld("GR[i]")} * sgn;
    if (wd != 0.0f) d = d + wd * x;
${l.body(st, ld)}
  }`;
  return { name, ops: [op], source: kernelSource(name, params, body) };
}

const SGD: Record<"plain" | "first" | "momentum", Layout> = {
  plain: {
    ins: ["X", "GR"],
    outs: ["NX"],
    floats: ["sgn", "wd", "lr"],
    body: (st) => `    NX[i] = ${st("x - lr * d")};`,
  },
  first: {
    ins: ["X", "GR"],
    outs: ["NX", "NB"],
    floats: ["sgn", "wd", "lr", "momentum"],
    ints: ["nesterov"],
    body: (st) =>
      `    NB[i] = ${st("d")};
    NX[i] = ${st("x - lr * (nesterov ? d + momentum * d : d)")};`,
  },
  momentum: {
    ins: ["X", "GR", "B"],
    outs: ["NX", "NB"],
    floats: ["sgn", "wd", "lr", "momentum", "damp"],
    ints: ["nesterov"],
    body: (st, ld) =>
      `    const float m = momentum * ${ld("B[i]")} + damp * d;
    NB[i] = ${st("m")};
    NX[i] = ${st("x - lr * (nesterov ? d + momentum * m : m)")};`,
  },
};

const ADAM_FLOATS = ["sgn", "wd", "decay", "b1", "b2", "c1", "c2", "stepSize", "bc2", "eps"];

function adamLayout(amsgrad: boolean): Layout {
  return {
    ins: amsgrad ? ["X", "GR", "M", "V", "VM"] : ["X", "GR", "M", "V"],
    outs: amsgrad ? ["NX", "NM", "NV", "NVM"] : ["NX", "NM", "NV"],
    floats: ADAM_FLOATS,
    body: (st, ld) =>
      `    const float m = b1 * ${ld("M[i]")} + c1 * d;
    const float v = b2 * ${ld("V[i]")} + c2 * d * d;
    NM[i] = ${st("m")};
    NV[i] = ${st("v")};
${
        amsgrad
          ? `    const float old = ${ld("VM[i]")};
    const float vm = (old != old || v != v) ? denn_nan() : fmaxf(old, v);
    NVM[i] = ${st("vm")};
`
          : ""
      }    const float denom = sqrtf(${amsgrad ? "vm" : "v"}) / bc2 + eps;
    NX[i] = ${st("x * decay - stepSize * (m / denom)")};`,
  };
}

const ADAGRAD: Layout = {
  ins: ["X", "GR", "S"],
  outs: ["NX", "NS"],
  floats: ["sgn", "wd", "clr", "eps"],
  body: (st, ld) =>
    `    const float s = ${ld("S[i]")} + d * d;
    NS[i] = ${st("s")};
    NX[i] = ${st("x - clr * (d / (sqrtf(s) + eps))")};`,
};

function rmspropLayout(momentum: boolean, centered: boolean): Layout {
  const ins = ["X", "GR", "SQ"], outs = ["NX", "NSQ"];
  if (momentum) ins.push("B"), outs.push("NB");
  if (centered) ins.push("GA"), outs.push("NGA");
  return {
    ins,
    outs,
    floats: ["sgn", "wd", "lr", "alpha", "eps", "momentum"],
    body: (st, ld) =>
      `    const float sq = alpha * ${ld("SQ[i]")} + (1.0f - alpha) * d * d;
    NSQ[i] = ${st("sq")};
${
        centered
          ? `    const float ga = alpha * ${ld("GA[i]")} + (1.0f - alpha) * d;
    NGA[i] = ${st("ga")};
    const float avg = sqrtf(sq - ga * ga) + eps;
`
          : "    const float avg = sqrtf(sq) + eps;\n"
      }${
        momentum
          ? `    const float b = momentum * ${ld("B[i]")} + d / avg;
    NB[i] = ${st("b")};
    NX[i] = ${st("x - lr * b")};`
          : `    (void)momentum;
    NX[i] = ${st("x - lr * (d / avg)")};`
      }`,
  };
}

function rmspropVariant(momentum: boolean, centered: boolean): string {
  return `${momentum ? "momentum" : "plain"}${centered ? "_centered" : ""}`;
}

/** Every source the optimizer kernels launch. */
export function optimSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const d of FLOATS) {
    // sgdUpdateForeach launches the same kernels, once per parameter.
    for (const [v, l] of Object.entries(SGD)) {
      out.push({ ...updateSource("sgdUpdate", v, d, l), ops: ["sgdUpdate", "sgdUpdateForeach"] });
    }
    for (const ams of [false, true]) {
      out.push({
        ...updateSource("adamUpdate", ams ? "amsgrad" : "plain", d, adamLayout(ams)),
        ops: ["adamUpdate", "adamUpdateForeach"],
      });
    }
    out.push({
      ...updateSource("adagradUpdate", "plain", d, ADAGRAD),
      ops: ["adagradUpdate", "adagradUpdateForeach"],
    });
    for (const m of [false, true]) {
      for (const c of [false, true]) {
        out.push({
          ...updateSource("rmspropUpdate", rmspropVariant(m, c), d, rmspropLayout(m, c)),
          ops: ["rmspropUpdate", "rmspropUpdateForeach"],
        });
      }
    }
  }
  return out;
}

const cached = sourceCache();

function launchUpdate(
  cuda: Cuda,
  k: KernelSource,
  inputs: readonly Tensor[],
  out: readonly TensorSpec[],
  floats: readonly number[],
  ints: readonly number[] = [],
): CudaBuffer[] {
  const outs = out.map((s) => allocOutput(cuda, s));
  const n = inputs[0].numel();
  if (n === 0) return outs;
  const args: KernelArg[] = [
    ...outs.map((o) => ({ ptr: o })),
    ...inputs.map(ptr),
    { i64: n },
    ...floats.map((f) => ({ f32: f })),
    ...ints.map((v) => ({ i32: v })),
  ];
  launchN(cuda, k.name, k.source, n, args);
  return outs;
}

/** Fused optimizer-update kernel table of the cuda backend (float32 and float16). */
export function optimKernels(): CudaKernelTable {
  const table = oneParameterKernels();
  // Every parameter's update launched from one kernel call (no op dispatch in between).
  return {
    ...table,
    sgdUpdateForeach: foreachKernel(table.sgdUpdate, foreachInputs.sgdUpdate),
    adamUpdateForeach: foreachKernel(table.adamUpdate, foreachInputs.adamUpdate),
    rmspropUpdateForeach: foreachKernel(table.rmspropUpdate, foreachInputs.rmspropUpdate),
    adagradUpdateForeach: foreachKernel(table.adagradUpdate, foreachInputs.adagradUpdate),
  };
}

function oneParameterKernels(): CudaKernelTable {
  return {
    sgdUpdate: {
      dtypes: FLOATS,
      run(inputs, a: SgdUpdateAttrs, out, cuda) {
        const mode = a.momentum === 0 ? "plain" : a.first ? "first" : "momentum";
        const d = inputs[0].dtype;
        const k = cached(`sgd/${mode}/${d}`, () => updateSource("sgdUpdate", mode, d, SGD[mode]));
        const sgn = a.maximize ? -1 : 1;
        const floats = mode === "plain"
          ? [sgn, a.weightDecay, a.lr]
          : mode === "first"
          ? [sgn, a.weightDecay, a.lr, a.momentum]
          : [sgn, a.weightDecay, a.lr, a.momentum, 1 - a.dampening];
        return launchUpdate(
          cuda,
          k,
          inputs,
          out,
          floats,
          mode === "plain" ? [] : [a.nesterov ? 1 : 0],
        );
      },
    },
    adamUpdate: {
      dtypes: FLOATS,
      run(inputs, a: AdamUpdateAttrs, out, cuda) {
        const d = inputs[0].dtype;
        const v = a.amsgrad ? "amsgrad" : "plain";
        const k = cached(
          `adam/${v}/${d}`,
          () => updateSource("adamUpdate", v, d, adamLayout(a.amsgrad)),
        );
        // Outputs are allocated in NX, NM, NV(, NVM) order: the op's output order.
        return launchUpdate(cuda, k, inputs, out, [
          a.maximize ? -1 : 1,
          a.decoupled ? 0 : a.weightDecay,
          a.decoupled ? 1 - a.lr * a.weightDecay : 1,
          a.beta1,
          a.beta2,
          1 - a.beta1,
          1 - a.beta2,
          a.lr / (1 - a.beta1 ** a.step),
          Math.sqrt(1 - a.beta2 ** a.step),
          a.eps,
        ]);
      },
    },
    adagradUpdate: {
      dtypes: FLOATS,
      run(inputs, a: AdagradUpdateAttrs, out, cuda) {
        const d = inputs[0].dtype;
        const k = cached(`adagrad/${d}`, () => updateSource("adagradUpdate", "plain", d, ADAGRAD));
        return launchUpdate(cuda, k, inputs, out, [
          a.maximize ? -1 : 1,
          a.weightDecay,
          a.lr / (1 + (a.step - 1) * a.lrDecay),
          a.eps,
        ]);
      },
    },
    rmspropUpdate: {
      dtypes: FLOATS,
      run(inputs, a: RmspropUpdateAttrs, out, cuda) {
        const d = inputs[0].dtype;
        const m = a.momentum > 0, c = a.centered;
        const v = rmspropVariant(m, c);
        const k = cached(
          `rmsprop/${v}/${d}`,
          () => updateSource("rmspropUpdate", v, d, rmspropLayout(m, c)),
        );
        return launchUpdate(cuda, k, inputs, out, [
          a.maximize ? -1 : 1,
          a.weightDecay,
          a.lr,
          a.alpha,
          a.eps,
          a.momentum,
        ]);
      },
    },
  };
}
