/**
 * cuDNN 9's legacy convolution API through `Deno.dlopen`, behind {@linkcode CudnnApi}: the calls
 * the conv engine (kernels/conv.ts) makes, in TypeScript terms (descriptors as handles, algorithm
 * results as objects), so the engine is tested with a fake API and cuDNN's graph API can replace
 * the legacy calls later without touching the kernels.
 *
 * cuDNN 9 splits itself into sub-libraries (`libcudnn_graph`, `libcudnn_ops`, `libcudnn_cnn`, the
 * engine libraries) that the `libcudnn.so.9` shim opens by soname at first use. Unless their
 * folder is on `LD_LIBRARY_PATH`, the loader would not find them, so they are preloaded from the
 * shim's folder (the loader then matches the already-loaded sonames). The legacy convolution
 * calls are marked deprecated in cuDNN 9 and are bound as optional symbols: where a future cuDNN
 * lacks them, {@linkcode openCudnn} returns the reason and the backend uses its im2col path.
 *
 * Handles and descriptors are passed as `u64`; out-parameters are typed arrays passed as buffers;
 * alpha/beta are host `float`s (the scaling type of float and half data). Calls are never
 * `nonblocking` (pool threads have no current context).
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";
import { folderOf, LIBCUDNN, openLibrary, preload } from "./libs.ts";

const H = "u64"; // cudnnHandle_t
const D = "u64"; // a descriptor
const P = "u64"; // device pointer

// Signatures transcribed from the cuDNN 9 API reference (see tests/cuda/cudnn_signature_test.ts).
const SYMBOLS = {
  cudnnGetVersion: { parameters: [], result: "usize" },
  cudnnGetErrorString: { parameters: ["i32"], result: "pointer" },
  cudnnCreate: { parameters: ["buffer"], result: "i32" },
  cudnnDestroy: { parameters: [H], result: "i32" },
  cudnnSetStream: { parameters: [H, "u64"], result: "i32" },
  cudnnCreateTensorDescriptor: { parameters: ["buffer"], result: "i32" },
  // desc, dataType, nbDims, dimA, strideA
  cudnnSetTensorNdDescriptor: { parameters: [D, "i32", "i32", "buffer", "buffer"], result: "i32" },
  cudnnDestroyTensorDescriptor: { parameters: [D], result: "i32" },
  cudnnCreateFilterDescriptor: { parameters: ["buffer"], result: "i32" },
  // desc, dataType, format, nbDims, filterDimA
  cudnnSetFilterNdDescriptor: { parameters: [D, "i32", "i32", "i32", "buffer"], result: "i32" },
  cudnnDestroyFilterDescriptor: { parameters: [D], result: "i32" },
  cudnnCreateConvolutionDescriptor: { parameters: ["buffer"], result: "i32", optional: true },
  // desc, arrayLength, padA, filterStrideA, dilationA, mode, computeType
  cudnnSetConvolutionNdDescriptor: {
    parameters: [D, "i32", "buffer", "buffer", "buffer", "i32", "i32"],
    result: "i32",
    optional: true,
  },
  cudnnSetConvolutionGroupCount: { parameters: [D, "i32"], result: "i32", optional: true },
  cudnnSetConvolutionMathType: { parameters: [D, "i32"], result: "i32", optional: true },
  cudnnDestroyConvolutionDescriptor: { parameters: [D], result: "i32", optional: true },
  // handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, returnedAlgoCount*, perfResults*
  cudnnGetConvolutionForwardAlgorithm_v7: {
    parameters: [H, D, D, D, D, "i32", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  // handle, wDesc, dyDesc, convDesc, dxDesc, requested, returned*, perf*
  cudnnGetConvolutionBackwardDataAlgorithm_v7: {
    parameters: [H, D, D, D, D, "i32", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  // handle, xDesc, dyDesc, convDesc, dwDesc, requested, returned*, perf*
  cudnnGetConvolutionBackwardFilterAlgorithm_v7: {
    parameters: [H, D, D, D, D, "i32", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  // handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requested, returned*, perf*, ws, wsBytes
  cudnnFindConvolutionForwardAlgorithmEx: {
    parameters: [H, D, P, D, P, D, D, P, "i32", "buffer", "buffer", P, "usize"],
    result: "i32",
    optional: true,
  },
  // handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requested, returned*, perf*, ws, wsBytes
  cudnnFindConvolutionBackwardDataAlgorithmEx: {
    parameters: [H, D, P, D, P, D, D, P, "i32", "buffer", "buffer", P, "usize"],
    result: "i32",
    optional: true,
  },
  // handle, xDesc, x, dyDesc, dy, convDesc, dwDesc, dw, requested, returned*, perf*, ws, wsBytes
  cudnnFindConvolutionBackwardFilterAlgorithmEx: {
    parameters: [H, D, P, D, P, D, D, P, "i32", "buffer", "buffer", P, "usize"],
    result: "i32",
    optional: true,
  },
  // handle, xDesc, wDesc, convDesc, yDesc, algo, sizeInBytes*
  cudnnGetConvolutionForwardWorkspaceSize: {
    parameters: [H, D, D, D, D, "i32", "buffer"],
    result: "i32",
    optional: true,
  },
  // handle, wDesc, dyDesc, convDesc, dxDesc, algo, sizeInBytes*
  cudnnGetConvolutionBackwardDataWorkspaceSize: {
    parameters: [H, D, D, D, D, "i32", "buffer"],
    result: "i32",
    optional: true,
  },
  // handle, xDesc, dyDesc, convDesc, dwDesc, algo, sizeInBytes*
  cudnnGetConvolutionBackwardFilterWorkspaceSize: {
    parameters: [H, D, D, D, D, "i32", "buffer"],
    result: "i32",
    optional: true,
  },
  // handle, alpha*, xDesc, x, wDesc, w, convDesc, algo, ws, wsBytes, beta*, yDesc, y
  cudnnConvolutionForward: {
    parameters: [H, "buffer", D, P, D, P, D, "i32", P, "usize", "buffer", D, P],
    result: "i32",
    optional: true,
  },
  // handle, alpha*, wDesc, w, dyDesc, dy, convDesc, algo, ws, wsBytes, beta*, dxDesc, dx
  cudnnConvolutionBackwardData: {
    parameters: [H, "buffer", D, P, D, P, D, "i32", P, "usize", "buffer", D, P],
    result: "i32",
    optional: true,
  },
  // handle, alpha*, xDesc, x, dyDesc, dy, convDesc, algo, ws, wsBytes, beta*, dwDesc, dw
  cudnnConvolutionBackwardFilter: {
    parameters: [H, "buffer", D, P, D, P, D, "i32", P, "usize", "buffer", D, P],
    result: "i32",
    optional: true,
  },
  // handle, alpha*, aDesc, A, beta*, cDesc, C
  cudnnAddTensor: { parameters: [H, "buffer", D, P, "buffer", D, P], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The cuDNN symbol table passed to `Deno.dlopen`. */
