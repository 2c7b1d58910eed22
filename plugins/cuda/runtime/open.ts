/**
 * Opening the cuda backend: {@linkcode openCuda} loads the driver, checks it and the device,
 * loads NVRTC (the major that matches the driver first), cuBLAS and cuDNN (both optional), retains the device's primary
 * context, creates the stream and returns the {@linkcode CudaContext}, or the reason the backend
 * is unavailable. Nothing here throws for a missing library, device or permission.
 *
 * @module
 */

import { ValueError } from "../../../core/mod.ts";
import { CudaContext } from "./context.ts";
import { openCublas } from "./cublas.ts";
import { openCudnn } from "./cudnn.ts";
import { ATTR_CC_MAJOR, ATTR_CC_MINOR, CUDA_SUCCESS, Driver, driverSymbols } from "./driver.ts";
import { LIBCUDA, nvrtcSpec, openLibrary } from "./libs.ts";
import { Nvrtc, nvrtcSymbols } from "./nvrtc.ts";

/** Oldest driver the backend runs on (CUDA 12.0): `cuDriverGetVersion` value. */
export const MIN_DRIVER_VERSION = 12000;

/** Options of {@linkcode openCuda}. */
export interface CudaOptions {
  /** Device ordinal (default 0). */
  device?: number;
  /** Path of libcuda; overrides `DENN_LIBCUDA` and the loader. */
  libcuda?: string;
  /** Path of libnvrtc; overrides `DENN_NVRTC` and the search. */
  nvrtc?: string;
  /** Path of libcublas; overrides `DENN_CUBLAS` and the search. */
  cublas?: string;
  /**
   * Path of libcudnn (cuDNN 9); overrides `DENN_CUDNN` and the search. Where cuDNN does not load,
   * convolutions run on the im2col + cuBLAS path.
   */
  cudnn?: string;
  /**
   * Folder for compiled kernels; `null` keeps them in memory only. Default: `DENN_CUDA_CACHE`,
   * `$XDG_CACHE_HOME/denn/cuda` or `~/.cache/denn/cuda` (used only where read and write are
   * allowed).
   */
  cacheDir?: string | null;
  /** Most bytes of freed blocks the allocator keeps (default: no cap). */
  maxPooledBytes?: number;
}

const OPTION_KEYS = [
  "device",
  "libcuda",
  "nvrtc",
  "cublas",
  "cudnn",
  "cacheDir",
  "maxPooledBytes",
];

/** Checks {@linkcode CudaOptions}; a bad value is a `ValueError` naming it. */
export function checkCudaOptions(options: CudaOptions): void {
  if (options === null || typeof options !== "object") {
    throw new ValueError(`cuda: options must be an object, got ${String(options)}`);
  }
  const extra = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k));
  if (extra.length) {
    throw new ValueError(
      `cuda: unknown option(s) ${extra.join(", ")} (known: ${OPTION_KEYS.join(", ")})`,
    );
  }
  const d = options.device;
  if (d !== undefined && (!Number.isInteger(d) || d < 0)) {
    throw new ValueError(`cuda: device must be a non-negative integer, got ${d}`);
  }
  for (const k of ["libcuda", "nvrtc", "cublas", "cudnn"] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new ValueError(`cuda: ${k} must be a library path, got ${JSON.stringify(v)}`);
    }
  }
  const c = options.cacheDir;
  if (c !== undefined && c !== null && (typeof c !== "string" || c === "")) {
    throw new ValueError(`cuda: cacheDir must be a folder path or null, got ${JSON.stringify(c)}`);
  }
  const m = options.maxPooledBytes;
  if (m !== undefined && !(typeof m === "number" && m >= 0)) {
    throw new ValueError(`cuda: maxPooledBytes must be a number >= 0, got ${m}`);
  }
}

const dec = new TextDecoder();

/** Version code (12040) as "12.4". */
export function versionString(v: number): string {
  return `${Math.floor(v / 1000)}.${(v % 1000) / 10}`;
}

/**
 * Opens the driver, NVRTC and cuBLAS, retains the device's primary context and creates the
 * stream. Returns the context, or the reason the cuda backend is unavailable (no `--allow-ffi`,
 * a library missing with the paths tried, no device, a driver too old).
 */
