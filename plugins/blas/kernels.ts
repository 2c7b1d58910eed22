/**
 * The blas kernel table: matmul (batched, broadcast batch dims, transposes as cblas flags) and
 * conv2d with its two backward ops over one opened library's sgemm, and the momentum SGD update of
 * large parameters over its saxpy and scopy (threaded in OpenBLAS, where the cpu kernel is one
 * JavaScript loop).
 *
 * @module
 */

import { outputF32 } from "../../core/host_pool.ts";
import { broadcastStrides, kernelFor, sizeOf } from "../../core/mod.ts";
import type { MatmulAttrs, Tensor, TensorSpec } from "../../core/mod.ts";
import { conv2dBackwardInputOp, conv2dBackwardWeightOp, conv2dOp } from "../../layers/ops/conv.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  convParams,
  weightStamp,
} from "../cpu/mod.ts";
import type { Gemm } from "../cpu/mod.ts";
import { hostArray } from "../cpu/kit.ts";
import type { CpuKernelTable } from "../cpu/kit.ts";
import type { Saxpy, Scopy, Sgemm, Sscal } from "./ffi.ts";
import { sgdUpdateForeachOp, sgdUpdateOp } from "../../optim/ops.ts";
import type { SgdUpdateAttrs, SgdUpdateForeachAttrs } from "../../optim/ops.ts";
import { allocUpdateOutput, hostSgdUpdate, sgdForeach } from "../cpu/optim.ts";

const f32 = (t: Tensor): Float32Array => hostArray(t, "float32");

function hostFloat32(inputs: readonly Tensor[]): true | string {
  for (const t of inputs) {
    if (!(t.storage.handle instanceof Float32Array)) {
      return `input on ${t.device} is not a host Float32Array`;
    }
  }
  return true;
}

/** Weight elements per group below which the cpu backend's conv beats a BLAS call (measured). */
export const MIN_CONV_WEIGHTS = 4096;

// OpenBLAS pays per-call setup that the cpu backend's WebAssembly conv does not: for layers with a
// small weight matrix (LeNet's 6×25 and 16×150) the cpu kernel is faster, so blas declines them
// and dispatch runs them on the tensors' own backend.
function convSupport(w: readonly number[], groups: number, min: number): true | string {
  const per = (w[0] / groups) * w[1] * w[2] * w[3];
  return per >= min
    ? true
    : `conv weight [${w.join(", ")}] is too small for BLAS to beat the cpu kernel ` +
      `(${per} weights per group < ${min})`;
}

function matmul(
  sgemm: Sgemm,
  inputs: readonly Tensor[],
  a: MatmulAttrs,
  out: TensorSpec,
): Float32Array {
  const [x, y] = inputs;
  const os = out.shape;
  const m = os[os.length - 2], n = os[os.length - 1];
  const k = a.transA ? x.shape[x.ndim - 2] : x.shape[x.ndim - 1];
  const lda = a.transA ? m : k, ldb = a.transB ? k : n;
  // Every element is written (beta = 0) unless the product is empty.
  const o = k === 0 ? new Float32Array(sizeOf(os)) : outputF32(sizeOf(os));
  const batch = os.slice(0, -2);
  const nb = sizeOf(batch);
  const xa = f32(x), ya = f32(y);
  if (nb === 1) {
    sgemm(a.transA, a.transB, m, n, k, 1, xa, lda, ya, ldb, 0, o, n);
    return o;
  }
  // Element strides per batch dim; 0 where an operand is broadcast along it.
  const sx = broadcastStrides(x.shape.slice(0, -2), batch);
  const sy = broadcastStrides(y.shape.slice(0, -2), batch);
  const idx = new Array<number>(batch.length).fill(0);
  const mk = m * k, kn = k * n, mn = m * n;
  let px = 0, py = 0;
  for (let bi = 0; bi < nb; bi++) {
    sgemm(
      a.transA,
      a.transB,
      m,
      n,
      k,
      1,
      xa.subarray(px * mk),
      lda,
      ya.subarray(py * kn),
      ldb,
      0,
      o.subarray(bi * mn),
      n,
    );
    for (let d = batch.length - 1; d >= 0; d--) {
      px += sx[d];
      py += sy[d];
      if (++idx[d] < batch[d]) break;
      px -= sx[d] * batch[d];
      py -= sy[d] * batch[d];
      idx[d] = 0;
    }
  }
  return o;
}

