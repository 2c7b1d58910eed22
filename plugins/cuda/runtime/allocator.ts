/**
 * The caching allocator of the cuda backend: device blocks are rounded up to size classes and,
 * when freed, kept for reuse instead of returned to the driver (`cuMemFree` synchronises the
 * device; `cuMemAlloc` costs microseconds). Reuse is safe without events because all work runs in
 * order on the context's one stream: a kernel launched after the reuse runs after every kernel
 * that used the block before it was freed.
 *
 * When the driver reports out of memory, the cache is released to the driver and the allocation
 * retried once; a second failure throws `OutOfMemoryError` with the bytes requested, the bytes
 * cached that were released and the device's free and total memory.
 *
 * The driver calls are passed in ({@linkcode RawMemory}), so the allocator's bookkeeping is tested
 * without a GPU.
 *
 * @module
 */

import { DTypeError, isDType, itemSize, OutOfMemoryError, ValueError } from "../../../core/mod.ts";
import type { DType } from "../../../core/mod.ts";
import type { CudaBuffer } from "../types.ts";

/** The device memory calls the allocator makes. */
export interface RawMemory {
  /** A new device block of exactly `bytes`, or `"oom"` when the device is out of memory. */
  alloc(bytes: number): bigint | "oom";
  /** Returns a block to the driver. */
  free(ptr: bigint): void;
  /** Waits until the stream is idle (before blocks go back to the driver). */
  sync(): void;
  /** The device's free and total bytes, or null where it cannot tell. */
  info(): { free: number; total: number } | null;
}

/** Counters of the cuda allocator (the webgpu allocator's names where they mean the same). */
export interface CudaMemoryStats {
  /** Bytes of blocks held by live buffers (size classes). */
  liveBytes: number;
  /** Number of live buffers. */
  liveBuffers: number;
  /** Bytes of freed blocks kept for reuse. */
  pooledBytes: number;
  /** Number of freed blocks kept for reuse. */
  pooledBuffers: number;
  /** Highest `liveBytes` so far. */
  peakBytes: number;
  /** Blocks obtained from the driver (`cuMemAlloc`) so far. */
  deviceAllocs: number;
  /** Allocations served from the cache so far. */
  cacheHits: number;
}

/** Smallest block: `cuMemAlloc` aligns to 256 bytes anyway. */
export const MIN_BLOCK = 256;

/**
 * Rounds a byte count up to its size class: powers of two up to 1 MiB, then multiples of an
 * eighth of the next power of two (at most 12.5% waste).
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(MIN_BLOCK, bytes);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= 1 << 20) return p;
  const q = p / 8;
  return Math.ceil(b / q) * q;
}

/** Options of {@linkcode CachingAllocator}. */
export interface AllocatorOptions {
  /** Most bytes of freed blocks kept; beyond it freed blocks go back to the driver (default: no cap). */
  maxPooledBytes?: number;
}

