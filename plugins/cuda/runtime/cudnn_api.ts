/**
 * The cuDNN calls the cuda conv engine makes, as {@linkcode CudnnApi} (implemented over FFI by
 * `Cudnn` in cudnn_handle.ts, or by a fake in tests), with the cuDNN constants the engine passes,
 * the descriptor and pointer bundles of one convolution, and {@linkcode decodeAlgoPerfs} for the
 * algorithm searches' results. cudnn.ts opens the library.
 *
 * @module
 */

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
