// The cuDNN FFI table checked without cudnn.h (not installed here): parameter count and kinds of
// every bound symbol against prototypes transcribed from the cuDNN API reference. The legacy
// convolution prototypes are unchanged from cuDNN 8 to 9 (cuDNN 9 moved them into
// libcudnn_cnn and marked them deprecated). Transcribed from the bindgen outputs of the headers
// published on docs.rs, e.g.
//   https://docs.rs/rcudnn-sys/0.5.0/rcudnn_sys/fn.cudnnConvolutionForward.html
//   https://docs.rs/rcudnn-sys/0.5.0/rcudnn_sys/fn.cudnnConvolutionBackwardFilter.html
//   https://docs.rs/rcudnn-sys/latest/rcudnn_sys/fn.cudnnFindConvolutionForwardAlgorithmEx.html
//   https://docs.rs/rcudnn-sys/0.5.0/rcudnn_sys/fn.cudnnGetConvolutionForwardAlgorithm_v7.html
//   https://docs.rs/rcudnn-sys/0.5.0/rcudnn_sys/fn.cudnnGetConvolutionBackwardDataWorkspaceSize.html
//   https://docs.rs/crate/rcudnn-sys/latest/target-redirect/x86_64-unknown-linux-gnu/rcudnn_sys/fn.cudnnGetConvolutionBackwardFilterWorkspaceSize.html
//   https://docs.rs/cudarc/0.9.9/cudarc/cudnn/sys/fn.cudnnSetConvolutionNdDescriptor.html
//   https://docs.rs/cudarc/0.9.9/cudarc/cudnn/sys/fn.cudnnSetTensorNdDescriptor.html
//   https://docs.rs/rcudnn-sys/0.5.0/rcudnn_sys/fn.cudnnSetFilterNdDescriptor.html
//   https://docs.rs/rcudnn/latest/rcudnn/fn.cudnnSetConvolutionGroupCount.html
// (NVIDIA's own reference pages, docs.nvidia.com/deeplearning/cudnn/latest/api/, were not in the
// searchable docs; the GPU run in tests/cuda/gpu_test.ts is the real check.)

import assert from "node:assert/strict";
import { cudnnSymbols, openCudnn } from "../../plugins/cuda/runtime/cudnn.ts";

// Parameter kinds: h = handle or descriptor (pointer-sized, bound u64), p = device pointer (u64),
// o = host out-pointer or host array (buffer), i = int or enum (i32), s = size_t (usize).
// The result of every call but two is cudnnStatus_t (i32).
const C_PROTOTYPES: Record<string, { params: string; result?: string }> = {
  cudnnGetVersion: { params: "", result: "usize" },
  cudnnGetErrorString: { params: "i", result: "pointer" },
  // cudnnCreate(cudnnHandle_t *handle)
  cudnnCreate: { params: "o" },
  cudnnDestroy: { params: "h" },
  // cudnnSetStream(cudnnHandle_t, cudaStream_t)
  cudnnSetStream: { params: "hh" },
  cudnnCreateTensorDescriptor: { params: "o" },
  // (tensorDesc, dataType, nbDims, const int dimA[], const int strideA[])
  cudnnSetTensorNdDescriptor: { params: "hiioo" },
  cudnnDestroyTensorDescriptor: { params: "h" },
  cudnnCreateFilterDescriptor: { params: "o" },
  // (filterDesc, dataType, format, nbDims, const int filterDimA[])
  cudnnSetFilterNdDescriptor: { params: "hiiio" },
  cudnnDestroyFilterDescriptor: { params: "h" },
  cudnnCreateConvolutionDescriptor: { params: "o" },
  // (convDesc, arrayLength, padA[], filterStrideA[], dilationA[], mode, computeType)
  cudnnSetConvolutionNdDescriptor: { params: "hioooii" },
  cudnnSetConvolutionGroupCount: { params: "hi" },
  cudnnSetConvolutionMathType: { params: "hi" },
  cudnnDestroyConvolutionDescriptor: { params: "h" },
  // (handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, *returnedAlgoCount, *perfResults)
  cudnnGetConvolutionForwardAlgorithm_v7: { params: "hhhhhioo" },
  // (handle, wDesc, dyDesc, convDesc, dxDesc, requested, *returned, *perf)
  cudnnGetConvolutionBackwardDataAlgorithm_v7: { params: "hhhhhioo" },
  // (handle, xDesc, dyDesc, convDesc, dwDesc, requested, *returned, *perf)
  cudnnGetConvolutionBackwardFilterAlgorithm_v7: { params: "hhhhhioo" },
  // (handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requested, *returned, *perf, workSpace,
  //  workSpaceSizeInBytes)
  cudnnFindConvolutionForwardAlgorithmEx: { params: "hhphphhpioops" },
  // (handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requested, *returned, *perf, ws, size)
  cudnnFindConvolutionBackwardDataAlgorithmEx: { params: "hhphphhpioops" },
  // (handle, xDesc, x, dyDesc, dy, convDesc, dwDesc, dw, requested, *returned, *perf, ws, size)
  cudnnFindConvolutionBackwardFilterAlgorithmEx: { params: "hhphphhpioops" },
  // (handle, xDesc, wDesc, convDesc, yDesc, algo, size_t *sizeInBytes)
  cudnnGetConvolutionForwardWorkspaceSize: { params: "hhhhhio" },
  cudnnGetConvolutionBackwardDataWorkspaceSize: { params: "hhhhhio" },
  cudnnGetConvolutionBackwardFilterWorkspaceSize: { params: "hhhhhio" },
  // (handle, *alpha, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, *beta,
  //  yDesc, y)
  cudnnConvolutionForward: { params: "hohphphipsohp" },
  // (handle, *alpha, wDesc, w, dyDesc, dy, convDesc, algo, ws, size, *beta, dxDesc, dx)
  cudnnConvolutionBackwardData: { params: "hohphphipsohp" },
  // (handle, *alpha, xDesc, x, dyDesc, dy, convDesc, algo, ws, size, *beta, dwDesc, dw)
  cudnnConvolutionBackwardFilter: { params: "hohphphipsohp" },
  // (handle, *alpha, aDesc, A, *beta, cDesc, C)
  cudnnAddTensor: { params: "hohpohp" },
};

