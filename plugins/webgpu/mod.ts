/**
 * The webgpu backend: WGSL kernels over Deno's built-in `navigator.gpu` for every primitive the
 * cpu backend has (elementwise with broadcasting, reductions, movement, matmul, conv2d and pooling
 * with their backward ops) in float32, int32 and bool (stored as one i32 per element). Buffers come
 * from a caching allocator, pipelines are cached by op, dtype and rank, and all dispatches share a
 * command encoder that is submitted in batches. Readback is asynchronous only (`await t.data()`,
 * `await t.toAsync("cpu")`). float16 tensors are stored and computed as `f16` where the adapter
 * offers `shader-f16` (reductions, matmul and conv accumulate in f32); elsewhere float16 kernels
 * decline, and `explain()` / dispatch errors say why. Kernels cannot throw: an out-of-range index
 * value (gather, scatterAdd, hence crossEntropy / nllLoss targets) is recorded on the device and
 * thrown as the cpu backend's `IndexError` by the next readback or `sync()`. An allocation beyond
 * the device's buffer limits, or one the device fails, throws `OutOfMemoryError`.
 *
 * @example
 * ```ts ignore
 * import { randn, use } from "../../mod.ts";
 * import { webgpu } from "./mod.ts";
 * use(await webgpu());
 * const a = randn([64, 32]).to("webgpu");
 * const y = a.matmul(a.t()).relu().sum();
 * console.log(await y.item());
 * ```
 *
 * @module
 */

import { definePlugin } from "../../core/mod.ts";
import type { BackendDef, DType, Plugin, TypedArray } from "../../core/mod.ts";
import { Gpu } from "./device.ts";
import { gateFloat16Kernel, nameKernelAllocations } from "./limits.ts";
import type { GpuBuffer, MemoryStats } from "./device.ts";
import { elementwiseKernels } from "./elementwise.ts";
import { fusedKernels } from "./fused.ts";
import { reduceKernels } from "./reduce.ts";
import { movementKernels } from "./movement.ts";
import { matmulKernels } from "./matmul.ts";
import { convKernels } from "./conv.ts";
import { poolKernels } from "./pool.ts";
import { optimKernels } from "./optim.ts";
import { sortKernels } from "./sort.ts";
import { scanKernels } from "./scan.ts";
import { adaptiveMaxPoolKernels } from "./adaptive_max_pool.ts";
import { layerNormKernels } from "./layer_norm.ts";
import { crossEntropyKernels } from "./cross_entropy.ts";
import { rnnCellKernels } from "./rnn_cell.ts";
import { attentionKernels } from "./attention.ts";

export { Gpu } from "./device.ts";
export type { GpuBuffer, GpuOptions, MemoryStats } from "./device.ts";

/** Options of {@linkcode webgpu}. */
export interface WebGpuOptions {
  /** Adapter preference passed to `navigator.gpu.requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /** Limits requested on top of the adapter's storage-binding and buffer-size maxima. */
  requiredLimits?: Record<string, number>;
  /** Ask for the fallback (software) adapter. */
  forceFallbackAdapter?: boolean;
  /**
   * Request `shader-f16` where the adapter offers it, for float16 kernels (default true); false
   * makes float16 kernels decline as on an adapter without it.
   */
  f16?: boolean;
  /** Dispatches recorded before the shared command encoder is submitted (default 128). */
  batchSize?: number;
  /** Most bytes of freed device buffers kept for reuse (default 256 MiB). */
  maxPoolBytes?: number;
  /**
   * Wrap every kernel in error scopes so a device error names the exact op (slower). Defaults to
   * the `DENN_WEBGPU_DEBUG` environment variable being set, where env access is allowed.
   */
  debug?: boolean;
}

/** The webgpu plugin, with access to its device context once an adapter was found. */
export interface WebGpuPlugin extends Plugin {
  /** Allocator counters (all zero when no adapter was found). */
  memoryStats(): MemoryStats;
  /** Waits until all submitted GPU work has finished. */
  sync(): Promise<void>;
  /** Frees the allocator's cached buffers. */
  emptyCache(): void;
  /** The device context, or null when no adapter was found. */
  readonly gpu: Gpu | null;
  /** Why the backend is unavailable, or null when it is available. */
  readonly unavailableReason: string | null;
}

