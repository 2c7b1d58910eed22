/**
 * cuda conv2d, conv2dBackwardInput and conv2dBackwardWeight behind one small interface,
 * {@linkcode ConvEngine}, with two implementations:
 *
 * - {@linkcode CudnnConvEngine}: cuDNN 9's legacy API through a {@linkcode CudnnApi} (the FFI in
 *   runtime/cudnn.ts, or a fake in tests). Descriptors and the algorithm are chosen once per
 *   (direction, shapes, attributes, dtype, TF32 setting) and cached: the heuristics
 *   (`cudnnGet*Algorithm_v7`) by default, or benchmarking (`cudnnFind*AlgorithmEx`, synchronising)
 *   with `benchmark`. Float32 runs with `CUDNN_FMA_MATH` unless `ctx.blas.allowTF32` is set;
 *   float16 data accumulates in float with tensor-op math. Workspaces come from the context's
 *   allocator. A problem cuDNN finds no usable algorithm for runs on the im2col path.
 * - {@linkcode Im2colConvEngine}: NVRTC kernels and cuBLAS only. im2col unfolds a chunk of images
 *   into float32 columns `[n, C, KH, KW, OH·OW]`; the products are `ctx.blas.sgemm` calls, strided
 *   batched over the images (or over the groups where they outnumber the images of a chunk);
 *   col2im gathers the input gradient per input pixel (no atomics). float16 is widened to float32
 *   in the column and scratch buffers, accumulated in float and rounded once.
 *
 * The kernel table's entries pick cuDNN where it loaded (see {@linkcode setConvPath}); explain()
 * shows the cuda kernel either way. An entry declines with the reason where neither can run.
 *
 * The engine interface is what cuDNN's graph API will implement to replace the legacy calls.
 *
 * @module
 */

import { DeviceError, ValueError } from "../../../core/mod.ts";
import type { DType, Tensor } from "../../../core/mod.ts";
import type { Conv2dAttrs, Conv2dBackwardAttrs } from "../../../layers/ops/conv.ts";
import {
  CUDNN_DATA_FLOAT,
  CUDNN_DATA_HALF,
  CUDNN_DEFAULT_MATH,
  CUDNN_FMA_MATH,
  CUDNN_TENSOR_OP_MATH,
} from "../runtime/cudnn.ts";
import type { AlgoPerf, ConvDescriptors, ConvDirection, CudnnApi } from "../runtime/cudnn.ts";
import { castSource } from "./elementwise.ts";
import {
  allocOutput,
  cType,
  cudaBuffer,
  FLOATS,
  kernelSource,
  launchElementwise,
  launchN,
  load,
  store,
  tag,
} from "./kit.ts";
import type { Cuda, CudaBuffer, CudaKernel, CudaKernelTable, KernelSource } from "./kit.ts";

// ---------------------------------------------------------------- geometry

/** Sizes of one conv2d problem (NCHW input, OIHW weight). */
export interface ConvGeometry {
  /** Batch. */
  n: number;
  /** Input channels. */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Output channels. */
  o: number;
  /** Kernel height. */
  kh: number;
  /** Kernel width. */
  kw: number;
  /** Output height. */
  oh: number;
  /** Output width. */
  ow: number;
  /** Groups. */
  g: number;
  /** Input channels per group. */
  cg: number;
  /** Output channels per group. */
  og: number;
  /** Rows of a group's column matrix: cg·kh·kw. */
  k: number;
  /** Output pixels per image: oh·ow. */
  p: number;
}

/** One convolution problem as the engines see it. */
export interface ConvProblem {
  /** The sizes. */
  readonly geo: ConvGeometry;
  /** Stride, padding, dilation, groups. */
  readonly attrs: Conv2dAttrs;
  /** Element type of every operand. */
  readonly dtype: DType;
}

