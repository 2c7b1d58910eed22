/**
 * Max pooling's backward on cpu: each output's gradient added onto the input element its window
 * took (the indices of pool.ts's forward), by a JS loop, or for stride-1 pools with enough outputs
 * by the wasm `maxPoolScatter` kernel (wasm_max_pool.ts) over ranges of planes on the threads.
 *
 * @module
 */

import { allocHost } from "../../core/dtype.ts";
import { outputF32 } from "../../core/host_pool.ts";
import { isPool2x2, type Pool2dParams, poolChunk } from "./pool.ts";
import { heapRegions } from "./wasm_conv_heap.ts";
import { convKernels } from "./wasm_conv_kernels.ts";
import { planFor } from "./threads.ts";

/**
 * Gradient of max pooling: scatters (and sums, for overlapping windows) each upstream gradient onto
 * the input element recorded in `indices`. Returns dx as a new [N, C, H, W] array, or in `into`
 * (zeroed first; of exactly that many elements) where given.
 */
export function maxPool2dBackward(
  gy: Float32Array,
  indices: Int32Array,
  p: Pool2dParams,
  into?: Float32Array,
): Float32Array {
  const { n, c, h, w, oh, ow } = p;
  const planes = n * c;
  const inPlane = h * w;
  const outPlane = oh * ow;
  if (convKernels && planes * outPlane >= SCATTER_WASM_MIN && 2 * outPlane >= inPlane) {
    return wasmMaxPoolBackward(gy, indices, planes, inPlane, outPlane, into);
  }
  const dx = into ? into.fill(0) : allocHost("float32", planes * inPlane) as Float32Array;
  if (isPool2x2(p)) {
    // Every 2×2 window has a real winner, so every index is valid: no test per element.
    for (let pl = 0, o = 0; pl < planes; pl++) {
      const base = pl * inPlane;
      for (const end = o + outPlane; o < end; o++) dx[base + indices[o]] += gy[o];
    }
    return dx;
  }
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inPlane;
    const start = pl * outPlane;
    const end = start + outPlane;
    for (let o = start; o < end; o++) {
      const idx = indices[o];
      if (idx >= 0) dx[base + idx] += gy[o];
    }
  }
  return dx;
}

// Outputs from which max pooling's backward runs in wasm over heap copies, on the threads where
// they pay, when the output planes are at least half the input's (stride 1): the JS loop took
// 2.6–3.4 ns per output on GoogLeNet's pools (float32 values through float64 and back on every
// add). With stride 2 the input plane that has to be zeroed and copied back is four times the
// output's, and the JS loop writing it in place was faster (scratch, paired in one process: wasm
// 1.54–1.57× on GoogLeNet's 3 × 3 / 2 pools, 0.58–0.86× on its 3 × 3 / 1 ones).
const SCATTER_WASM_MIN = 1 << 14;
// Outputs per extra thread of the scatter.
const SCATTER_WORK_PER_THREAD = 1 << 16;

/** {@linkcode maxPool2dBackward} by the wasm `maxPoolScatter` kernel, over ranges of planes. */
function wasmMaxPoolBackward(
  gy: Float32Array,
  indices: Int32Array,
  planes: number,
  inPlane: number,
  outPlane: number,
  into?: Float32Array,
): Float32Array {
  const k = convKernels!;
  const chunk = poolChunk(planes, inPlane, outPlane);
  const { at, f } = heapRegions([chunk * outPlane, chunk * outPlane, chunk * inPlane]);
  const [GY, IDX, DX] = at;
  const ints = new Int32Array(f.buffer);
  // Every element of dx is written (each plane is zeroed first).
  const dx = into ?? outputF32(planes * inPlane);
  const plan = planFor(planes * outPlane, planes, SCATTER_WORK_PER_THREAD);
  for (let p0 = 0; p0 < planes; p0 += chunk) {
    const cnt = Math.min(chunk, planes - p0);
    f.set(gy.subarray(p0 * outPlane, (p0 + cnt) * outPlane), GY);
    ints.set(indices.subarray(p0 * outPlane, (p0 + cnt) * outPlane), IDX);
    const step = Math.ceil(cnt / (4 * plan.threads));
    for (let q0 = 0; q0 < cnt; q0 += step) {
      plan.item();
      plan.call(
        k.ids.maxPoolScatter,
        0,
        4 * (GY + q0 * outPlane),
        4 * (IDX + q0 * outPlane),
        4 * (DX + q0 * inPlane),
        Math.min(step, cnt - q0),
        outPlane,
        4 * inPlane,
      );
    }
    plan.run();
    dx.set(f.subarray(DX, DX + cnt * inPlane), p0 * inPlane);
  }
  return dx;
}
