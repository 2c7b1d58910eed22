// The cuda conv engines without a GPU.
//
// 1. The im2col path computes the right numbers: a host emulator of the Cuda context keeps device
//    memory as arrays, runs the three conv kernels (a line-by-line transcription of their CUDA C)
//    and emulates cuBLAS's row-major sgemm from its arguments (offsets, leading dimensions,
//    strides, transposes, beta), so the GEMM plan (the part most likely to be wrong) is checked
//    against the cpu backend's conv2d and its gradients, over stride, padding, dilation, groups
//    and batches split into several column chunks.
// 2. The cuDNN engine makes the right descriptors and caches its algorithm choice, through a fake
//    CudnnApi that records every call.

import assert from "node:assert/strict";
import { F, Storage, Tensor, tensor } from "../../mod.ts";
import type { DType } from "../../mod.ts";
import { cudaKernels } from "../../plugins/cuda/kernels/mod.ts";
import {
  convEngine,
  convPathStats,
  convProblem,
  CudnnConvEngine,
  Im2colConvEngine,
  setConvPath,
} from "../../plugins/cuda/kernels/conv.ts";
import type { ConvProblem } from "../../plugins/cuda/kernels/conv.ts";
import {
  CUDNN_DATA_FLOAT,
  CUDNN_DATA_HALF,
  CUDNN_DEFAULT_MATH,
  CUDNN_FMA_MATH,
  CUDNN_TENSOR_OP_MATH,
  decodeAlgoPerfs,
} from "../../plugins/cuda/runtime/cudnn_api.ts";
import type {
  AlgoPerf,
  ConvDescriptors,
  ConvDescriptorSpec,
  ConvDirection,
  ConvPointers,
  CudnnApi,
} from "../../plugins/cuda/runtime/cudnn_api.ts";
import type {
  Cuda,
  CudaBuffer,
  CudaFunction,
  KernelArg,
  LaunchConfig,
} from "../../plugins/cuda/types.ts";
import { FAKE_BACKEND, hostSgemm } from "./_fake.ts";
import type { SgemmArgs } from "./_fake.ts";

