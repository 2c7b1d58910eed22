/**
 * The WebGPU device context of the webgpu backend: a caching allocator of storage buffers by size
 * class, a pool of staging buffers for readback, a pipeline cache, and one shared command encoder
 * that every kernel records into and that is submitted in batches (on readback or every
 * {@linkcode GpuOptions.batchSize} dispatches). Errors the device reports asynchronously are kept
 * and thrown, naming the op, at the next dispatch or readback.
 *
 * Kernels that read index values validate them and record the first out-of-range value in a small
 * per-device error buffer ({@linkcode INDEX_ERROR_WGSL}, the protocol of
 * `plugins/device_errors.ts`); the next readback or {@linkcode Gpu.sync} copies that record back
 * with its data and throws the cpu backend's `IndexError`. Allocations beyond the device's buffer
 * limits, and buffers the device fails to create, throw `OutOfMemoryError` naming the op, the
 * tensor and the bytes.
 *
 * Storage layout: float32 as `f32`, int32 as `i32`, bool as one `i32` (0 or 1) per element, so
 * bool kernels share the int32 code; float16 (only on devices with `shader-f16`) as packed `f16`,
 * two bytes per element, buffers rounded up to whole 4-byte words.
 *
 * The WGSL pieces every kernel is built from (the parameter block, storage types, the error
 * record's binding) are in wgsl.ts; the checks and wrappers the backend applies to every kernel
 * (rank and binding limits, float16 gating, naming the op in allocation failures) in limits.ts.
 *
 * @module
 */

import { DeviceError, OutOfMemoryError, shapeStr, sizeOf } from "../../core/mod.ts";
import type { DennError, DType, TensorSpec, TypedArray } from "../../core/mod.ts";
import { ERROR_BYTES, ErrorSites } from "../device_errors.ts";
import type { IndexSite } from "../device_errors.ts";

/** Storage of one tensor on the webgpu backend (the backend's opaque handle). */
export interface GpuBuffer {
  /** The device buffer (usage STORAGE | COPY_SRC | COPY_DST). */
  readonly buffer: GPUBuffer;
  /** Size of the buffer in bytes (its size class, at least the tensor's byte size). */
  readonly bytes: number;
}

/** Counters of the webgpu allocator, see {@linkcode Gpu.stats}. */
export interface MemoryStats {
  /** Bytes of buffers held by live tensors. */
  liveBytes: number;
  /** Number of buffers held by live tensors. */
  liveBuffers: number;
  /** Bytes of free buffers kept for reuse. */
  pooledBytes: number;
  /** Number of free buffers kept for reuse. */
  pooledBuffers: number;
  /** Bytes freed while still referenced by unsubmitted commands (pooled at the next submit). */
  pendingBytes: number;
  /** Compute pipelines compiled so far. */
  pipelines: number;
  /** Kernel dispatches recorded so far. */
  dispatches: number;
  /** Command buffers submitted so far. */
  submits: number;
}

/** Options of the device context. */
export interface GpuOptions {
  /** Dispatches recorded before the shared encoder is submitted (default 128). */
  batchSize?: number;
  /** Wrap every kernel in error scopes so an error names the exact op (slower). */
  debug?: boolean;
  /** Use float16 kernels (default: whether the device has the `shader-f16` feature). */
  f16?: boolean;
  /** Most bytes of freed buffers kept for reuse; beyond it freed buffers are destroyed (default 256 MiB). */
  maxPoolBytes?: number;
}

/** Largest number of 32-bit parameters one dispatch takes (one 256-byte uniform slot). */
export const MAX_PARAMS = 64;

const SLOT = 256;

/** Rounds a byte count up to its allocator size class (powers of two, then quarter octaves). */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, bytes);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= 65536) return p;
  const q = p / 8;
  return Math.ceil(b / q) * q;
}

