/**
 * {@linkcode Cudnn}: a cuDNN handle on the context's stream, implementing `CudnnApi`
 * (cudnn_api.ts) over the library `openCudnn` (cudnn.ts) opened. It refuses a library without the
 * legacy convolution calls, and binds the `cudnnFind*AlgorithmEx` searches only where all three
 * are present.
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";
import type { CudnnSymbols } from "./cudnn.ts";
import {
  ALGO_PERF_BYTES,
  CUDNN_CROSS_CORRELATION,
  CUDNN_TENSOR_NCHW,
  decodeAlgoPerfs,
} from "./cudnn_api.ts";
import type {
  AlgoPerf,
  ConvDescriptors,
  ConvDescriptorSpec,
  ConvDirection,
  ConvPointers,
  CudnnApi,
} from "./cudnn_api.ts";

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
