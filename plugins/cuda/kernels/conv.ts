/**
 * cuda conv2d, conv2dBackwardInput and conv2dBackwardWeight behind one small interface,
 * {@linkcode ConvEngine}, with two implementations:
 *
 * - {@linkcode CudnnConvEngine} (conv_cudnn.ts): cuDNN 9's legacy API, descriptors and the
 *   algorithm cached per problem, workspaces from the context's allocator.
 * - {@linkcode Im2colConvEngine} (conv_im2col.ts): NVRTC kernels (im2col, col2im) and cuBLAS only.
 *
 * The problem geometry and the interface are in conv_engine.ts; this module picks an engine per
 * problem and holds the kernel table.
 *
 * The kernel table's entries pick cuDNN where it loaded (see {@linkcode setConvPath}); explain()
 * shows the cuda kernel either way. An entry declines with the reason where neither can run.
 *
 * The engine interface is what cuDNN's graph API will implement to replace the legacy calls.
 *
 * @module
 */

import { DeviceError, ValueError } from "../../../core/mod.ts";
import type { Tensor } from "../../../core/mod.ts";
import type { Conv2dAttrs, Conv2dBackwardAttrs } from "../../../layers/ops/conv.ts";
import type { ConvDirection, CudnnApi } from "../runtime/cudnn_api.ts";
import { convProblem } from "./conv_engine.ts";
import type { ConvEngine, ConvProblem } from "./conv_engine.ts";
import { CudnnConvEngine } from "./conv_cudnn.ts";
import type { CudnnConvOptions } from "./conv_cudnn.ts";
import { Im2colConvEngine } from "./conv_im2col.ts";
import { allocOutput, cudaBuffer } from "./kit_launch.ts";
import { FLOATS } from "./kit_source.ts";
import type { Cuda, CudaKernel, CudaKernelTable } from "./kit.ts";

export { convProblem } from "./conv_engine.ts";
export type { ConvEngine, ConvGeometry, ConvProblem } from "./conv_engine.ts";
export { CudnnConvEngine } from "./conv_cudnn.ts";
export type { ConvPlan, CudnnConvOptions } from "./conv_cudnn.ts";
export { chunkImages, COLUMN_LIMIT, convSources, Im2colConvEngine } from "./conv_im2col.ts";

/** Which path the conv kernels take: cuDNN where it loaded (`"auto"`), or one of them only. */
export type ConvPath = "auto" | "cudnn" | "im2col";

interface Engines {
  path: ConvPath;
  im2col: Im2colConvEngine;
  cudnn: CudnnConvEngine | null;
  /** Problems run per engine name (for tests and tuning). */
  runs: Map<string, number>;
}

const engines = new WeakMap<Cuda, Engines>();

/** The cuDNN API a context offers, if any (`CudaContext.dnn`; fakes set it the same way). */
export function cudnnOf(cuda: Cuda): CudnnApi | null {
  return (cuda as Cuda & { dnn?: CudnnApi | null }).dnn ?? null;
}

function dnnReason(cuda: Cuda): string {
  return (cuda as Cuda & { dnnUnavailable?: string | null }).dnnUnavailable ??
    "the context has no cuDNN";
}

function enginesOf(cuda: Cuda): Engines {
  let e = engines.get(cuda);
  if (!e) {
    const api = cudnnOf(cuda);
    e = {
      path: "auto",
      im2col: new Im2colConvEngine(cuda),
      cudnn: api ? new CudnnConvEngine(cuda, api) : null,
      runs: new Map(),
    };
    engines.set(cuda, e);
  }
  return e;
}

/**
 * Chooses the conv path of a context: `"auto"` (cuDNN where it loaded and has an algorithm, else
 * im2col), `"cudnn"` or `"im2col"` only (the kernels decline with the reason where the chosen one
 * cannot run). `options` replace the cuDNN engine's settings (its plans are dropped).
 *
 * @example
 * ```ts ignore
 * import { cudaContext, setConvPath } from "@denn/denn/plugins/cuda";
 * setConvPath(cudaContext()!, "im2col"); // compare against the cuDNN path
 * ```
 */
export function setConvPath(cuda: Cuda, path: ConvPath, options?: CudnnConvOptions): void {
  if (path !== "auto" && path !== "cudnn" && path !== "im2col") {
    throw new ValueError(
      `setConvPath: path must be "auto", "cudnn" or "im2col", got ${JSON.stringify(path)}`,
    );
  }
  const e = enginesOf(cuda);
  e.path = path;
  if (options) {
    e.cudnn?.clear();
    const api = cudnnOf(cuda);
    e.cudnn = api ? new CudnnConvEngine(cuda, api, options) : null;
  }
}

