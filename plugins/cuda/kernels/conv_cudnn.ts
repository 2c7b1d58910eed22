/**
 * The cuda conv engine over cuDNN 9's legacy API, {@linkcode CudnnConvEngine}, through a
 * {@linkcode CudnnApi} (the FFI in runtime/cudnn.ts and cudnn_handle.ts, or a fake in tests).
 * Descriptors and the algorithm are chosen once per (direction, shapes, attributes, dtype, TF32
 * setting) and cached: the heuristics (`cudnnGet*Algorithm_v7`) by default, or benchmarking
 * (`cudnnFind*AlgorithmEx`, synchronising) with `benchmark`. Float32 runs with `CUDNN_FMA_MATH`
 * unless `ctx.blas.allowTF32` is set; float16 data accumulates in float with tensor-op math.
 * Workspaces come from the context's allocator. A problem cuDNN finds no usable algorithm for runs
 * on the im2col path.
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";
import {
  CUDNN_DATA_FLOAT,
  CUDNN_DATA_HALF,
  CUDNN_DEFAULT_MATH,
  CUDNN_FMA_MATH,
  CUDNN_TENSOR_OP_MATH,
} from "../runtime/cudnn_api.ts";
import type { AlgoPerf, ConvDescriptors, ConvDirection, CudnnApi } from "../runtime/cudnn_api.ts";
import type { ConvEngine, ConvProblem } from "./conv_engine.ts";
import type { Cuda, CudaBuffer } from "./kit.ts";

/** Options of {@linkcode CudnnConvEngine}. */
export interface CudnnConvOptions {
  /**
   * Benchmark the algorithms on the first call of each problem (`cudnnFind*AlgorithmEx`, like
   * PyTorch's `cudnn.benchmark`) instead of taking the heuristics' first choice. Default false.
   */
  benchmark?: boolean;
  /** Largest workspace an algorithm may use, in bytes (default 1 GiB). */
  maxWorkspaceBytes?: number;
}

/** A cached decision for one problem: descriptors, algorithm and workspace. */
export interface ConvPlan {
  /** The cache key it was made for. */
  readonly key: string;
  /** The descriptors (destroyed only with the engine). */
  readonly desc: ConvDescriptors;
  /** Bias descriptor `[1, O, 1, 1]` (forward only). */
  readonly biasDesc: bigint | null;
  /** The algorithm enum value. */
  readonly algo: number;
  /** Math type set on the convolution descriptor. */
  readonly mathType: number;
  /** Workspace bytes the algorithm needs. */
  readonly workspaceBytes: number;
  /**
   * How the algorithm was chosen. In benchmark mode a plan made by `check` (no buffers yet) uses
   * the heuristics and is replaced by a benchmarked one at the first run.
   */
  readonly search: "heuristics" | "benchmark";
}

const I32 = 2 ** 31;

/** cuDNN's convolution through a {@linkcode CudnnApi} (see the module doc). */
export class CudnnConvEngine implements ConvEngine {
  /** `"cudnn"`. */
  readonly name = "cudnn";
  /** Plans (or why cuDNN cannot run the problem) by key. */
  readonly plans: Map<string, ConvPlan | string> = new Map();
  #cuda: Cuda;
  #api: CudnnApi;
  #benchmark: boolean;
  #maxWs: number;

  /** An engine over `api` launching on `cuda`'s stream. */
  constructor(cuda: Cuda, api: CudnnApi, options: CudnnConvOptions = {}) {
    this.#cuda = cuda;
    this.#api = api;
    this.#benchmark = options.benchmark ?? false;
    this.#maxWs = options.maxWorkspaceBytes ?? 2 ** 30;
  }

