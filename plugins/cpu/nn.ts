/**
 * cpu kernels for matmul (over the blocked {@linkcode sgemm}), conv2d and its backward ops
 * (im2col + GEMM), pooling, and (from norm.ts) batch normalisation.
 *
 * @module
 */

import type { MatmulAttrs, Tensor, TensorSpec, TypedArray } from "../../core/mod.ts";
import type { Conv2dAttrs, Pool2dAttrs } from "../../layers/mod.ts";
import { broadcastStrides, kernelFor, sizeOf } from "../../core/mod.ts";
import { outputF32 } from "../../core/host_pool.ts";
import {
  conv2dBackwardInputOp,
  conv2dBackwardWeightOp,
  conv2dOp,
  windowOutputSize,
} from "../../layers/ops/conv.ts";
import {
  conv2dMaxPool2x2BackwardOp,
  conv2dMaxPool2x2Op,
  maxPool2x2Attrs,
} from "../../layers/ops/conv_pool.ts";
import { sumFloat32 } from "./reduce.ts";
import { reluBackwardF32, reluHeap, reluInPlaceF32 } from "./relu.ts";
import { convKernels } from "./wasm_conv_kernels.ts";
import { convMaxPool2x2Direct, wasmConvForwardMaxPool2x2 } from "./wasm_conv_direct.ts";
import { poolGradApplies, wasmConvMaxPool2x2Backward } from "./wasm_conv_pool.ts";
import {
  adaptiveAvgPool2dBackwardOp,
  adaptiveAvgPool2dOp,
  avgPool2dBackwardOp,
  avgPool2dOp,
  gatherPooledOp,
  maxPool2dBackwardOp,
  maxPool2dOp,
} from "../../layers/ops/pool.ts";
import { sgemm } from "./gemm.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "./conv.ts";
import { weightStamp } from "./conv_crop.ts";
import type { Conv2dParams } from "./conv.ts";
import { maxPool2dForward } from "./pool.ts";
import { maxPool2x2Heap } from "./wasm_pool2x2.ts";
import { maxPool2dBackward } from "./pool_backward.ts";
import {
  adaptiveAvgPool2dBackward,
  adaptiveAvgPool2dForward,
  avgPool2dBackward,
  avgPool2dForward,
} from "./avg_pool.ts";
import type { Pool2dParams } from "./pool.ts";
import { normKernels } from "./norm.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

const f32 = (t: Tensor): Float32Array => hostArray(t, "float32");

function matmulKernel(
  inputs: readonly Tensor[],
  a: MatmulAttrs,
  out: readonly TensorSpec[],
): TypedArray[] {
  const [x, y] = inputs;
  const os = out[0].shape;
  const m = os[os.length - 2], n = os[os.length - 1];
  const k = a.transA ? x.shape[x.ndim - 2] : x.shape[x.ndim - 1];
  // sgemm with beta = 0 writes every element (zeros where k = 0).
  const o = outputF32(sizeOf(os));
  const batch = os.slice(0, -2);
  const nb = sizeOf(batch);
  const lda = a.transA ? m : k, ldb = a.transB ? k : n;
  const xa = f32(x), ya = f32(y);
  if (nb === 1) {
    sgemm(a.transA, a.transB, m, n, k, 1, xa, 0, lda, ya, 0, ldb, 0, o, 0, n);
    return [o];
  }
  // Batch offsets with broadcasting: stride 0 along batch dims an operand does not have.
  const sx = broadcastStrides(x.shape.slice(0, -2), batch);
  const sy = broadcastStrides(y.shape.slice(0, -2), batch);
  const mx = m * k, my = k * n;
  const idx = new Array<number>(batch.length).fill(0);
  let px = 0, py = 0;
  for (let bi = 0; bi < nb; bi++) {
    sgemm(
      a.transA,
      a.transB,
      m,
      n,
      k,
      1,
      xa,
      px * mx,
      lda,
      ya,
      py * my,
      ldb,
      0,
      o,
      bi * m * n,
      n,
    );
    for (let d = batch.length - 1; d >= 0; d--) {
      idx[d]++;
      px += sx[d];
      py += sy[d];
      if (idx[d] < batch[d]) break;
      px -= sx[d] * batch[d];
      py -= sy[d] * batch[d];
      idx[d] = 0;
    }
  }
  return [o];
}

