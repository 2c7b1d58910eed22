/**
 * cpu kernels for matmul (over the blocked {@linkcode sgemm}), conv2d and its backward ops
 * (im2col + GEMM), pooling, and (from norm.ts) batch normalisation.
 *
 * @module
 */

import type { KernelEntry, MatmulAttrs, Tensor, TensorSpec } from "../../core/mod.ts";
import type { AdaptivePoolAttrs, Conv2dAttrs, Pool2dAttrs } from "../../layers/mod.ts";
import { broadcastStrides, sizeOf } from "../../core/mod.ts";
import { sgemm } from "./gemm.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from "./conv.ts";
import type { Conv2dParams } from "./conv.ts";
import {
  adaptiveAvgPool2dBackward,
  adaptiveAvgPool2dForward,
  avgPool2dBackward,
  avgPool2dForward,
  maxPool2dBackward,
  maxPool2dForward,
} from "./pool.ts";
import type { Pool2dParams } from "./pool.ts";
import { normKernels } from "./norm.ts";

function f32(t: Tensor): Float32Array {
  return t.storage.handle as Float32Array;
}

function matmulKernel(
  inputs: readonly Tensor[],
  a: MatmulAttrs,
  out: readonly TensorSpec[],
): unknown[] {
  const [x, y] = inputs;
  const os = out[0].shape;
  const m = os[os.length - 2], n = os[os.length - 1];
  const k = a.transA ? x.shape[x.ndim - 2] : x.shape[x.ndim - 1];
  const o = new Float32Array(sizeOf(os));
  const batch = os.slice(0, -2);
  const nb = sizeOf(batch);
  const lda = a.transA ? m : k, ldb = a.transB ? k : n;
  if (nb === 1) {
    sgemm(a.transA, a.transB, m, n, k, 1, f32(x), 0, lda, f32(y), 0, ldb, 0, o, 0, n);
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
      f32(x),
      px * mx,
      lda,
      f32(y),
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

type WithShape<A> = A & { shape: number[] };

/** NN kernel table of the cpu backend. */
export const nnKernels: Record<string, KernelEntry> = {
  ...normKernels,
  matmul: { run: matmulKernel, dtypes: ["float32"] },
  conv2d: {
    dtypes: ["float32"],
    run(inputs, a: Conv2dAttrs, out) {
      const [x, w, b] = inputs;
      return [
        conv2dForward(
          f32(x),
          f32(w),
          b ? f32(b) : null,
          convParams(x.shape, w.shape, out[0].shape, a),
        ),
      ];
    },
  },
  conv2dBackwardInput: {
    dtypes: ["float32"],
    run(inputs, a: WithShape<Conv2dAttrs>) {
      const [gy, w] = inputs;
      return [conv2dBackwardInput(f32(gy), f32(w), convParams(a.shape, w.shape, gy.shape, a))];
    },
  },
  conv2dBackwardWeight: {
    dtypes: ["float32"],
    run(inputs, a: WithShape<Conv2dAttrs>) {
      const [gy, x] = inputs;
      return [conv2dBackwardWeight(f32(gy), f32(x), convParams(x.shape, a.shape, gy.shape, a))];
    },
  },
  maxPool2d: {
    dtypes: ["float32"],
    run(inputs, a: Pool2dAttrs, out) {
      const r = maxPool2dForward(f32(inputs[0]), poolParams(inputs[0].shape, out[0].shape, a));
      return [r.y, r.indices];
    },
  },
  maxPool2dBackward: {
    run(inputs, a: WithShape<Pool2dAttrs>) {
      const [gy, idx] = inputs;
      return [
        maxPool2dBackward(
          f32(gy),
          idx.storage.handle as Int32Array,
          poolParams(a.shape, gy.shape, a),
        ),
      ];
    },
  },
  maxPool2dGather: {
    run(inputs) {
      const [g, idx] = inputs;
      const src = f32(g), ix = idx.storage.handle as Int32Array;
      const plane = g.shape[2] * g.shape[3], oplane = idx.shape[2] * idx.shape[3];
      const o = new Float32Array(idx.size);
      for (let p = 0; p < idx.size; p++) o[p] = src[Math.floor(p / oplane) * plane + ix[p]];
      return [o];
    },
  },
  avgPool2d: {
    dtypes: ["float32"],
    run(inputs, a: Pool2dAttrs, out) {
      return [avgPool2dForward(f32(inputs[0]), poolParams(inputs[0].shape, out[0].shape, a))];
    },
  },
  avgPool2dBackward: {
    run(inputs, a: WithShape<Pool2dAttrs>) {
      return [avgPool2dBackward(f32(inputs[0]), poolParams(a.shape, inputs[0].shape, a))];
    },
  },
  adaptiveAvgPool2d: {
    dtypes: ["float32"],
    run(inputs, a: AdaptivePoolAttrs) {
      const [n, c, h, w] = inputs[0].shape;
      return [
        adaptiveAvgPool2dForward(f32(inputs[0]), n, c, h, w, a.outputSize[0], a.outputSize[1]),
      ];
    },
  },
  adaptiveAvgPool2dBackward: {
    run(inputs, a: WithShape<AdaptivePoolAttrs>) {
      const [n, c, h, w] = a.shape;
      return [
        adaptiveAvgPool2dBackward(f32(inputs[0]), n, c, h, w, a.outputSize[0], a.outputSize[1]),
      ];
    },
  },
};
