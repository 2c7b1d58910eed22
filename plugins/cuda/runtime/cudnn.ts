/**
 * cuDNN 9's legacy convolution API through `Deno.dlopen`: the symbol table and
 * {@linkcode openCudnn}, which loads the library and returns a {@linkcode Cudnn} handle
 * (cudnn_handle.ts) implementing `CudnnApi` (cudnn_api.ts, with the constants and types): the
 * calls the conv engine (kernels/conv.ts) makes, in TypeScript terms (descriptors as handles,
 * algorithm results as objects), so the engine is tested with a fake API and cuDNN's graph API can
 * replace the legacy calls later without touching the kernels.
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

import { folderOf, LIBCUDNN, openLibrary, preload } from "./libs.ts";
import { Cudnn } from "./cudnn_handle.ts";

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