/** The problem of a conv2d with input shape `x`, weight shape `w` and output shape `y`. */
export function convProblem(
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  attrs: Conv2dAttrs,
  dtype: DType,
): ConvProblem {
  const [n, c, h, wd] = x, [o, cg, kh, kw] = w, [, , oh, ow] = y;
  const g = attrs.groups;
  return {
    geo: { n, c, h, w: wd, o, kh, kw, oh, ow, g, cg, og: o / g, k: cg * kh * kw, p: oh * ow },
    attrs,
    dtype,
  };
}

/**
 * A convolution implementation over dense device buffers. Each method writes its whole output
 * (beta = 0) on the context's stream.
 */
export interface ConvEngine {
  /** `"cudnn"` or `"im2col"`. */
  readonly name: string;
  /**
   * Why this engine cannot run `dir` for `p` (with a bias added, for forward), or true. Cheap
   * after the first call.
   */
  check(dir: ConvDirection, p: ConvProblem, bias?: boolean): true | string;
  /** y = conv(x, w) (+ bias per output channel). */
  forward(
    p: ConvProblem,
    x: CudaBuffer,
    w: CudaBuffer,
    bias: CudaBuffer | null,
    y: CudaBuffer,
  ): void;
  /** dx = the input gradient of y = conv(x, w), given dy. */
  backwardData(p: ConvProblem, dy: CudaBuffer, w: CudaBuffer, dx: CudaBuffer): void;
  /** dw = the weight gradient of y = conv(x, w), given x and dy. */
  backwardFilter(p: ConvProblem, x: CudaBuffer, dy: CudaBuffer, dw: CudaBuffer): void;
}

// ---------------------------------------------------------------- im2col sources

const GEOM = [
  "int C",
  "int H",
  "int W",
  "int KH",
  "int KW",
  "int SH",
  "int SW",
  "int PH",
  "int PW",
  "int DH",
  "int DW",
  "int OH",
  "int OW",
];

type ConvKind = "im2col" | "col2im" | "finish";

function convSource(kind: ConvKind, dtype: DType): KernelSource {
  const name = `denn_conv_${kind}_${tag(dtype)}`;
  const T = cType(dtype);
  let params: string[], body: string, ops: string[];
  switch (kind) {
    case "im2col":
      // col[n, c, kh, kw, oh, ow] = x[n, c, oh·SH − PH + kh·DH, ow·SW − PW + kw·DW] (0 outside).
      ops = ["conv2d", "conv2dBackwardWeight"];
      params = [
        "float* __restrict__ col",
        `const ${T}* __restrict__ x`,
        "long long total",
        "long long xOff",
        ...GEOM,
      ];
      body = `  for (long long i = denn_gid(); i < total; i += denn_gsize()) {
    const int ow = (int)(i % OW);
    long long r = i / OW;
    const int oh = (int)(r % OH); r /= OH;
    const int kw = (int)(r % KW); r /= KW;
    const int kh = (int)(r % KH); r /= KH;
    const int c = (int)(r % C);
    const long long n = r / C;
    const int ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
    float v = 0.0f;
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
      v = ${load(dtype, "x[xOff + ((n * C + c) * H + ih) * W + iw]")};
    }
    col[i] = v;
  }`;
      break;
    case "col2im":
      // dx[n, c, ih, iw] = Σ over the taps (kh, kw) whose window covers it of dcol[n, c, kh, kw, oh, ow].
      ops = ["conv2dBackwardInput"];
      params = [
        `${T}* __restrict__ dx`,
        "const float* __restrict__ col",
        "long long total",
        "long long xOff",
        ...GEOM,
      ];
      body = `  for (long long i = denn_gid(); i < total; i += denn_gsize()) {
    const int iw = (int)(i % W);
    long long r = i / W;
    const int ih = (int)(r % H); r /= H;
    const int c = (int)(r % C);
    const long long n = r / C;
    const long long base = (n * C + c) * KH * KW;
    float acc = 0.0f;
    for (int kh = 0; kh < KH; kh++) {
      const int t = ih + PH - kh * DH;
      if (t < 0 || t % SH != 0) continue;
      const int oh = t / SH;
      if (oh >= OH) continue;
      for (int kw = 0; kw < KW; kw++) {
        const int u = iw + PW - kw * DW;
        if (u < 0 || u % SW != 0) continue;
        const int ow = u / SW;
        if (ow >= OW) continue;
        acc += col[((base + kh * KW + kw) * OH + oh) * OW + ow];
      }
    }
    dx[xOff + i] = ${store(dtype, "acc")};
  }`;
      break;
    case "finish":
      // out[outOff + i] = src[i] (+ bias[(i / P) % O]) rounded to the storage type; out may be src.
      ops = ["conv2d", "conv2dBackwardWeight"];
      params = [
        `${T}* out`,
        "const float* src",
        `const ${T}* __restrict__ bias`,
        "long long total",
        "long long outOff",
        "long long P",
        "int O",
        "int hasBias",
      ];
      body = `  for (long long i = denn_gid(); i < total; i += denn_gsize()) {
    float v = src[i];
    if (hasBias) v += ${load(dtype, "bias[(i / P) % O]")};
    out[outOff + i] = ${store(dtype, "v")};
  }`;
      break;
  }
  return { name, ops, source: kernelSource(name, params, body) };
}

