/**
 * cuda kernels of the layer ops: max / average / adaptive average pooling with their backward ops
 * (ported from the webgpu kernels: PyTorch's padding, ceil-mode and divisor rules; backward runs a
 * thread per input pixel gathering the windows that cover it, so no atomics), and batch norm, whose
 * kernels are in batch_norm.ts and join this table. float16 is read as half, accumulated in float
 * and rounded once.
 *
 * @module
 */

import type { DType, Tensor } from "../../../core/mod.ts";
import { sizeOf } from "../../../core/mod.ts";
import type { Pool2dAttrs } from "../../../layers/ops/pool.ts";
import { allocOutput, launchN, ptr } from "./kit_launch.ts";
import { cType, FLOATS, kernelSource, load, sourceCache, store, tag } from "./kit_source.ts";
import type { CudaKernelTable, KernelArg } from "./kit.ts";
import type { KernelSource } from "./kit_source.ts";
import { batchNormKernels, batchNormSources } from "./batch_norm.ts";

// ---------------------------------------------------------------- pooling

const POOL_PARAMS = [
  "long long total",
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
  "int countIncludePad",
  "int divisor",
];

// Divisor of average-pooling window (oy, ox), 0 for a window that covers no input.
const AVG_DIV = `
__device__ __forceinline__ float denn_avg_div(int oy, int ox, int H, int W, int KH, int KW, int SH,
    int SW, int PH, int PW, int countIncludePad, int divisor) {
  const int h0 = oy * SH - PH, w0 = ox * SW - PW;
  const int h1 = min(h0 + KH, H + PH), w1 = min(w0 + KW, W + PW);
  const int padded = (h1 - h0) * (w1 - w0);
  const int a0 = max(h0, 0), b0 = max(w0, 0), a1 = min(h1, H), b1 = min(w1, W);
  if (a0 >= a1 || b0 >= b1) return 0.0f;
  if (divisor != 0) return (float)divisor;
  return (float)(countIncludePad ? padded : (a1 - a0) * (b1 - b0));
}
`;
const AVG_DIV_CALL = "denn_avg_div(oy, ox, H, W, KH, KW, SH, SW, PH, PW, countIncludePad, divisor)";

const LOOP = "  for (long long i = denn_gid(); i < total; i += denn_gsize()) {";
const OUT_COORDS = `    const int ox = (int)(i % OW), oy = (int)((i / OW) % OH);
    const long long base = (i / ((long long)OW * OH)) * H * W;`;
const IN_COORDS = `    const int iw = (int)(i % W), ih = (int)((i / W) % H);
    const long long plane = i / ((long long)W * H);`;

type PoolKind =
  | "maxPool2d"
  | "maxPool2dBackward"
  | "avgPool2d"
  | "avgPool2dBackward"
  | "maxPool2dGather"
  | "adaptiveAvgPool2d"
  | "adaptiveAvgPool2dBackward";

