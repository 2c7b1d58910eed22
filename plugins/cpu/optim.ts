/**
 * cpu kernels of the fused optimizer updates (`sgdUpdate`, `adamUpdate`, `rmspropUpdate`,
 * `adagradUpdate`): one pass
 * over the parameter, its gradient and its state, in float64 scalar math rounded once when stored,
 * writing output arrays that the optimizer then swaps into the parameter's and state's storage
 * (`assignStorage`), so no intermediate array is allocated. The arrays swapped out are taken back
 * (when these kernels allocated them) and reused for later outputs of the same length, so a
 * training loop's steady state allocates nothing: allocating and zeroing fresh arrays (and
 * collecting the old ones) cost about as much as the update itself.
 *
 * @module
 */

import type { Tensor, TensorSpec } from "../../core/mod.ts";
import { kernelFor, setStorageRecycler } from "../../core/mod.ts";
import {
  adagradUpdateForeachOp,
  adagradUpdateOp,
  adamUpdateForeachOp,
  adamUpdateOp,
  foreachEach,
  foreachInputs,
  foreachKernel,
  rmspropUpdateForeachOp,
  rmspropUpdateOp,
  sgdUpdateForeachOp,
  sgdUpdateOp,
} from "../../optim/ops.ts";
import type {
  AdagradUpdateAttrs,
  AdamUpdateAttrs,
  RmspropUpdateAttrs,
  SgdUpdateAttrs,
  SgdUpdateForeachAttrs,
} from "../../optim/ops.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

// Arrays these kernels allocated (only those are ever recycled: never user data), and the ones
// swapped out of tensors, by length. Held weakly, so an idle pool costs no memory after a GC.
const mine = new WeakSet<Float32Array>();
const spare = new Map<number, WeakRef<Float32Array>[]>();
let spareCount = 0;
const MAX_SPARE = 4096;

/**
 * A float32 array of n elements for an optimizer update's output: one taken back from an earlier
 * update where one of that length is spare, else a new one that the cpu recycler will take back
 * once an update swaps it out of a parameter or state tensor. Its contents are arbitrary. Exported
 * for other host backends' update kernels (blas).
 */
function alloc(n: number): Float32Array {
  const list = spare.get(n);
  while (list?.length) {
    spareCount--;
    const a = list.pop()!.deref();
    if (a) return a;
  }
  const a = new Float32Array(n);
  mine.add(a);
  return a;
}

export { alloc as allocUpdateOutput };

/** This backend's SGD update of one parameter (for other host backends' kernels: blas). */
export { sgdKernel as hostSgdUpdate };

setStorageRecycler("cpu", (handle) => {
  if (!(handle instanceof Float32Array) || !mine.has(handle) || spareCount >= MAX_SPARE) {
    return false;
  }
  let list = spare.get(handle.length);
  if (!list) spare.set(handle.length, list = []);
  list.push(new WeakRef(handle));
  spareCount++;
  return true;
});

const data = (t: Tensor): Float32Array => hostArray(t, "float32");

function sgdKernel(
  inputs: readonly Tensor[],
  a: SgdUpdateAttrs,
  out: readonly TensorSpec[],
): Float32Array[] {
  const n = inputs[0].numel();
  const p = data(inputs[0]), g = data(inputs[1]);
  const np = alloc(n);
  const sign = a.maximize ? -1 : 1, wd = a.weightDecay, lr = a.lr, mu = a.momentum;
  if (mu === 0) {
    for (let i = 0; i < n; i++) {
      const w = p[i];
      np[i] = w - lr * (wd === 0 ? sign * g[i] : sign * g[i] + wd * w);
    }
    return [np];
  }
  const nb = alloc(n);
  const damp = 1 - a.dampening;
  if (out.length !== 2) throw new Error("sgdUpdate: expected two outputs with momentum");
  if (a.first) {
    // The buffer starts as the (decayed) gradient, which it is then rounded to.
    for (let i = 0; i < n; i++) {
      const w = p[i];
      const d = Math.fround(wd === 0 ? sign * g[i] : sign * g[i] + wd * w);
      nb[i] = d;
      np[i] = w - lr * (a.nesterov ? d + mu * d : d);
    }
    return [np, nb];
  }
  const b = data(inputs[2]);
  const nesterov = a.nesterov;
  for (let i = 0; i < n; i++) {
    const w = p[i];
    const d = wd === 0 ? sign * g[i] : sign * g[i] + wd * w;
    const m = mu * b[i] + damp * d;
    nb[i] = m;
    np[i] = w - lr * (nesterov ? d + mu * m : m);
  }
  return [np, nb];
}

