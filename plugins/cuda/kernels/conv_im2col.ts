/**
 * The cuda conv engine that needs only NVRTC and cuBLAS, {@linkcode Im2colConvEngine}: im2col
 * unfolds a chunk of images into float32 columns `[n, C, KH, KW, OH·OW]`; the products are
 * `ctx.blas.sgemm` calls, strided batched over the images (or over the groups where they outnumber
 * the images of a chunk); col2im gathers the input gradient per input pixel (no atomics). float16
 * is widened to float32 in the column and scratch buffers, accumulated in float and rounded once.
 *
 * @module
 */

import { DeviceError } from "../../../core/mod.ts";
import type { DType } from "../../../core/mod.ts";
import type { ConvDirection } from "../runtime/cudnn_api.ts";
import type { ConvEngine, ConvGeometry, ConvProblem } from "./conv_engine.ts";
import { castSource, widen } from "./elementwise.ts";
import { cType, FLOATS, kernelSource, load, sourceCache, store, tag } from "./kit_source.ts";
import { launchGrid, sgemmArgs } from "./kit_launch.ts";
import type { Cuda, CudaBuffer, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";

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

const cached = sourceCache();
const src = (kind: ConvKind, dtype: DType): KernelSource =>
  cached(`${kind}/${dtype}`, () => convSource(kind, dtype));

/** Most float32 elements of an im2col column buffer (128 MiB); batches are chunked below it. */
export const COLUMN_LIMIT = 1 << 25;

/** Images per im2col chunk for a problem: as many as keep the column buffer under the limit. */
export function chunkImages(geo: ConvGeometry, limit: number = COLUMN_LIMIT): number {
  const per = geo.g * geo.k * geo.p;
  return Math.max(1, Math.min(geo.n, Math.floor(limit / Math.max(1, per))));
}

// The arguments of GEOM.
function geomArgs({ geo, attrs: a }: ConvProblem): KernelArg[] {
  return [
    ...[geo.c, geo.h, geo.w, geo.kh, geo.kw],
    ...a.stride,
    ...a.padding,
    ...a.dilation,
    ...[geo.oh, geo.ow],
  ].map((v) => ({ i32: v }));
}

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

  // im2col (x → col) or col2im (col → dx) over `count` images from image n0.
  #unfold(
    kind: "im2col" | "col2im",
    p: ConvProblem,
    out: CudaBuffer,
    from: CudaBuffer,
    n0: number,
    count: number,
  ): void {
    const { geo } = p;
    const total = count * geo.c * (kind === "im2col" ? geo.kh * geo.kw * geo.p : geo.h * geo.w);
    launchGrid(this.#cuda, src(kind, p.dtype), total, [
      { ptr: out },
      { ptr: from },
      { i64: total },
      { i64: n0 * geo.c * geo.h * geo.w },
      ...geomArgs(p),
    ]);
  }

  // A float32 copy of a float16 operand (the float32 one itself).
  #float(p: ConvProblem, b: CudaBuffer): CudaBuffer {
    if (p.dtype === "float32") return b;
    return widen(this.#cuda, { buffer: b, shape: [b.elements], dtype: "float16" });
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
    launchGrid(this.#cuda, src("finish", dtype), total, [
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
    const wf = this.#float(p, w);
    const nb = chunkImages(geo, this.#limit);
    const col = cuda.alloc(nb * geo.g * geo.k * geo.p, "float32");
    const ys = f32 ? null : cuda.alloc(nb * geo.o * geo.p, "float32");
    const { k, p: P, og, o, g } = geo;
    for (let n0 = 0; n0 < geo.n; n0 += nb) {
      const cnt = Math.min(nb, geo.n - n0);
      this.#unfold("im2col", p, col, x, n0, cnt);
      const out = ys ?? y, outOff = ys ? 0 : n0 * o * P;
      // y[n, gi] (og × P) = w[gi] (og × k) · col[n, gi] (k × P)
      const overImages = g === 1 || cnt >= g;
      const outer = overImages ? g : cnt;
      for (let j = 0; j < outer; j++) {
        blas.sgemm(
          overImages
            ? sgemmArgs(
              { m: og, n: P, k, batch: cnt },
              [wf, j * og * k, k, 0],
              [col, j * k * P, P, g * k * P],
              [out, outOff + j * og * P, P, o * P],
            )
            : sgemmArgs(
              { m: og, n: P, k, batch: g },
              [wf, 0, k, og * k],
              [col, j * g * k * P, P, k * P],
              [out, outOff + j * o * P, P, og * P],
            ),
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
    const wf = this.#float(p, w);
    const dyf = this.#float(p, dy);
    const nb = chunkImages(geo, this.#limit);
    const col = cuda.alloc(nb * geo.g * geo.k * geo.p, "float32");
    const { k, p: P, og, o, g } = geo;
    for (let n0 = 0; n0 < geo.n; n0 += nb) {
      const cnt = Math.min(nb, geo.n - n0);
      // dcol[n, gi] (k × P) = w[gi]ᵀ (k × og) · dy[n, gi] (og × P)
      const overImages = g === 1 || cnt >= g;
      const outer = overImages ? g : cnt;
      for (let j = 0; j < outer; j++) {
        blas.sgemm(
          overImages
            ? sgemmArgs(
              { transA: true, m: k, n: P, k: og, batch: cnt },
              [wf, j * og * k, k, 0],
              [dyf, n0 * o * P + j * og * P, P, o * P],
              [col, j * k * P, P, g * k * P],
            )
            : sgemmArgs(
              { transA: true, m: k, n: P, k: og, batch: g },
              [wf, 0, k, og * k],
              [dyf, (n0 + j) * o * P, P, og * P],
              [col, j * g * k * P, P, k * P],
            ),
        );
      }
      this.#unfold("col2im", p, dx, col, n0, cnt);
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
    const dyf = this.#float(p, dy);
    const dwf = f32 ? dw : cuda.alloc(dw.elements, "float32");
    const nb = chunkImages(geo, this.#limit);
    const col = cuda.alloc(nb * geo.g * geo.k * geo.p, "float32");
    const { k, p: P, og, o, g } = geo;
    for (let n0 = 0; n0 < geo.n; n0 += nb) {
      const cnt = Math.min(nb, geo.n - n0);
      this.#unfold("im2col", p, col, x, n0, cnt);
      // dw[gi] (og × k) += dy[n, gi] (og × P) · col[n, gi]ᵀ (P × k), one image at a time (the
      // sum over images is a reduction a strided batch cannot do), batched over the groups.
      for (let j = 0; j < cnt; j++) {
        blas.sgemm(sgemmArgs(
          { transB: true, m: og, n: k, k: P, batch: g, beta: n0 + j === 0 ? 0 : 1 },
          [dyf, (n0 + j) * o * P, P, og * P],
          [col, j * g * k * P, P, k * P],
          [dwf, 0, k, og * k],
        ));
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