export function openCuda(options: CudaOptions = {}): CudaContext | string {
  checkCudaOptions(options);
  if (Deno.build.os === "darwin") return "CUDA is not available on macOS";
  const opened = openLibrary(LIBCUDA, driverSymbols(), options.libcuda);
  if (typeof opened === "string") return opened;
  const d = new Driver(opened.lib, opened.path);
  const s = d.sym;
  const cleanup: (() => void)[] = [() => d.close()];
  const fail = (why: string) => {
    for (const f of cleanup.reverse()) {
      try {
        f();
      } catch {
        // keep releasing the rest
      }
    }
    return why;
  };
  try {
    const rc = s.cuInit(0);
    if (rc !== CUDA_SUCCESS) {
      return fail(`no usable device: cuInit failed: ${d.errorName(rc)}: ${d.errorString(rc)}`);
    }
    d.check("cuDriverGetVersion", s.cuDriverGetVersion(d.out32));
    const driverVersion = d.out32[0];
    if (driverVersion < MIN_DRIVER_VERSION) {
      return fail(
        `driver too old: CUDA ${versionString(driverVersion)} (cuDriverGetVersion ` +
          `${driverVersion}), need ${versionString(MIN_DRIVER_VERSION)} or newer`,
      );
    }
    d.check("cuDeviceGetCount", s.cuDeviceGetCount(d.out32));
    const count = d.out32[0];
    const ordinal = options.device ?? 0;
    if (count === 0) return fail("no device: cuDeviceGetCount reports 0 CUDA devices");
    if (ordinal >= count) {
      return fail(`no device ${ordinal}: only ${count} CUDA device(s) (ordinals 0..${count - 1})`);
    }
    d.check("cuDeviceGet", s.cuDeviceGet(d.out32, ordinal));
    const dev = d.out32[0];
    const nameBuf = new Uint8Array(256);
    d.check("cuDeviceGetName", s.cuDeviceGetName(nameBuf, nameBuf.length, dev));
    const deviceName = dec.decode(nameBuf.subarray(0, Math.max(0, nameBuf.indexOf(0))));
    const attr = (a: number) => {
      d.check("cuDeviceGetAttribute", s.cuDeviceGetAttribute(d.out32, a, dev));
      return d.out32[0];
    };
    const capability: [number, number] = [attr(ATTR_CC_MAJOR), attr(ATTR_CC_MINOR)];
    const driverMajor = Math.floor(driverVersion / 1000);
    const nv = openLibrary(nvrtcSpec(driverMajor), nvrtcSymbols(), options.nvrtc);
    if (typeof nv === "string") return fail(nv);
    const nvrtc = new Nvrtc(nv.lib, nv.path);
    cleanup.push(() => nvrtc.close());
    if (Math.floor(nvrtc.version / 1000) > driverMajor) {
      return fail(
        `driver too old: CUDA driver ${versionString(driverVersion)} cannot load cubins from ` +
          `NVRTC ${nvrtc.versionString} (${nv.path}); update the driver or set DENN_NVRTC to an ` +
          `NVRTC ${driverMajor}.x`,
      );
    }
    d.check("cuDevicePrimaryCtxRetain", s.cuDevicePrimaryCtxRetain(d.out64, dev));
    const context = d.out64[0];
    cleanup.push(() => s.cuDevicePrimaryCtxRelease_v2(dev));
    d.check("cuCtxSetCurrent", s.cuCtxSetCurrent(context));
    d.check("cuStreamCreate", s.cuStreamCreate(d.out64, 0));
    const stream = d.out64[0];
    cleanup.push(() => s.cuStreamDestroy_v2(stream));
    const cublas = openCublas(stream, options.cublas);
    if (typeof cublas !== "string") cleanup.push(() => cublas.close());
    const cudnn = openCudnn(stream, options.cudnn);
    if (typeof cudnn !== "string") cleanup.push(() => cudnn.close());
    return new CudaContext({
      driver: d,
      nvrtc,
      device: dev,
      deviceName,
      capability,
      driverVersion,
      context,
      stream,
      cublas,
      cudnn,
      options,
    });
  } catch (e) {
    return fail(`cuda initialisation failed: ${(e as Error).message}`);
  }
}