/** Bytes of one element of `dtype` in device memory (bool widens to 4). */
export function elemBytes(dtype: DType): number {
  return dtype === "float16" ? 2 : 4;
}

/** Bytes of `n` elements of `dtype`, rounded up to whole 4-byte words. */
export function bufferBytes(dtype: DType, n: number): number {
  return Math.ceil((n * elemBytes(dtype)) / 4) * 4;
}

/** The device context shared by all webgpu kernels. */
export class Gpu {
  /** The device. */
  readonly device: GPUDevice;
  /**
   * The largest storage buffer a tensor can have, in bytes: the smaller of the device's
   * `maxStorageBufferBindingSize` and `maxBufferSize`.
   */
  readonly maxBinding: number;
  /** The device error record (see {@linkcode INDEX_ERROR_WGSL}), bound at {@linkcode ERROR_BINDING}. */
  readonly errorBuffer: GPUBuffer;
  /** Whether float16 tensors are stored and computed as `f16` (the device has `shader-f16`). */
  readonly f16: boolean;
  #pool = new Map<number, GPUBuffer[]>();
  #pending: GpuBuffer[] = [];
  #staging = new Map<number, GPUBuffer[]>();
  #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #params: Int32Array;
  #paramBuf: GPUBuffer;
  #slots = 0;
  #batch: number;
  #debug: boolean;
  #lastOp = "(none)";
  #error: string | null = null;
  #lost: string | null = null;
  #live = 0;
  #liveCount = 0;
  #pooled = 0;
  #pooledCount = 0;
  #maxPool: number;
  #pendingBytes = 0;
  #dispatches = 0;
  #submits = 0;
  #maxBuffer: number;
  #sites = new ErrorSites();
  // Index-validating launches recorded, and how many of them a readback's error copy covers.
  #indexLaunches = 0;
  #indexChecked = 0;
  #errorStaging: GPUBuffer[] = [];
  #kernel: { op: string; outputs: readonly TensorSpec[] } | null = null;
  #oom: string | null = null;

  /** Wraps a device; installs the lost and uncaptured-error handlers. */
  constructor(device: GPUDevice, options: GpuOptions = {}) {
    this.device = device;
    this.#maxBuffer = device.limits.maxBufferSize;
    this.maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, this.#maxBuffer);
    this.f16 = device.features.has("shader-f16") && (options.f16 ?? true);
    this.#batch = Math.max(1, options.batchSize ?? 128);
    this.#debug = options.debug ?? false;
    this.#maxPool = options.maxPoolBytes ?? 256 * 1024 * 1024;
    this.#params = new Int32Array((this.#batch * SLOT) / 4);
    this.#paramBuf = device.createBuffer({
      size: this.#batch * SLOT,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.errorBuffer = device.createBuffer({
      size: ERROR_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.addEventListener("uncapturederror", (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.#error ??= `webgpu: device error after op "${this.#lastOp}": ${e.message}`;
    });
    device.lost.then((info) => {
      this.#lost =
        `webgpu: device lost after op "${this.#lastOp}" (${info.reason}): ${info.message}`;
    });
  }

  /** Throws an error the device reported earlier, naming the op being run now. */
  check(op: string): void {
    if (this.#lost) throw new DeviceError(`${this.#lost} (while running ${op})`);
    if (this.#oom) {
      const e = this.#oom;
      this.#oom = null;
      throw new OutOfMemoryError(`${e} (reported while running ${op})`);
    }
    if (this.#error) {
      const e = this.#error;
      this.#error = null;
      throw new DeviceError(`${e} (reported while running ${op})`);
    }
  }

  /**
   * Runs `fn`, a kernel of op `op` producing `outputs`, so that allocation failures inside it name
   * the op and the output tensor (see {@linkcode nameKernelAllocations}).
   */
  inKernel<T>(op: string, outputs: readonly TensorSpec[], fn: () => T): T {
    const prev = this.#kernel;
    this.#kernel = { op, outputs };
    try {
      return fn();
    } finally {
      this.#kernel = prev;
    }
  }

  // "op: ... a [2, 3] float32 tensor (24 bytes)": what an allocation was for, as far as known.
  #what(bytes: number, dtype?: DType, n?: number): [string, string] {
    const k = this.#kernel;
    const op = k?.op ?? "webgpu";
    if (dtype === undefined || n === undefined) return [op, `a ${bytes}-byte buffer`];
    const spec = k?.outputs.find((s) => s.dtype === dtype && sizeOf(s.shape) === n);
    const t = spec ? `a ${shapeStr(spec.shape)} ${dtype} tensor` : `${n} ${dtype} elements`;
    return [op, `${t} (${bytes} bytes)`];
  }