const ZERO: MemoryStats = {
  liveBytes: 0,
  liveBuffers: 0,
  pooledBytes: 0,
  pooledBuffers: 0,
  pendingBytes: 0,
  pipelines: 0,
  dispatches: 0,
  submits: 0,
};

function envDebug(): boolean {
  try {
    return !!Deno.env.get("DENN_WEBGPU_DEBUG");
  } catch {
    return false;
  }
}

/** The webgpu backend definition over a device context. */
export function webgpuBackend(gpu: Gpu): BackendDef<GpuBuffer, Gpu> {
  return {
    name: "webgpu",
    priority: 5,
    upload: (data: TypedArray, dtype: DType) => gpu.upload(data, dtype),
    download: (handle: GpuBuffer, dtype: DType, size: number) => gpu.download(handle, dtype, size),
    free: (handle: GpuBuffer) => gpu.free(handle),
    context: gpu,
    // float16 kernels decline on adapters without shader-f16, plugins' kernels included, and
    // allocation failures inside any kernel name its op and output.
    wrapKernel: (op, entry) => nameKernelAllocations(gpu, op, gateFloat16Kernel(gpu, entry)),
    kernels: {
      ...elementwiseKernels(gpu),
      ...reduceKernels(gpu),
      ...movementKernels(gpu),
      ...matmulKernels(gpu),
      ...convKernels(gpu),
      ...poolKernels(gpu),
      ...optimKernels(gpu),
      ...sortKernels(gpu),
      ...scanKernels(gpu),
      ...adaptiveMaxPoolKernels(gpu),
      ...layerNormKernels(gpu),
      ...crossEntropyKernels(gpu),
      ...rnnCellKernels(gpu),
      ...attentionKernels(gpu),
      ...fusedKernels(gpu),
    },
  };
}

function plugin(
  backend: BackendDef<GpuBuffer, Gpu> | (() => string),
  gpu: Gpu | null,
  reason: string | null,
): WebGpuPlugin {
  const p = definePlugin({
    name: "@denn/webgpu",
    kind: "backend",
    version: "0.1.0",
    apiVersion: 1,
    description: "WGSL kernels over navigator.gpu",
    backend,
  });
  return Object.assign(p, {
    gpu,
    unavailableReason: reason,
    memoryStats: (): MemoryStats => gpu ? gpu.stats() : { ...ZERO },
    sync: (): Promise<void> => gpu ? gpu.sync() : Promise.resolve(),
    emptyCache: (): void => gpu?.emptyCache(),
  });
}

/**
 * Requests a WebGPU adapter and device and returns the `@denn/webgpu` backend plugin. Where no
 * adapter exists the plugin still loads, and `explain()` reports why the backend is unavailable.
 *
 * @example
 * ```ts ignore
 * import { explain, use } from "../../mod.ts";
 * import { webgpu } from "./mod.ts";
 * const gpu = use(await webgpu({ powerPreference: "high-performance" }));
 * console.log(explain().toString());
 * ```
 */
export async function webgpu(options: WebGpuOptions = {}): Promise<WebGpuPlugin> {
  const unavailable = (why: string) => plugin(() => why, null, why);
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    return unavailable("no adapter: navigator.gpu is not available in this runtime");
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await navigator.gpu.requestAdapter({
      powerPreference: options.powerPreference,
      forceFallbackAdapter: options.forceFallbackAdapter,
    });
  } catch (e) {
    return unavailable(`no adapter: requestAdapter failed: ${(e as Error).message}`);
  }
  if (!adapter) {
    return unavailable(
      "no adapter: navigator.gpu.requestAdapter() returned null (no Vulkan/Metal/DX12 driver; " +
        "on Linux install mesa-vulkan-drivers for the lavapipe software adapter)",
    );
  }
  let device: GPUDevice;
  try {
    const f16 = (options.f16 ?? true) && adapter.features.has("shader-f16");
    device = await adapter.requestDevice({
      requiredFeatures: f16 ? ["shader-f16"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        ...options.requiredLimits,
      },
    });
  } catch (e) {
    return unavailable(`no device: requestDevice failed: ${(e as Error).message}`);
  }
  const gpu = new Gpu(device, {
    batchSize: options.batchSize,
    maxPoolBytes: options.maxPoolBytes,
    debug: options.debug ?? envDebug(),
  });
  return plugin(webgpuBackend(gpu), gpu, null);
}