export type CudnnSymbols = typeof SYMBOLS;

/** The cuDNN symbol table (for `Deno.dlopen` and the signature test). */
export function cudnnSymbols(): CudnnSymbols {
  return SYMBOLS;
}

/** `CUDNN_DATA_FLOAT`. */
export const CUDNN_DATA_FLOAT = 0;
/** `CUDNN_DATA_HALF`. */
export const CUDNN_DATA_HALF = 2;
/** `CUDNN_TENSOR_NCHW`. */
export const CUDNN_TENSOR_NCHW = 0;
/** `CUDNN_CROSS_CORRELATION` (what deep-learning frameworks call convolution). */
export const CUDNN_CROSS_CORRELATION = 1;
/** `CUDNN_DEFAULT_MATH`: TF32 tensor cores permitted for float data on Ampere and newer. */
export const CUDNN_DEFAULT_MATH = 0;
/** `CUDNN_TENSOR_OP_MATH`. */
export const CUDNN_TENSOR_OP_MATH = 1;
/** `CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION`. */
export const CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2;
/** `CUDNN_FMA_MATH`: FMA kernels only (no TF32). */
export const CUDNN_FMA_MATH = 3;
/** Bytes of `cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t` (all three share the layout). */
export const ALGO_PERF_BYTES = 48;

/** The three convolution directions. */
export type ConvDirection = "forward" | "backwardData" | "backwardFilter";

/** One entry of an algorithm search (`cudnnConvolution*AlgoPerf_t`). */
export interface AlgoPerf {
  /** The algorithm enum value. */
  readonly algo: number;
  /** `cudnnStatus_t` of this algorithm for the problem (0: usable). */
  readonly status: number;
  /** Measured milliseconds (Find), or -1 (heuristics). */
  readonly time: number;
  /** Workspace bytes it needs. */
  readonly memory: number;
  /** `cudnnDeterminism_t` (1: deterministic). */
  readonly determinism: number;
  /** `cudnnMathType_t` it runs with. */
  readonly mathType: number;
}