/** Kernel parameters of a conv2d from tensor shapes and the op's attributes. */
export function convParams(
  xShape: readonly number[],
  wShape: readonly number[],
  oShape: readonly number[],
  a: Conv2dAttrs,
): Conv2dParams {
  return {
    n: xShape[0],
    c: xShape[1],
    h: xShape[2],
    w: xShape[3],
    o: wShape[0],
    kh: wShape[2],
    kw: wShape[3],
    strideH: a.stride[0],
    strideW: a.stride[1],
    padH: a.padding[0],
    padW: a.padding[1],
    dilationH: a.dilation[0],
    dilationW: a.dilation[1],
    groups: a.groups,
    oh: oShape[2],
    ow: oShape[3],
  };
}

function poolParams(
  xShape: readonly number[],
  oShape: readonly number[],
  a: Pool2dAttrs,
): Pool2dParams {
  return {
    n: xShape[0],
    c: xShape[1],
    h: xShape[2],
    w: xShape[3],
    kh: a.kernelSize[0],
    kw: a.kernelSize[1],
    strideH: a.stride[0],
    strideW: a.stride[1],
    padH: a.padding[0],
    padW: a.padding[1],
    dilationH: a.dilation[0],
    dilationW: a.dilation[1],
    oh: oShape[2],
    ow: oShape[3],
    ceilMode: a.ceilMode,
    countIncludePad: a.countIncludePad,
    divisorOverride: a.divisorOverride ?? undefined,
  };
}

/** A conv2d's output shape [N, O, OH, OW]. */
function convOut(x: Tensor, w: Tensor, a: Conv2dAttrs): number[] {
  const [, , h, wd] = x.shape, [o, , kh, kw] = w.shape;
  return [
    x.shape[0],
    o,
    windowOutputSize(h, kh, a.stride[0], a.padding[0], a.dilation[0]),
    windowOutputSize(wd, kw, a.stride[1], a.padding[1], a.dilation[1]),
  ];
}

let unpooled = new Float32Array(0);

/**
 * The gradient of a conv's output from that of its 2 × 2 max pooling (the maxPool2d backward
 * kernel), in a buffer shared across calls (the conv backward kernels copy it before they return).
 */
function unpool(
  g: Float32Array,
  shape: readonly number[],
  idx: Tensor,
  p: Conv2dParams,
): Float32Array {
  const size = p.n * p.o * p.oh * p.ow;
  if (unpooled.length < size) unpooled = new Float32Array(size);
  const pp = poolParams([p.n, p.o, p.oh, p.ow], shape, maxPool2x2Attrs());
  return maxPool2dBackward(g, hostArray(idx, "int32"), pp, unpooled.subarray(0, size));
}

