/**
 * The cuda backend's device context, {@linkcode CudaContext}: the device's primary context (the
 * one cuBLAS and cuDNN share) made current on the calling thread, one stream every launch and
 * copy is ordered on, the caching allocator, NVRTC with the module cache, argument packing for
 * `cuLaunchKernel`, and cuBLAS where it loads. `openCuda` (open.ts) opens the libraries and
 * returns the context, or the reason the backend is unavailable.
 *
 * The stream is a blocking stream (`CU_STREAM_DEFAULT`), so the synchronous copies
 * (`cuMemcpyHtoD`, `cuMemcpyDtoH`, on the legacy default stream) wait for the kernels queued on
 * it: `write` never overwrites a block a pending kernel still reads, and `read` sees every
 * kernel queued before it.
 *
 * CUDA graphs (graphs.ts) capture the stream: between `beginCapture` and `endCapture` the context
 * refuses what a graph cannot hold (readbacks, host uploads of varying data, synchronisation,
 * NVRTC compiles) with a {@linkcode GraphCaptureError}, turns uploads of constant data into
 * memset nodes, and pins memory: every block live when capture begins or allocated during it
 * stays out of the allocator's reuse until the graph is destroyed (a freed pinned block is parked,
 * then returned by `unpin`), since the graph replays its launches on those addresses. The error,
 * the pins type and the memset pattern of a constant upload live in capture.ts.
 *
 * @module
 */

import { allocHost, DeviceError, itemSize, ValueError } from "../../../core/mod.ts";
import type { DType } from "../../../core/mod.ts";
import type { Cuda, CudaBuffer, CudaFunction, KernelArg, LaunchConfig } from "../types.ts";
import { CachingAllocator } from "./allocator.ts";
import type { CudaMemoryStats } from "./allocator.ts";
import { GraphCaptureError, uniformPattern } from "./capture.ts";
import type { CapturePins } from "./capture.ts";
import type { Cublas } from "./cublas.ts";
import type { Cudnn } from "./cudnn_handle.ts";
import {
  CU_STREAM_CAPTURE_MODE_RELAXED,
  CUDA_ERROR_OUT_OF_MEMORY,
  CUDA_SUCCESS,
} from "./driver.ts";
import type { Driver } from "./driver.ts";
import { ArgPacker, launchDims, MAX_ARGS } from "./launch.ts";
import { ModuleCache } from "./module_cache.ts";
import type { ModuleCacheStats } from "./module_cache.ts";
import { cstring } from "./nvrtc.ts";
import type { Nvrtc } from "./nvrtc.ts";
import type { CudaOptions } from "./open.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What {@linkcode CudaContext} is built from (see `openCuda` in open.ts). */
export interface CudaParts {
  driver: Driver;
  nvrtc: Nvrtc;
  device: number;
  deviceName: string;
  capability: [number, number];
  driverVersion: number;
  context: bigint;
  stream: bigint;
  cublas: Cublas | string;
  /** cuDNN, or why it is unavailable (absent: not looked for). */
  cudnn?: Cudnn | string;
  options: CudaOptions;
}

