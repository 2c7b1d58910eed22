/**
 * The WebGPU device context of the webgpu backend: a caching allocator of storage buffers by size
 * class, a pool of staging buffers for readback, a pipeline cache, and one shared command encoder
 * that every kernel records into and that is submitted in batches (on readback or every
 * {@linkcode GpuOptions.batchSize} dispatches). Errors the device reports asynchronously are kept
 * and thrown, naming the op, at the next dispatch or readback.
 *
 * Storage layout: float32 as `f32`, int32 as `i32`, bool as one `i32` (0 or 1) per element, so
 * bool kernels share the int32 code; float16 (only on devices with `shader-f16`) as packed `f16`,
 * two bytes per element, buffers rounded up to whole 4-byte words.
 *
 * @module
 */

import { DeviceError } from "../../core/mod.ts";
import type { DType, KernelEntry, Tensor, TypedArray } from "../../core/mod.ts";

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

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The bits of a float32 as an int32, for passing floats through the integer parameter block. */
export function fbits(x: number): number {
  f32[0] = x;
  return i32[0];
}

/** WGSL element type of a dtype (bool is stored as i32). */
export function wgslType(dtype: DType): "f32" | "f16" | "i32" {
  return dtype === "float32" ? "f32" : dtype === "float16" ? "f16" : "i32";
}

/** Bytes of one element of `dtype` in device memory (bool widens to 4). */
export function elemBytes(dtype: DType): number {
  return dtype === "float16" ? 2 : 4;
}

/** Bytes of `n` elements of `dtype`, rounded up to whole 4-byte words. */
export function bufferBytes(dtype: DType, n: number): number {
  return Math.ceil((n * elemBytes(dtype)) / 4) * 4;
}

/**
 * WGSL for float kernels over storage type `t` (f32 or f16): `alias T = t;` and `toT(x: f32)`, which
 * rounds an f32 result to T (to f16 with magnitudes beyond its range becoming ±inf, as on the host).
 * Kernels load `f32(X[i])`, compute and accumulate in f32, and store `toT(...)`.
 */
export function floatStore(t: "f32" | "f16"): string {
  if (t === "f32") return "alias T = f32;\nfn toT(x: f32) -> T { return x; }\n";
  return `alias T = f16;
fn toT(x: f32) -> T {
  if (abs(x) >= 65520.0) {
    let inf = bitcast<f32>(0x7f800000u);
    return T(select(-inf, inf, x > 0.0));
  }
  // NaN, tested on the bits (compilers may fold x != x away); clamp would turn it into -65504.
  if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { return T(x); }
  return T(clamp(x, -65504.0, 65504.0));
}
`;
}

/** A storage binding of a generated shader. */
export interface Binding {
  /** Variable name in WGSL. */
  name: string;
  /** Element type. */
  type: "f32" | "f16" | "i32" | "u32";
  /** Whether the kernel writes it. */
  write?: boolean;
}

/**
 * WGSL declarations shared by every kernel: the storage bindings in order, then the parameter
 * block at the next binding with accessors `P` (i32), `PU` (u32) and `PF` (f32 bits).
 */
export function prelude(bindings: readonly Binding[]): string {
  const enable = bindings.some((b) => b.type === "f16") ? "enable f16;\n" : "";
  const lines = bindings.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, ${
      b.write ? "read_write" : "read"
    }> ${b.name}: array<${b.type}>;`
  );
  return `${enable}${lines.join("\n")}
struct Params { v: array<vec4<i32>, ${MAX_PARAMS / 4}> };
@group(0) @binding(${bindings.length}) var<uniform> prm: Params;
fn P(i: u32) -> i32 { return prm.v[i >> 2u][i & 3u]; }
fn PU(i: u32) -> u32 { return u32(prm.v[i >> 2u][i & 3u]); }
fn PF(i: u32) -> f32 { return bitcast<f32>(prm.v[i >> 2u][i & 3u]); }
`;
}

/** Workgroup size of the one-thread-per-element kernels. */
export const WG = 256;

/** Entry point of a one-thread-per-element kernel: defines `i` and returns when `i >= PU(0)`. */
export const ELEMENT_MAIN = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + li;
  if (i >= PU(0u)) { return; }`;

/** Workgroup grid covering `threads` one-thread-per-element invocations (split over x and y). */
export function elementGrid(threads: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / WG));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

/** The device context shared by all webgpu kernels. */
export class Gpu {
  /** The device. */
  readonly device: GPUDevice;
  /** The largest storage binding the device accepts, in bytes. */
  readonly maxBinding: number;
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