function poolSource(kind: PoolKind, dtype: DType): KernelSource {
  const name = `denn_${kind}_${tag(dtype)}`;
  const T = cType(dtype);
  const ld = (e: string) => load(dtype, e);
  const st = (e: string) => store(dtype, e);
  const ADAPT = ["long long total", "int H", "int W", "int OH", "int OW"];
  let params: string[], body: string, helpers = "";
  switch (kind) {
    case "maxPool2d":
      params = [
        `${T}* __restrict__ y`,
        "int* __restrict__ idx",
        `const ${T}* __restrict__ x`,
        ...POOL_PARAMS,
      ];
      body = `${LOOP}
${OUT_COORDS}
    (void)countIncludePad; (void)divisor;
    const int hs = oy * SH - PH, ws = ox * SW - PW;
    int h0 = hs; while (h0 < 0) h0 += DH;
    int w0 = ws; while (w0 < 0) w0 += DW;
    const int h1 = min(hs + (KH - 1) * DH + 1, H), w1 = min(ws + (KW - 1) * DW + 1, W);
    int best = (h0 < h1 && w0 < w1) ? h0 * W + w0 : -1;
    float m = -denn_inf();
    for (int ih = h0; ih < h1; ih += DH) {
      for (int iw = w0; iw < w1; iw += DW) {
        const float v = ${ld("x[base + ih * W + iw]")};
        if (v > m || v != v) { m = v; best = ih * W + iw; }
      }
    }
    y[i] = ${st("m")};
    idx[i] = best;
  }`;
      break;
    case "maxPool2dBackward":
      params = [
        `${T}* __restrict__ dx`,
        `const ${T}* __restrict__ gy`,
        "const int* __restrict__ idx",
        ...POOL_PARAMS,
      ];
      body = `${LOOP}
${IN_COORDS}
    (void)countIncludePad; (void)divisor;
    const int th = ih + PH - (KH - 1) * DH, tw = iw + PW - (KW - 1) * DW;
    const int y0 = th > 0 ? (th + SH - 1) / SH : 0, y1 = min(OH - 1, (ih + PH) / SH);
    const int x0 = tw > 0 ? (tw + SW - 1) / SW : 0, x1 = min(OW - 1, (iw + PW) / SW);
    const int me = ih * W + iw;
    float acc = 0.0f;
    for (int oy = y0; oy <= y1; oy++) {
      for (int ox = x0; ox <= x1; ox++) {
        const long long o = (plane * OH + oy) * OW + ox;
        if (idx[o] == me) acc += ${ld("gy[o]")};
      }
    }
    dx[i] = ${st("acc")};
  }`;
      break;
    case "avgPool2d":
      helpers = AVG_DIV;
      params = [`${T}* __restrict__ y`, `const ${T}* __restrict__ x`, ...POOL_PARAMS];
      body = `${LOOP}
${OUT_COORDS}
    (void)DH; (void)DW;
    const float d = ${AVG_DIV_CALL};
    if (d == 0.0f) { y[i] = ${st("0.0f")}; continue; }
    const int h0 = max(oy * SH - PH, 0), w0 = max(ox * SW - PW, 0);
    const int h1 = min(oy * SH - PH + KH, H), w1 = min(ox * SW - PW + KW, W);
    float s = 0.0f;
    for (int ih = h0; ih < h1; ih++) {
      for (int iw = w0; iw < w1; iw++) s += ${ld("x[base + ih * W + iw]")};
    }
    y[i] = ${st("s / d")};
  }`;
      break;
    case "avgPool2dBackward":
      helpers = AVG_DIV;
      params = [`${T}* __restrict__ dx`, `const ${T}* __restrict__ gy`, ...POOL_PARAMS];
      body = `${LOOP}
${IN_COORDS}
    (void)DH; (void)DW;
    const int th = ih + PH - KH + 1, tw = iw + PW - KW + 1;
    const int y0 = th > 0 ? (th + SH - 1) / SH : 0, y1 = min(OH - 1, (ih + PH) / SH);
    const int x0 = tw > 0 ? (tw + SW - 1) / SW : 0, x1 = min(OW - 1, (iw + PW) / SW);
    float acc = 0.0f;
    for (int oy = y0; oy <= y1; oy++) {
      for (int ox = x0; ox <= x1; ox++) {
        const float d = ${AVG_DIV_CALL};
        if (d != 0.0f) acc += ${ld("gy[(plane * OH + oy) * OW + ox]")} / d;
      }
    }
    dx[i] = ${st("acc")};
  }`;
      break;
    case "maxPool2dGather":
      params = [
        `${T}* __restrict__ out`,
        `const ${T}* __restrict__ g`,
        "const int* __restrict__ idx",
        "long long total",
        "long long planeIn",
        "long long planeOut",
      ];
      // Indices come from maxPool2d (-1 for an empty window); other out-of-plane values read 0.
      body = `${LOOP}
    const int k = idx[i];
    out[i] = (k < 0 || (long long)k >= planeIn) ? ${st("0.0f")} : g[(i / planeOut) * planeIn + k];
  }`;
      break;
    case "adaptiveAvgPool2d":
      params = [`${T}* __restrict__ y`, `const ${T}* __restrict__ x`, ...ADAPT];
      body = `${LOOP}
${OUT_COORDS}
    const int h0 = (oy * H) / OH, h1 = ((oy + 1) * H + OH - 1) / OH;
    const int w0 = (ox * W) / OW, w1 = ((ox + 1) * W + OW - 1) / OW;
    float s = 0.0f;
    for (int ih = h0; ih < h1; ih++) {
      for (int iw = w0; iw < w1; iw++) s += ${ld("x[base + ih * W + iw]")};
    }
    y[i] = ${st("s / (float)((h1 - h0) * (w1 - w0))")};
  }`;
      break;
    case "adaptiveAvgPool2dBackward":
      params = [`${T}* __restrict__ dx`, `const ${T}* __restrict__ gy`, ...ADAPT];
      body = `${LOOP}
${IN_COORDS}
    float acc = 0.0f;
    for (int oy = (ih * OH) / H; oy <= min(OH - 1, ((ih + 1) * OH) / H); oy++) {
      const int h0 = (oy * H) / OH, h1 = ((oy + 1) * H + OH - 1) / OH;
      if (ih < h0 || ih >= h1) continue;
      for (int ox = (iw * OW) / W; ox <= min(OW - 1, ((iw + 1) * OW) / W); ox++) {
        const int w0 = (ox * W) / OW, w1 = ((ox + 1) * W + OW - 1) / OW;
        if (iw < w0 || iw >= w1) continue;
        acc += ${ld("gy[(plane * OH + oy) * OW + ox]")} / (float)((h1 - h0) * (w1 - w0));
      }
    }
    dx[i] = ${st("acc")};
  }`;
      break;
  }
  return { name, ops: [kind], source: kernelSource(name, params, body, helpers) };
}

