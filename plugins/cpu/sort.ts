/**
 * cpu sort: each row along the sorted dimension is ordered by (value, index), which is a stable
 * sort whatever the engine's sort does; NaN sorts last ascending and first descending, as in
 * PyTorch. float16 runs through the float32 kernel (withFloat16).
 *
 * @module
 */

import type { Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import { axisBlocks, hostArray, outputArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

interface SortAttrs {
  dim: number;
  descending: boolean;
}

// Comparators of row positions `a`, `b` over the row's values `v`: value order with NaN the
// largest, ties by position.
function ascending(v: Float64Array): (a: number, b: number) => number {
  return (a, b) => {
    const x = v[a], y = v[b];
    if (x < y) return -1;
    if (x > y) return 1;
    const nx = x !== x, ny = y !== y;
    if (nx !== ny) return nx ? 1 : -1;
    return a - b;
  };
}

function descending(v: Float64Array): (a: number, b: number) => number {
  return (a, b) => {
    const x = v[a], y = v[b];
    if (x > y) return -1;
    if (x < y) return 1;
    const nx = x !== x, ny = y !== y;
    if (nx !== ny) return nx ? -1 : 1;
    return a - b;
  };
}

function sortKernel(
  inputs: readonly Tensor[],
  a: SortAttrs,
  out: readonly TensorSpec[],
): TypedArray[] {
  const x = inputs[0];
  const src = hostArray(x);
  const values = outputArray(out[0]);
  const indices = outputArray(out[1], "int32");
  const [outer, n, inner] = axisBlocks(x.shape, a.dim);
  const row = new Float64Array(n);
  const order = new Uint32Array(n);
  const cmp = a.descending ? descending(row) : ascending(row);
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const base = p * n * inner + q;
      for (let r = 0; r < n; r++) {
        row[r] = src[base + r * inner];
        order[r] = r;
      }
      order.sort(cmp);
      for (let r = 0; r < n; r++) {
        const k = base + r * inner, j = order[r];
        values[k] = row[j];
        indices[k] = j;
      }
    }
  }
  return [values, indices];
}

/** Sort kernel table of the cpu backend. */
export const sortKernels: CpuKernelTable = {
  sort: { run: sortKernel },
};
