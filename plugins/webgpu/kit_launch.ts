/**
 * The low-level half of the webgpu kernel kit (import it through `kit.ts`, the entry point):
 * buffers, parameters, {@linkcode launch} through the context's pipeline cache, and the WGSL pieces
 * of the tiled (workgroup-shared-memory) pattern.
 *
 * @module
 */

import { DeviceError, sizeOf } from "../../core/mod.ts";
import type { DType, KernelEntry, Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import { fbits } from "./wgsl.ts";
import type { Gpu, GpuBuffer } from "./device.ts";

/**
 * A kernel entry for the webgpu backend: its `run` receives the {@linkcode Gpu} context and returns
 * a {@linkcode GpuBuffer} per output.
 */
export type WebGpuKernel<A = Record<string, unknown>> = KernelEntry<A, Gpu, GpuBuffer>;

/** A webgpu kernel table, op name → entry, attributes type-erased (as the registry keeps them). */
// deno-lint-ignore no-explicit-any
export type WebGpuKernelTable = Record<string, WebGpuKernel<any>>;

/** A buffer argument of {@linkcode launch}: a webgpu tensor, a kit buffer or a device buffer. */
export type BufferArg = Tensor | GpuBuffer | GPUBuffer;

/**
 * The buffer behind a webgpu tensor's storage, whatever its layout: for kernels whose entry sets
 * `strided`, which address it through `t.offset` and `t.strides`. Throws a
 * {@linkcode DeviceError} naming the tensor when it does not live on a webgpu-style backend.
 */
export function gpuStorage(t: Tensor): GpuBuffer {
  const h = t.storage.handle as Partial<GpuBuffer> | null;
  if (!h || typeof h !== "object" || typeof h.bytes !== "number" || !h.buffer) {
    throw new DeviceError(
      `webgpu kit: a ${t.dtype} tensor of shape [${t.shape.join(", ")}] on ${t.device} has no ` +
        `device buffer (expected a tensor on a webgpu backend)`,
    );
  }
  return h as GpuBuffer;
}

/**
 * The device buffer behind a dense webgpu tensor (what a kernel receives unless its entry sets
 * `strided`); throws a {@linkcode DeviceError} naming the tensor when it does not live on a
 * webgpu-style backend or is a view.
 */
export function gpuBuffer(t: Tensor): GPUBuffer {
  const h = gpuStorage(t);
  if (!t.isDense) {
    throw new DeviceError(
      `webgpu kit: the [${t.shape.join(", ")}] tensor is a view (offset ${t.offset}); kernels ` +
        `receive dense inputs unless their entry sets strided`,
    );
  }
  return h.buffer;
}

function bufferArg(b: BufferArg): GPUBuffer {
  if ("storage" in b) return gpuBuffer(b);
  if ("bytes" in b) return b.buffer;
  return b;
}

/** A new buffer for a kernel output (the handle a kernel returns for `spec`). */
export function allocOutput(gpu: Gpu, spec: TensorSpec): GpuBuffer {
  return gpu.allocFor(spec.dtype, sizeOf(spec.shape));
}

/** Uploads host data into a new buffer (scratch data, tables a kernel reads); free it when done. */
export function uploadArray(gpu: Gpu, data: TypedArray, dtype: DType): GpuBuffer {
  return gpu.upload(data, dtype);
}

/** Reads `size` elements of a buffer back to the host (submits pending work first). */
export function readArray(
  gpu: Gpu,
  buffer: GpuBuffer,
  options: { dtype: DType; size: number },
): Promise<TypedArray> {
  return gpu.download(buffer, options.dtype, options.size);
}

/** Returns a buffer from {@linkcode uploadArray} or {@linkcode allocOutput} to the pool. */
export function freeBuffer(gpu: Gpu, buffer: GpuBuffer): void {
  gpu.free(buffer);
}

/** A float as the i32 bits the parameter block holds; WGSL reads it back with `PF(k)`. */
export function f32Param(x: number): number {
  return fbits(x);
}

/** What {@linkcode launch} runs. */
export interface LaunchOptions {
  /** Pipeline cache key: your plugin's name first, then everything the WGSL depends on. */
  key: string;
  /** The WGSL source (with `main` as entry point); called only the first time `key` is seen. */
  code: () => string;
  /** Storage buffers in binding order (the order given to {@linkcode prelude}). */
  buffers: readonly BufferArg[];
  /** Up to {@linkcode MAX_PARAMS} i32 values, read in WGSL with `P(k)`, `PU(k)` or `PF(k)`. */
  params?: readonly number[];
  /** Workgroup counts (x, y, z). */
  grid: readonly [number, number, number];
  /** Name reported in device errors (default: the key). */
  op?: string;
}

/** Compiles (once, through the context's pipeline cache) and records one dispatch. */
export function launch(gpu: Gpu, options: LaunchOptions): void {
  const pipe = gpu.pipeline(options.key, options.code);
  gpu.dispatch(
    options.op ?? options.key,
    pipe,
    options.buffers.map(bufferArg),
    options.params ?? [],
    options.grid,
  );
}

/** Options of {@linkcode workgroupMain}. */
export interface WorkgroupOptions {
  /** Workgroup size: threads along x, or [x, y] (x·y at most 256). */
  size: number | readonly [number, number];
  /** `var<workgroup>` arrays shared by the workgroup, name → WGSL type (`"array<f32, 256>"`). */
  shared?: Readonly<Record<string, string>>;
}

/**
 * WGSL that declares the shared arrays and opens `fn main` for a tiled kernel; the body you append
 * ends with `}`. In scope: `wid`, `nwg` (workgroup id and count), `lid` (thread in the workgroup,
 * vec3), `li` (its flat index) and `gid` (global thread id). All threads of a workgroup must reach
 * every `workgroupBarrier()`, so guard work with a flag rather than an early `return`.
 */
export function workgroupMain(options: WorkgroupOptions): string {
  const [x, y] = typeof options.size === "number" ? [options.size, 1] : options.size;
  const shared = Object.entries(options.shared ?? {})
    .map(([k, type]) => `var<workgroup> ${k}: ${type};\n`).join("");
  return `${shared}@compute @workgroup_size(${x}, ${y})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(global_invocation_id) gid: vec3<u32>) {`;
}

/**
 * WGSL statements folding `array[0..size)` into `array[0]` in log2(size) barrier-separated steps:
 * at each step thread `li < s` stores `expr`, which reads `array[li]` and `array[li + s]`.
 * `size` must be a power of two and equal to the number of threads in the workgroup.
 */
export function sharedReduce(array: string, size: number, expr: string): string {
  if (size < 1 || (size & (size - 1)) !== 0) {
    throw new DeviceError(`webgpu kit: sharedReduce needs a power-of-two size, got ${size}`);
  }
  return `for (var s = ${size / 2}u; s > 0u; s >>= 1u) {
    if (li < s) { ${array}[li] = ${expr}; }
    workgroupBarrier();
  }`;
}

/**
 * A grid of `count` workgroups, split over x and y past the 65535 per-dimension limit; recover the
 * flat workgroup index in WGSL as `wid.y * nwg.x + wid.x`. (A 2-D tiling of a `rows × cols` output
 * by `T × T` tiles is simply `[Math.ceil(cols / T), Math.ceil(rows / T), 1]`.)
 */
export function workgroupGrid(count: number): [number, number, number] {
  const c = Math.max(1, count);
  const x = Math.min(c, 65535);
  return [x, Math.ceil(c / x), 1];
}
