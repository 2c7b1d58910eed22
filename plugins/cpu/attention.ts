/**
 * cpu kernels of the fused attention (`scaledDotProductAttention` and its backward), tiled as in
 * FlashAttention: a block of {@linkcode TILE_Q} query rows meets the keys {@linkcode TILE_K} at a
 * time, the block's scores and products go through {@linkcode sgemm}, and each row keeps only its
 * running maximum and sum (online softmax), so a call needs two TILE_Q × TILE_K scratch tiles and
 * a TILE_Q × Ev accumulator whatever L and S are: memory linear in L and S, never the [L, S]
 * scores. The backward recomputes each tile's probabilities from the saved log-sum-exp. float32
 * (float16 through the backend's wrapper); masks are bool or float32.
 *
 * @module
 */

import { allocHost, kernelFor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { batchOffsets, sdpaBackwardOp, sdpaLayout, sdpaOp } from "../../layers/ops/attention.ts";
import type { SdpaLayout } from "../../layers/ops/attention.ts";
import { sgemm } from "./gemm.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

const f32Zeros = (n: number): Float32Array => allocHost("float32", n) as Float32Array;

/** Query rows per tile. */
export const TILE_Q = 64;
/** Keys per tile. */
export const TILE_K = 256;

/** A mask as a kernel reads it: bool (1 = takes part) or additive float32, with its layout. */
interface Mask {
  data: Uint8Array | Float32Array;
  bool: boolean;
  offsets: Float64Array;
  row: number;
  col: number;
}

interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  mask: Mask | null;
  lay: SdpaLayout;
  qo: Float64Array;
  ko: Float64Array;
  vo: Float64Array;
}

function inputs(t: readonly Tensor[], hasMask: boolean): Inputs {
  const [q, k, v] = t;
  const m = hasMask ? t[3] : null;
  const lay = sdpaLayout(q, k, v, m);
  return {
    q: hostArray(q, "float32"),
    k: hostArray(k, "float32"),
    v: hostArray(v, "float32"),
    mask: m && {
      data: m.dtype === "bool" ? hostArray(m, "bool") : hostArray(m, "float32"),
      bool: m.dtype === "bool",
      offsets: batchOffsets(lay.batch, lay.strides.mask),
      row: lay.maskRow,
      col: lay.maskCol,
    },
    lay,
    qo: batchOffsets(lay.batch, lay.strides.q),
    ko: batchOffsets(lay.batch, lay.strides.k),
    vo: batchOffsets(lay.batch, lay.strides.v),
  };
}

// Scores of query rows i0.. (lt of them) and keys j0.. (st of them) of batch entry b into `sc`
// [lt, st]: q·kᵀ·scale, entries masked by a bool or causal mask −∞, a float mask added.
function tileScores(
  x: Inputs,
  b: number,
  i0: number,
  lt: number,
  j0: number,
  st: number,
  scale: number,
  causal: boolean,
  sc: Float32Array,
): void {
  const { e } = x.lay;
  sgemm(
    false,
    true,
    lt,
    st,
    e,
    scale,
    x.q,
    x.qo[b] + i0 * e,
    e,
    x.k,
    x.ko[b] + j0 * e,
    e,
    0,
    sc,
    0,
    st,
  );
  const m = x.mask;
  if (m) {
    const d = m.data, mb = m.offsets[b];
    for (let r = 0; r < lt; r++) {
      const base = mb + (i0 + r) * m.row + j0 * m.col, row = r * st;
      if (m.bool) {
        for (let c = 0; c < st; c++) if (d[base + c * m.col] === 0) sc[row + c] = -Infinity;
      } else {
        for (let c = 0; c < st; c++) sc[row + c] += d[base + c * m.col];
      }
    }
  }
  if (causal) {
    for (let r = 0; r < lt; r++) {
      const row = r * st;
      for (let c = Math.max(0, i0 + r + 1 - j0); c < st; c++) sc[row + c] = -Infinity;
    }
  }
}

