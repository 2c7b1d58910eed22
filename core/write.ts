/**
 * Writing into existing tensors: the one path for in-place ops, `copy_`, `fill_` and optimizer
 * updates (`writeInto`: a handle swap where the target covers its storage, else a `copyInto`
 * kernel through the view), `rebind` for identity-preserving moves and dtype changes, and the
 * dense copies kernels get for views.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { AutogradError, DTypeError, ShapeError } from "./errors.ts";
import { isFloating } from "./dtype.ts";
import { isGradEnabled, withGradSync } from "./autograd.ts";
import { sameShape, shapeStr } from "./shape.ts";
import { finalizer, refsOf, release, retain, Storage } from "./storage.ts";
import { setLayout, Tensor } from "./tensor.ts";
import * as E from "./ops/elementwise.ts";
import * as M from "./ops/movement.ts";

/**
 * A dense tensor (see {@linkcode Tensor.isDense}) with t's values: host views that are contiguous
 * share the memory through a subarray; others are copied by the backend's `contiguous` kernel.
 * Dispatch-internal.
 */
export function denseOf(t: Tensor): Tensor {
  const b = t.storage.backend;
  if (b.hostMemory && t.isContiguous()) {
    const h = (t.storage.handle as TypedArray).subarray(t.offset, t.offset + t.numel());
    return new Tensor(new Storage(h, b, t.numel()), t.shape, t.dtype, t.device);
  }
  return M.contiguous(t);
}

// Points `t` at `src`'s storage, dtype, device and layout (the memory it held is released when no
// other tensor uses it). The GC safety net follows the tensor to its new storage.
export function rebind(t: Tensor, src: Tensor): void {
  const old = t.storage, next = src.storage;
  if (old === next && t.dtype === src.dtype && t.device === src.device) return;
  retain(next);
  if (old.backend.free) finalizer.unregister(t);
  t.storage = next;
  if (next.backend.free && !next.backend.hostMemory) finalizer.register(t, next, t);
  const w = t as { dtype: DType; device: string };
  w.dtype = src.dtype;
  w.device = src.device;
  t.base = src.base;
  t.baseNode = src.baseNode;
  setLayout(t, src.offset, src.isContiguous() ? null : src.strides);
  release(old);
}

/**
 * The one way denn writes values into an existing tensor: in-place ops, `copy_`, `fill_` and the
 * optimizers' updates all come here. `src` must have target's shape, dtype and device. Where target
 * covers its whole storage and `src` is a temporary nobody else reads, the two storages swap
 * handles (no copy; every view of target sees the new values); otherwise the backend's `copyInto`
 * kernel writes through target's strides. Bumps the version counter autograd checks.
 */
function writeInto(target: Tensor, src: Tensor): void {
  const ts = target.storage, rs = src.storage;
  if (rs === ts && target.offset === src.offset && sameShape(target.strides, src.strides)) {
    ts.version++;
    return;
  }
  if (rs !== ts && rs.handle === ts.handle && target.isDense && src.isDense) {
    // A kernel that updated target's own array in place and returned it (an optimizer update):
    // the values are there already; src lets go of the array without freeing it.
    ts.version++;
    rs.handle = null;
    rebind(src, target);
    return;
  }
  if (target.isDense && src.isDense && refsOf(rs) === 1 && rs.backend === ts.backend) {
    const old = ts.handle;
    ts.handle = rs.handle;
    rs.handle = old;
    ts.version++;
    // rs now holds target's old data and only src references it: offer it to the backend's
    // recycler, then point src at target's storage, which releases rs.
    const recycle = recyclers.get(ts.backend.name);
    if (recycle && old !== null && recycle(old)) rs.handle = null;
    rebind(src, target);
    return;
  }
  withGradSync(false, () => M.copyInto(target, src));
  ts.version++;
}

const recyclers = new Map<string, (handle: unknown) => boolean>();

/**
 * Installs (or, with null, removes) a backend's recycler: when an in-place write or an optimizer
 * update swaps a handle out of a tensor's storage and nothing references it any more, the
 * recycler is offered it and returns true when it takes it back for reuse (it must take only
 * handles its own kernels allocated, never data a user handed in).
 */
export function setStorageRecycler(
  backend: string,
  recycle: ((handle: unknown) => boolean) | null,
): void {
  if (recycle) recyclers.set(backend, recycle);
  else recyclers.delete(backend);
}

/**
 * Makes `result`'s values the values of `target` (same shape, dtype and device) without recording
 * autograd, and disposes `result`: how optimizers write their updates into parameters and state.
 * Swaps storage handles when it can (no copy), so `target` keeps its identity and every view of it
 * sees the new values.
 */
export function assignStorage(target: Tensor, result: Tensor): void {
  if (
    result.dtype !== target.dtype || result.device !== target.device ||
    !sameShape(result.shape, target.shape)
  ) {
    withGradSync(false, () => target.copy_(result));
    return;
  }
  writeInto(target, result);
  if (result !== target) result.dispose();
}

export function inplace<T extends Tensor>(target: T, result: Tensor, op = "in-place op"): T {
  if (target.requiresGrad && target.isLeaf && isGradEnabled()) {
    throw new AutogradError(
      `${op}: in-place op on a leaf ${
        shapeStr(target.shape)
      } tensor that requires grad; wrap it in noGrad() or clone it first`,
    );
  }
  if (!sameShape(result.shape, target.shape)) {
    throw new ShapeError(
      `${op}: result shape ${shapeStr(result.shape)} does not match the tensor's ${
        shapeStr(target.shape)
      }`,
    );
  }
  const recording = isGradEnabled() && (target.requiresGrad || result.requiresGrad);
  if (recording && target.base) {
    throw new AutogradError(
      `${op}: in-place op on a ${shapeStr(target.shape)} view of a ${
        shapeStr(target.base.shape)
      } tensor while recording gradients: autograd cannot rewrite the base tensor's history; ` +
        `use the out-of-place op, clone() the view first, or run it under noGrad()`,
    );
  }
  if (result.dtype !== target.dtype) {
    // As PyTorch: an in-place result may not lose its kind (float into an int tensor, a number
    // into a bool one); int32 += 0.5 would silently truncate.
    if (
      (isFloating(result.dtype) && !isFloating(target.dtype)) ||
      (target.dtype === "bool" && result.dtype !== "bool")
    ) {
      throw new DTypeError(
        `${op}: the result type ${result.dtype} can't be cast to the ${target.dtype} ` +
          `${shapeStr(target.shape)} tensor it writes; use the out-of-place op or cast first`,
      );
    }
    result = E.cast(result, target.dtype);
  }
  if (result.device !== target.device) result = result.to(target.device);
  writeInto(target, result);
  if (result.gradFn && recording) {
    result.gradFn.rebaseVersions();
    target.gradFn = result.gradFn;
    target.outputIndex = result.outputIndex;
    target.requiresGrad = true;
  }
  return target;
}