const KINDS: readonly ConvKind[] = ["im2col", "col2im", "finish"];

/** Every source the conv kernels launch (the casts float16 operands are widened with included). */
export function convSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const k of KINDS) for (const d of FLOATS) out.push(convSource(k, d));
  const ops = ["cast", "conv2d", "conv2dBackwardInput", "conv2dBackwardWeight"];
  out.push({ ...castSource("float16", "float32"), ops });
  return out;
}

const sources = new Map<string, KernelSource>();
function src(kind: ConvKind, dtype: DType): KernelSource {
  const key = `${kind}/${dtype}`;
  let s = sources.get(key);
  if (!s) sources.set(key, s = convSource(kind, dtype));
  return s;
}

/** Most float32 elements of an im2col column buffer (128 MiB); batches are chunked below it. */
export const COLUMN_LIMIT = 1 << 25;

/** Images per im2col chunk for a problem: as many as keep the column buffer under the limit. */
export function chunkImages(geo: ConvGeometry, limit: number = COLUMN_LIMIT): number {
  const per = geo.g * geo.k * geo.p;
  return Math.max(1, Math.min(geo.n, Math.floor(limit / Math.max(1, per))));
}

// ---------------------------------------------------------------- im2col engine

/** The NVRTC + cuBLAS convolution (see the module doc). */
export class Im2colConvEngine implements ConvEngine {
  /** `"im2col"`. */
  readonly name = "im2col";
  #cuda: Cuda;
  #limit: number;

  /**
   * An engine launching on `cuda`; `columnLimit` caps the float32 elements of a column buffer
   * (default {@linkcode COLUMN_LIMIT}).
   */
  constructor(cuda: Cuda, options: { columnLimit?: number } = {}) {
    this.#cuda = cuda;
    this.#limit = options.columnLimit ?? COLUMN_LIMIT;
  }

  /** Needs cuBLAS. */
  check(dir: ConvDirection, _p: ConvProblem, _bias?: boolean): true | string {
    if (this.#cuda.blas) return true;
    return `${dir}: the im2col path needs cuBLAS, which is unavailable (${
      this.#cuda.blasUnavailable ?? "libcublas did not load"
    })`;
  }

  #geomArgs(p: ConvProblem): { i32: number }[] {
    const { geo, attrs: a } = p;
    return [
      geo.c,
      geo.h,
      geo.w,
      geo.kh,
      geo.kw,
      a.stride[0],
      a.stride[1],
      a.padding[0],
      a.padding[1],
      a.dilation[0],
      a.dilation[1],
      geo.oh,
      geo.ow,
    ].map((v) => ({ i32: v }));
  }