const POOL_KINDS: readonly PoolKind[] = [
  "maxPool2d",
  "maxPool2dBackward",
  "maxPool2dGather",
  "avgPool2d",
  "avgPool2dBackward",
  "adaptiveAvgPool2d",
  "adaptiveAvgPool2dBackward",
];

function poolArgs(
  total: number,
  x: readonly number[],
  y: readonly number[],
  a: Pool2dAttrs,
): KernelArg[] {
  return [
    { i64: total },
    ...[
      x[2],
      x[3],
      a.kernelSize[0],
      a.kernelSize[1],
      a.stride[0],
      a.stride[1],
      a.padding[0],
      a.padding[1],
      a.dilation[0],
      a.dilation[1],
      y[2],
      y[3],
      a.countIncludePad ? 1 : 0,
      a.divisorOverride ?? 0,
    ].map((v) => ({ i32: v })),
  ];
}

/** Every source the pooling and batch-norm kernels launch. */
export function nnSources(): KernelSource[] {
  const out: KernelSource[] = [];
  for (const k of POOL_KINDS) for (const d of FLOATS) out.push(poolSource(k, d));
  out.push(...batchNormSources());
  return out;
}

const cached = sourceCache();
const pool = (kind: PoolKind, dtype: DType): KernelSource =>
  cached(`${kind}/${dtype}`, () => poolSource(kind, dtype));

type Pool2dBackwardAttrs = Pool2dAttrs & { shape: number[] };

// The inputs of the ops reading max pooling's indices: float32/float16 values, int32 indices.
function pooledIndices(op: string, g: Tensor, idx: Tensor): true | string {
  if (!FLOATS.includes(g.dtype)) return `${op}: expected float32 or float16 values, got ${g.dtype}`;
  return idx.dtype === "int32" || `${op}: expected int32 indices, got ${idx.dtype}`;
}