/** The descriptors of one convolution problem: input x, filter w, the convolution and output y. */
export interface ConvDescriptors {
  /** Tensor descriptor of x (dx for backwardData). */
  readonly x: bigint;
  /** Filter descriptor of w (dw for backwardFilter). */
  readonly w: bigint;
  /** Convolution descriptor. */
  readonly conv: bigint;
  /** Tensor descriptor of y (dy for the backward directions). */
  readonly y: bigint;
}

/** Device pointers of one convolution call, named as in {@linkcode ConvDescriptors}. */
export interface ConvPointers {
  /** x, or dx for backwardData (written). */
  readonly x: bigint;
  /** w, or dw for backwardFilter (written). */
  readonly w: bigint;
  /** y (written by forward), or dy. */
  readonly y: bigint;
}

/** Settings of a convolution descriptor. */
export interface ConvDescriptorSpec {
  /** Zero padding per spatial dim. */
  readonly padding: readonly number[];
  /** Stride per spatial dim. */
  readonly stride: readonly number[];
  /** Dilation per spatial dim. */
  readonly dilation: readonly number[];
  /** Channel groups. */
  readonly groups: number;
  /** `cudnnDataType_t` of the accumulation. */
  readonly computeType: number;
  /** `cudnnMathType_t`. */
  readonly mathType: number;
}

/**
 * The cuDNN calls the conv engine makes. {@linkcode Cudnn} implements it over FFI; tests pass a
 * fake. Every method throws a `DeviceError` naming the call where cuDNN reports an error.
 */
export interface CudnnApi {
  /** `cudnnGetVersion()` (e.g. 91900). */
  readonly version: number;
  /** A tensor descriptor (`cudnnCreateTensorDescriptor` + `cudnnSetTensorNdDescriptor`). */
  tensorDescriptor(dataType: number, dims: readonly number[], strides: readonly number[]): bigint;
  /** A filter descriptor (`cudnnCreateFilterDescriptor` + `cudnnSetFilterNdDescriptor`, NCHW). */
  filterDescriptor(dataType: number, dims: readonly number[]): bigint;
  /**
   * A cross-correlation descriptor (`cudnnCreateConvolutionDescriptor`,
   * `cudnnSetConvolutionNdDescriptor`, `cudnnSetConvolutionGroupCount`,
   * `cudnnSetConvolutionMathType`).
   */
  convolutionDescriptor(spec: ConvDescriptorSpec): bigint;
  /** `cudnnSetConvolutionMathType` on an existing descriptor. */
  setMathType(conv: bigint, mathType: number): void;
  /** Destroys a descriptor made by the methods above. */
  destroy(kind: "tensor" | "filter" | "convolution", desc: bigint): void;
  /** The heuristics' ranking (`cudnnGet*Algorithm_v7`), best first. */
  heuristics(dir: ConvDirection, d: ConvDescriptors): AlgoPerf[];
  /**
   * Benchmarks the algorithms on real buffers (`cudnnFind*AlgorithmEx`; synchronises, and writes
   * the output), fastest first. Null where the library lacks the call.
   */
  find:
    | ((
      dir: ConvDirection,
      d: ConvDescriptors,
      p: ConvPointers,
      workspace: bigint,
      workspaceBytes: number,
    ) => AlgoPerf[])
    | null;
  /** Workspace bytes `algo` needs (`cudnnGetConvolution*WorkspaceSize`). */
  workspaceSize(dir: ConvDirection, d: ConvDescriptors, algo: number): number;
  /**
   * Runs the convolution (`cudnnConvolutionForward`, `...BackwardData`, `...BackwardFilter`):
   * output = alpha · result + beta · output.
   */
  run(
    dir: ConvDirection,
    d: ConvDescriptors,
    p: ConvPointers,
    algo: number,
    workspace: bigint,
    workspaceBytes: number,
    alpha: number,
    beta: number,
  ): void;
  /** `cudnnAddTensor`: c = alpha · a + beta · c, broadcasting a (the bias as [1, C, 1, 1]). */
  addTensor(alpha: number, aDesc: bigint, a: bigint, beta: number, cDesc: bigint, c: bigint): void;
}

