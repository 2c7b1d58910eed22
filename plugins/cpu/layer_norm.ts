/**
 * cpu kernels of the fused row normalisation (`normRows`, `normRowsBackward`; layer and group
 * norm). The forward makes two passes over a row for its statistics (the mean, then the squared
 * deviations from it, with double accumulators) and a third writing y with the affine applied;
 * the backward makes one pass for the row's two sums (and the weight and bias gradients) and one
 * writing dx. A row's later passes read what the first left in cache. float16 runs through the
 * backend's float32 wrapper (`half.ts`): computed in float32, y and dx rounded once.
 *
 * @module
 */

import { kernelFor } from "../../core/mod.ts";
import { outputF32 } from "../../core/host_pool.ts";
import type { Tensor } from "../../core/mod.ts";
import { normRowsBackwardOp, normRowsOp } from "../../layers/ops/layer_norm.ts";
import type { NormRowsAttrs } from "../../layers/ops/layer_norm.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

const f32 = (t: Tensor): Float32Array => hostArray(t, "float32");

// Row r's elements come in chunks of `inner` sharing one weight element; the row's first chunk
// uses weight element (r mod groups)·chunks.
interface Layout {
  rows: number;
  d: number;
  inner: number;
  chunks: number;
  groups: number;
}

function layoutOf(x: Tensor, a: NormRowsAttrs): Layout {
  return {
    rows: x.numel() / a.rowSize,
    d: a.rowSize,
    inner: a.inner,
    chunks: a.rowSize / a.inner,
    groups: a.groups,
  };
}

/**
 * Σ src[base, end) and (below) Σ (src − m)² there, with four accumulators each (one add chain
 * would bound the loop by the add's latency). Also batch norm's (norm.ts).
 */
export function rowSum(src: Float32Array, base: number, end: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = base;
  for (; i + 3 < end; i += 4) {
    s0 += src[i];
    s1 += src[i + 1];
    s2 += src[i + 2];
    s3 += src[i + 3];
  }
  for (; i < end; i++) s0 += src[i];
  return (s0 + s1) + (s2 + s3);
}

/** Squared deviations from the mean (not Σx² − m²·d, which cancels). */
export function rowSquares(src: Float32Array, base: number, end: number, m: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = base;
  for (; i + 3 < end; i += 4) {
    const a = src[i] - m, b = src[i + 1] - m, c = src[i + 2] - m, d = src[i + 3] - m;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < end; i++) {
    const a = src[i] - m;
    s0 += a * a;
  }
  return (s0 + s1) + (s2 + s3);
}

function forward(inputs: readonly Tensor[], a: NormRowsAttrs): Float32Array[] {
  const x = inputs[0];
  const { rows, d, inner, chunks, groups } = layoutOf(x, a);
  const src = f32(x);
  const w = a.weight ? f32(inputs[1]) : null;
  const b = a.bias ? f32(inputs[1 + Number(a.weight)]) : null;
  // Every element of y, mean and rstd is written below.
  const y = outputF32(x.numel());
  const mean = outputF32(rows), rstd = outputF32(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * d, end = base + d;
    const m = rowSum(src, base, end) / d;
    const rs = 1 / Math.sqrt(rowSquares(src, base, end, m) / d + a.eps);
    mean[r] = m;
    rstd[r] = rs;
    const p0 = (r % groups) * chunks;
    if ((!w && !b) || inner > 1) {
      // y = x·scale + shift per chunk, with scale = rstd·weight and shift = bias − mean·scale.
      for (let c = 0, i = base; c < chunks; c++) {
        const scale = w ? rs * w[p0 + c] : rs;
        const shift = (b ? b[p0 + c] : 0) - m * scale;
        for (const e = i + inner; i < e; i++) y[i] = src[i] * scale + shift;
      }
    } else if (w && b) {
      for (let j = 0, i = base; j < d; j++, i++) y[i] = (src[i] - m) * rs * w[p0 + j] + b[p0 + j];
    } else if (w) {
      for (let j = 0, i = base; j < d; j++, i++) y[i] = (src[i] - m) * rs * w[p0 + j];
    } else {
      for (let j = 0, i = base; j < d; j++, i++) y[i] = (src[i] - m) * rs + b![p0 + j];
    }
  }
  return [y, mean, rstd];
}

// With x̂ = (x − mean)·rstd and ĝ = g·weight: dbias = Σg and dweight = Σg·x̂ over the elements
// sharing a weight element, and dx = rstd·(ĝ − Σĝ/d − x̂·Σĝx̂/d) over the row.
function backward(inputs: readonly Tensor[], a: NormRowsAttrs): Float32Array[] {
  const [gT, x, meanT, rstdT] = inputs;
  const { rows, d, inner, chunks, groups } = layoutOf(x, a);
  const g = f32(gT), src = f32(x), mean = f32(meanT), rstd = f32(rstdT);
  const w = a.weight ? f32(inputs[4]) : null;
  const count = groups * chunks;
  const dx = outputF32(x.numel());
  // Per weight element: Σg·(x − mean)·rstd and Σg.
  const dw = new Float64Array(count), db = new Float64Array(count);
  for (let r = 0; r < rows; r++) {
    const base = r * d, end = base + d, m = mean[r], rs = rstd[r];
    const p0 = (r % groups) * chunks;
    // Σĝ and Σĝ·(x − mean) over the row.
    let sg = 0, sgx = 0;
    if (inner === 1) {
      for (let j = 0, i = base; j < d; j++, i++) {
        const gv = g[i], xc = src[i] - m, gw = w ? gv * w[p0 + j] : gv;
        sg += gw;
        sgx += gw * xc;
        dw[p0 + j] += gv * xc * rs;
        db[p0 + j] += gv;
      }
    } else {
      for (let c = 0, i = base; c < chunks; c++) {
        let cg = 0, cgx = 0;
        for (const e = i + inner; i < e; i++) {
          const gv = g[i];
          cg += gv;
          cgx += gv * (src[i] - m);
        }
        const wv = w ? w[p0 + c] : 1;
        sg += cg * wv;
        sgx += cgx * wv;
        dw[p0 + c] += cgx * rs;
        db[p0 + c] += cg;
      }
    }
    // dx = rs·ĝ − rs³·(x − m)·sgx/d − rs·sg/d, as one multiply-add per element.
    const kx = rs * rs * rs * sgx / d;
    const k0 = kx * m - rs * sg / d;
    if (!w) {
      for (let i = base; i < end; i++) dx[i] = rs * g[i] - kx * src[i] + k0;
    } else if (inner === 1) {
      for (let j = 0, i = base; j < d; j++, i++) dx[i] = rs * w[p0 + j] * g[i] - kx * src[i] + k0;
    } else {
      for (let c = 0, i = base; c < chunks; c++) {
        const k = rs * w[p0 + c];
        for (const e = i + inner; i < e; i++) dx[i] = k * g[i] - kx * src[i] + k0;
      }
    }
  }
  const out = [dx];
  if (a.weight) out.push(Float32Array.from(dw));
  if (a.bias) out.push(Float32Array.from(db));
  return out;
}

/** Row-normalisation kernel table of the cpu backend (layer and group norm). */
export const layerNormKernels: CpuKernelTable = {
  ...kernelFor(normRowsOp, { run: forward, dtypes: ["float32"] }),
  ...kernelFor(normRowsBackwardOp, { run: backward, dtypes: ["float32"] }),
};
