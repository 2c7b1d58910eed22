/**
 * The cuda backend: Deno FFI to the CUDA driver API (primary context, one stream, a caching
 * allocator), NVRTC (kernels compiled at run time for the device's own architecture and cached in
 * memory and on disk), cuBLAS (matmul) and cuDNN 9 (convolutions; an im2col + cuBLAS path where
 * cuDNN is absent). Training steps can be captured into CUDA graphs (`captureStep`). Tensors on
 * `"cuda"` read back synchronously too (`t.dataSync()`), since `cuMemcpyDtoH` waits for the
 * stream.
 *
 * Importing this module registers nothing: call `use(cuda())`. Where the driver, NVRTC or a
 * device is missing, or `--allow-ffi` is not granted, the plugin registers no backend and
 * `explain()` says why; routes naming `"cuda"` then report that reason. Libraries are found by the
 * system loader, then in CUDA toolkit, system and NVIDIA Python-wheel folders; the env vars
 * `DENN_LIBCUDA`, `DENN_NVRTC`, `DENN_CUBLAS`, `DENN_CUDNN` (or the options) name them explicitly. Compiled
 * kernels are cached under `DENN_CUDA_CACHE`, `$XDG_CACHE_HOME/denn/cuda` or `~/.cache/denn/cuda`.
 *
 * @example
 * ```ts ignore
 * import { explain, randn, use } from "@denn/denn";
 * import { cuda } from "@denn/denn/plugins/cuda";
 * use(cuda());
 * const why = explain().unavailable["cuda"];
 * if (why) console.log(`no cuda: ${why}`);
 * else {
 *   const a = randn([256, 256]).to("cuda");
 *   console.log(a.matmul(a).sum().item());
 * }
 * ```
 *
 * @module
 */

import { definePlugin } from "../../core/mod.ts";
import type { BackendDef, DType, Plugin, TypedArray } from "../../core/mod.ts";
import { cudaKernels } from "./kernels/mod.ts";
import { takeIndexError } from "./kernels/kit.ts";
import type { CudaBuffer } from "./types.ts";
import { checkCudaOptions, openCuda } from "./runtime/open.ts";
import type { CudaContext } from "./runtime/context.ts";
import type { CudaOptions } from "./runtime/open.ts";
import type { CudaMemoryStats } from "./runtime/allocator.ts";

export { CudaContext } from "./runtime/context.ts";
export { MIN_DRIVER_VERSION, openCuda } from "./runtime/open.ts";
export type { CudaOptions } from "./runtime/open.ts";
export type { CudaMemoryStats } from "./runtime/allocator.ts";
export type { ModuleCacheStats } from "./runtime/module_cache.ts";
export type { Cublas, SgemmArgs } from "./runtime/cublas.ts";
export type {
  AlgoPerf,
  ConvDescriptors,
  ConvDescriptorSpec,
  ConvDirection,
  ConvPointers,
  CudnnApi,
} from "./runtime/cudnn_api.ts";
export type { Cudnn } from "./runtime/cudnn_handle.ts";
export { captureStep, GraphCaptureError } from "./graphs.ts";
export type { CapturedStep, CaptureOptions, CapturePins, GraphHost } from "./graphs.ts";
export { convPathStats, setConvPath } from "./kernels/conv.ts";
export type { ConvPath, CudnnConvOptions } from "./kernels/conv.ts";
export type {
  CublasApi,
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "./types.ts";

let opened: CudaContext | null = null;

/** The context of the registered cuda backend, or null before `use(cuda())` succeeds. */
export function cudaContext(): CudaContext | null {
  return opened;
}

const ZERO: CudaMemoryStats = {
  liveBytes: 0,
  liveBuffers: 0,
  pooledBytes: 0,
  pooledBuffers: 0,
  peakBytes: 0,
  deviceAllocs: 0,
  cacheHits: 0,
};

/** Allocator counters of the registered cuda backend (all zero where it is not registered). */
export function memoryStats(): CudaMemoryStats {
  return opened ? opened.memoryStats() : { ...ZERO };
}

/** Returns the cuda allocator's cached blocks to the driver (nothing where it is not registered). */
export function emptyCache(): void {
  opened?.emptyCache();
}

/** The cuda backend definition over an opened context. */
export function cudaBackendDef(ctx: CudaContext): BackendDef<CudaBuffer, CudaContext> {
  const readBack = (handle: CudaBuffer, size: number): TypedArray => {
    const data = ctx.read(handle, size) as TypedArray;
    // A kernel that found an out-of-range index value recorded it; the data is not usable.
    const err = takeIndexError(ctx);
    if (err) throw err;
    return data;
  };
  return {
    name: "cuda",
    priority: 4,
    upload: (data: TypedArray, dtype: DType) => {
      const b = ctx.alloc(data.length, dtype);
      try {
        ctx.write(b, data);
      } catch (e) {
        ctx.free(b);
        throw e;
      }
      return b;
    },
    download: (handle: CudaBuffer, _dtype: DType, size: number) =>
      Promise.resolve().then(() => readBack(handle, size)),
    downloadSync: (handle: CudaBuffer, _dtype: DType, size: number) => readBack(handle, size),
    free: (handle: CudaBuffer) => ctx.free(handle),
    handleSize: (handle: CudaBuffer) => handle.elements,
    context: ctx,
    kernels: cudaKernels(),
  };
}

/**
 * Opens the CUDA libraries and returns the cuda backend definition, or the reason it is
 * unavailable.
 *
 * @example
 * ```ts ignore
 * import { cudaBackend } from "./mod.ts";
 * const def = cudaBackend({ libcuda: "/nonexistent/libcuda.so.1" });
 * console.log(typeof def === "string" ? def : def.name); // the reason, naming the path
 * ```
 */
export function cudaBackend(
  options: CudaOptions = {},
): BackendDef<CudaBuffer, CudaContext> | string {
  if (opened) return cudaBackendDef(opened);
  const ctx = openCuda(options);
  if (typeof ctx === "string") return ctx;
  opened = ctx;
  return cudaBackendDef(ctx);
}

const plugins = new Map<string, Plugin>();

/**
 * The cuda backend plugin; register it with `use(cuda())`. Calls with the same options return the
 * same plugin. Options are checked here (a bad one is a `ValueError`); libraries are opened when
 * the plugin is used.
 *
 * @example
 * ```ts ignore
 * import { use } from "@denn/denn";
 * import { cuda } from "@denn/denn/plugins/cuda";
 * use(cuda({ device: 0, cacheDir: null }));
 * ```
 */
export function cuda(options: CudaOptions = {}): Plugin {
  checkCudaOptions(options);
  const key = JSON.stringify([
    options.device ?? null,
    options.libcuda ?? null,
    options.nvrtc ?? null,
    options.cublas ?? null,
    options.cudnn ?? null,
    options.cacheDir === undefined ? "default" : options.cacheDir,
    options.maxPooledBytes ?? null,
  ]);
  let p = plugins.get(key);
  if (!p) {
    p = definePlugin({
      name: "@denn/cuda",
      kind: "backend",
      version: "0.1.0",
      apiVersion: 1,
      description: "CUDA driver API, NVRTC and cuBLAS through Deno FFI",
      backend: () => cudaBackend(options),
    });
    plugins.set(key, p);
  }
  return p;
}

/** The cuda plugin with default options, for `loadPlugin("…/plugins/cuda/mod.ts")`. */
const plugin: Plugin = cuda();
export default plugin;
