/**
 * The host array pool behind `allocHost`: large arrays it made are reused once their tensors are
 * released (dispose(), scope(), zeroGrad(), in-place writes), through the host backends' `free`.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { ValueError } from "./errors.ts";

// Host arrays of at least POOL_MIN_BYTES that allocHost made are reused once their tensors are
// released (dispose(), scope(), zeroGrad(), in-place writes): a fresh large typed array costs page
// faults on every page (about 0.4 ms per MB here), a reused one a fill. Small ones cost V8's
// allocation and zeroing: `new Float32Array(n)` took 2.7 µs at 4 KiB and 5.4 µs at 16 KiB here, a
// pooled one a Map lookup. Only arrays made here are ever pooled (never data a user handed in), by
// exact dtype and length, up to poolMaxBytes.
const POOL_MIN_BYTES = 4 * 1024;
let poolMaxBytes = 256 * 1024 * 1024;
const poolable = new WeakSet<TypedArray>();
const pools: Record<DType, Map<number, TypedArray[]>> = {
  float32: new Map(),
  float16: new Map(),
  int32: new Map(),
  bool: new Map(),
};
let pooledBytes = 0;
// Arrays of at most SLAB_MAX_BYTES (float32 and int32: scalars, biases' gradients, a small batch's
// losses) are views into shared 4 KiB slabs instead: V8 gives every typed array made with `new`
// its own malloc'd buffer and a tracking record that its garbage collector sweeps, which took most
// of a 4-element add's 1.6 µs here; a view into a slab is a JS object. Each slab serves one size
// class (16, 64 or 256 bytes a view) from its start to its end and is never reused, so a view is
// zero-filled when made; a slab is freed once none of its views is reachable. A view that lives on
// keeps its slab's 4 KiB alive (256 of the smallest class share one).
const SLAB_BYTES = 4096;
const SLAB_MAX_BYTES = 256;
const slabs: { buf: ArrayBuffer; at: number }[] = [];

function slabView(dtype: "float32" | "int32", size: number, bytes: number): TypedArray {
  const cls = bytes <= 16 ? 0 : bytes <= 64 ? 1 : 2;
  const step = 16 << (2 * cls);
  let s = slabs[cls];
  if (s === undefined || s.at + step > SLAB_BYTES) {
    s = slabs[cls] = { buf: new ArrayBuffer(SLAB_BYTES), at: 0 };
  }
  const r = dtype === "float32"
    ? new Float32Array(s.buf, s.at, size)
    : new Int32Array(s.buf, s.at, size);
  s.at += step;
  return r;
}

// Large arrays made anew and taken from the pool since the last emptyHostPool().
let allocations = 0, reuses = 0;

function dtypeOfHost(a: TypedArray): DType {
  return a instanceof Float32Array
    ? "float32"
    : a instanceof Int32Array
    ? "int32"
    : a instanceof Uint8Array
    ? "bool"
    : "float16";
}

/**
 * Returns a host array that {@linkcode allocHost} made to the pool for reuse, once nothing uses it
 * (a host backend's `free`). Arrays it did not make, small ones, and any beyond the pool's limit
 * are left to the garbage collector. Dispatch-internal.
 */
export function recycleHost(a: unknown): void {
  if (!(a instanceof Object) || !poolable.has(a as TypedArray)) return;
  const t = a as TypedArray;
  if (pooledBytes + t.byteLength > poolMaxBytes) return;
  const pool = pools[dtypeOfHost(t)];
  const list = pool.get(t.length);
  if (list) list.push(t);
  else pool.set(t.length, [t]);
  pooledBytes += t.byteLength;
}

/** What {@linkcode hostPoolStats} reports. */
export interface HostPoolStats {
  /** Bytes held for reuse. */
  pooledBytes: number;
  /** How many bytes the pool may hold. */
  limitBytes: number;
  /**
   * Arrays of at least 4 KiB made anew since the last {@linkcode emptyHostPool} (a steady training
   * loop makes none after its first steps).
   */
  allocations: number;
  /** Arrays of at least 4 KiB taken from the pool instead since the last `emptyHostPool`. */
  reuses: number;
}

/**
 * Bytes held for reuse by the host array pool, its limit, and how many large arrays were made
 * anew or reused (PyTorch's `memory_stats` for host memory).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { emptyHostPool, hostPoolStats, randn } from "./mod.ts";
 * emptyHostPool();
 * randn([256, 256]).dispose(); // 256 KiB: made anew, then pooled
 * randn([256, 256]); // reuses it
 * console.log(hostPoolStats().allocations, hostPoolStats().reuses); // 1 1
 * ```
 */
export function hostPoolStats(): HostPoolStats {
  return { pooledBytes, limitBytes: poolMaxBytes, allocations, reuses };
}

/**
 * Empties the host array pool (its arrays go to the garbage collector) and, with `limitBytes`,
 * sets how much it may hold (0 turns pooling off). PyTorch's `empty_cache` for host memory.
 */
export function emptyHostPool(limitBytes?: number): void {
  for (const pool of Object.values(pools)) pool.clear();
  pooledBytes = 0;
  allocations = reuses = 0;
  if (limitBytes !== undefined) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
      throw new ValueError(
        `emptyHostPool: limitBytes must be a non-negative integer, got ${String(limitBytes)}`,
      );
    }
    poolMaxBytes = limitBytes;
  }
}

/**
 * A zeroed array for `size` elements of `dtype`: a pooled one of that exact length where one is
 * waiting, a view into a slab where it is small, else `make`'s (remembered as poolable when
 * large). Core-internal: `allocHost` calls it.
 */
export function takeHost(
  dtype: DType,
  size: number,
  make: (dtype: DType, size: number) => TypedArray,
  zero = true,
): TypedArray {
  const bytes = size * (dtype === "bool" ? 1 : dtype === "float16" ? 2 : 4);
  if (bytes < POOL_MIN_BYTES) {
    if (bytes !== 0 && bytes <= SLAB_MAX_BYTES && (dtype === "float32" || dtype === "int32")) {
      return slabView(dtype, size, bytes);
    }
    return make(dtype, size);
  }
  const list = pools[dtype].get(size);
  if (list?.length) {
    const r = list.pop()!;
    pooledBytes -= r.byteLength;
    reuses++;
    return zero ? r.fill(0) : r;
  }
  const r = make(dtype, size);
  allocations++;
  poolable.add(r);
  return r;
}

/**
 * A float32 array of `size` elements for a kernel output that the kernel overwrites completely:
 * like `allocHost` (pooled when large, so released tensors' arrays are reused), but a reused array
 * keeps its old contents instead of being zeroed. Kernel-internal.
 */
export function outputF32(size: number): Float32Array {
  return takeHost("float32", size, () => new Float32Array(size), false) as Float32Array;
}

/** {@linkcode outputF32} for an int32 output (max pooling's indices). Kernel-internal. */
export function outputI32(size: number): Int32Array {
  return takeHost("int32", size, () => new Int32Array(size), false) as Int32Array;
}