const FFI: Record<string, string> = { h: "u64", p: "u64", o: "buffer", i: "i32", s: "usize" };

Deno.test("cuDNN FFI symbols match the transcribed cuDNN 9 prototypes", () => {
  const bound = cudnnSymbols() as unknown as Record<string, Deno.ForeignFunction>;
  const problems: string[] = [];
  for (const [name, proto] of Object.entries(C_PROTOTYPES)) {
    const fn = bound[name];
    if (!fn) {
      problems.push(`${name}: not bound`);
      continue;
    }
    const want = [...proto.params].map((k) => FFI[k]);
    if (fn.parameters.length !== want.length) {
      problems.push(
        `${name}: ${fn.parameters.length} FFI parameters, the prototype has ${want.length}`,
      );
      continue;
    }
    want.forEach((t, i) => {
      if (fn.parameters[i] !== t) {
        problems.push(`${name}: parameter ${i} is ${fn.parameters[i]}, expected ${t}`);
      }
    });
    if (fn.result !== (proto.result ?? "i32")) {
      problems.push(`${name}: result ${String(fn.result)}, expected ${proto.result ?? "i32"}`);
    }
  }
  for (const name of Object.keys(bound)) {
    if (!(name in C_PROTOTYPES)) problems.push(`${name}: bound but not in the transcribed table`);
  }
  assert.deepEqual(problems, []);
});

Deno.test("cuDNN FFI: the legacy convolution calls are optional, the core calls are not", () => {
  const bound = cudnnSymbols() as unknown as Record<string, Deno.ForeignFunction>;
  for (const [name, fn] of Object.entries(bound)) {
    const legacyConv = /Convolution|AlgorithmEx|_v7/.test(name);
    assert.equal(!!fn.optional, legacyConv, `${name} optional: ${!!fn.optional}`);
  }
});

Deno.test({
  name: "openCudnn: a missing library is a reason naming the path, not an exception",
  ignore: Deno.permissions.querySync({ name: "ffi" }).state !== "granted",
  fn() {
    const why = openCudnn(0n, "/nonexistent/libcudnn.so.9");
    assert.equal(typeof why, "string");
    assert.match(
      why as string,
      /libcudnn \/nonexistent\/libcudnn\.so\.9 \(from the options\) did not load/,
    );
  },
});