/** The cpu conv kernels' `Gemm` (arrays with offsets) over a library's whole-array sgemm. */
export function gemmOver(sgemm: Sgemm): Gemm {
  return (ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) =>
    sgemm(
      ta,
      tb,
      m,
      n,
      k,
      alpha,
      a.subarray(aOff),
      lda,
      b.subarray(bOff),
      ldb,
      beta,
      c.subarray(cOff),
      ldc,
    );
}

/**
 * Elements from which a same-shape float32 `add` runs as scopy + saxpy (threaded, vectorised) instead
 * of the cpu backend's JavaScript loop: 0.40–0.43 against 0.82–0.89 ns per element from 53,248 to
 * 786,432 elements on 2 cores (scratch, alternating in one process), with the same bits (saxpy with
 * α = 1 rounds y + x once, as the loop's float32 store does).
 */
export const MIN_ADD_ELEMENTS = 1 << 15;

/** `add` of two dense float32 tensors of one shape, as out = a; out += 1·b. */
function addKernel(saxpy: Saxpy, scopy: Scopy): CpuKernelTable {
  return {
    add: {
      dtypes: ["float32"],
      supports([a, b]) {
        if (a.numel() < MIN_ADD_ELEMENTS) {
          return `add: under ${MIN_ADD_ELEMENTS} elements the cpu kernel is faster`;
        }
        if (a.ndim !== b.ndim || a.shape.some((s, i) => s !== b.shape[i])) {
          return "add: broadcasting runs on cpu";
        }
        // The cpu kernel walks views where they are; here they would be copied first.
        if (!a.isDense || !b.isDense) return "add: views run on cpu";
        return hostFloat32([a, b]);
      },
      run([a, b]) {
        const n = a.numel(), o = outputF32(n);
        scopy(n, f32(a), o);
        saxpy(n, 1, f32(b), o);
        return [o];
      },
    },
  };
}

/**
 * Parameter elements from which the momentum SGD update runs on blas (measured on 2 cores): with
 * OpenBLAS's level-1 calls on one thread below 256 Ki elements, sscal + saxpy + saxpy beat the cpu
 * kernel's loop from a few thousand elements on (`bench/optim_step_ab.ts` against a threshold of
 * 256 Ki: the whole `opt.step()` 0.67–0.71 for LeNet-5, 0.88–0.89 for ResNet-18, 0.62–0.64 for
 * GoogLeNet, two runs; 16 Ki gave 0.70–0.73, 0.86–0.88 and 0.65–0.67).
 */
export const MIN_SGD_ELEMENTS = 1 << 12;

/**
 * The momentum SGD update over saxpy/scopy/sscal, for the common case: a momentum buffer already
 * there, no dampening, Nesterov or maximize. b' = μ·b + (g + λ·p) and p' = p − η·b', rounded to
 * float32 step by step as PyTorch's foreach update rounds them. With `inPlace` (the optimizer's
 * own calls) into p's and b's arrays, returned as the outputs; otherwise into arrays the cpu
 * recycler hands out.
 */
