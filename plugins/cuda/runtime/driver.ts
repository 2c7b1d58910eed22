/**
 * The CUDA driver API symbols the cuda backend binds, and {@linkcode Driver}, a thin wrapper that
 * turns every `CUresult` other than `CUDA_SUCCESS` into a `DeviceError` naming the call, the
 * error's name and its description.
 *
 * Symbols are bound under the names the library exports for the current ABI: `cuda.h` maps
 * `cuMemAlloc` to `cuMemAlloc_v2` and so on, and the bare names are legacy entry points with
 * 32-bit sizes. `tests/cuda/driver_header_test.ts` checks each binding against `cuda.h`.
 * Handles (`CUcontext`, `CUstream`, `CUmodule`, `CUfunction`, `CUevent`) and device pointers are
 * passed as `u64`; out-parameters are one-element typed arrays passed as buffers. Calls are never
 * `nonblocking`: pool threads have no current context.
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";

const SYMBOLS = {
  cuInit: { parameters: ["u32"], result: "i32" },
  cuDriverGetVersion: { parameters: ["buffer"], result: "i32" },
  cuDeviceGet: { parameters: ["buffer", "i32"], result: "i32" },
  cuDeviceGetCount: { parameters: ["buffer"], result: "i32" },
  cuDeviceGetName: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDeviceGetAttribute: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDevicePrimaryCtxRetain: { parameters: ["buffer", "i32"], result: "i32" },
  cuDevicePrimaryCtxRelease_v2: { parameters: ["i32"], result: "i32" },
  cuCtxSetCurrent: { parameters: ["u64"], result: "i32" },
  cuCtxSynchronize: { parameters: [], result: "i32" },
  cuStreamCreate: { parameters: ["buffer", "u32"], result: "i32" },
  cuStreamDestroy_v2: { parameters: ["u64"], result: "i32" },
  cuStreamSynchronize: { parameters: ["u64"], result: "i32" },
  cuMemAlloc_v2: { parameters: ["buffer", "usize"], result: "i32" },
  cuMemFree_v2: { parameters: ["u64"], result: "i32" },
  cuMemAllocAsync: { parameters: ["buffer", "usize", "u64"], result: "i32", optional: true },
  cuMemFreeAsync: { parameters: ["u64", "u64"], result: "i32", optional: true },
  cuMemcpyHtoD_v2: { parameters: ["u64", "buffer", "usize"], result: "i32" },
  cuMemcpyDtoH_v2: { parameters: ["buffer", "u64", "usize"], result: "i32" },
  cuMemcpyDtoDAsync_v2: { parameters: ["u64", "u64", "usize", "u64"], result: "i32" },
  cuMemsetD8Async: { parameters: ["u64", "u8", "usize", "u64"], result: "i32" },
  // Uploads of constant data while a step is captured become memset nodes.
  cuMemsetD32Async: { parameters: ["u64", "u32", "usize", "u64"], result: "i32" },
  cuMemGetInfo_v2: { parameters: ["buffer", "buffer"], result: "i32" },
  cuModuleLoadData: { parameters: ["buffer", "buffer"], result: "i32" },
  cuModuleGetFunction: { parameters: ["buffer", "u64", "buffer"], result: "i32" },
  cuModuleUnload: { parameters: ["u64"], result: "i32" },
  // CUDA 12.4+: the kernel's parameter sizes, so launch() can check the arguments it is given.
  cuFuncGetParamInfo: {
    parameters: ["u64", "usize", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  cuLaunchKernel: {
    parameters: [
      "u64", // f
      "u32", // gridDimX
      "u32", // gridDimY
      "u32", // gridDimZ
      "u32", // blockDimX
      "u32", // blockDimY
      "u32", // blockDimZ
      "u32", // sharedMemBytes
      "u64", // hStream
      "buffer", // kernelParams (void**)
      "pointer", // extra (void**, null)
    ],
    result: "i32",
  },
  cuEventCreate: { parameters: ["buffer", "u32"], result: "i32" },
  cuEventRecord: { parameters: ["u64", "u64"], result: "i32" },
  cuEventSynchronize: { parameters: ["u64"], result: "i32" },
  cuEventDestroy_v2: { parameters: ["u64"], result: "i32" },
  // cuda.h maps cuEventElapsedTime to _v2 (CUDA 12.8+); older drivers have only the bare name.
  cuEventElapsedTime_v2: { parameters: ["buffer", "u64", "u64"], result: "i32", optional: true },
  cuEventElapsedTimeLegacy: {
    name: "cuEventElapsedTime",
    parameters: ["buffer", "u64", "u64"],
    result: "i32",
    optional: true,
  },
  // CUDA graphs (graphs.ts): capture the stream's work once, replay it with one launch.
  cuStreamBeginCapture_v2: { parameters: ["u64", "i32"], result: "i32" },
  cuStreamEndCapture: { parameters: ["u64", "buffer"], result: "i32" },
  cuStreamIsCapturing: { parameters: ["u64", "buffer"], result: "i32" },
  cuGraphInstantiateWithFlags: { parameters: ["buffer", "u64", "u64"], result: "i32" },
  cuGraphLaunch: { parameters: ["u64", "u64"], result: "i32" },
  cuGraphExecDestroy: { parameters: ["u64"], result: "i32" },
  cuGraphDestroy: { parameters: ["u64"], result: "i32" },
  cuGetErrorName: { parameters: ["i32", "buffer"], result: "i32" },
  cuGetErrorString: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The driver symbol table passed to `Deno.dlopen`. */