/** Conv problems run per path on a context so far (`{ cudnn, im2col }`). */
export function convPathStats(cuda: Cuda): { cudnn: number; im2col: number } {
  const r = enginesOf(cuda).runs;
  return { cudnn: r.get("cudnn") ?? 0, im2col: r.get("im2col") ?? 0 };
}

/** The engine that runs `dir` for `p` on `cuda`, or why none can. */
export function convEngine(
  cuda: Cuda,
  dir: ConvDirection,
  p: ConvProblem,
  bias = false,
): ConvEngine | string {
  const e = enginesOf(cuda);
  const reasons: string[] = [];
  if (e.path !== "im2col") {
    if (e.cudnn) {
      const ok = e.cudnn.check(dir, p, bias);
      if (ok === true) return e.cudnn;
      reasons.push(ok);
    } else reasons.push(`cuDNN is unavailable (${dnnReason(cuda)})`);
  }
  if (e.path !== "cudnn") {
    const ok = e.im2col.check(dir, p);
    if (ok === true) return e.im2col;
    reasons.push(ok);
  }
  return reasons.join("; ");
}

function runOn(
  cuda: Cuda,
  op: string,
  dir: ConvDirection,
  p: ConvProblem,
  bias: boolean,
  f: (e: ConvEngine) => void,
): void {
  const e = convEngine(cuda, dir, p, bias);
  if (typeof e === "string") throw new DeviceError(`${op}: ${e}`);
  f(e);
  const runs = enginesOf(cuda).runs;
  runs.set(e.name, (runs.get(e.name) ?? 0) + 1);
}

function supports(
  op: string,
  dir: ConvDirection,
  problem: (t: readonly Tensor[], a: never) => ConvProblem,
) {
  return (inputs: readonly Tensor[], attrs: never, cuda: Cuda): true | string => {
    const e = convEngine(cuda, dir, problem(inputs, attrs), inputs.length > 2);
    return typeof e === "string" ? `${op}: ${e}` : true;
  };
}

const fwdProblem = ([x, w]: readonly Tensor[], a: Conv2dAttrs): ConvProblem => {
  const [n, , h, wd] = x.shape, [o, , kh, kw] = w.shape;
  const out = (size: number, k: number, i: 0 | 1) =>
    Math.floor((size + 2 * a.padding[i] - a.dilation[i] * (k - 1) - 1) / a.stride[i]) + 1;
  return convProblem(x.shape, w.shape, [n, o, out(h, kh, 0), out(wd, kw, 1)], a, x.dtype);
};
const dataProblem = ([gy, w]: readonly Tensor[], a: Conv2dBackwardAttrs): ConvProblem =>
  convProblem(a.shape, w.shape, gy.shape, a, gy.dtype);
const filterProblem = ([gy, x]: readonly Tensor[], a: Conv2dBackwardAttrs): ConvProblem =>
  convProblem(x.shape, a.shape, gy.shape, a, gy.dtype);

const conv2d: CudaKernel<Conv2dAttrs> = {
  dtypes: FLOATS,
  supports: supports("conv2d", "forward", fwdProblem as never),
  run(inputs, attrs, out, cuda) {
    const [x, w, b] = inputs;
    const y = allocOutput(cuda, out[0]);
    const p = convProblem(x.shape, w.shape, out[0].shape, attrs, x.dtype);
    runOn(
      cuda,
      "conv2d",
      "forward",
      p,
      b !== undefined,
      (e) => e.forward(p, cudaBuffer(x), cudaBuffer(w), b ? cudaBuffer(b) : null, y),
    );
    return [y];
  },
};

const conv2dBackwardInput: CudaKernel<Conv2dBackwardAttrs> = {
  dtypes: FLOATS,
  supports: supports("conv2dBackwardInput", "backwardData", dataProblem as never),
  run([gy, w], attrs, out, cuda) {
    const dx = allocOutput(cuda, out[0]);
    const p = dataProblem([gy, w], attrs);
    runOn(
      cuda,
      "conv2dBackwardInput",
      "backwardData",
      p,
      false,
      (e) => e.backwardData(p, cudaBuffer(gy), cudaBuffer(w), dx),
    );
    return [dx];
  },
};

const conv2dBackwardWeight: CudaKernel<Conv2dBackwardAttrs> = {
  dtypes: FLOATS,
  supports: supports("conv2dBackwardWeight", "backwardFilter", filterProblem as never),
  run([gy, x], attrs, out, cuda) {
    const dw = allocOutput(cuda, out[0]);
    const p = filterProblem([gy, x], attrs);
    runOn(
      cuda,
      "conv2dBackwardWeight",
      "backwardFilter",
      p,
      false,
      (e) => e.backwardFilter(p, cudaBuffer(x), cudaBuffer(gy), dw),
    );
    return [dw];
  },
};

/** conv2d and its backward ops on the cuda backend. */
export function convKernels(): CudaKernelTable {
  return { conv2d, conv2dBackwardInput, conv2dBackwardWeight };
}