  /**
   * A buffer of at least `bytes` bytes from the pool, or a new one; `dtype` and `n` (its element
   * count) name the tensor in an {@linkcode OutOfMemoryError} when it cannot be made.
   */
  alloc(bytes: number, dtype?: DType, n?: number): GpuBuffer {
    if (!(bytes <= this.maxBinding)) {
      const [op, what] = this.#what(bytes, dtype, n);
      throw new OutOfMemoryError(
        `${op}: cannot allocate ${what} on webgpu: larger than the device's largest storage ` +
          `buffer (${this.maxBinding} bytes, the smaller of maxStorageBufferBindingSize and ` +
          `maxBufferSize)`,
      );
    }
    const size = fitClass(bytes, this.maxBinding);
    const free = this.#pool.get(size);
    let buffer = free?.pop();
    if (buffer) {
      this.#pooled -= size;
      this.#pooledCount--;
    } else {
      // createBuffer does not throw when the device is out of memory: it reports it later.
      this.device.pushErrorScope("out-of-memory");
      buffer = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      const [op, what] = this.#what(bytes, dtype, n);
      const held = this.#live;
      this.device.popErrorScope().then((err) => {
        if (!err) return;
        this.#oom ??= `${op}: webgpu could not allocate ${what}: the device is out of memory ` +
          `(${held} bytes held by live tensors): ${err.message}`;
      }, () => {}); // a lost device is reported by check()
    }
    this.#live += size;
    this.#liveCount++;
    return { buffer, bytes: size };
  }

  /** Returns a buffer to the pool (after the next submit if commands recorded may still use it). */
  free(h: GpuBuffer): void {
    this.#live -= h.bytes;
    this.#liveCount--;
    if (this.#encoder) {
      this.#pending.push(h);
      this.#pendingBytes += h.bytes;
    } else this.#toPool(h);
  }