/** The device context every cuda kernel receives; implements {@linkcode Cuda}. */
export class CudaContext implements Cuda {
  /** NVRTC architecture flag of the device, e.g. "sm_90". */
  readonly arch: string;
  /** Device name, e.g. "NVIDIA H100 80GB HBM3". */
  readonly deviceName: string;
  /** Device ordinal. */
  readonly device: number;
  /** Compute capability [major, minor]. */
  readonly capability: readonly [number, number];
  /** `cuDriverGetVersion` (e.g. 13000). */
  readonly driverVersion: number;
  /** NVRTC version code (e.g. 13000). */
  readonly nvrtcVersion: number;
  /** Where each library was loaded from. */
  readonly paths: {
    readonly libcuda: string;
    readonly nvrtc: string;
    readonly cublas: string | null;
    readonly cudnn: string | null;
  };
  /** cuBLAS, or null where it did not load. */
  readonly blas: Cublas | null;
  /** Why cuBLAS is unavailable, or null. */
  readonly blasUnavailable: string | null;
  /** cuDNN (the conv kernels' fast path), or null where it did not load. */
  readonly dnn: Cudnn | null;
  /** Why cuDNN is unavailable, or null. */
  readonly dnnUnavailable: string | null;
  #d: Driver;
  #nvrtc: Nvrtc;
  #ctx: bigint;
  #stream: bigint;
  #alloc: CachingAllocator;
  #modules: ModuleCache;
  #functions = new Map<string, Map<string, CudaFunction>>();
  #paramSizes = new Map<bigint, number[] | null>();
  #packer = new ArgPacker();
  #launches = 0;
  #closed = false;
  // Graph capture: the pins of the capture in progress, live buffers by pointer, how many graphs
  // pin each block, and pinned blocks freed meanwhile (kept from the allocator until unpinned).
  #capture: Set<bigint> | null = null;
  #live = new Map<bigint, CudaBuffer>();
  #pinCount = new Map<bigint, number>();
  #parked = new Map<bigint, CudaBuffer>();

