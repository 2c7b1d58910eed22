/**
 * What the webgpu backend checks and wraps every kernel with: {@linkcode withinLimits}, the
 * `supports` check of rank and storage binding size the generic kernels share;
 * {@linkcode gateFloat16Kernel}, which declines float16 on devices without `shader-f16`; and
 * {@linkcode nameKernelAllocations}, which makes allocation failures name the op and its output.
 *
 * @module
 */

import type { KernelEntry, Tensor } from "../../core/mod.ts";
import { bufferBytes } from "./device.ts";
import type { Gpu, GpuBuffer } from "./device.ts";

/**
 * Makes allocation failures inside a kernel name its op and output tensor in the
 * `OutOfMemoryError`. The backend applies it to every kernel, plugins' kernels included.
 */
export function nameKernelAllocations<A, C, H>(
  gpu: Gpu,
  op: string,
  k: KernelEntry<A, C, H>,
): KernelEntry<A, C, H> {
  const run = k.run;
  return {
    ...k,
    run: (inputs, attrs, outputs, context) =>
      gpu.inKernel(op, outputs, () => run(inputs, attrs, outputs, context)),
  };
}

/** Most dimensions a generic webgpu kernel walks (after merging contiguous dims). */
export const MAX_RANK = 8;

/**
 * `supports` check shared by the generic kernels: rank and binding size limits. A view is measured
 * by the storage it reads (an expanded view is small); outputs and dense copies too large for the
 * device raise `OutOfMemoryError` when the kernel allocates them.
 */
export function withinLimits(gpu: Gpu, inputs: readonly Tensor[]): true | string {
  for (const t of inputs) {
    if (t.ndim > MAX_RANK) return `tensors of more than ${MAX_RANK} dimensions are not supported`;
    const h = t.storage.handle as Partial<GpuBuffer> | null;
    const bytes = Math.min(
      bufferBytes(t.dtype, t.numel()),
      typeof h?.bytes === "number" ? h.bytes : Infinity,
    );
    if (bytes > gpu.maxBinding) {
      return `a ${t.numel()}-element tensor exceeds the storage binding limit (${gpu.maxBinding} bytes)`;
    }
  }
  return true;
}

/** Why float16 kernels decline on a device without `shader-f16`. */
export const NO_F16_REASON =
  "float16 needs the adapter's shader-f16 feature, which this device does not have " +
  "(cast to float32 first, or keep float16 tensors on cpu)";

/**
 * Makes a kernel decline float16 tensors (and float16 outputs) with a reason on adapters without
 * `shader-f16`. The backend applies it to every kernel, plugins' kernels included.
 */
export function gateFloat16Kernel<A, C, H>(
  gpu: Gpu,
  k: KernelEntry<A, C, H>,
): KernelEntry<A, C, H> {
  if (gpu.f16) return k;
  const inner = k.supports;
  return {
    ...k,
    supports(inputs, attrs, context): true | string {
      for (const t of inputs) if (t.dtype === "float16") return NO_F16_REASON;
      if ((attrs as { dtype?: unknown } | null)?.dtype === "float16") return NO_F16_REASON;
      return inner ? inner(inputs, attrs, context) : true;
    },
  };
}