/**
 * Forward over dense inputs: out [count, L, Ev] and the log-sum-exp [count, L] of each row
 * (−∞ for a row whose keys are all masked, whose output is NaN; a row of S = 0 keys gives 0).
 */
export function sdpaForward(
  t: readonly Tensor[],
  scale: number,
  causal: boolean,
): { out: Float32Array; lse: Float32Array } {
  const x = inputs(t, t.length > 3);
  const { count, l, s, ev } = x.lay;
  // Outputs from the host pool, zeroed (allocHost): the tiles add into some of them.
  const out = f32Zeros(count * l * ev), lse = f32Zeros(count * l);
  const sc = new Float32Array(TILE_Q * TILE_K), acc = new Float32Array(TILE_Q * ev);
  const mrow = new Float64Array(TILE_Q), lrow = new Float64Array(TILE_Q);
  for (let b = 0; b < count; b++) {
    for (let i0 = 0; i0 < l; i0 += TILE_Q) {
      const lt = Math.min(TILE_Q, l - i0);
      mrow.fill(-Infinity);
      lrow.fill(0);
      acc.fill(0);
      // Keys past the block's last query row are all masked by a causal mask: skipped.
      const jEnd = causal ? Math.min(s, i0 + lt) : s;
      for (let j0 = 0; j0 < jEnd; j0 += TILE_K) {
        const st = Math.min(TILE_K, jEnd - j0);
        tileScores(x, b, i0, lt, j0, st, scale, causal, sc);
        for (let r = 0; r < lt; r++) {
          const row = r * st, old = mrow[r];
          let mx = old;
          for (let c = 0; c < st; c++) if (sc[row + c] > mx) mx = sc[row + c];
          // NaN scores never raise mx; their exp is NaN and spreads to the row's sum and output.
          // With mx finite, exp(−∞ − mx) is 0; with mx −∞ every score is −∞ (weight 0) or NaN.
          let sum = 0;
          if (mx === -Infinity) {
            for (let c = 0; c < st; c++) sum += sc[row + c] = sc[row + c] === -Infinity ? 0 : NaN;
          } else {
            for (let c = 0; c < st; c++) sum += sc[row + c] = Math.exp(sc[row + c] - mx);
          }
          const alpha = old === -Infinity ? 0 : Math.exp(old - mx);
          lrow[r] = lrow[r] * alpha + sum;
          mrow[r] = mx;
          if (alpha !== 1) { for (let c = r * ev; c < (r + 1) * ev; c++) acc[c] *= alpha; }
        }
        sgemm(false, false, lt, ev, st, 1, sc, 0, st, x.v, x.vo[b] + j0 * ev, ev, 1, acc, 0, ev);
      }
      for (let r = 0; r < lt; r++) {
        const row = b * l + i0 + r;
        // 0/0 is NaN for a fully masked row, as softmax gives; no keys at all give 0, as the
        // product with an empty value matrix does.
        const inv = s === 0 ? 0 : 1 / lrow[r];
        for (let c = 0; c < ev; c++) out[row * ev + c] = s === 0 ? 0 : acc[r * ev + c] * inv;
        lse[row] = mrow[r] + Math.log(lrow[r]);
      }
    }
  }
  return { out, lse };
}

/**
 * Backward over dense inputs: the gradients of q, k, v in the broadcast batch shape and, with
 * `maskGrad`, of the float mask [count, L, S].
 */