  /** Use `openCuda` (open.ts). */
  constructor(p: CudaParts) {
    this.#d = p.driver;
    this.#nvrtc = p.nvrtc;
    this.#ctx = p.context;
    this.#stream = p.stream;
    this.device = p.device;
    this.deviceName = p.deviceName;
    this.capability = p.capability;
    this.arch = `sm_${p.capability[0]}${p.capability[1]}`;
    this.driverVersion = p.driverVersion;
    this.nvrtcVersion = p.nvrtc.version;
    this.blas = typeof p.cublas === "string" ? null : p.cublas;
    this.blasUnavailable = typeof p.cublas === "string" ? p.cublas : null;
    this.dnn = p.cudnn === undefined || typeof p.cudnn === "string" ? null : p.cudnn;
    this.dnnUnavailable = p.cudnn === undefined
      ? "cuDNN was not looked for"
      : typeof p.cudnn === "string"
      ? p.cudnn
      : null;
    this.paths = {
      libcuda: p.driver.path,
      nvrtc: p.nvrtc.path,
      cublas: this.blas?.path ?? null,
      cudnn: this.dnn?.path ?? null,
    };
    const d = this.#d, s = d.sym, stream = this.#stream;
    this.#alloc = new CachingAllocator({
      alloc: (bytes) => {
        const rc = s.cuMemAlloc_v2(d.out64, BigInt(bytes));
        if (rc === CUDA_ERROR_OUT_OF_MEMORY) return "oom";
        d.check("cuMemAlloc_v2", rc, `${bytes} bytes`);
        return d.out64[0];
      },
      free: (ptr) => d.check("cuMemFree_v2", s.cuMemFree_v2(ptr)),
      sync: () => d.check("cuStreamSynchronize", s.cuStreamSynchronize(stream)),
      info: () => {
        const free = new BigUint64Array(1), total = new BigUint64Array(1);
        if (s.cuMemGetInfo_v2(free, total) !== CUDA_SUCCESS) return null;
        return { free: Number(free[0]), total: Number(total[0]) };
      },
    }, { maxPooledBytes: p.options.maxPooledBytes });
    this.#modules = new ModuleCache(
      {
        compile: (source, label) => this.#nvrtc.compile(source, this.arch, label).cubin,
        load: (image) => {
          d.check("cuModuleLoadData", s.cuModuleLoadData(d.out64, image));
          return d.out64[0];
        },
        unload: (m) => d.check("cuModuleUnload", s.cuModuleUnload(m)),
      },
      this.arch,
      this.nvrtcVersion,
      [],
      p.options.cacheDir,
    );
  }

  #open(): void {
    if (this.#closed) throw new DeviceError("cuda: the context was closed");
  }

  #refuseInCapture(what: string): void {
    if (!this.#capture) return;
    throw new GraphCaptureError(
      `cuda: ${what} inside a captured step: a CUDA graph cannot hold it (the capture is ` +
        `abandoned); do it before captureStep or between replays`,
    );
  }

  #own(buffer: CudaBuffer, op: string): void {
    this.#open();
    if (!this.#alloc.owns(buffer) || this.#parked.get(buffer.ptr) === buffer) {
      throw new ValueError(
        `cuda ${op}: the buffer is not a live buffer of this device (freed, or not a CudaBuffer)`,
      );
    }
  }

  /** A buffer for `elements` values of `dtype`, see {@linkcode Cuda.alloc}. */
  alloc(elements: number, dtype: DType): CudaBuffer {
    this.#open();
    const b = this.#alloc.alloc(elements, dtype);
    this.#live.set(b.ptr, b);
    if (this.#capture) this.#pin(this.#capture, b.ptr);
    return b;
  }

  /**
   * Returns a buffer to the cache, see {@linkcode Cuda.free}. A block a captured graph pins is
   * parked instead, and returned when the graph is destroyed.
   */
  free(buffer: CudaBuffer): void {
    this.#open();
    if (this.#parked.get(buffer?.ptr) === buffer) {
      throw new ValueError(
        `cuda free: the buffer at 0x${buffer.ptr.toString(16)} was already freed (it is held ` +
          `for a captured graph)`,
      );
    }
    if (this.#pinCount.has(buffer?.ptr) && this.#alloc.owns(buffer)) {
      this.#live.delete(buffer.ptr);
      this.#parked.set(buffer.ptr, buffer);
      return;
    }
    this.#alloc.free(buffer);
    this.#live.delete(buffer.ptr);
  }

  #pin(pins: Set<bigint>, ptr: bigint): void {
    if (pins.has(ptr)) return;
    pins.add(ptr);
    this.#pinCount.set(ptr, (this.#pinCount.get(ptr) ?? 0) + 1);
  }

  /** Whether a stream capture is in progress. */
  get capturing(): boolean {
    return this.#capture !== null;
  }

  /** Blocks pinned by graphs, and how many of them were freed and are parked. */
  pinStats(): { pinned: number; parked: number } {
    return { pinned: this.#pinCount.size, parked: this.#parked.size };
  }

  /**
   * Starts capturing the stream (`cuStreamBeginCapture_v2`, relaxed mode, so the allocator may
   * still call `cuMemAlloc`) and pins every live block and every block allocated until
   * {@linkcode CudaContext.endCapture}. Waits for the stream first.
   */
  beginCapture(): CapturePins {
    this.#open();
    if (this.#capture) {
      throw new GraphCaptureError("cuda: a capture is already in progress (captures do not nest)");
    }
    this.sync();
    const pins = new Set<bigint>();
    for (const ptr of this.#live.keys()) this.#pin(pins, ptr);
    const d = this.#d;
    const rc = d.sym.cuStreamBeginCapture_v2(this.#stream, CU_STREAM_CAPTURE_MODE_RELAXED);
    if (rc !== CUDA_SUCCESS) {
      this.unpin({ ptrs: pins });
      throw d.error("cuStreamBeginCapture_v2", rc);
    }
    this.#capture = pins;
    return { ptrs: pins };
  }

  /**
   * Ends the capture (`cuStreamEndCapture`) and returns the CUgraph; the pins stay until
   * {@linkcode CudaContext.unpin}. A capture that failed (an illegal call invalidated it) is a
   * `DeviceError` naming the driver's reason.
   */
  endCapture(): bigint {
    this.#open();
    if (!this.#capture) throw new GraphCaptureError("cuda: endCapture without a capture");
    this.#capture = null;
    const d = this.#d;
    d.check("cuStreamEndCapture", d.sym.cuStreamEndCapture(this.#stream, d.out64));
    return d.out64[0];
  }

  /** An executable graph of `graph` (`cuGraphInstantiateWithFlags`). */
  instantiateGraph(graph: bigint): bigint {
    this.#open();
    const d = this.#d;
    d.check("cuGraphInstantiateWithFlags", d.sym.cuGraphInstantiateWithFlags(d.out64, graph, 0n));
    return d.out64[0];
  }

  /** Launches an executable graph on the stream (`cuGraphLaunch`; asynchronous). */
  launchGraph(exec: bigint): void {
    this.#open();
    this.#refuseInCapture("a graph replay");
    this.#d.check("cuGraphLaunch", this.#d.sym.cuGraphLaunch(exec, this.#stream));
  }

  /** Destroys an executable graph and its graph (`cuGraphExecDestroy`, `cuGraphDestroy`). */
  destroyGraph(graph: bigint, exec: bigint | null): void {
    if (this.#closed) return;
    const d = this.#d;
    if (exec !== null) d.check("cuGraphExecDestroy", d.sym.cuGraphExecDestroy(exec));
    if (graph !== 0n) d.check("cuGraphDestroy", d.sym.cuGraphDestroy(graph));
  }

  /** Releases a graph's pins: parked blocks no other graph pins go back to the allocator. */
  unpin(pins: CapturePins): void {
    for (const ptr of pins.ptrs) {
      const n = (this.#pinCount.get(ptr) ?? 1) - 1;
      if (n > 0) {
        this.#pinCount.set(ptr, n);
        continue;
      }
      this.#pinCount.delete(ptr);
      const b = this.#parked.get(ptr);
      if (b && !this.#closed) {
        this.#parked.delete(ptr);
        this.#alloc.free(b);
      }
    }
  }

  /** Fills a buffer's bytes with zero on the stream. */
  zero(buffer: CudaBuffer): void {
    this.#own(buffer, "zero");
    this.#d.check(
      "cuMemsetD8Async",
      this.#d.sym.cuMemsetD8Async(buffer.ptr, 0, BigInt(buffer.bytes), this.#stream),
    );
  }

  /** Copies `elements` values from `src` to `dst` on the stream (device to device). */
  copy(dst: CudaBuffer, src: CudaBuffer, elements: number = src.elements): void {
    this.#own(dst, "copy");
    this.#own(src, "copy");
    const bytes = elements * itemSize(src.dtype);
    if (!Number.isSafeInteger(elements) || elements < 0 || bytes > src.bytes || bytes > dst.bytes) {
      throw new ValueError(
        `cuda copy: ${elements} ${src.dtype} elements (${bytes} bytes) do not fit the buffers ` +
          `(${src.bytes} and ${dst.bytes} bytes)`,
      );
    }
    if (bytes === 0) return;
    this.#d.check(
      "cuMemcpyDtoDAsync_v2",
      this.#d.sym.cuMemcpyDtoDAsync_v2(dst.ptr, src.ptr, BigInt(bytes), this.#stream),
    );
  }

  /** Copies host data into a buffer, see {@linkcode Cuda.write}. */
  write(buffer: CudaBuffer, data: ArrayBufferView): void {
    this.#own(buffer, "write");
    if (!ArrayBuffer.isView(data)) {
      throw new ValueError(`cuda write: data must be a typed array or DataView`);
    }
    if (data.byteLength > buffer.bytes) {
      throw new ValueError(
        `cuda write: ${data.byteLength} bytes do not fit a ${buffer.bytes}-byte buffer`,
      );
    }
    if (data.byteLength === 0) return;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.#capture) {
      // A graph replays a memset node; varying data would need a host copy it cannot hold.
      const pattern = uniformPattern(bytes, itemSize(buffer.dtype));
      if (pattern === null) {
        this.#refuseInCapture(
          `an upload of ${data.byteLength} bytes of varying host data (only constant fills, ` +
            `such as backward()'s ones, can be captured)`,
        );
      }
      const words = Math.ceil(data.byteLength / 4);
      this.#d.check(
        "cuMemsetD32Async",
        this.#d.sym.cuMemsetD32Async(buffer.ptr, pattern!, BigInt(words), this.#stream),
      );
      return;
    }
    this.#d.check(
      "cuMemcpyHtoD_v2",
      this.#d.sym.cuMemcpyHtoD_v2(buffer.ptr, bytes, BigInt(data.byteLength)),
    );
  }

  /** Copies the first `elements` values back (waits for the stream), see {@linkcode Cuda.read}. */
  read(buffer: CudaBuffer, elements: number): ArrayBufferView {
    this.#own(buffer, "read");
    this.#refuseInCapture(
      `a readback of ${elements} ${buffer.dtype} elements (dataSync, item, toArray, a move to ` +
        `another device)`,
    );
    const size = itemSize(buffer.dtype);
    if (!Number.isSafeInteger(elements) || elements < 0 || elements * size > buffer.bytes) {
      throw new ValueError(
        `cuda read: ${elements} ${buffer.dtype} elements do not fit a ${buffer.bytes}-byte buffer`,
      );
    }
    const out = allocHost(buffer.dtype, elements);
    if (elements === 0) return out;
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.#d.check(
      "cuMemcpyDtoH_v2",
      this.#d.sym.cuMemcpyDtoH_v2(bytes, buffer.ptr, BigInt(bytes.length)),
    );
    return out;
  }

  /** The kernel `name` of `source`, compiled once (see {@linkcode Cuda.kernel}). */
  kernel(source: string, name: string): CudaFunction {
    this.#open();
    let byName = this.#functions.get(source);
    const hit = byName?.get(name);
    if (hit) return hit;
    this.#refuseInCapture(
      `compiling kernel "${name}" (NVRTC compiles must happen in the warm-up run before capture)`,
    );
    if (typeof source !== "string" || source.trim() === "") {
      throw new ValueError(
        `cuda kernel: source must be CUDA C text, got ${JSON.stringify(source)}`,
      );
    }
    if (typeof name !== "string" || !IDENT.test(name)) {
      throw new ValueError(`cuda kernel: name must be a C identifier, got ${JSON.stringify(name)}`);
    }
    const module = this.#modules.module(source, name);
    const d = this.#d;
    const rc = d.sym.cuModuleGetFunction(d.out64, module, cstring(name));
    if (rc !== CUDA_SUCCESS) {
      throw d.error(
        "cuModuleGetFunction",
        rc,
        `kernel "${name}"; it must be declared extern "C" __global__ in its source`,
      );
    }
    const fn: CudaFunction = Object.freeze({ name, handle: d.out64[0] });
    this.#paramSizes.set(fn.handle, this.#params(fn.handle));
    if (!byName) this.#functions.set(source, byName = new Map());
    byName.set(name, fn);
    return fn;
  }

  // The kernel's parameter sizes (CUDA 12.4+ drivers), or null where the driver cannot tell.
  #params(handle: bigint): number[] | null {
    const info = this.#d.sym.cuFuncGetParamInfo;
    if (!info) return null;
    const off = new BigUint64Array(1), size = new BigUint64Array(1);
    const sizes: number[] = [];
    for (let i = 0; i <= MAX_ARGS; i++) {
      if (info(handle, BigInt(i), off, size) !== CUDA_SUCCESS) break;
      sizes.push(Number(size[0]));
    }
    return sizes;
  }

  /** Launches a kernel on the stream, see {@linkcode Cuda.launch}. */
  launch(fn: CudaFunction, config: LaunchConfig, args: readonly KernelArg[]): void {
    this.#open();
    if (!fn || typeof fn.handle !== "bigint" || !this.#paramSizes.has(fn.handle)) {
      throw new ValueError(`cuda launch: not a kernel from this context's kernel()`);
    }
    const dims = launchDims(fn, config);
    this.#packer.pack(fn, args, this.#paramSizes.get(fn.handle) ?? null);
    if (!dims) return;
    const { grid, block, shared } = dims;
    const d = this.#d;
    const rc = d.sym.cuLaunchKernel(
      fn.handle,
      grid[0],
      grid[1],
      grid[2],
      block[0],
      block[1],
      block[2],
      shared,
      this.#stream,
      this.#packer.params,
      null,
    );
    const what = `kernel "${fn.name}" grid [${grid}] block [${block}] shared ${shared}`;
    if (rc !== CUDA_SUCCESS) throw d.error("cuLaunchKernel", rc, what);
    d.lastLaunch = what;
    this.#launches++;
  }

  /** Waits until every launch and copy queued on the stream has finished. */
  sync(): void {
    this.#open();
    this.#refuseInCapture("a stream synchronisation");
    this.#d.check("cuStreamSynchronize", this.#d.sym.cuStreamSynchronize(this.#stream));
  }

  /**
   * Milliseconds of GPU time `fn`'s launches take, measured with events on the stream (waits
   * for them).
   */
  elapsed(fn: () => void): number {
    this.#open();
    this.#refuseInCapture("event timing (elapsed)");
    const d = this.#d, s = d.sym;
    const ev = (): bigint => {
      d.check("cuEventCreate", s.cuEventCreate(d.out64, 0));
      return d.out64[0];
    };
    const start = ev(), end = ev();
    try {
      d.check("cuEventRecord", s.cuEventRecord(start, this.#stream));
      fn();
      d.check("cuEventRecord", s.cuEventRecord(end, this.#stream));
      d.check("cuEventSynchronize", s.cuEventSynchronize(end));
      const elapsedTime = s.cuEventElapsedTime_v2 ?? s.cuEventElapsedTimeLegacy;
      if (!elapsedTime) throw new DeviceError("cuda: the driver exports no cuEventElapsedTime");
      d.check("cuEventElapsedTime", elapsedTime(d.outF32, start, end));
      return d.outF32[0];
    } finally {
      s.cuEventDestroy_v2(start);
      s.cuEventDestroy_v2(end);
    }
  }

  /** Allocator counters. */
  memoryStats(): CudaMemoryStats {
    return this.#alloc.stats();
  }

  /** Module cache counters. */
  moduleStats(): ModuleCacheStats {
    return this.#modules.stats();
  }

  /** Kernel launches so far. */
  get launches(): number {
    return this.#launches;
  }

  /** The device's free and total memory in bytes. */
  memoryInfo(): { free: number; total: number } {
    this.#open();
    const free = new BigUint64Array(1), total = new BigUint64Array(1);
    this.#d.check("cuMemGetInfo_v2", this.#d.sym.cuMemGetInfo_v2(free, total));
    return { free: Number(free[0]), total: Number(total[0]) };
  }

  /** Returns the allocator's cached blocks to the driver. */
  emptyCache(): void {
    this.#open();
    this.#refuseInCapture("emptyCache");
    this.#alloc.emptyCache();
  }

  /**
   * Waits for the stream, frees every buffer (live ones too), unloads the modules, destroys the
   * stream and cuBLAS handle and releases the primary context. No call may follow.
   */
  close(): void {
    if (this.#closed) return;
    this.#refuseInCapture("closing the context");
    const d = this.#d, s = d.sym;
    try {
      s.cuStreamSynchronize(this.#stream);
      this.#alloc.releaseAll();
      this.#live.clear();
      this.#parked.clear();
      this.#pinCount.clear();
      this.#modules.clear();
      this.blas?.close();
      this.dnn?.close();
      s.cuStreamDestroy_v2(this.#stream);
      s.cuDevicePrimaryCtxRelease_v2(this.device);
    } finally {
      this.#closed = true;
      this.#nvrtc.close();
      d.close();
    }
    void this.#ctx;
  }
}
