/**
 * The cuda backend's kernel table: CUDA C sources generated per op and dtype as strings, compiled
 * by the runtime through `ctx.kernel(source, name)` (NVRTC, cached) and launched with
 * `ctx.launch`, plus matmul through `ctx.blas`. {@linkcode cudaKernels} is what the backend
 * registers; {@linkcode allKernelSources} lists every source the table can generate (each op,
 * each dtype variant), for ahead-of-time compile checks.
 *
 * Coverage: elementwise unary/binary/comparison ops with broadcasting, where, cast, reluBackward;
 * sum/max/min/prod/argmax/argmin, softmax/logSoftmax, cumsum/cumprod; contiguous, copy,
 * copyInto, sliceBackward, pad, cat, gather, scatterAdd; max/avg/adaptive-avg pooling and their
 * backward ops; batchNormStats/batchNorm/batchNormBackward; sgd/adam/adagrad/rmsprop updates;
 * matmul (cuBLAS); conv2d and its backward ops (cuDNN, else im2col + cuBLAS: conv.ts).
 * Fused scaledDotProductAttention and its backward (attention.ts), normRows/normRowsBackward
 * (layer_norm.ts), lstmCell/gruCell and their backward ops (rnn_cell.ts), adaptiveMaxPool2d
 * (adaptive_max_pool.ts) and sort, which argsort and topk run on (sort.ts).
 *
 * @example
 * ```ts
 * import { allKernelSources, cudaKernels } from "./mod.ts";
 * const table = cudaKernels();
 * console.log(Object.keys(table).length, allKernelSources().length);
 * ```
 *
 * @module
 */

import type { CudaKernelTable } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import { elementwiseKernels, elementwiseSources } from "./elementwise.ts";
import { reduceKernels, reduceSources } from "./reduce.ts";
import { movementKernels, movementSources } from "./movement.ts";
import { nnKernels, nnSources } from "./nn.ts";
import { optimKernels, optimSources } from "./optim.ts";
import { matmulKernels, matmulSources } from "./matmul.ts";
import { attentionKernels, attentionSources } from "./attention.ts";
import { layerNormKernels, layerNormSources } from "./layer_norm.ts";
import { rnnCellKernels, rnnCellSources } from "./rnn_cell.ts";
import { adaptiveMaxPoolKernels, adaptiveMaxPoolSources } from "./adaptive_max_pool.ts";
import { sortKernels, sortSources } from "./sort.ts";
import { convKernels, convSources } from "./conv.ts";
import { crossEntropyKernels, crossEntropySources } from "./cross_entropy.ts";

export type {
  CublasApi,
  Cuda,
  CudaBuffer,
  CudaFunction,
  CudaKernel,
  CudaKernelTable,
  KernelArg,
  LaunchConfig,
} from "./kit.ts";
export type { KernelSource } from "./kit_source.ts";
export { DECLINING_OPS } from "./matmul.ts";
export { errorRecord, takeIndexError } from "./kit.ts";
export type { CudaErrorRecord } from "./kit.ts";

/** The kernel table the cuda backend registers, op name → entry. */
export function cudaKernels(): CudaKernelTable {
  return {
    ...elementwiseKernels(),
    ...reduceKernels(),
    ...movementKernels(),
    ...nnKernels(),
    ...optimKernels(),
    ...matmulKernels(),
    ...attentionKernels(),
    ...layerNormKernels(),
    ...rnnCellKernels(),
    ...adaptiveMaxPoolKernels(),
    ...sortKernels(),
    ...convKernels(),
    ...crossEntropyKernels(),
  };
}

/**
 * Every CUDA C source the kernel table can generate: each op and dtype variant once, by unique
 * kernel name (sources shared by several ops list them all in `ops`).
 */
export function allKernelSources(): KernelSource[] {
  const byName = new Map<string, KernelSource>();
  const all = [
    ...elementwiseSources(),
    ...reduceSources(),
    ...movementSources(),
    ...nnSources(),
    ...optimSources(),
    ...matmulSources(),
    ...attentionSources(),
    ...layerNormSources(),
    ...rnnCellSources(),
    ...adaptiveMaxPoolSources(),
    ...sortSources(),
    ...convSources(),
    ...crossEntropySources(),
  ];
  for (const s of all) {
    const seen = byName.get(s.name);
    if (!seen) byName.set(s.name, s);
    else if (seen.source !== s.source) {
      throw new Error(`cuda kernels: two different sources are named ${s.name}`);
    } else {
      byName.set(s.name, {
        ...seen,
        ops: [...new Set([...(seen.ops ?? []), ...(s.ops ?? [])])],
      });
    }
  }
  return [...byName.values()];
}