  #toPool(h: GpuBuffer): void {
    // Tensors a training loop drops are freed when the garbage collector finds them, in bursts:
    // the pool is capped so a burst does not pin the high-water mark on the device forever.
    if (this.#pooled + h.bytes > this.#maxPool) {
      h.buffer.destroy();
      return;
    }
    let list = this.#pool.get(h.bytes);
    if (!list) this.#pool.set(h.bytes, list = []);
    list.push(h.buffer);
    this.#pooled += h.bytes;
    this.#pooledCount++;
  }

  /** Destroys every pooled buffer (live tensors are untouched). */
  emptyCache(): void {
    this.flush();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
    this.#pooled = 0;
    this.#pooledCount = 0;
  }

  /** Allocator and dispatch counters. */
  stats(): MemoryStats {
    return {
      liveBytes: this.#live,
      liveBuffers: this.#liveCount,
      pooledBytes: this.#pooled,
      pooledBuffers: this.#pooledCount,
      pendingBytes: this.#pendingBytes,
      pipelines: this.#pipelines.size,
      dispatches: this.#dispatches,
      submits: this.#submits,
    };
  }

  /** A buffer for `n` elements of `dtype` (see {@linkcode bufferBytes}). */
  allocFor(dtype: DType, n: number): GpuBuffer {
    return this.alloc(bufferBytes(dtype, n), dtype, n);
  }

  /** Copies host data into a new buffer (bool bytes are widened to i32; float16 stays 2 bytes). */
  upload(data: TypedArray, dtype: DType): GpuBuffer {
    this.check("upload");
    const h = this.#kernel
      ? this.allocFor(dtype, data.length)
      : this.inKernel("upload", [], () => this.allocFor(dtype, data.length));
    const bytes = bufferBytes(dtype, data.length);
    if (data.length) {
      let src: TypedArray = dtype === "bool" ? Int32Array.from(data as Uint8Array) : data;
      if (dtype === "float16" && (data.length & 1)) {
        // writeBuffer copies whole 4-byte words: pad an odd element count with one zero.
        const padded = new Float16Array(data.length + 1);
        padded.set(data as Float16Array);
        src = padded;
      }
      this.device.queue.writeBuffer(
        h.buffer,
        0,
        src.buffer as ArrayBuffer,
        src.byteOffset,
        bytes,
      );
    }
    return h;
  }

  /**
   * The id of an index-validating launch site, to pass to a kernel that calls `indexError` (see
   * {@linkcode INDEX_ERROR_WGSL}); also marks the error record for the next readback to check.
   */
  indexSite(site: IndexSite): number {
    this.#indexLaunches++;
    return this.#sites.index(site);
  }

  // Records a copy of the error record into `dst` at `offset` after the work recorded so far, and
  // clears the record in the same stream, so each error is seen by exactly one readback.
  #copyErrors(dst: GPUBuffer, offset: number): void {
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(this.errorBuffer, 0, dst, offset, ERROR_BYTES);
    this.#encoder.clearBuffer(this.errorBuffer);
    this.#indexChecked = this.#indexLaunches;
  }

  /** Copies the error record back now (with the work pending) and throws what it holds. */
  async #checkErrors(op: string): Promise<void> {
    const staging = this.#errorStaging.pop() ?? this.device.createBuffer({
      size: ERROR_BYTES,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#copyErrors(staging, 0);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.check(op);
      throw new DeviceError(
        `webgpu: ${op} failed after op "${this.#lastOp}": ${(e as Error).message}`,
      );
    }
    const words = new Uint32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    this.#errorStaging.push(staging);
    this.check(op);
    const err = this.#sites.decode(words, "webgpu");
    if (err) throw err;
  }

  /**
   * Reads `size` elements back to the host (submits pending work first). Throws the first
   * out-of-range index value a kernel recorded since the last readback, as an `IndexError`.
   */
  async download(h: GpuBuffer, dtype: DType, size: number): Promise<TypedArray> {
    this.check("readback");
    const dirty = this.#indexLaunches > this.#indexChecked;
    if (size === 0) {
      if (dirty) await this.#checkErrors("readback");
      return dtype === "float32"
        ? new Float32Array(0)
        : dtype === "float16"
        ? new Float16Array(0)
        : allocInt(dtype, 0);
    }
    const bytes = bufferBytes(dtype, size);
    // The error record rides in the same staging buffer, after the data: no extra mapping.
    const withErrors = dirty && bytes + ERROR_BYTES <= this.#maxBuffer;
    const total = withErrors ? bytes + ERROR_BYTES : bytes;
    const cls = fitClass(total, this.#maxBuffer);
    const staging = this.#staging.get(cls)?.pop() ?? this.device.createBuffer({
      size: cls,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(h.buffer, 0, staging, 0, bytes);
    if (withErrors) this.#copyErrors(staging, bytes);
    // (A readback too large to carry the record checks it separately, first.)
    else if (dirty) await this.#checkErrors("readback");
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, total);
    } catch (e) {
      this.check("readback");
      throw new DeviceError(
        `webgpu: readback failed after op "${this.#lastOp}": ${(e as Error).message}`,
      );
    }
    const mapped = staging.getMappedRange(0, total);
    const raw = mapped.slice(0, bytes);
    const words = withErrors ? new Uint32Array(mapped.slice(bytes, total)) : null;
    staging.unmap();
    let list = this.#staging.get(cls);
    if (!list) this.#staging.set(cls, list = []);
    list.push(staging);
    this.check("readback");
    const err: DennError | null = words && this.#sites.decode(words, "webgpu");
    if (err) throw err;
    if (dtype === "float32") return new Float32Array(raw);
    if (dtype === "float16") return new Float16Array(raw, 0, size);
    const ints = new Int32Array(raw);
    return dtype === "bool" ? Uint8Array.from(ints, (v) => (v !== 0 ? 1 : 0)) : ints;
  }

  /** A cached compute pipeline; `code` is called only on the first request for `key`. */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.#pipelines.get(key);
    if (p) return p;
    const device = this.device;
    const src = code();
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code: src, label: key });
    p = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
      label: key,
    });
    device.popErrorScope().then((err) => {
      if (err) this.#error ??= `webgpu: pipeline "${key}" failed to compile: ${err.message}`;
    });
    this.#pipelines.set(key, p);
    return p;
  }

  /**
   * Records one dispatch into the shared encoder. `buffers` bind in order (inputs, then outputs),
   * `params` (at most {@linkcode MAX_PARAMS} i32 values) bind after them as a uniform block.
   */
  dispatch(
    op: string,
    pipeline: GPUComputePipeline,
    buffers: readonly GPUBuffer[],
    params: readonly number[],
    grid: readonly [number, number, number],
  ): void {
    this.check(op);
    if (params.length > MAX_PARAMS) {
      throw new DeviceError(
        `webgpu: ${op}: ${params.length} kernel parameters exceed ${MAX_PARAMS}`,
      );
    }
    this.#lastOp = op;
    const slot = this.#slots++;
    this.#params.set(params, (slot * SLOT) / 4);
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({
      binding,
      resource: { buffer },
    }));
    entries.push({
      binding: buffers.length,
      resource: { buffer: this.#paramBuf, offset: slot * SLOT, size: SLOT },
    });
    const group = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    if (this.#debug) {
      this.device.pushErrorScope("validation");
      this.device.pushErrorScope("out-of-memory");
    }
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass ??= this.#encoder.beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, group);
    this.#pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.#dispatches++;
    if (this.#debug) {
      const report = (err: GPUError | null) => {
        if (err) this.#error ??= `webgpu: ${op}: ${err.message}`;
      };
      this.device.popErrorScope().then(report);
      this.device.popErrorScope().then(report);
    }
    if (this.#slots >= this.#batch) this.flush();
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  /** Submits the recorded commands and recycles buffers freed while they were recorded. */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    if (this.#slots) {
      this.device.queue.writeBuffer(
        this.#paramBuf,
        0,
        this.#params.buffer as ArrayBuffer,
        0,
        this.#slots * SLOT,
      );
    }
    this.device.queue.submit([this.#encoder.finish()]);
    this.#submits++;
    this.#encoder = null;
    this.#slots = 0;
    for (const h of this.#pending) this.#toPool(h);
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /**
   * Resolves when all submitted work has finished; throws the first out-of-range index value a
   * kernel recorded since the last readback, as an `IndexError`.
   */
  async sync(): Promise<void> {
    if (this.#indexLaunches > this.#indexChecked) return await this.#checkErrors("sync");
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check("sync");
  }
}

// The allocator size class of `bytes`, or the exact (4-byte rounded) size where the class would
// pass `limit`.
function fitClass(bytes: number, limit: number): number {
  const c = sizeClass(bytes);
  return c <= limit ? c : Math.ceil(bytes / 4) * 4;
}

function allocInt(dtype: DType, n: number): TypedArray {
  return dtype === "bool" ? new Uint8Array(n) : new Int32Array(n);
}