  #tf32(): boolean {
    return this.#cuda.blas?.allowTF32 ?? false;
  }

  /** The cache key of a problem: direction, shapes, attributes, dtype and the TF32 setting. */
  key(dir: ConvDirection, p: ConvProblem, bias = false): string {
    const { geo: q, attrs: a } = p;
    return [
      dir,
      p.dtype,
      `${q.n}x${q.c}x${q.h}x${q.w}`,
      `${q.o}x${q.cg}x${q.kh}x${q.kw}`,
      `s${a.stride}p${a.padding}d${a.dilation}g${a.groups}`,
      this.#tf32() ? "tf32" : "fp32",
      bias ? "bias" : "",
    ].join("|");
  }

  /** Why cuDNN cannot run `dir` for `p`, or true (plans it, and caches the plan). */
  check(dir: ConvDirection, p: ConvProblem, bias = false): true | string {
    const r = this.#plan(dir, p, bias && dir === "forward", null);
    return typeof r === "string" ? r : true;
  }

  // Benchmarking needs the buffers and synchronises: never while a graph is captured.
  #benchmarks(ptrs: unknown): boolean {
    const capturing = (this.#cuda as Cuda & { capturing?: boolean }).capturing === true;
    return this.#benchmark && this.#api.find !== null && ptrs !== null && !capturing;
  }

  #plan(
    dir: ConvDirection,
    p: ConvProblem,
    bias: boolean,
    ptrs: { x: CudaBuffer; w: CudaBuffer; y: CudaBuffer } | null,
  ): ConvPlan | string {
    const key = this.key(dir, p, bias);
    const hit = this.plans.get(key);
    if (hit !== undefined) {
      if (typeof hit === "string" || hit.search === "benchmark" || !this.#benchmarks(ptrs)) {
        return hit;
      }
      this.#destroyPlan(hit);
    }
    const plan = this.#make(dir, p, key, bias, ptrs);
    this.plans.set(key, plan);
    return plan;
  }

  #destroyPlan(plan: ConvPlan): void {
    const api = this.#api;
    api.destroy("tensor", plan.desc.x);
    api.destroy("filter", plan.desc.w);
    api.destroy("convolution", plan.desc.conv);
    api.destroy("tensor", plan.desc.y);
    if (plan.biasDesc !== null) api.destroy("tensor", plan.biasDesc);
  }

  #dataType(p: ConvProblem): number {
    return p.dtype === "float16" ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  }

  #biasDesc(p: ConvProblem): bigint {
    return this.#api.tensorDescriptor(this.#dataType(p), [1, p.geo.o, 1, 1], [p.geo.o, 1, 1, 1]);
  }

  #make(
    dir: ConvDirection,
    p: ConvProblem,
    key: string,
    bias: boolean,
    ptrs: { x: CudaBuffer; w: CudaBuffer; y: CudaBuffer } | null,
  ): ConvPlan | string {
    const { geo: q, attrs: a } = p, api = this.#api;
    if (q.n * q.c * q.h * q.w >= I32 || q.n * q.o * q.p >= I32) {
      return `${dir}: cuDNN's legacy API takes tensors of fewer than 2^31 elements`;
    }
    const dt = this.#dataType(p);
    const half = p.dtype === "float16";
    const math = half ? CUDNN_TENSOR_OP_MATH : this.#tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    const desc: ConvDescriptors = {
      x: api.tensorDescriptor(dt, [q.n, q.c, q.h, q.w], [q.c * q.h * q.w, q.h * q.w, q.w, 1]),
      w: api.filterDescriptor(dt, [q.o, q.cg, q.kh, q.kw]),
      conv: api.convolutionDescriptor({
        padding: a.padding,
        stride: a.stride,
        dilation: a.dilation,
        groups: a.groups,
        computeType: CUDNN_DATA_FLOAT,
        mathType: math,
      }),
      y: api.tensorDescriptor(dt, [q.n, q.o, q.oh, q.ow], [q.o * q.p, q.p, q.ow, 1]),
    };
    let perfs: AlgoPerf[];
    const search = this.#benchmarks(ptrs) ? "benchmark" : "heuristics";
    if (search === "benchmark") {
      const bytes = Math.min(this.#maxWs, 256 * 2 ** 20);
      const ws = this.#cuda.alloc(Math.ceil(bytes / 4), "float32");
      try {
        const ptr = { x: ptrs!.x.ptr, w: ptrs!.w.ptr, y: ptrs!.y.ptr };
        perfs = api.find!(dir, desc, ptr, ws.ptr, bytes);
      } finally {
        this.#cuda.free(ws);
      }
    } else perfs = api.heuristics(dir, desc);
    // Float32 without TF32 must run FMA kernels (PyTorch asserts the same of cuDNN's choice).
    const ok = (m: number) => half || this.#tf32() || m === CUDNN_FMA_MATH;
    const pick = perfs.find((r) => r.status === 0 && ok(r.mathType) && r.memory <= this.#maxWs);
    if (!pick) {
      for (const [kind, d] of [["tensor", desc.x], ["filter", desc.w], ["tensor", desc.y]]) {
        api.destroy(kind as "tensor" | "filter", d as bigint);
      }
      api.destroy("convolution", desc.conv);
      return `${dir}: cuDNN ${api.version} has no usable algorithm for ${key} (` +
        (perfs.map((r) => `algo ${r.algo}: status ${r.status}, math ${r.mathType}`).join("; ") ||
          "none returned") +
        ")";
    }
    if (pick.mathType !== math) api.setMathType(desc.conv, pick.mathType);
    const workspaceBytes = api.workspaceSize(dir, desc, pick.algo);
    return {
      key,
      desc,
      biasDesc: bias ? this.#biasDesc(p) : null,
      algo: pick.algo,
      mathType: pick.mathType,
      workspaceBytes,
      search,
    };
  }

  #run(
    dir: ConvDirection,
    p: ConvProblem,
    ptrs: { x: CudaBuffer; w: CudaBuffer; y: CudaBuffer },
    bias: CudaBuffer | null,
  ): void {
    const plan = this.#plan(dir, p, bias !== null, ptrs);
    if (typeof plan === "string") throw new DeviceError(plan);
    const cuda = this.#cuda;
    const ws = plan.workspaceBytes > 0
      ? cuda.alloc(Math.ceil(plan.workspaceBytes / 4), "float32")
      : null;
    try {
      this.#api.run(
        dir,
        plan.desc,
        { x: ptrs.x.ptr, w: ptrs.w.ptr, y: ptrs.y.ptr },
        plan.algo,
        ws?.ptr ?? 0n,
        plan.workspaceBytes,
        1,
        0,
      );
      if (bias && plan.biasDesc !== null) {
        this.#api.addTensor(1, plan.biasDesc, bias.ptr, 1, plan.desc.y, ptrs.y.ptr);
      }
    } finally {
      if (ws) cuda.free(ws);
    }
  }

  /** See {@linkcode ConvEngine.forward}. */
  forward(p: ConvProblem, x: CudaBuffer, w: CudaBuffer, bias: CudaBuffer | null, y: CudaBuffer) {
    if (p.geo.n === 0 || p.geo.p === 0) return;
    this.#run("forward", p, { x, w, y }, bias);
  }

  /** See {@linkcode ConvEngine.backwardData}. */
  backwardData(p: ConvProblem, dy: CudaBuffer, w: CudaBuffer, dx: CudaBuffer): void {
    if (p.geo.n * p.geo.c * p.geo.h * p.geo.w === 0) return;
    if (p.geo.p === 0) {
      this.#cuda.zero(dx);
      return;
    }
    this.#run("backwardData", p, { x: dx, w, y: dy }, null);
  }

  /** See {@linkcode ConvEngine.backwardFilter}. */
  backwardFilter(p: ConvProblem, x: CudaBuffer, dy: CudaBuffer, dw: CudaBuffer): void {
    if (p.geo.n === 0 || p.geo.p === 0) {
      this.#cuda.zero(dw);
      return;
    }
    this.#run("backwardFilter", p, { x, w: dw, y: dy }, null);
  }

  /** Destroys every cached descriptor and forgets the plans. */
  clear(): void {
    for (const plan of this.plans.values()) if (typeof plan !== "string") this.#destroyPlan(plan);
    this.plans.clear();
  }
}