function sgdKernel(saxpy: Saxpy, scopy: Scopy, sscal: Sscal | null): CpuKernelTable {
  // Why blas does not take an update with these attributes, or null where it can.
  const declines = (a: SgdUpdateAttrs): string | null =>
    a.first || a.momentum === 0
      ? "sgdUpdate: only with a momentum buffer already there"
      : a.dampening !== 0 || a.nesterov || a.maximize
      ? "sgdUpdate: dampening, nesterov and maximize run on cpu"
      : null;
  const small = `sgdUpdate: under ${MIN_SGD_ELEMENTS} elements the cpu kernel is faster`;
  const one = (inputs: readonly Tensor[], a: SgdUpdateAttrs): Float32Array[] => {
    const [p, g, b] = inputs;
    const n = p.numel();
    if (a.inPlace && sscal) {
      const pa = f32(p), ba = f32(b);
      sscal(n, a.momentum, ba);
      saxpy(n, 1, f32(g), ba);
      if (a.weightDecay !== 0) saxpy(n, a.weightDecay, pa, ba);
      saxpy(n, -a.lr, ba, pa);
      return [pa, ba];
    }
    const pa = f32(p), nb = allocUpdateOutput(n), np = allocUpdateOutput(n);
    scopy(n, f32(g), nb);
    if (a.weightDecay !== 0) saxpy(n, a.weightDecay, pa, nb);
    saxpy(n, a.momentum, f32(b), nb);
    scopy(n, pa, np);
    saxpy(n, -a.lr, nb, np);
    return [np, nb];
  };
  return {
    ...kernelFor(sgdUpdateOp, {
      dtypes: ["float32"],
      supports(inputs, a: SgdUpdateAttrs) {
        const why = inputs.length === 3
          ? declines(a)
          : "sgdUpdate: only with a momentum buffer already there";
        if (why) return why;
        return inputs[0].numel() < MIN_SGD_ELEMENTS ? small : hostFloat32(inputs);
      },
      run: one,
    }),
    // Several parameters: the large ones here, the small ones by the cpu kernel, in one call.
    ...kernelFor(sgdUpdateForeachOp, {
      dtypes: ["float32"],
      supports(inputs, a: SgdUpdateForeachAttrs) {
        const why = declines(a);
        if (why) return why;
        if (!inputs.slice(0, a.count).some((p) => p.numel() >= MIN_SGD_ELEMENTS)) return small;
        return hostFloat32(inputs);
      },
      run: (inputs, a: SgdUpdateForeachAttrs, out) =>
        sgdForeach(
          inputs,
          a,
          out,
          (ins, attrs, o) =>
            ins[0].numel() >= MIN_SGD_ELEMENTS ? one(ins, attrs) : hostSgdUpdate(ins, attrs, o),
        ),
    }),
  };
}

/**
 * The blas kernels over `sgemm` (and, where the library has saxpy and scopy, the momentum SGD update
 * and large same-shape adds).
 */
export function blasKernels(
  sgemm: Sgemm,
  minConvWeights: number = MIN_CONV_WEIGHTS,
  level1: { saxpy: Saxpy | null; scopy: Scopy | null; sscal: Sscal | null } = {
    saxpy: null,
    scopy: null,
    sscal: null,
  },
): CpuKernelTable {
  const base = { dtypes: ["float32"] as const, supports: hostFloat32 };
  // The conv lowering (batched im2col, col2im) is the cpu backend's; only the GEMM differs.
  const gemm = gemmOver(sgemm);
  return {
    ...(level1.saxpy && level1.scopy ? sgdKernel(level1.saxpy, level1.scopy, level1.sscal) : {}),
    ...(level1.saxpy && level1.scopy ? addKernel(level1.saxpy, level1.scopy) : {}),
    matmul: { ...base, run: (inputs, a: MatmulAttrs, out) => [matmul(sgemm, inputs, a, out[0])] },
    ...kernelFor(conv2dOp, {
      ...base,
      supports(inputs, a) {
        const host = hostFloat32(inputs);
        return host === true ? convSupport(inputs[1].shape, a.groups, minConvWeights) : host;
      },
      run([x, w, b], a, out) {
        const p = convParams(x.shape, w.shape, out[0].shape, a);
        return [conv2dForward(f32(x), f32(w), b ? f32(b) : null, p, gemm, weightStamp(w))];
      },
    }),
    ...kernelFor(conv2dBackwardInputOp, {
      ...base,
      supports(inputs, a) {
        const host = hostFloat32(inputs);
        return host === true ? convSupport(inputs[1].shape, a.groups, minConvWeights) : host;
      },
      run([gy, w], a) {
        const p = convParams(a.shape, w.shape, gy.shape, a);
        return [conv2dBackwardInput(f32(gy), f32(w), p, gemm, weightStamp(w))];
      },
    }),
    ...kernelFor(conv2dBackwardWeightOp, {
      ...base,
      supports(inputs, a) {
        const host = hostFloat32(inputs);
        return host === true ? convSupport(a.shape, a.groups, minConvWeights) : host;
      },
      run([gy, x], a) {
        const p = convParams(x.shape, a.shape, gy.shape, a);
        return [conv2dBackwardWeight(f32(gy), f32(x), p, gemm)];
      },
    }),
  };
}