function adamKernel(inputs: readonly Tensor[], a: AdamUpdateAttrs): Float32Array[] {
  const n = inputs[0].numel();
  const p = data(inputs[0]), g = data(inputs[1]), m = data(inputs[2]), v = data(inputs[3]);
  const np = alloc(n), nm = alloc(n), nv = alloc(n);
  const sign = a.maximize ? -1 : 1;
  const wd = a.decoupled ? 0 : a.weightDecay;
  const decay = a.decoupled ? 1 - a.lr * a.weightDecay : 1;
  const b1 = a.beta1, b2 = a.beta2, c1 = 1 - b1, c2 = 1 - b2, eps = a.eps;
  const stepSize = a.lr / (1 - b1 ** a.step);
  const bc2 = Math.sqrt(1 - b2 ** a.step);
  if (!a.amsgrad) {
    for (let i = 0; i < n; i++) {
      const w = p[i];
      const d = wd === 0 ? sign * g[i] : sign * g[i] + wd * w;
      const mi = b1 * m[i] + c1 * d;
      const vi = b2 * v[i] + c2 * d * d;
      nm[i] = mi;
      nv[i] = vi;
      np[i] = w * decay - stepSize * (mi / (Math.sqrt(vi) / bc2 + eps));
    }
    return [np, nm, nv];
  }
  const vmax = data(inputs[4]);
  const nvmax = alloc(n);
  for (let i = 0; i < n; i++) {
    const w = p[i];
    const d = wd === 0 ? sign * g[i] : sign * g[i] + wd * w;
    const mi = b1 * m[i] + c1 * d;
    const vi = b2 * v[i] + c2 * d * d;
    const old = vmax[i];
    // NaN propagates, as the decomposition's `maximum` does.
    const top = old !== old || vi !== vi ? NaN : old > vi ? old : vi;
    nm[i] = mi;
    nv[i] = vi;
    nvmax[i] = top;
    np[i] = w * decay - stepSize * (mi / (Math.sqrt(top) / bc2 + eps));
  }
  return [np, nm, nv, nvmax];
}

function rmspropKernel(inputs: readonly Tensor[], a: RmspropUpdateAttrs): Float32Array[] {
  const n = inputs[0].numel();
  const p = data(inputs[0]), g = data(inputs[1]), s = data(inputs[2]);
  const hasBuf = a.momentum > 0;
  const buf = hasBuf ? data(inputs[3]) : null;
  const ga = a.centered ? data(inputs[hasBuf ? 4 : 3]) : null;
  const np = alloc(n), ns = alloc(n);
  const nbuf = buf ? alloc(n) : null;
  const nga = ga ? alloc(n) : null;
  const sign = a.maximize ? -1 : 1, wd = a.weightDecay, lr = a.lr, mu = a.momentum;
  const al = a.alpha, c = 1 - al, eps = a.eps;
  for (let i = 0; i < n; i++) {
    const w = p[i];
    const d = wd === 0 ? sign * g[i] : sign * g[i] + wd * w;
    const si = al * s[i] + c * d * d;
    ns[i] = si;
    let avg: number;
    if (nga) {
      const gi = al * ga![i] + c * d;
      nga[i] = gi;
      avg = Math.sqrt(si - gi * gi) + eps;
    } else avg = Math.sqrt(si) + eps;
    if (nbuf) {
      const bi = mu * buf![i] + d / avg;
      nbuf[i] = bi;
      np[i] = w - lr * bi;
    } else np[i] = w - lr * (d / avg);
  }
  const outs: Float32Array[] = [np, ns];
  if (nbuf) outs.push(nbuf);
  if (nga) outs.push(nga);
  return outs;
}

function adagradKernel(inputs: readonly Tensor[], a: AdagradUpdateAttrs): Float32Array[] {
  const n = inputs[0].numel();
  const p = data(inputs[0]), g = data(inputs[1]), s = data(inputs[2]);
  const np = alloc(n), ns = alloc(n);
  const sign = a.maximize ? -1 : 1, wd = a.weightDecay, eps = a.eps;
  const clr = a.lr / (1 + (a.step - 1) * a.lrDecay);
  for (let i = 0; i < n; i++) {
    const w = p[i];
    const d = wd === 0 ? sign * g[i] : sign * g[i] + wd * w;
    // The accumulator is stored (rounded) before the update reads it, as in PyTorch.
    const si = Math.fround(s[i] + d * d);
    ns[i] = si;
    np[i] = w - clr * (d / (Math.sqrt(si) + eps));
  }
  return [np, ns];
}

/** One parameter's SGD update on a host backend: inputs p, g (and b), its output specs. */
export type HostSgdUpdate = (
  inputs: readonly Tensor[],
  a: SgdUpdateAttrs,
  out: readonly TensorSpec[],
) => Float32Array[];

/**
 * The multi-parameter update (`sgdUpdateForeach`) as one `each` call per parameter, in one kernel
 * call: no dispatch between parameters. `each` defaults to this backend's own update; blas passes
 * one that takes the large parameters itself.
 */
export function sgdForeach(
  inputs: readonly Tensor[],
  a: SgdUpdateForeachAttrs,
  out: readonly TensorSpec[],
  each: HostSgdUpdate = sgdKernel,
): Float32Array[] {
  return foreachEach(foreachInputs.sgdUpdate(a), inputs, a, out, each);
}

/** Fused optimizer-update kernel table of the cpu backend (float32). */
export const optimKernels: CpuKernelTable = {
  ...kernelFor(sgdUpdateOp, { run: sgdKernel, dtypes: ["float32"] }),
  ...kernelFor(sgdUpdateForeachOp, { run: (i, a, o) => sgdForeach(i, a, o), dtypes: ["float32"] }),
  ...kernelFor(adamUpdateOp, { run: adamKernel, dtypes: ["float32"] }),
  ...kernelFor(
    adamUpdateForeachOp,
    foreachKernel({ run: adamKernel, dtypes: ["float32"] }, foreachInputs.adamUpdate),
  ),
  ...kernelFor(rmspropUpdateOp, { run: rmspropKernel, dtypes: ["float32"] }),
  ...kernelFor(
    rmspropUpdateForeachOp,
    foreachKernel({ run: rmspropKernel, dtypes: ["float32"] }, foreachInputs.rmspropUpdate),
  ),
  ...kernelFor(adagradUpdateOp, { run: adagradKernel, dtypes: ["float32"] }),
  ...kernelFor(
    adagradUpdateForeachOp,
    foreachKernel({ run: adagradKernel, dtypes: ["float32"] }, foreachInputs.adagradUpdate),
  ),
};