/** The caching allocator over one device's memory. */
export class CachingAllocator {
  #raw: RawMemory;
  #pool = new Map<number, bigint[]>();
  #live = new Map<bigint, CudaBuffer>();
  #maxPooled: number;
  #s: CudaMemoryStats = {
    liveBytes: 0,
    liveBuffers: 0,
    pooledBytes: 0,
    pooledBuffers: 0,
    peakBytes: 0,
    deviceAllocs: 0,
    cacheHits: 0,
  };

  /** An allocator over `raw`. */
  constructor(raw: RawMemory, options: AllocatorOptions = {}) {
    this.#raw = raw;
    const cap = options.maxPooledBytes ?? Infinity;
    if (!(cap >= 0)) throw new ValueError(`cuda: maxPooledBytes must be >= 0, got ${cap}`);
    this.#maxPooled = cap;
  }

  /** A buffer for `elements` values of `dtype` (contents undefined). */
  alloc(elements: number, dtype: DType): CudaBuffer {
    if (!isDType(dtype)) {
      throw new DTypeError(`cuda alloc: unknown dtype ${String(dtype)}`);
    }
    if (!Number.isSafeInteger(elements) || elements < 0) {
      throw new ValueError(
        `cuda alloc: elements must be a non-negative integer, got ${String(elements)}`,
      );
    }
    const need = elements * itemSize(dtype);
    const size = sizeClass(need);
    let ptr = this.#pool.get(size)?.pop();
    if (ptr !== undefined) {
      this.#s.pooledBytes -= size;
      this.#s.pooledBuffers--;
      this.#s.cacheHits++;
    } else {
      ptr = this.#fresh(size, need, elements, dtype);
    }
    const buffer: CudaBuffer = Object.freeze({ ptr, elements, dtype, bytes: size });
    this.#live.set(ptr, buffer);
    this.#s.liveBytes += size;
    this.#s.liveBuffers++;
    if (this.#s.liveBytes > this.#s.peakBytes) this.#s.peakBytes = this.#s.liveBytes;
    return buffer;
  }

  #fresh(size: number, need: number, elements: number, dtype: DType): bigint {
    let r = this.#raw.alloc(size);
    if (r !== "oom") {
      this.#s.deviceAllocs++;
      return r;
    }
    const cached = this.#s.pooledBytes;
    this.emptyCache();
    r = this.#raw.alloc(size);
    if (r !== "oom") {
      this.#s.deviceAllocs++;
      return r;
    }
    const info = this.#raw.info();
    throw new OutOfMemoryError(
      `cuda: cannot allocate ${need} bytes (${elements} ${dtype} elements, a ${size}-byte ` +
        `block): the device is out of memory; ${cached} cached bytes were released and the ` +
        `allocation retried; ${this.#s.liveBytes} bytes are held by live buffers` +
        (info ? `; the device has ${info.free} of ${info.total} bytes free` : ""),
    );
  }

  /** Whether `buffer` is a live buffer of this allocator. */
  owns(buffer: CudaBuffer): boolean {
    return this.#live.get(buffer?.ptr) === buffer;
  }

  /** Returns a buffer to the cache; a buffer that is not live (freed twice) is a `ValueError`. */
  free(buffer: CudaBuffer): void {
    if (!this.owns(buffer)) {
      throw new ValueError(
        `cuda free: the buffer ${
          buffer && typeof buffer.ptr === "bigint" ? `at 0x${buffer.ptr.toString(16)} ` : ""
        }is not a live buffer of this device (freed twice, or from another allocator)`,
      );
    }
    this.#live.delete(buffer.ptr);
    this.#s.liveBytes -= buffer.bytes;
    this.#s.liveBuffers--;
    if (this.#s.pooledBytes + buffer.bytes > this.#maxPooled) {
      this.#raw.sync();
      this.#raw.free(buffer.ptr);
      return;
    }
    let list = this.#pool.get(buffer.bytes);
    if (!list) this.#pool.set(buffer.bytes, list = []);
    list.push(buffer.ptr);
    this.#s.pooledBytes += buffer.bytes;
    this.#s.pooledBuffers++;
  }

  /** Returns every cached block to the driver (live buffers are untouched). */
  emptyCache(): void {
    if (this.#s.pooledBuffers === 0) return;
    this.#raw.sync();
    for (const list of this.#pool.values()) for (const p of list) this.#raw.free(p);
    this.#pool.clear();
    this.#s.pooledBytes = 0;
    this.#s.pooledBuffers = 0;
  }

  /** Returns every block, live ones included, to the driver (closing the context). */
  releaseAll(): void {
    this.emptyCache();
    for (const p of this.#live.keys()) this.#raw.free(p);
    this.#live.clear();
    this.#s.liveBytes = 0;
    this.#s.liveBuffers = 0;
  }

  /** A copy of the counters. */
  stats(): CudaMemoryStats {
    return { ...this.#s };
  }
}