export type DriverSymbols = typeof SYMBOLS;

/** The driver symbol table (for `Deno.dlopen` and the header test). */
export function driverSymbols(): DriverSymbols {
  return SYMBOLS;
}

/**
 * Bound names that are legacy entry points kept as fallbacks, each with the versioned symbol
 * preferred where the driver exports it.
 */
export const LEGACY_FALLBACKS: Readonly<Record<string, string>> = {
  cuEventElapsedTime: "cuEventElapsedTime_v2",
};

/** `CUDA_SUCCESS`. */
export const CUDA_SUCCESS = 0;
/** `CUDA_ERROR_OUT_OF_MEMORY`. */
export const CUDA_ERROR_OUT_OF_MEMORY = 2;
/** `CUDA_ERROR_NO_DEVICE`. */
export const CUDA_ERROR_NO_DEVICE = 100;
/** `CUDA_ERROR_NOT_FOUND`. */
export const CUDA_ERROR_NOT_FOUND = 500;
/** `CU_STREAM_CAPTURE_MODE_RELAXED`: allocations (`cuMemAlloc`) stay legal during capture. */
export const CU_STREAM_CAPTURE_MODE_RELAXED = 2;
/** `CU_STREAM_CAPTURE_STATUS_ACTIVE`. */
export const CU_STREAM_CAPTURE_STATUS_ACTIVE = 1;
/** `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR`. */
export const ATTR_CC_MAJOR = 75;
/** `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR`. */
export const ATTR_CC_MINOR = 76;

/** A `CUresult` other than success, as raised by {@linkcode Driver.check}. */
export class CudaCallError extends DeviceError {
  /** The `CUresult` code. */
  readonly code: number;
  /** Its `CUDA_ERROR_*` name. */
  readonly errorName: string;
  /** Creates the error for `call` failing with `code`. */
  constructor(message: string, code: number, errorName: string) {
    super(message);
    this.name = "DeviceError";
    this.code = code;
    this.errorName = errorName;
  }
}

/** The opened driver: its symbols, reusable out-parameters and the error check. */
export class Driver {
  /** The symbols (destructure once per call site that is hot). */
  readonly sym: Deno.DynamicLibrary<DriverSymbols>["symbols"];
  /** The path or soname the library was opened by. */
  readonly path: string;
  /** Scratch out-parameter for one 64-bit value (handles, pointers, sizes). */
  readonly out64: BigUint64Array = new BigUint64Array(2);
  /** Scratch out-parameter for one 32-bit value. */
  readonly out32: Int32Array = new Int32Array(2);
  /** Scratch out-parameter for one float. */
  readonly outF32: Float32Array = new Float32Array(1);
  /**
   * Appended to errors of synchronising calls: an asynchronous launch's failure surfaces at the
   * next synchronising call, so the message says what was launched last.
   */
  lastLaunch = "";
  #lib: Deno.DynamicLibrary<DriverSymbols>;

  /** Wraps an opened driver library. */
  constructor(lib: Deno.DynamicLibrary<DriverSymbols>, path: string) {
    this.#lib = lib;
    this.sym = lib.symbols;
    this.path = path;
  }

  /** `CUDA_ERROR_*` name of a result code. */
  errorName(code: number): string {
    return this.#cstr(this.sym.cuGetErrorName, code) ?? `CUresult ${code}`;
  }

  /** Description of a result code. */
  errorString(code: number): string {
    return this.#cstr(this.sym.cuGetErrorString, code) ?? "unknown error";
  }

  #cstr(fn: (code: number, out: BufferSource) => number, code: number): string | null {
    const out = new BigUint64Array(1);
    if (fn(code, out) !== CUDA_SUCCESS || out[0] === 0n) return null;
    const p = Deno.UnsafePointer.create(out[0]);
    return p ? Deno.UnsafePointerView.getCString(p) : null;
  }

  /** The error for `call` returning `code`. */
  error(call: string, code: number, detail = ""): CudaCallError {
    const name = this.errorName(code);
    const after = this.lastLaunch && SYNCING.has(call)
      ? ` (errors of asynchronous launches surface here; the last launch was ${this.lastLaunch})`
      : "";
    return new CudaCallError(
      `cuda: ${call}${detail ? ` (${detail})` : ""} failed: ${name} (${code}): ${
        this.errorString(code)
      }${after}`,
      code,
      name,
    );
  }

  /** Throws a `DeviceError` naming `call` unless `code` is `CUDA_SUCCESS`. */
  check(call: string, code: number, detail?: string): void {
    if (code !== CUDA_SUCCESS) throw this.error(call, code, detail);
  }

  /** Closes the library (no call may follow). */
  close(): void {
    this.#lib.close();
  }
}

const SYNCING = new Set([
  "cuCtxSynchronize",
  "cuStreamSynchronize",
  "cuMemcpyDtoH_v2",
  "cuMemcpyHtoD_v2",
  "cuEventSynchronize",
  "cuMemFree_v2",
  "cuMemAlloc_v2",
]);
