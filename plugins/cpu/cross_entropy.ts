/**
 * cpu kernels of the fused cross-entropy (`crossEntropy`, `crossEntropyBackward`). The forward
 * makes two passes over a row (its max, then Σ exp(x − max)) and reads the target's logit; the
 * backward one pass writing (exp(x − lse) − onehot)·s. Sums are in double precision. A target
 * outside [0, C) that is not `ignoreIndex` throws the `IndexError` the webgpu kernels record (same
 * message). float16 runs through the backend's float32 wrapper (`half.ts`): computed in float32,
 * the loss and dx rounded once.
 *
 * @module
 */

import { IndexError, kernelFor } from "../../core/mod.ts";
import type { Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import {
  crossEntropyBackwardOp,
  crossEntropyIndexSite,
  crossEntropyOp,
} from "../../losses/ops/cross_entropy.ts";
import type { CrossEntropyAttrs } from "../../losses/ops/cross_entropy.ts";
import { indexErrorMessage } from "../device_errors.ts";
import { hostArray, outputArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

// Row n's class weight: 0 for an ignored row, w[t] (or 1) otherwise; throws for a bad target.
function rowWeight(
  x: Tensor,
  t: Int32Array,
  w: Float32Array | null,
  n: number,
  a: CrossEntropyAttrs,
): number {
  const v = t[n], c = x.shape[1];
  if (v === a.ignoreIndex) return 0;
  if (v < 0 || v >= c) {
    throw new IndexError(indexErrorMessage(crossEntropyIndexSite(x.shape), v));
  }
  return w ? w[v] : 1;
}

function forward(
  inputs: readonly Tensor[],
  a: CrossEntropyAttrs,
  outputs: readonly TensorSpec[],
): TypedArray[] {
  const [x, target] = inputs;
  const [n, c] = x.shape;
  const src = hostArray(x, "float32");
  const t = hostArray(target, "int32");
  const w = a.weight ? hostArray(inputs[2], "float32") : null;
  const loss = outputArray(outputs[0], "float32");
  const lse = outputArray(outputs[1], "float32");
  const total = outputArray(outputs[2], "float32");
  let sum = 0, wsum = 0;
  for (let r = 0, base = 0; r < n; r++, base += c) {
    let m = -Infinity;
    for (let j = base; j < base + c; j++) if (src[j] > m) m = src[j];
    let s = 0;
    for (let j = base; j < base + c; j++) s += Math.exp(src[j] - m);
    const l = m + Math.log(s);
    lse[r] = l;
    const wr = rowWeight(x, t, w, r, a);
    // An ignored row contributes 0 even where its logits are not finite.
    const v = wr === 0 ? 0 : wr * (l - src[base + t[r]]);
    if (a.reduction === "none") loss[r] = v;
    sum += v;
    wsum += wr;
  }
  if (a.reduction === "sum") loss[0] = sum;
  else if (a.reduction === "mean") loss[0] = sum / wsum;
  total[0] = wsum;
  return [loss, lse, total];
}

function backward(
  inputs: readonly Tensor[],
  a: CrossEntropyAttrs,
  outputs: readonly TensorSpec[],
): TypedArray[] {
  const [g, x, target, lseT, totalT] = inputs;
  const [n, c] = x.shape;
  const src = hostArray(x, "float32");
  const gy = hostArray(g, "float32");
  const t = hostArray(target, "int32");
  const lse = hostArray(lseT, "float32");
  const w = a.weight ? hostArray(inputs[5], "float32") : null;
  const dx = outputArray(outputs[0], "float32");
  // g / total weight as PyTorch orders it: NaN rows where every weight is 0, not 0.
  const k = a.reduction === "mean" ? gy[0] / hostArray(totalT, "float32")[0] : gy[0];
  for (let r = 0, base = 0; r < n; r++, base += c) {
    const wr = rowWeight(x, t, w, r, a);
    if (wr === 0 && t[r] === a.ignoreIndex) continue; // dx stays 0
    const s = wr * (a.reduction === "none" ? gy[r] : k);
    const l = lse[r];
    for (let j = base; j < base + c; j++) dx[j] = Math.exp(src[j] - l) * s;
    dx[base + t[r]] -= s;
  }
  return [dx];
}

/** Fused cross-entropy kernel table of the cpu backend. */
export const crossEntropyKernels: CpuKernelTable = {
  ...kernelFor(crossEntropyOp, { run: forward, dtypes: ["float32", "int32"] }),
  ...kernelFor(crossEntropyBackwardOp, { run: backward, dtypes: ["float32", "int32"] }),
};