  /** Wraps a device; installs the lost and uncaptured-error handlers. */
  constructor(device: GPUDevice, options: GpuOptions = {}) {
    this.device = device;
    this.maxBinding = device.limits.maxStorageBufferBindingSize;
    this.f16 = device.features.has("shader-f16") && (options.f16 ?? true);
    this.#batch = Math.max(1, options.batchSize ?? 128);
    this.#debug = options.debug ?? false;
    this.#maxPool = options.maxPoolBytes ?? 256 * 1024 * 1024;
    this.#params = new Int32Array((this.#batch * SLOT) / 4);
    this.#paramBuf = device.createBuffer({
      size: this.#batch * SLOT,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
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
    if (this.#error) {
      const e = this.#error;
      this.#error = null;
      throw new DeviceError(`${e} (reported while running ${op})`);
    }
  }

  /** A buffer of at least `bytes` bytes from the pool, or a new one. */
  alloc(bytes: number): GpuBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBinding) {
      throw new DeviceError(
        `webgpu: cannot allocate ${bytes} bytes: larger than the device's storage binding limit ` +
          `(${this.maxBinding} bytes)`,
      );
    }
    const free = this.#pool.get(size);
    let buffer = free?.pop();
    if (buffer) {
      this.#pooled -= size;
      this.#pooledCount--;
    } else {
      buffer = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
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
    return this.alloc(bufferBytes(dtype, n));
  }

  /** Copies host data into a new buffer (bool bytes are widened to i32; float16 stays 2 bytes). */
  upload(data: TypedArray, dtype: DType): GpuBuffer {
    this.check("upload");
    const bytes = bufferBytes(dtype, data.length);
    const h = this.alloc(bytes);
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

  /** Reads `size` elements back to the host (submits pending work first). */
  async download(h: GpuBuffer, dtype: DType, size: number): Promise<TypedArray> {
    this.check("readback");
    if (size === 0) {
      return dtype === "float32"
        ? new Float32Array(0)
        : dtype === "float16"
        ? new Float16Array(0)
        : allocInt(dtype, 0);
    }
    const bytes = bufferBytes(dtype, size);
    const cls = sizeClass(bytes);
    const staging = this.#staging.get(cls)?.pop() ?? this.device.createBuffer({
      size: cls,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(h.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      this.check("readback");
      throw new DeviceError(
        `webgpu: readback failed after op "${this.#lastOp}": ${(e as Error).message}`,
      );
    }
    const raw = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    let list = this.#staging.get(cls);
    if (!list) this.#staging.set(cls, list = []);
    list.push(staging);
    this.check("readback");
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

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check("sync");
  }
}

function allocInt(dtype: DType, n: number): TypedArray {
  return dtype === "bool" ? new Uint8Array(n) : new Int32Array(n);
}

/**
 * Merges adjacent dims that are contiguous in every stride list (and drops size-1 dims), so
 * kernels see the lowest rank that describes the same walk. Returns the shape and stride lists;
 * a 0-d walk becomes rank 1 of size 1.
 */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): [number[], number[][]] {
  const s: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = s.length - 1;
    if (k >= 0 && strides.every((l, j) => st[j][k] === l[d] * shape[d])) {
      s[k] *= shape[d];
      strides.forEach((l, j) => (st[j][k] = l[d]));
    } else {
      s.push(shape[d]);
      strides.forEach((l, j) => st[j].push(l[d]));
    }
  }
  if (!s.length) return [[1], strides.map(() => [0])];
  return [s, st];
}

/**
 * WGSL statements declaring i32 offsets `names[j]` of flat index `idx` in strided walks of rank
 * `rank`: the shape starts at parameter `shapeAt`, stride list j at `strideAts[j]` (innermost last).
 */
export function stridedOffsets(
  names: readonly string[],
  idx: string,
  rank: number,
  shapeAt: number,
  strideAts: readonly number[],
): string {
  const lines = [names.map((n) => `var ${n} = 0;`).join(" ") + ` { var r = ${idx};`];
  for (let d = rank - 1; d >= 0; d--) {
    const adds = names.map((n, j) => `${n} += c * P(${strideAts[j] + d}u);`).join(" ");
    lines.push(`  { let sz = PU(${shapeAt + d}u); let c = i32(r % sz); r = r / sz; ${adds} }`);
  }
  lines.push("}");
  return lines.join("\n");
}

/** Most dimensions a generic webgpu kernel walks (after merging contiguous dims). */
export const MAX_RANK = 8;

/** `supports` check shared by the generic kernels: rank and binding size limits. */
export function withinLimits(gpu: Gpu, inputs: readonly Tensor[]): true | string {
  for (const t of inputs) {
    if (t.ndim > MAX_RANK) return `tensors of more than ${MAX_RANK} dimensions are not supported`;
    if (bufferBytes(t.dtype, t.size) > gpu.maxBinding) {
      return `a ${t.size}-element tensor exceeds the storage binding limit (${gpu.maxBinding} bytes)`;
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