  #im2col(p: ConvProblem, x: CudaBuffer, col: CudaBuffer, n0: number, count: number): void {
    const { geo } = p;
    const s = src("im2col", p.dtype);
    const total = count * geo.c * geo.kh * geo.kw * geo.p;
    launchN(this.#cuda, s.name, s.source, total, [
      { ptr: col },
      { ptr: x },
      { i64: total },
      { i64: n0 * geo.c * geo.h * geo.w },
      ...this.#geomArgs(p),
    ]);
  }

  #widen(b: CudaBuffer): CudaBuffer {
    const out = this.#cuda.alloc(b.elements, "float32");
    const s = castSource("float16", "float32");
    launchElementwise(
      this.#cuda,
      s.name,
      s.source,
      [{
        buffer: b,
        shape: [b.elements],
        dtype: "float16",
      }],
      out,
      [b.elements],
    );
    return out;
  }

  #finish(
    dtype: DType,
    out: CudaBuffer,
    srcBuf: CudaBuffer,
    bias: CudaBuffer | null,
    total: number,
    outOff: number,
    P: number,
    O: number,
  ): void {
    const s = src("finish", dtype);
    launchN(this.#cuda, s.name, s.source, total, [
      { ptr: out },
      { ptr: srcBuf },
      { ptr: bias ?? out },
      { i64: total },
      { i64: outOff },
      { i64: P },
      { i32: O },
      { i32: bias ? 1 : 0 },
    ]);
  }

  #blas(dir: ConvDirection, p: ConvProblem): NonNullable<Cuda["blas"]> {
    const b = this.#cuda.blas;
    if (!b) throw new DeviceError(this.check(dir, p) as string);
    return b;
  }

  /** See {@linkcode ConvEngine.forward}. */
  forward(p: ConvProblem, x: CudaBuffer, w: CudaBuffer, bias: CudaBuffer | null, y: CudaBuffer) {
    const blas = this.#blas("forward", p), cuda = this.#cuda, { geo } = p;
    if (geo.n === 0 || geo.p === 0) return;
    const f32 = p.dtype === "float32";
    const wf = f32 ? w : this.#widen(w);
    const nb = chunkImages(geo, this.#limit);
    const col = cuda.alloc(nb * geo.g * geo.k * geo.p, "float32");
    const ys = f32 ? null : cuda.alloc(nb * geo.o * geo.p, "float32");
    const { k, p: P, og, o, g } = geo;
    for (let n0 = 0; n0 < geo.n; n0 += nb) {
      const cnt = Math.min(nb, geo.n - n0);
      this.#im2col(p, x, col, n0, cnt);
      const out = ys ?? y, outOff = ys ? 0 : n0 * o * P;
      // y[n, gi] (og × P) = w[gi] (og × k) · col[n, gi] (k × P)
      const overImages = g === 1 || cnt >= g;
      const outer = overImages ? g : cnt;
      for (let j = 0; j < outer; j++) {
        blas.sgemm(
          overImages
            ? {
              transA: false,
              transB: false,
              m: og,
              n: P,
              k,
              alpha: 1,
              a: wf,
              aOffset: j * og * k,
              lda: k,
              strideA: 0,
              b: col,
              bOffset: j * k * P,
              ldb: P,
              strideB: g * k * P,
              beta: 0,
              c: out,
              cOffset: outOff + j * og * P,
              ldc: P,
              strideC: o * P,
              batch: cnt,
            }
            : {
              transA: false,
              transB: false,
              m: og,
              n: P,
              k,
              alpha: 1,
              a: wf,
              aOffset: 0,
              lda: k,
              strideA: og * k,
              b: col,
              bOffset: j * g * k * P,
              ldb: P,
              strideB: k * P,
              beta: 0,
              c: out,
              cOffset: outOff + j * o * P,
              ldc: P,
              strideC: og * P,
              batch: g,
            },
        );
      }
      if (ys) this.#finish(p.dtype, y, ys, bias, cnt * o * P, n0 * o * P, P, o);
    }
    if (f32 && bias) this.#finish(p.dtype, y, y, bias, geo.n * o * P, 0, P, o);
    cuda.free(col);
    if (ys) cuda.free(ys);
    if (wf !== w) cuda.free(wf);
  }

  /** See {@linkcode ConvEngine.backwardData}. */
  backwardData(p: ConvProblem, dy: CudaBuffer, w: CudaBuffer, dx: CudaBuffer): void {
    const blas = this.#blas("backwardData", p), cuda = this.#cuda, { geo } = p;
    if (geo.n * geo.c * geo.h * geo.w === 0) return;
    if (geo.p === 0) {
      cuda.zero(dx);
      return;
    }
    const f32 = p.dtype === "float32";
    const wf = f32 ? w : this.#widen(w);
    const dyf = f32 ? dy : this.#widen(dy);
    const nb = chunkImages(geo, this.#limit);
    const col = cuda.alloc(nb * geo.g * geo.k * geo.p, "float32");
    const { k, p: P, og, o, g } = geo;
    const s = src("col2im", p.dtype);
    for (let n0 = 0; n0 < geo.n; n0 += nb) {
      const cnt = Math.min(nb, geo.n - n0);
      // dcol[n, gi] (k × P) = w[gi]ᵀ (k × og) · dy[n, gi] (og × P)
      const overImages = g === 1 || cnt >= g;
      const outer = overImages ? g : cnt;
      for (let j = 0; j < outer; j++) {
        blas.sgemm(
          overImages
            ? {
              transA: true,
              transB: false,
              m: k,
              n: P,
              k: og,
              alpha: 1,
              a: wf,
              aOffset: j * og * k,
              lda: k,
              strideA: 0,
              b: dyf,
              bOffset: n0 * o * P + j * og * P,
              ldb: P,
              strideB: o * P,
              beta: 0,
              c: col,
              cOffset: j * k * P,
              ldc: P,
              strideC: g * k * P,
              batch: cnt,
            }
            : {
              transA: true,
              transB: false,
              m: k,
              n: P,
              k: og,
              alpha: 1,
              a: wf,
              aOffset: 0,
              lda: k,
              strideA: og * k,
              b: dyf,
              bOffset: (n0 + j) * o * P,
              ldb: P,
              strideB: og * P,
              beta: 0,
              c: col,
              cOffset: j * g * k * P,
              ldc: P,
              strideC: k * P,
              batch: g,
            },
        );
      }
      const total = cnt * geo.c * geo.h * geo.w;
      launchN(cuda, s.name, s.source, total, [
        { ptr: dx },
        { ptr: col },
        { i64: total },
        { i64: n0 * geo.c * geo.h * geo.w },
        ...this.#geomArgs(p),
      ]);
    }
    cuda.free(col);
    if (wf !== w) cuda.free(wf);
    if (dyf !== dy) cuda.free(dyf);
  }

  /** See {@linkcode ConvEngine.backwardFilter}. */
  backwardFilter(p: ConvProblem, x: CudaBuffer, dy: CudaBuffer, dw: CudaBuffer): void {
    const blas = this.#blas("backwardFilter", p), cuda = this.#cuda, { geo } = p;
    if (geo.n === 0 || geo.p === 0) {
      cuda.zero(dw);
      return;
    }
    const f32 = p.dtype === "float32";
    const dyf = f32 ? dy : this.#widen(dy);
    const dwf = f32 ? dw : cuda.alloc(dw.elements, "float32");
    const nb = chunkImages(geo, this.#limit);
    const col = cuda.alloc(nb * geo.g * geo.k * geo.p, "float32");
    const { k, p: P, og, o, g } = geo;
    for (let n0 = 0; n0 < geo.n; n0 += nb) {
      const cnt = Math.min(nb, geo.n - n0);
      this.#im2col(p, x, col, n0, cnt);
      // dw[gi] (og × k) += dy[n, gi] (og × P) · col[n, gi]ᵀ (P × k), one image at a time (the
      // sum over images is a reduction a strided batch cannot do), batched over the groups.
      for (let j = 0; j < cnt; j++) {
        blas.sgemm({
          transA: false,
          transB: true,
          m: og,
          n: k,
          k: P,
          alpha: 1,
          a: dyf,
          aOffset: (n0 + j) * o * P,
          lda: P,
          strideA: og * P,
          b: col,
          bOffset: j * g * k * P,
          ldb: P,
          strideB: k * P,
          beta: n0 + j === 0 ? 0 : 1,
          c: dwf,
          cOffset: 0,
          ldc: k,
          strideC: og * k,
          batch: g,
        });
      }
    }
    if (dwf !== dw) {
      this.#finish(p.dtype, dw, dwf, null, dw.elements, 0, 1, 1);
      cuda.free(dwf);
    }
    cuda.free(col);
    if (dyf !== dy) cuda.free(dyf);
  }
}

// ---------------------------------------------------------------- cuDNN engine

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

// ---------------------------------------------------------------- selection and the table

/** Which path the conv kernels take: cuDNN where it loaded (`"auto"`), or one of them only. */
export type ConvPath = "auto" | "cudnn" | "im2col";

interface Engines {
  path: ConvPath;
  im2col: Im2colConvEngine;
  cudnn: CudnnConvEngine | null;
  /** Problems run per engine name (for tests and tuning). */
  runs: Map<string, number>;
}

const engines = new WeakMap<Cuda, Engines>();

/** The cuDNN API a context offers, if any (`CudaContext.dnn`; fakes set it the same way). */
export function cudnnOf(cuda: Cuda): CudnnApi | null {
  return (cuda as Cuda & { dnn?: CudnnApi | null }).dnn ?? null;
}

function dnnReason(cuda: Cuda): string {
  return (cuda as Cuda & { dnnUnavailable?: string | null }).dnnUnavailable ??
    "the context has no cuDNN";
}

function enginesOf(cuda: Cuda): Engines {
  let e = engines.get(cuda);
  if (!e) {
    const api = cudnnOf(cuda);
    e = {
      path: "auto",
      im2col: new Im2colConvEngine(cuda),
      cudnn: api ? new CudnnConvEngine(cuda, api) : null,
      runs: new Map(),
    };
    engines.set(cuda, e);
  }
  return e;
}

/**
 * Chooses the conv path of a context: `"auto"` (cuDNN where it loaded and has an algorithm, else
 * im2col), `"cudnn"` or `"im2col"` only (the kernels decline with the reason where the chosen one
 * cannot run). `options` replace the cuDNN engine's settings (its plans are dropped).
 *
 * @example
 * ```ts ignore
 * import { cudaContext, setConvPath } from "@denn/denn/plugins/cuda";
 * setConvPath(cudaContext()!, "im2col"); // compare against the cuDNN path
 * ```
 */
export function setConvPath(cuda: Cuda, path: ConvPath, options?: CudnnConvOptions): void {
  if (path !== "auto" && path !== "cudnn" && path !== "im2col") {
    throw new ValueError(
      `setConvPath: path must be "auto", "cudnn" or "im2col", got ${JSON.stringify(path)}`,
    );
  }
  const e = enginesOf(cuda);
  e.path = path;
  if (options) {
    e.cudnn?.clear();
    const api = cudnnOf(cuda);
    e.cudnn = api ? new CudnnConvEngine(cuda, api, options) : null;
  }
}

/** Conv problems run per path on a context so far (`{ cudnn, im2col }`). */
export function convPathStats(cuda: Cuda): { cudnn: number; im2col: number } {
  const r = enginesOf(cuda).runs;
  return { cudnn: r.get("cudnn") ?? 0, im2col: r.get("im2col") ?? 0 };
}

/** The engine that runs `dir` for `p` on `cuda`, or why none can. */
export function convEngine(
  cuda: Cuda,
  dir: ConvDirection,
  p: ConvProblem,
  bias = false,
): ConvEngine | string {
  const e = enginesOf(cuda);
  const reasons: string[] = [];
  if (e.path !== "im2col") {
    if (e.cudnn) {
      const ok = e.cudnn.check(dir, p, bias);
      if (ok === true) return e.cudnn;
      reasons.push(ok);
    } else reasons.push(`cuDNN is unavailable (${dnnReason(cuda)})`);
  }
  if (e.path !== "cudnn") {
    const ok = e.im2col.check(dir, p);
    if (ok === true) return e.im2col;
    reasons.push(ok);
  }
  return reasons.join("; ");
}

function runOn(
  cuda: Cuda,
  op: string,
  dir: ConvDirection,
  p: ConvProblem,
  bias: boolean,
  f: (e: ConvEngine) => void,
): void {
  const e = convEngine(cuda, dir, p, bias);
  if (typeof e === "string") throw new DeviceError(`${op}: ${e}`);
  f(e);
  const runs = enginesOf(cuda).runs;
  runs.set(e.name, (runs.get(e.name) ?? 0) + 1);
}

function supports(
  op: string,
  dir: ConvDirection,
  problem: (t: readonly Tensor[], a: never) => ConvProblem,
) {
  return (inputs: readonly Tensor[], attrs: never, cuda: Cuda): true | string => {
    const e = convEngine(cuda, dir, problem(inputs, attrs), inputs.length > 2);
    return typeof e === "string" ? `${op}: ${e}` : true;
  };
}

const fwdProblem = ([x, w]: readonly Tensor[], a: Conv2dAttrs): ConvProblem => {
  const [n, , h, wd] = x.shape, [o, , kh, kw] = w.shape;
  const out = (size: number, k: number, i: 0 | 1) =>
    Math.floor((size + 2 * a.padding[i] - a.dilation[i] * (k - 1) - 1) / a.stride[i]) + 1;
  return convProblem(x.shape, w.shape, [n, o, out(h, kh, 0), out(wd, kw, 1)], a, x.dtype);
};
const dataProblem = ([gy, w]: readonly Tensor[], a: Conv2dBackwardAttrs): ConvProblem =>
  convProblem(a.shape, w.shape, gy.shape, a, gy.dtype);
const filterProblem = ([gy, x]: readonly Tensor[], a: Conv2dBackwardAttrs): ConvProblem =>
  convProblem(x.shape, a.shape, gy.shape, a, gy.dtype);

const conv2d: CudaKernel<Conv2dAttrs> = {
  dtypes: FLOATS,
  supports: supports("conv2d", "forward", fwdProblem as never),
  run(inputs, attrs, out, cuda) {
    const [x, w, b] = inputs;
    const y = allocOutput(cuda, out[0]);
    const p = convProblem(x.shape, w.shape, out[0].shape, attrs, x.dtype);
    runOn(
      cuda,
      "conv2d",
      "forward",
      p,
      b !== undefined,
      (e) => e.forward(p, cudaBuffer(x), cudaBuffer(w), b ? cudaBuffer(b) : null, y),
    );
    return [y];
  },
};

const conv2dBackwardInput: CudaKernel<Conv2dBackwardAttrs> = {
  dtypes: FLOATS,
  supports: supports("conv2dBackwardInput", "backwardData", dataProblem as never),
  run([gy, w], attrs, out, cuda) {
    const dx = allocOutput(cuda, out[0]);
    const p = dataProblem([gy, w], attrs);
    runOn(
      cuda,
      "conv2dBackwardInput",
      "backwardData",
      p,
      false,
      (e) => e.backwardData(p, cudaBuffer(gy), cudaBuffer(w), dx),
    );
    return [dx];
  },
};

const conv2dBackwardWeight: CudaKernel<Conv2dBackwardAttrs> = {
  dtypes: FLOATS,
  supports: supports("conv2dBackwardWeight", "backwardFilter", filterProblem as never),
  run([gy, x], attrs, out, cuda) {
    const dw = allocOutput(cuda, out[0]);
    const p = filterProblem([gy, x], attrs);
    runOn(
      cuda,
      "conv2dBackwardWeight",
      "backwardFilter",
      p,
      false,
      (e) => e.backwardFilter(p, cudaBuffer(x), cudaBuffer(gy), dw),
    );
    return [dw];
  },
};

/** conv2d and its backward ops on the cuda backend. */
export function convKernels(): CudaKernelTable {
  return { conv2d, conv2dBackwardInput, conv2dBackwardWeight };
}