/** Pooling and batch-norm kernel table of the cuda backend. */
export function nnKernels(): CudaKernelTable {
  return {
    maxPool2d: {
      dtypes: FLOATS,
      run([x], a: Pool2dAttrs, out, cuda) {
        const y = allocOutput(cuda, out[0]), idx = allocOutput(cuda, out[1]);
        const total = sizeOf(out[0].shape);
        const k = pool("maxPool2d", x.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: y },
            { ptr: idx },
            ptr(x),
            ...poolArgs(total, x.shape, out[0].shape, a),
          ]);
        }
        return [y, idx];
      },
    },
    // Not `dtypes`: dispatch applies it to every input, and the indices are int32.
    maxPool2dBackward: {
      supports: ([g, idx]) => pooledIndices("maxPool2dBackward", g, idx),
      run([g, idx], a: Pool2dBackwardAttrs, out, cuda) {
        const dx = allocOutput(cuda, out[0]);
        const total = sizeOf(a.shape);
        const k = pool("maxPool2dBackward", g.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: dx },
            ptr(g),
            ptr(idx),
            ...poolArgs(total, a.shape, g.shape, a),
          ]);
        }
        return [dx];
      },
    },
    maxPool2dGather: {
      supports: ([g, idx]) => pooledIndices("maxPool2dGather", g, idx),
      run([g, idx], _a, out, cuda) {
        const o = allocOutput(cuda, out[0]);
        const total = idx.numel();
        const k = pool("maxPool2dGather", g.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: o },
            ptr(g),
            ptr(idx),
            { i64: total },
            { i64: g.shape[2] * g.shape[3] },
            { i64: idx.shape[2] * idx.shape[3] },
          ]);
        }
        return [o];
      },
    },
    avgPool2d: {
      dtypes: FLOATS,
      run([x], a: Pool2dAttrs, out, cuda) {
        const y = allocOutput(cuda, out[0]);
        const total = sizeOf(out[0].shape);
        const k = pool("avgPool2d", x.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: y },
            ptr(x),
            ...poolArgs(total, x.shape, out[0].shape, a),
          ]);
        }
        return [y];
      },
    },
    avgPool2dBackward: {
      dtypes: FLOATS,
      run([g], a: Pool2dBackwardAttrs, out, cuda) {
        const dx = allocOutput(cuda, out[0]);
        const total = sizeOf(a.shape);
        const k = pool("avgPool2dBackward", g.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: dx },
            ptr(g),
            ...poolArgs(total, a.shape, g.shape, a),
          ]);
        }
        return [dx];
      },
    },
    adaptiveAvgPool2d: {
      dtypes: FLOATS,
      run([x], a: { outputSize: [number, number] }, out, cuda) {
        const y = allocOutput(cuda, out[0]);
        const total = sizeOf(out[0].shape);
        const k = pool("adaptiveAvgPool2d", x.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: y },
            ptr(x),
            { i64: total },
            ...[x.shape[2], x.shape[3], a.outputSize[0], a.outputSize[1]].map((v) => ({ i32: v })),
          ]);
        }
        return [y];
      },
    },
    adaptiveAvgPool2dBackward: {
      dtypes: FLOATS,
      run([g], a: { outputSize: [number, number]; shape: number[] }, out, cuda) {
        const dx = allocOutput(cuda, out[0]);
        const total = sizeOf(a.shape);
        const k = pool("adaptiveAvgPool2dBackward", g.dtype);
        if (total) {
          launchN(cuda, k.name, k.source, total, [
            { ptr: dx },
            ptr(g),
            { i64: total },
            ...[a.shape[2], a.shape[3], a.outputSize[0], a.outputSize[1]].map((v) => ({ i32: v })),
          ]);
        }
        return [dx];
      },
    },
    ...batchNormKernels(),
  };
}