export function sdpaBackward(
  t: readonly Tensor[],
  a: { scale: number; causal: boolean; mask: boolean; maskGrad: boolean; lseGrad: boolean },
): Float32Array[] {
  const x = inputs(t, a.mask);
  const o = 3 + Number(a.mask);
  const out = hostArray(t[o], "float32"), lse = hostArray(t[o + 1], "float32");
  const dout = hostArray(t[o + 2], "float32");
  const dlse = a.lseGrad ? hostArray(t[o + 3], "float32") : null;
  const { count, l, s, e, ev } = x.lay;
  const { scale, causal } = a;
  const dq = f32Zeros(count * l * e), dk = f32Zeros(count * s * e);
  const dv = f32Zeros(count * s * ev);
  const dm = a.maskGrad ? f32Zeros(count * l * s) : null;
  const p = new Float32Array(TILE_Q * TILE_K), ds = new Float32Array(TILE_Q * TILE_K);
  const dd = new Float64Array(TILE_Q);
  for (let b = 0; b < count; b++) {
    for (let i0 = 0; i0 < l; i0 += TILE_Q) {
      const lt = Math.min(TILE_Q, l - i0);
      for (let r = 0; r < lt; r++) {
        const row = b * l + i0 + r;
        let d = dlse ? -dlse[row] : 0;
        for (let c = row * ev; c < (row + 1) * ev; c++) d += dout[c] * out[c];
        dd[r] = d;
      }
      const jEnd = causal ? Math.min(s, i0 + lt) : s;
      const oo = (b * l + i0) * ev;
      for (let j0 = 0; j0 < jEnd; j0 += TILE_K) {
        const st = Math.min(TILE_K, jEnd - j0);
        tileScores(x, b, i0, lt, j0, st, scale, causal, p);
        // P = exp(scores − lse): 0 where masked, NaN throughout a row with no key (lse −∞).
        for (let r = 0; r < lt; r++) {
          const z = lse[b * l + i0 + r], row = r * st;
          for (let c = 0; c < st; c++) p[row + c] = Math.exp(p[row + c] - z);
        }
        sgemm(true, false, st, ev, lt, 1, p, 0, st, dout, oo, ev, 1, dv, (b * s + j0) * ev, ev);
        sgemm(false, true, lt, st, ev, 1, dout, oo, ev, x.v, x.vo[b] + j0 * ev, ev, 0, ds, 0, st);
        // dS = P ⊙ (dP − D), zero where a bool or causal mask masks (where()'s gradient).
        const m = x.mask && x.mask.bool ? x.mask : null;
        for (let r = 0; r < lt; r++) {
          const row = r * st, i = i0 + r;
          const cEnd = causal ? Math.max(0, Math.min(st, i - j0 + 1)) : st;
          const mb = m ? m.offsets[b] + i * m.row + j0 * m.col : 0;
          for (let c = 0; c < cEnd; c++) {
            ds[row + c] = m && m.data[mb + c * m.col] === 0
              ? 0
              : p[row + c] * (ds[row + c] - dd[r]);
          }
          for (let c = cEnd; c < st; c++) ds[row + c] = 0;
          if (dm) dm.set(ds.subarray(row, row + st), (b * l + i) * s + j0);
        }
        sgemm(
          false,
          false,
          lt,
          e,
          st,
          scale,
          ds,
          0,
          st,
          x.k,
          x.ko[b] + j0 * e,
          e,
          1,
          dq,
          (b * l + i0) * e,
          e,
        );
        sgemm(
          true,
          false,
          st,
          e,
          lt,
          scale,
          ds,
          0,
          st,
          x.q,
          x.qo[b] + i0 * e,
          e,
          1,
          dk,
          (b * s + j0) * e,
          e,
        );
      }
    }
  }
  return dm ? [dq, dk, dv, dm] : [dq, dk, dv];
}

/** Fused attention kernels of the cpu backend (float32; float16 through its wrapper). */
export const attentionKernels: CpuKernelTable = {
  ...kernelFor(sdpaOp, {
    dtypes: ["float32", "bool"],
    run(inputs, a) {
      const r = sdpaForward(inputs, a.scale, a.causal);
      return [r.out, r.lse];
    },
  }),
  ...kernelFor(sdpaBackwardOp, {
    dtypes: ["float32", "bool"],
    run: (inputs, a) => sdpaBackward(inputs, a),
  }),
};