/** A Cuda context whose device memory is host arrays and whose launches run on the host. */
class EmulatedCuda implements Cuda {
  readonly arch = "sm_90";
  readonly deviceName = "emulated";
  mem = new Map<bigint, Float64Array>();
  live = new Set<bigint>();
  next = 0x1000n;
  gemms = 0;
  launched: string[] = [];
  blasUnavailable = null;
  blas = { allowTF32: false, sgemm: (a: SgemmArgs) => this.#sgemm(a) };

  alloc(elements: number, dtype: DType): CudaBuffer {
    const b = { ptr: this.next, elements, dtype, bytes: Math.max(256, elements * 4) };
    this.next += BigInt(b.bytes);
    // Fresh memory is garbage, so a kernel that reads what nobody wrote shows up as NaN.
    this.mem.set(b.ptr, new Float64Array(elements).fill(NaN));
    this.live.add(b.ptr);
    return b;
  }
  free(b: CudaBuffer): void {
    assert(this.live.delete(b.ptr), "free of a buffer that is not live");
  }
  zero(b: CudaBuffer): void {
    this.#m(b).fill(0);
  }
  kernel(_source: string, name: string): CudaFunction {
    return { name, handle: 1n };
  }
  write(b: CudaBuffer, data: ArrayBufferView): void {
    this.#m(b).set(data as Float32Array);
  }
  read(b: CudaBuffer, elements: number): ArrayBufferView {
    return Float32Array.from(this.#m(b).subarray(0, elements));
  }
  #m(b: CudaBuffer | bigint): Float64Array {
    const p = typeof b === "bigint" ? b : b.ptr;
    assert(this.live.has(p), "access to a freed buffer");
    return this.mem.get(p)!;
  }
  launch(fn: CudaFunction, _config: LaunchConfig, args: readonly KernelArg[]): void {
    this.launched.push(fn.name);
    const v = args.map((a) => {
      const x = Object.values(a)[0];
      return typeof x === "object" ? this.#m((x as CudaBuffer).ptr) : Number(x);
    });
    const num = (i: number) => v[i] as number;
    const arr = (i: number) => v[i] as Float64Array;
    if (fn.name.startsWith("denn_conv_im2col_")) {
      const [col, x] = [arr(0), arr(1)];
      const [total, xOff, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW] = v.slice(2) as number[];
      for (let i = 0; i < total; i++) {
        const ow = i % OW;
        let r = Math.floor(i / OW);
        const oh = r % OH;
        r = Math.floor(r / OH);
        const kw = r % KW;
        r = Math.floor(r / KW);
        const kh = r % KH;
        r = Math.floor(r / KH);
        const c = r % C, n = Math.floor(r / C);
        const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
        col[i] = ih >= 0 && ih < H && iw >= 0 && iw < W
          ? x[xOff + ((n * C + c) * H + ih) * W + iw]
          : 0;
      }
    } else if (fn.name.startsWith("denn_conv_col2im_")) {
      const [dx, col] = [arr(0), arr(1)];
      const [total, xOff, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW] = v.slice(2) as number[];
      for (let i = 0; i < total; i++) {
        const iw = i % W;
        let r = Math.floor(i / W);
        const ih = r % H;
        r = Math.floor(r / H);
        const c = r % C, n = Math.floor(r / C);
        const base = (n * C + c) * KH * KW;
        let acc = 0;
        for (let kh = 0; kh < KH; kh++) {
          const t = ih + PH - kh * DH;
          if (t < 0 || t % SH !== 0) continue;
          const oh = t / SH;
          if (oh >= OH) continue;
          for (let kw = 0; kw < KW; kw++) {
            const u = iw + PW - kw * DW;
            if (u < 0 || u % SW !== 0) continue;
            const ow = u / SW;
            if (ow >= OW) continue;
            acc += col[((base + kh * KW + kw) * OH + oh) * OW + ow];
          }
        }
        dx[xOff + i] = acc;
      }
    } else if (fn.name.startsWith("denn_conv_finish_")) {
      const [out, src, bias] = [arr(0), arr(1), arr(2)];
      const [total, outOff, P, O, hasBias] = [num(3), num(4), num(5), num(6), num(7)];
      for (let i = 0; i < total; i++) {
        out[outOff + i] = src[i] + (hasBias ? bias[Math.floor(i / P) % O] : 0);
      }
    } else throw new Error(`the emulator does not run ${fn.name}`);
  }
  #sgemm(a: SgemmArgs): void {
    this.gemms++;
    hostSgemm(a, this.#m(a.a), this.#m(a.b), this.#m(a.c));
  }
}

function upload(cuda: EmulatedCuda, data: Float32Array, shape: number[]): Tensor {
  const b = cuda.alloc(data.length, "float32");
  cuda.write(b, data);
  return Tensor.fromStorage(new Storage(b, FAKE_BACKEND, data.length), shape, "float32", "cuda");
}

function rand(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
}

function close(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${name}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-4 + 1e-4 * Math.abs(want[i]))) {
      assert.fail(`${name}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

const CASES = [
  {
    x: [2, 3, 7, 6],
    w: [4, 3, 3, 2],
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
  },
  {
    x: [3, 4, 9, 8],
    w: [6, 2, 3, 3],
    stride: [2, 3],
    padding: [1, 2],
    dilation: [2, 1],
    groups: 2,
  },
  {
    x: [1, 6, 5, 5],
    w: [6, 1, 3, 3],
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 6,
  },
  {
    x: [2, 4, 6, 6],
    w: [8, 1, 1, 1],
    stride: [2, 2],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 4,
  },
  {
    x: [5, 2, 4, 5],
    w: [3, 2, 2, 3],
    stride: [1, 2],
    padding: [2, 1],
    dilation: [1, 2],
    groups: 1,
  },
];

Deno.test("cuda conv: the im2col path matches cpu conv2d and both gradients (emulated device)", () => {
  for (const c of CASES) {
    for (const columnLimit of [1 << 25, 1]) {
      const name = `x ${c.x} w ${c.w} s ${c.stride} p ${c.padding} d ${c.dilation} g ${c.groups}` +
        (columnLimit === 1 ? " (one image per column chunk)" : "");
      const X = rand(c.x.reduce((a, b) => a * b)), W = rand(c.w.reduce((a, b) => a * b));
      const Bv = rand(c.w[0]);
      // cpu reference: y = conv2d(x, w, b), gradients of Σ y·gy.
      const x = tensor(X, { shape: c.x, requiresGrad: true });
      const w = tensor(W, { shape: c.w, requiresGrad: true });
      const b = tensor(Bv, { requiresGrad: true });
      const attrs = {
        stride: c.stride,
        padding: c.padding,
        dilation: c.dilation,
        groups: c.groups,
      };
      const y = F.conv2d(x, w, b, {
        stride: c.stride as [number, number],
        padding: c.padding as [number, number],
        dilation: c.dilation as [number, number],
        groups: c.groups,
      });
      const GY = rand(y.numel());
      y.mul(tensor(GY, { shape: [...y.shape] })).sum().backward();
      // The engine on the emulated device.
      const cuda = new EmulatedCuda();
      const engine = new Im2colConvEngine(cuda, { columnLimit });
      const p = convProblem(c.x, c.w, y.shape, attrs as never, "float32");
      const xb = cuda.alloc(X.length, "float32"), wb = cuda.alloc(W.length, "float32");
      const bb = cuda.alloc(Bv.length, "float32"), gyb = cuda.alloc(GY.length, "float32");
      cuda.write(xb, X);
      cuda.write(wb, W);
      cuda.write(bb, Bv);
      cuda.write(gyb, GY);
      const yb = cuda.alloc(y.numel(), "float32");
      engine.forward(p, xb, wb, bb, yb);
      close(`${name}: y`, cuda.read(yb, y.numel()) as Float32Array, y.dataSync());
      const yn = cuda.alloc(y.numel(), "float32");
      engine.forward(p, xb, wb, null, yn);
      const noBias = F.conv2d(tensor(X, { shape: c.x }), tensor(W, { shape: c.w }), null, {
        stride: c.stride as [number, number],
        padding: c.padding as [number, number],
        dilation: c.dilation as [number, number],
        groups: c.groups,
      });
      close(`${name}: y without bias`, cuda.read(yn, y.numel()) as Float32Array, noBias.dataSync());
      const dxb = cuda.alloc(X.length, "float32");
      engine.backwardData(p, gyb, wb, dxb);
      close(`${name}: dx`, cuda.read(dxb, X.length) as Float32Array, x.grad!.dataSync());
      const dwb = cuda.alloc(W.length, "float32");
      engine.backwardFilter(p, xb, gyb, dwb);
      close(`${name}: dw`, cuda.read(dwb, W.length) as Float32Array, w.grad!.dataSync());
      if (columnLimit === 1) {
        assert(cuda.gemms > c.x[0], `${name}: chunks of one image make several GEMM rounds`);
      }
      // Only the inputs and outputs are still live: every scratch buffer was freed.
      assert.equal(cuda.live.size, 8, `${name}: scratch buffers freed`);
    }
  }
});

Deno.test("cuda conv: the table's conv2d runs the im2col path end to end (emulated device)", () => {
  const c = CASES[1];
  const cuda = new EmulatedCuda();
  const X = rand(c.x.reduce((a, b) => a * b)), W = rand(c.w.reduce((a, b) => a * b));
  const attrs = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const want = F.conv2d(tensor(X, { shape: c.x }), tensor(W, { shape: c.w }), null, {
    stride: c.stride as [number, number],
    padding: c.padding as [number, number],
    dilation: c.dilation as [number, number],
    groups: c.groups,
  });
  const inputs = [upload(cuda, X, c.x), upload(cuda, W, c.w)];
  const entry = cudaKernels().conv2d;
  assert.equal(entry.supports!(inputs, attrs, cuda), true);
  const [y] = entry.run(inputs, attrs, [{ shape: want.shape as number[], dtype: "float32" }], cuda);
  close("conv2d", cuda.read(y, want.numel()) as Float32Array, want.dataSync());
  assert.deepEqual(convPathStats(cuda), { cudnn: 0, im2col: 1 });
});

// ---------------------------------------------------------------- cuDNN engine with a fake API

interface Call {
  fn: string;
  args: unknown[];
}

class FakeCudnn implements CudnnApi {
  readonly version = 91900;
  calls: Call[] = [];
  next = 100n;
  perfs: AlgoPerf[] = [
    { algo: 1, status: 0, time: -1, memory: 0, determinism: 1, mathType: CUDNN_DEFAULT_MATH },
    { algo: 2, status: 3000, time: -1, memory: 0, determinism: 1, mathType: CUDNN_FMA_MATH },
    { algo: 6, status: 0, time: -1, memory: 5000, determinism: 1, mathType: CUDNN_FMA_MATH },
    { algo: 7, status: 0, time: -1, memory: 0, determinism: 1, mathType: CUDNN_TENSOR_OP_MATH },
  ];
  find: CudnnApi["find"] = (dir, d, p, ws, bytes) => {
    this.#log("find", dir, d, p, ws, bytes);
    return [...this.perfs].reverse();
  };
  #log(fn: string, ...args: unknown[]): void {
    this.calls.push({ fn, args });
  }
  named(fn: string): Call[] {
    return this.calls.filter((c) => c.fn === fn);
  }
  tensorDescriptor(dataType: number, dims: readonly number[], strides: readonly number[]) {
    this.#log("tensorDescriptor", dataType, [...dims], [...strides]);
    return this.next++;
  }
  filterDescriptor(dataType: number, dims: readonly number[]) {
    this.#log("filterDescriptor", dataType, [...dims]);
    return this.next++;
  }
  convolutionDescriptor(spec: ConvDescriptorSpec) {
    this.#log("convolutionDescriptor", spec);
    return this.next++;
  }
  setMathType(conv: bigint, mathType: number) {
    this.#log("setMathType", conv, mathType);
  }
  destroy(kind: string, d: bigint) {
    this.#log("destroy", kind, d);
  }
  heuristics(dir: ConvDirection, d: ConvDescriptors) {
    this.#log("heuristics", dir, d);
    return this.perfs;
  }
  workspaceSize(dir: ConvDirection, d: ConvDescriptors, algo: number) {
    this.#log("workspaceSize", dir, d, algo);
    return algo === 6 ? 4096 : 0;
  }
  run(
    dir: ConvDirection,
    d: ConvDescriptors,
    p: ConvPointers,
    algo: number,
    ws: bigint,
    wsBytes: number,
    alpha: number,
    beta: number,
  ) {
    this.#log("run", dir, d, p, algo, ws, wsBytes, alpha, beta);
  }
  addTensor(alpha: number, aDesc: bigint, a: bigint, beta: number, cDesc: bigint, c: bigint) {
    this.#log("addTensor", alpha, aDesc, a, beta, cDesc, c);
  }
}

/** A Cuda context with a fake cuDNN (and optionally cuBLAS) that records allocations. */
class DnnCuda implements Cuda {
  readonly arch = "sm_90";
  readonly deviceName = "fake";
  next = 0x1000n;
  allocs: CudaBuffer[] = [];
  freed: CudaBuffer[] = [];
  zeroed: CudaBuffer[] = [];
  capturing = false;
  dnn: FakeCudnn | null = new FakeCudnn();
  dnnUnavailable: string | null = null;
  blas: Cuda["blas"] = { allowTF32: false, sgemm: () => {} };
  blasUnavailable: string | null = null;
  alloc(elements: number, dtype: DType): CudaBuffer {
    const b = { ptr: this.next, elements, dtype, bytes: Math.max(256, elements * 4) };
    this.next += BigInt(b.bytes);
    this.allocs.push(b);
    return b;
  }
  free(b: CudaBuffer): void {
    this.freed.push(b);
  }
  zero(b: CudaBuffer): void {
    this.zeroed.push(b);
  }
  kernel(_s: string, name: string): CudaFunction {
    return { name, handle: 1n };
  }
  launch(): void {
    throw new Error("the cuDNN path launches no NVRTC kernel");
  }
  write(): void {}
  read(_b: CudaBuffer, n: number): ArrayBufferView {
    return new Float32Array(n);
  }
}

function t(cuda: DnnCuda, shape: number[], dtype: DType = "float32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const b = cuda.alloc(n, dtype);
  return Tensor.fromStorage(new Storage(b, FAKE_BACKEND, n), shape, dtype, "cuda");
}

const A = { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 };

Deno.test("cuda conv: cuDNN descriptors, algorithm choice and the plan cache", () => {
  const cuda = new DnnCuda();
  const api = cuda.dnn!;
  const table = cudaKernels();
  const x = t(cuda, [2, 4, 8, 9]), w = t(cuda, [6, 2, 3, 3]), b = t(cuda, [6]);
  const out = [{ shape: [2, 6, 4, 5], dtype: "float32" as DType }];
  assert.equal(table.conv2d.supports!([x, w, b], A, cuda), true);
  const [y] = table.conv2d.run([x, w, b], A, out, cuda);
  // Descriptors: x, filter, convolution, y (+ the bias [1, O, 1, 1]).
  assert.deepEqual(api.named("tensorDescriptor").map((c) => c.args), [
    [CUDNN_DATA_FLOAT, [2, 4, 8, 9], [288, 72, 9, 1]],
    [CUDNN_DATA_FLOAT, [2, 6, 4, 5], [120, 20, 5, 1]],
    [CUDNN_DATA_FLOAT, [1, 6, 1, 1], [6, 1, 1, 1]],
  ]);
  assert.deepEqual(api.named("filterDescriptor").map((c) => c.args), [[CUDNN_DATA_FLOAT, [
    6,
    2,
    3,
    3,
  ]]]);
  assert.deepEqual(api.named("convolutionDescriptor")[0].args[0], {
    padding: [1, 0],
    stride: [2, 1],
    dilation: [1, 2],
    groups: 2,
    computeType: CUDNN_DATA_FLOAT,
    mathType: CUDNN_FMA_MATH, // no TF32 unless ctx.blas.allowTF32
  });
  // Float32 without TF32 takes the first successful FMA algorithm (6), with its workspace.
  assert.equal(api.named("heuristics").length, 1);
  const [run] = api.named("run");
  const [dir, , ptrs, algo, ws, wsBytes, alpha, beta] = run.args as [
    string,
    ConvDescriptors,
    ConvPointers,
    number,
    bigint,
    number,
    number,
    number,
  ];
  assert.deepEqual([dir, algo, wsBytes, alpha, beta], ["forward", 6, 4096, 1, 0]);
  assert.deepEqual(ptrs, {
    x: (x.storage.handle as CudaBuffer).ptr,
    w: (w.storage.handle as CudaBuffer).ptr,
    y: y.ptr,
  });
  const wsBuf = cuda.allocs.find((a) => a.ptr === ws)!;
  assert(wsBuf.bytes >= 4096 && cuda.freed.includes(wsBuf), "the workspace is allocated, freed");
  assert.deepEqual(api.named("addTensor")[0].args.slice(0, 1), [1]);
  assert.equal(api.named("addTensor")[0].args[3], 1, "bias added with beta 1");
  assert.equal(api.named("setMathType").length, 0, "the descriptor's math type already fits");
  // The same problem again: no new descriptor, no search.
  const before = api.calls.length;
  table.conv2d.run([x, w, b], A, out, cuda);
  const again = api.calls.slice(before).map((c) => c.fn);
  assert.deepEqual(again, ["run", "addTensor"]);
  // Another batch size is another plan.
  const x3 = t(cuda, [3, 4, 8, 9]);
  table.conv2d.run([x3, w], A, [{ shape: [3, 6, 4, 5], dtype: "float32" }], cuda);
  assert.equal(api.named("heuristics").length, 2);
  // TF32 allowed: DEFAULT_MATH algorithms qualify (algo 1, no workspace), a new plan.
  cuda.blas!.allowTF32 = true;
  table.conv2d.run([x, w], A, out, cuda);
  const last = api.named("run").at(-1)!;
  assert.deepEqual([last.args[3], last.args[5]], [1, 0]);
  const spec = api.named("convolutionDescriptor").at(-1)!.args[0] as ConvDescriptorSpec;
  assert.equal(spec.mathType, CUDNN_DEFAULT_MATH);
  assert.equal(convPathStats(cuda).cudnn, 4);
  assert.equal(convPathStats(cuda).im2col, 0);
});

Deno.test("cuda conv: cuDNN backward data and filter descriptors, pointers and float16", () => {
  const cuda = new DnnCuda();
  const api = cuda.dnn!;
  const table = cudaKernels();
  const gy = t(cuda, [2, 6, 4, 5], "float16"), w = t(cuda, [6, 2, 3, 3], "float16");
  const x = t(cuda, [2, 4, 8, 9], "float16");
  const [dx] = table.conv2dBackwardInput.run([gy, w], { ...A, shape: [2, 4, 8, 9] }, [{
    shape: [2, 4, 8, 9],
    dtype: "float16",
  }], cuda);
  const [dw] = table.conv2dBackwardWeight.run([gy, x], { ...A, shape: [6, 2, 3, 3] }, [{
    shape: [6, 2, 3, 3],
    dtype: "float16",
  }], cuda);
  for (const c of api.named("tensorDescriptor")) assert.equal(c.args[0], CUDNN_DATA_HALF);
  for (const c of api.named("convolutionDescriptor")) {
    assert.equal((c.args[0] as ConvDescriptorSpec).mathType, CUDNN_TENSOR_OP_MATH);
    assert.equal((c.args[0] as ConvDescriptorSpec).computeType, CUDNN_DATA_FLOAT);
  }
  // Half data takes the heuristics' first successful choice (algo 1, DEFAULT_MATH), and the
  // descriptor's math type is set to the algorithm's.
  assert.deepEqual(api.named("setMathType").map((c) => c.args[1]), [0, 0]);
  const runs = api.named("run").map((c) => c.args as [string, unknown, ConvPointers]);
  const ptr = (v: Tensor) => (v.storage.handle as CudaBuffer).ptr;
  assert.deepEqual(runs.map((r) => r[0]), ["backwardData", "backwardFilter"]);
  assert.deepEqual(runs[0][2], { x: dx.ptr, w: ptr(w), y: ptr(gy) });
  assert.deepEqual(runs[1][2], { x: ptr(x), w: dw.ptr, y: ptr(gy) });
  // Each direction has its own plan: two heuristics calls, one per direction.
  assert.deepEqual(api.named("heuristics").map((c) => c.args[0]), [
    "backwardData",
    "backwardFilter",
  ]);
});

Deno.test("cuda conv: without a usable cuDNN algorithm the problem runs on im2col", () => {
  const cuda = new DnnCuda();
  const api = cuda.dnn!;
  api.perfs = api.perfs.map((p) => ({ ...p, status: 3000 }));
  const p: ConvProblem = convProblem([1, 2, 5, 5], [3, 2, 3, 3], [1, 3, 3, 3], {
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
  }, "float32");
  const e = convEngine(cuda, "forward", p);
  assert(typeof e !== "string" && e.name === "im2col");
  // The descriptors made for the failed search are destroyed, and the verdict is cached.
  assert.equal(api.named("destroy").length, 4);
  convEngine(cuda, "forward", p);
  assert.equal(api.named("heuristics").length, 1);
  // Without cuBLAS either, the reason names both.
  const none = new DnnCuda();
  none.dnn!.perfs = [];
  none.blas = null;
  none.blasUnavailable = "libcublas.so.13: not found";
  const why = convEngine(none, "forward", p);
  assert(typeof why === "string");
  assert.match(why, /cuDNN 91900 has no usable algorithm .*none returned/);
  assert.match(why, /im2col path needs cuBLAS.*libcublas\.so\.13/);
});

Deno.test("cuda conv: setConvPath forces a path; benchmark mode uses Find except while capturing", () => {
  const cuda = new DnnCuda();
  const p = convProblem([1, 2, 5, 5], [3, 2, 3, 3], [1, 3, 3, 3], {
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
  }, "float32");
  setConvPath(cuda, "im2col");
  assert.equal((convEngine(cuda, "forward", p) as { name: string }).name, "im2col");
  setConvPath(cuda, "cudnn", { benchmark: true });
  const api = cuda.dnn!;
  const e = convEngine(cuda, "forward", p);
  assert(typeof e !== "string" && e.name === "cudnn");
  // check() plans without buffers: heuristics; a run with buffers benchmarks its own key.
  const x = cuda.alloc(50, "float32"), w = cuda.alloc(54, "float32");
  const y = cuda.alloc(27, "float32"), b = cuda.alloc(3, "float32");
  e.forward(p, x, w, b, y);
  assert.equal(api.named("find").length, 1, "the first run benchmarks");
  const [, , ptrs, , bytes] = api.named("find")[0].args as [
    string,
    unknown,
    ConvPointers,
    bigint,
    number,
  ];
  assert.deepEqual(ptrs, { x: x.ptr, w: w.ptr, y: y.ptr });
  assert(bytes > 0);
  // Find returned the list reversed: the first usable FMA algorithm is 6 either way.
  assert.equal(api.named("run")[0].args[3], 6);
  // A plan check() made with the heuristics is replaced by a benchmarked one at the first run.
  assert.equal(api.named("heuristics").length, 1, "check() planned the no-bias key");
  e.forward(p, x, w, null, y);
  assert.equal(api.named("find").length, 2, "the no-bias key is benchmarked at its first run");
  e.forward(p, x, w, null, y);
  assert.equal(api.named("find").length, 2, "and then cached");
  cuda.capturing = true;
  const p2 = convProblem([2, 2, 5, 5], [3, 2, 3, 3], [2, 3, 3, 3], p.attrs, "float32");
  e.forward(p2, x, w, null, y);
  assert.equal(api.named("find").length, 2, "no Find (it synchronises) during a capture");
  assert.throws(() => setConvPath(cuda, "fast" as never), /must be "auto", "cudnn" or "im2col"/);
  // Without cuDNN, forcing it declines with the context's reason.
  const none = new DnnCuda();
  none.dnn = null;
  none.dnnUnavailable = "libcudnn not found (set DENN_CUDNN to its path)";
  setConvPath(none, "cudnn");
  const why = convEngine(none, "forward", p);
  assert.match(String(why), /cuDNN is unavailable \(libcudnn not found/);
});

Deno.test("cuda conv: CudnnConvEngine.clear destroys every cached descriptor", () => {
  const cuda = new DnnCuda();
  const api = cuda.dnn!;
  const e = new CudnnConvEngine(cuda, api);
  const p = convProblem([1, 2, 5, 5], [3, 2, 3, 3], [1, 3, 3, 3], {
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
  }, "float32");
  for (const dir of ["forward", "backwardData", "backwardFilter"] as const) {
    assert.equal(e.check(dir, p), true);
  }
  const made = api.named("tensorDescriptor").length + api.named("filterDescriptor").length +
    api.named("convolutionDescriptor").length;
  e.clear();
  assert.equal(api.named("destroy").length, made);
  assert.equal(e.plans.size, 0);
});

Deno.test("cuda conv: algorithm results decode from cuDNN's 48-byte perf structs", () => {
  const bytes = new Uint8Array(96);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 6, true);
  v.setInt32(4, 0, true);
  v.setFloat32(8, 0.25, true);
  v.setBigUint64(16, 12345n, true);
  v.setInt32(24, 1, true);
  v.setInt32(28, CUDNN_FMA_MATH, true);
  v.setInt32(48, 1, true);
  v.setInt32(52, 9, true);
  v.setFloat32(56, -1, true);
  assert.deepEqual(decodeAlgoPerfs(bytes, 2), [
    { algo: 6, status: 0, time: 0.25, memory: 12345, determinism: 1, mathType: CUDNN_FMA_MATH },
    { algo: 1, status: 9, time: -1, memory: 0, determinism: 0, mathType: 0 },
  ]);
});