/** NN kernel table of the cpu backend. */
export const nnKernels: CpuKernelTable = {
  ...normKernels,
  matmul: { run: matmulKernel, dtypes: ["float32"] },
  ...kernelFor(conv2dOp, {
    dtypes: ["float32"],
    run([x, w, b], a, out) {
      const p = convParams(x.shape, w.shape, out[0].shape, a);
      return [conv2dForward(f32(x), f32(w), b ? f32(b) : null, p, undefined, weightStamp(w))];
    },
  }),
  // Only where the direct wasm kernel pools in its scratch memory; elsewhere the op decomposes
  // (so a large conv still reaches the blas provider).
  ...kernelFor(conv2dMaxPool2x2Op, {
    dtypes: ["float32"],
    supports([x, w], a) {
      if (!convKernels || !maxPool2x2Heap) return "no WebAssembly SIMD for the fused kernel";
      return convMaxPool2x2Direct(convKernels, convParams(x.shape, w.shape, convOut(x, w, a), a)) ||
        "the direct conv kernel does not take this shape (conv2d and maxPool2d run instead)";
    },
    run([x, w, b], a) {
      const p = convParams(x.shape, w.shape, convOut(x, w, a), a);
      const bias = b ? f32(b) : null;
      const relu = a.relu ? reluHeap : null;
      const r = wasmConvForwardMaxPool2x2(
        convKernels!,
        f32(x),
        f32(w),
        bias,
        p,
        maxPool2x2Heap!,
        relu,
      );
      if (!r) throw new Error("conv2dMaxPool2x2: the direct kernel declined after supports()");
      if (a.relu && !relu) reluInPlaceF32(r.y);
      return [r.y, r.indices];
    },
  }),
  ...kernelFor(conv2dMaxPool2x2BackwardOp, {
    // float32 gradients, x and weight; int32 pooling indices.
    dtypes: ["float32", "int32"],
    supports([g, idx, x, w, y], a) {
      if (
        g.dtype !== "float32" || idx.dtype !== "int32" || x.dtype !== "float32" ||
        (y && y.dtype !== "float32")
      ) {
        return "expects float32 gradient and input with int32 indices";
      }
      if (!convKernels) return "no WebAssembly SIMD for the fused kernel";
      return convMaxPool2x2Direct(convKernels, convParams(x.shape, w.shape, convOut(x, w, a), a)) ||
        "not a shape the fused forward kernel takes (the unfused backward ops run instead)";
    },
    run([gOut, idx, x, w, y], a) {
      const p = convParams(x.shape, w.shape, convOut(x, w, a), a);
      const outs: Float32Array[] = [];
      // The sparse path masks, scatters and sums the pooled gradient inside its own kernels.
      const r = poolGradApplies(p) && (a.inputGrad || a.weightGrad)
        ? wasmConvMaxPool2x2Backward(
          convKernels!,
          f32(gOut),
          hostArray(idx, "int32"),
          f32(x),
          f32(w),
          p,
          { input: a.inputGrad, weight: a.weightGrad, bias: a.biasGrad },
          a.relu ? f32(y) : null,
        )
        : null;
      if (r) {
        for (const t of [r.dx, r.dw, r.db]) if (t) outs.push(t);
        return outs;
      }
      const g = a.relu ? reluBackwardF32(f32(gOut), f32(y)) : f32(gOut);
      const gy = unpool(g, gOut.shape, idx, p);
      if (a.inputGrad) outs.push(conv2dBackwardInput(gy, f32(w), p));
      if (a.weightGrad) outs.push(conv2dBackwardWeight(gy, f32(x), p));
      if (a.biasGrad) {
        const db = outputF32(p.o);
        sumFloat32(g, gOut.shape, [0, 2, 3], db);
        outs.push(db);
      }
      return outs;
    },
  }),
  ...kernelFor(conv2dBackwardInputOp, {
    dtypes: ["float32"],
    run: ([gy, w], a) => [
      conv2dBackwardInput(
        f32(gy),
        f32(w),
        convParams(a.shape, w.shape, gy.shape, a),
        undefined,
        weightStamp(w),
      ),
    ],
  }),
  ...kernelFor(conv2dBackwardWeightOp, {
    dtypes: ["float32"],
    run: ([gy, x], a) => [
      conv2dBackwardWeight(f32(gy), f32(x), convParams(x.shape, a.shape, gy.shape, a)),
    ],
  }),
  ...kernelFor(maxPool2dOp, {
    dtypes: ["float32"],
    run([x], a, out) {
      const r = maxPool2dForward(f32(x), poolParams(x.shape, out[0].shape, a));
      return [r.y, r.indices];
    },
  }),
  ...kernelFor(maxPool2dBackwardOp, {
    run: ([gy, idx], a) => [
      maxPool2dBackward(f32(gy), hostArray(idx, "int32"), poolParams(a.shape, gy.shape, a)),
    ],
  }),
  ...kernelFor(gatherPooledOp, {
    run([g, idx]) {
      const src = f32(g), ix = hostArray(idx, "int32");
      const plane = g.shape[2] * g.shape[3], oplane = idx.shape[2] * idx.shape[3];
      const o = outputF32(idx.numel());
      for (let p = 0; p < idx.numel(); p++) o[p] = src[Math.floor(p / oplane) * plane + ix[p]];
      return [o];
    },
  }),
  ...kernelFor(avgPool2dOp, {
    dtypes: ["float32"],
    run: ([x], a, out) => [avgPool2dForward(f32(x), poolParams(x.shape, out[0].shape, a))],
  }),
  ...kernelFor(avgPool2dBackwardOp, {
    run: ([gy], a) => [avgPool2dBackward(f32(gy), poolParams(a.shape, gy.shape, a))],
  }),
  ...kernelFor(adaptiveAvgPool2dOp, {
    dtypes: ["float32"],
    run([x], a) {
      const [n, c, h, w] = x.shape;
      return [adaptiveAvgPool2dForward(f32(x), n, c, h, w, a.outputSize[0], a.outputSize[1])];
    },
  }),
  ...kernelFor(adaptiveAvgPool2dBackwardOp, {
    run([gy], a) {
      const [n, c, h, w] = a.shape;
      return [adaptiveAvgPool2dBackward(f32(gy), n, c, h, w, a.outputSize[0], a.outputSize[1])];
    },
  }),
};
