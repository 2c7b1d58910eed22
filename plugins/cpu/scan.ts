/**
 * cpu scans and products along one dimension: cumsum and cumprod (forward or reversed) and the
 * prod reduction. Floats accumulate in float64 and round once per stored element (as PyTorch's
 * cpu kernels, whose accumulator for float is double); int32 wraps on overflow as int32
 * arithmetic does. float16 runs through the float32 kernels (withFloat16).
 *
 * @module
 */

import type { Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import { axisBlocks, hostArray, outputArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

interface ScanAttrs {
  dim: number;
  reverse: boolean;
}

function scanKernel(product: boolean) {
  return (inputs: readonly Tensor[], a: ScanAttrs, out: readonly TensorSpec[]): TypedArray[] => {
    const x = inputs[0];
    const src = hostArray(x);
    const o = outputArray(out[0]);
    const int = x.dtype === "int32";
    const [outer, n, inner] = axisBlocks(x.shape, a.dim);
    const step = a.reverse ? -inner : inner;
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < inner; q++) {
        let k = p * n * inner + q + (a.reverse ? (n - 1) * inner : 0);
        let acc = product ? 1 : 0;
        for (let r = 0; r < n; r++, k += step) {
          const v = src[k];
          acc = product ? (int ? Math.imul(acc, v) : acc * v) : (int ? (acc + v) | 0 : acc + v);
          o[k] = acc;
        }
      }
    }
    return [o];
  };
}

interface ProdAttrs {
  dim: number;
  keepdim: boolean;
}

function prodKernel(
  inputs: readonly Tensor[],
  a: ProdAttrs,
  out: readonly TensorSpec[],
): TypedArray[] {
  const x = inputs[0];
  const src = hostArray(x);
  const o = outputArray(out[0]);
  const int = x.dtype === "int32";
  const [outer, n, inner] = axisBlocks(x.shape, a.dim);
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      let acc = 1;
      for (let r = 0, k = p * n * inner + q; r < n; r++, k += inner) {
        acc = int ? Math.imul(acc, src[k]) : acc * src[k];
      }
      o[p * inner + q] = acc;
    }
  }
  return [o];
}

/** Scan and product kernel table of the cpu backend. */
export const scanKernels: CpuKernelTable = {
  cumsum: { run: scanKernel(false), dtypes: ["float32", "int32"] },
  cumprod: { run: scanKernel(true), dtypes: ["float32", "int32"] },
  prod: { run: prodKernel, dtypes: ["float32", "int32"] },
};