/** Decodes `count` `cudnnConvolution*AlgoPerf_t` structs from `bytes`. */
export function decodeAlgoPerfs(bytes: Uint8Array, count: number): AlgoPerf[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: AlgoPerf[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * ALGO_PERF_BYTES;
    out.push({
      algo: v.getInt32(o, true),
      status: v.getInt32(o + 4, true),
      time: v.getFloat32(o + 8, true),
      memory: Number(v.getBigUint64(o + 16, true)),
      determinism: v.getInt32(o + 24, true),
      mathType: v.getInt32(o + 28, true),
    });
  }
  return out;
}

/** The legacy convolution calls without which cuDNN is not used. */
const REQUIRED: readonly (keyof CudnnSymbols)[] = [
  "cudnnCreateConvolutionDescriptor",
  "cudnnSetConvolutionNdDescriptor",
  "cudnnSetConvolutionGroupCount",
  "cudnnSetConvolutionMathType",
  "cudnnDestroyConvolutionDescriptor",
  "cudnnGetConvolutionForwardAlgorithm_v7",
  "cudnnGetConvolutionBackwardDataAlgorithm_v7",
  "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
  "cudnnGetConvolutionForwardWorkspaceSize",
  "cudnnGetConvolutionBackwardDataWorkspaceSize",
  "cudnnGetConvolutionBackwardFilterWorkspaceSize",
  "cudnnConvolutionForward",
  "cudnnConvolutionBackwardData",
  "cudnnConvolutionBackwardFilter",
];

/** Most algorithms asked of a search (cuDNN 9 has at most 8 per direction). */
const MAX_ALGOS = 16;

/** cuDNN on the context's stream, implementing {@linkcode CudnnApi}. */
export class Cudnn implements CudnnApi {
  /** The path or soname it was opened by. */
  readonly path: string;
  /** `cudnnGetVersion()`. */
  readonly version: number;
  /** `cudnnFind*AlgorithmEx` where the library has it. */
  readonly find: CudnnApi["find"];
  #lib: Deno.DynamicLibrary<CudnnSymbols>;
  #s: Deno.DynamicLibrary<CudnnSymbols>["symbols"];
  #handle: bigint;
  #companions: Deno.DynamicLibrary<Record<string, never>>[];
  #out = new BigUint64Array(1);
  #count = new Int32Array(1);
  #perf = new Uint8Array(ALGO_PERF_BYTES * MAX_ALGOS);
  #alpha = new Float32Array(1);
  #beta = new Float32Array(1);

