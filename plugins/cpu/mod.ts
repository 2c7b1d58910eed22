/**
 * The cpu backend: pure TypeScript over typed arrays, needing no permissions. It is the embedded
 * default and the oracle other backends are tested against. Importing this module registers it.
 *
 * @example
 * ```ts
 * import "./mod.ts";
 * import { tensor } from "../../core/mod.ts";
 * const y = tensor([1, 2]).add(1); // runs on cpu
 * ```
 *
 * @module
 */

import { definePlugin, use } from "../../core/mod.ts";
import { recycleHost } from "../../core/host_pool.ts";
import type { BackendDef, DType, Plugin, TypedArray } from "../../core/mod.ts";
import { adaptiveMaxPoolKernels } from "./adaptive_max_pool.ts";
import { attentionKernels } from "./attention.ts";
import { elementwiseKernels } from "./elementwise.ts";
import { fusedKernels } from "./fused.ts";
import { withFloat16 } from "./half.ts";
import { layerNormKernels } from "./layer_norm.ts";
import { crossEntropyKernels } from "./cross_entropy.ts";
import { movementKernels } from "./movement.ts";
import { nnKernels } from "./nn.ts";
import { optimKernels } from "./optim.ts";
import { reduceKernels } from "./reduce.ts";
import { rnnCellKernels } from "./rnn_cell.ts";
import { scanKernels } from "./scan.ts";
import { sortKernels } from "./sort.ts";

/** The cpu backend definition: host typed arrays, a kernel for every primitive and fused NN kernels. */
export const cpuBackend: BackendDef<TypedArray, undefined> = {
  name: "cpu",
  hostMemory: true,
  priority: 0,
  upload: (data: TypedArray) => data,
  download: (handle: TypedArray, _dtype: DType, size: number) =>
    Promise.resolve(handle.slice(0, size)),
  downloadSync: (handle: TypedArray, _dtype: DType, size: number) => handle.slice(0, size),
  // Released arrays go back to allocHost's pool (only those it made), so a steady training loop
  // in scope() reuses its memory instead of faulting in fresh pages every step.
  free: (handle: TypedArray) => recycleHost(handle),
  kernels: {
    ...withFloat16({
      ...elementwiseKernels,
      ...reduceKernels,
      ...movementKernels,
      ...nnKernels,
      ...optimKernels,
      ...sortKernels,
      ...scanKernels,
      ...adaptiveMaxPoolKernels,
      ...layerNormKernels,
      ...crossEntropyKernels,
      ...rnnCellKernels,
      ...attentionKernels,
    }),
    // Reads and writes float16 itself, so it stays outside the float32 wrapper.
    ...fusedKernels,
  },
};

/** The cpu backend as a plugin (registered when this module is imported). */
export const cpu: Plugin = definePlugin({
  name: "@denn/cpu",
  kind: "backend",
  version: "0.1.0",
  apiVersion: 1,
  backend: cpuBackend,
});

use(cpu);

export { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "./conv.ts";
export { type WeightStamp, weightStamp } from "./conv_crop.ts";
export type { Conv2dParams, Gemm } from "./conv.ts";
export { convParams } from "./nn.ts";
export { sgemm } from "./gemm.ts";
export { getNumThreads, setNumThreads } from "./threads_count.ts";
export { shutdownThreads } from "./threads.ts";