  /** Creates a handle bound to `stream` (the context must be current). */
  constructor(
    lib: Deno.DynamicLibrary<CudnnSymbols>,
    path: string,
    stream: bigint,
    companions: Deno.DynamicLibrary<Record<string, never>>[] = [],
  ) {
    this.#lib = lib;
    this.#s = lib.symbols;
    this.path = path;
    this.#companions = companions;
    this.version = Number(this.#s.cudnnGetVersion());
    const missing = REQUIRED.filter((k) => !this.#s[k]);
    if (missing.length) {
      throw new DeviceError(
        `cuDNN ${this.version} lacks the legacy convolution API (${missing.join(", ")})`,
      );
    }
    this.#check("cudnnCreate", this.#s.cudnnCreate(this.#out));
    this.#handle = this.#out[0];
    this.#check("cudnnSetStream", this.#s.cudnnSetStream(this.#handle, stream));
    const s = this.#s;
    const ex = {
      forward: s.cudnnFindConvolutionForwardAlgorithmEx,
      backwardData: s.cudnnFindConvolutionBackwardDataAlgorithmEx,
      backwardFilter: s.cudnnFindConvolutionBackwardFilterAlgorithmEx,
    };
    this.find = ex.forward && ex.backwardData && ex.backwardFilter
      ? (dir, d, p, ws, wsBytes) => {
        // The Find calls take (first descriptor, its pointer, second, its pointer, conv, out
        // descriptor, its pointer) in each direction's own order.
        const [a, pa, b, pb, c, pc] = dir === "forward"
          ? [d.x, p.x, d.w, p.w, d.y, p.y]
          : dir === "backwardData"
          ? [d.w, p.w, d.y, p.y, d.x, p.x]
          : [d.x, p.x, d.y, p.y, d.w, p.w];
        this.#check(
          `cudnnFindConvolution${cap(dir)}AlgorithmEx`,
          ex[dir]!(
            this.#handle,
            a,
            pa,
            b,
            pb,
            d.conv,
            c,
            pc,
            MAX_ALGOS,
            this.#count,
            this.#perf,
            ws,
            BigInt(wsBytes),
          ),
        );
        return decodeAlgoPerfs(this.#perf, this.#count[0]);
      }
      : null;
  }

  #check(call: string, status: number, detail = ""): void {
    if (status === 0) return;
    const p = this.#s.cudnnGetErrorString(status);
    const text = p ? Deno.UnsafePointerView.getCString(p) : `status ${status}`;
    throw new DeviceError(`cuda: ${call}${detail ? ` (${detail})` : ""} failed: ${text}`);
  }

  /** See {@linkcode CudnnApi.tensorDescriptor}. */
  tensorDescriptor(dataType: number, dims: readonly number[], strides: readonly number[]): bigint {
    this.#check("cudnnCreateTensorDescriptor", this.#s.cudnnCreateTensorDescriptor(this.#out));
    const desc = this.#out[0];
    this.#check(
      "cudnnSetTensorNdDescriptor",
      this.#s.cudnnSetTensorNdDescriptor(
        desc,
        dataType,
        dims.length,
        Int32Array.from(dims),
        Int32Array.from(strides),
      ),
      `dims [${dims}] strides [${strides}]`,
    );
    return desc;
  }

  /** See {@linkcode CudnnApi.filterDescriptor}. */
  filterDescriptor(dataType: number, dims: readonly number[]): bigint {
    this.#check("cudnnCreateFilterDescriptor", this.#s.cudnnCreateFilterDescriptor(this.#out));
    const desc = this.#out[0];
    this.#check(
      "cudnnSetFilterNdDescriptor",
      this.#s.cudnnSetFilterNdDescriptor(
        desc,
        dataType,
        CUDNN_TENSOR_NCHW,
        dims.length,
        Int32Array.from(dims),
      ),
      `dims [${dims}]`,
    );
    return desc;
  }

  /** See {@linkcode CudnnApi.convolutionDescriptor}. */
  convolutionDescriptor(c: ConvDescriptorSpec): bigint {
    const s = this.#s;
    this.#check("cudnnCreateConvolutionDescriptor", s.cudnnCreateConvolutionDescriptor!(this.#out));
    const desc = this.#out[0];
    this.#check(
      "cudnnSetConvolutionNdDescriptor",
      s.cudnnSetConvolutionNdDescriptor!(
        desc,
        c.padding.length,
        Int32Array.from(c.padding),
        Int32Array.from(c.stride),
        Int32Array.from(c.dilation),
        CUDNN_CROSS_CORRELATION,
        c.computeType,
      ),
      `padding [${c.padding}] stride [${c.stride}] dilation [${c.dilation}]`,
    );
    this.#check("cudnnSetConvolutionGroupCount", s.cudnnSetConvolutionGroupCount!(desc, c.groups));
    this.setMathType(desc, c.mathType);
    return desc;
  }

  /** See {@linkcode CudnnApi.setMathType}. */
  setMathType(conv: bigint, mathType: number): void {
    this.#check(
      "cudnnSetConvolutionMathType",
      this.#s.cudnnSetConvolutionMathType!(conv, mathType),
    );
  }

  /** See {@linkcode CudnnApi.destroy}. */
  destroy(kind: "tensor" | "filter" | "convolution", desc: bigint): void {
    const s = this.#s;
    if (kind === "tensor") s.cudnnDestroyTensorDescriptor(desc);
    else if (kind === "filter") s.cudnnDestroyFilterDescriptor(desc);
    else s.cudnnDestroyConvolutionDescriptor!(desc);
  }

  /** See {@linkcode CudnnApi.heuristics}. */
  heuristics(dir: ConvDirection, d: ConvDescriptors): AlgoPerf[] {
    const s = this.#s, h = this.#handle;
    const n = MAX_ALGOS, c = this.#count, p = this.#perf;
    const rc = dir === "forward"
      ? s.cudnnGetConvolutionForwardAlgorithm_v7!(h, d.x, d.w, d.conv, d.y, n, c, p)
      : dir === "backwardData"
      ? s.cudnnGetConvolutionBackwardDataAlgorithm_v7!(h, d.w, d.y, d.conv, d.x, n, c, p)
      : s.cudnnGetConvolutionBackwardFilterAlgorithm_v7!(h, d.x, d.y, d.conv, d.w, n, c, p);
    this.#check(`cudnnGetConvolution${cap(dir)}Algorithm_v7`, rc);
    return decodeAlgoPerfs(p, c[0]);
  }

  /** See {@linkcode CudnnApi.workspaceSize}. */
  workspaceSize(dir: ConvDirection, d: ConvDescriptors, algo: number): number {
    const s = this.#s, h = this.#handle, o = this.#out;
    const rc = dir === "forward"
      ? s.cudnnGetConvolutionForwardWorkspaceSize!(h, d.x, d.w, d.conv, d.y, algo, o)
      : dir === "backwardData"
      ? s.cudnnGetConvolutionBackwardDataWorkspaceSize!(h, d.w, d.y, d.conv, d.x, algo, o)
      : s.cudnnGetConvolutionBackwardFilterWorkspaceSize!(h, d.x, d.y, d.conv, d.w, algo, o);
    this.#check(`cudnnGetConvolution${cap(dir)}WorkspaceSize`, rc, `algo ${algo}`);
    return Number(o[0]);
  }

  /** See {@linkcode CudnnApi.run}. */
  run(
    dir: ConvDirection,
    d: ConvDescriptors,
    p: ConvPointers,
    algo: number,
    ws: bigint,
    wsBytes: number,
    alpha: number,
    beta: number,
  ): void {
    const s = this.#s, h = this.#handle, a = this.#alpha, b = this.#beta, n = BigInt(wsBytes);
    a[0] = alpha;
    b[0] = beta;
    const rc = dir === "forward"
      ? s.cudnnConvolutionForward!(h, a, d.x, p.x, d.w, p.w, d.conv, algo, ws, n, b, d.y, p.y)
      : dir === "backwardData"
      ? s.cudnnConvolutionBackwardData!(h, a, d.w, p.w, d.y, p.y, d.conv, algo, ws, n, b, d.x, p.x)
      : s.cudnnConvolutionBackwardFilter!(
        h,
        a,
        d.x,
        p.x,
        d.y,
        p.y,
        d.conv,
        algo,
        ws,
        n,
        b,
        d.w,
        p.w,
      );
    this.#check(
      dir === "forward" ? "cudnnConvolutionForward" : `cudnnConvolution${cap(dir)}`,
      rc,
      `algo ${algo}, workspace ${wsBytes} bytes`,
    );
  }

  /** See {@linkcode CudnnApi.addTensor}. */
  addTensor(alpha: number, aDesc: bigint, a: bigint, beta: number, cDesc: bigint, c: bigint): void {
    this.#alpha[0] = alpha;
    this.#beta[0] = beta;
    this.#check(
      "cudnnAddTensor",
      this.#s.cudnnAddTensor(this.#handle, this.#alpha, aDesc, a, this.#beta, cDesc, c),
    );
  }

  /** Destroys the handle and closes the libraries. */
  close(): void {
    this.#s.cudnnDestroy(this.#handle);
    this.#lib.close();
    for (const c of this.#companions.reverse()) c.close();
  }
}

function cap(dir: ConvDirection): string {
  return dir === "forward" ? "Forward" : dir === "backwardData" ? "BackwardData" : "BackwardFilter";
}

/** cuDNN 9's sub-libraries, in dependency order, preloaded from the shim's folder. */
export const CUDNN_SUBLIBRARIES: readonly string[] = [
  "libcudnn_graph.so.9",
  "libcudnn_engines_precompiled.so.9",
  "libcudnn_engines_runtime_compiled.so.9",
  "libcudnn_heuristic.so.9",
  "libcudnn_ops.so.9",
  "libcudnn_cnn.so.9",
];

/**
 * Opens cuDNN (path from `path`, else `DENN_CUDNN`, else the search) and creates a handle on
 * `stream`; the reason where it does not load or lacks the legacy convolution API.
 */
export function openCudnn(stream: bigint, path?: string): Cudnn | string {
  let companions: Deno.DynamicLibrary<Record<string, never>>[] = [];
  const opened = openLibrary(LIBCUDNN, SYMBOLS, path, (candidate) => {
    for (const c of companions) c.close();
    companions = [];
    const folder = folderOf(candidate);
    if (!folder || Deno.build.os === "windows") return;
    for (const sub of CUDNN_SUBLIBRARIES) {
      const lib = preload([sub], folder);
      if (lib) companions.push(lib);
    }
  });
  if (typeof opened === "string") return opened;
  try {
    return new Cudnn(opened.lib, opened.path, stream, companions);
  } catch (e) {
    opened.lib.close();
    for (const c of companions) c.close();
    return `libcudnn loaded from ${opened.path} but ${(e as Error).message}`;
  }
}
