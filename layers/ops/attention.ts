/**
 * The fused attention op `scaledDotProductAttention`: out = softmax(q·kᵀ·scale + mask)·v in one
 * kernel per direction, flash-attention style. Each query row keeps only its running maximum and
 * sum while it walks the keys (online softmax), so a kernel needs memory linear in L and S, never
 * the [L, S] scores; the forward also returns each row's log-sum-exp, from which the backward op
 * (`scaledDotProductAttentionBackward`) recomputes the probabilities row by row. Backends supply
 * kernels by op name (plugins/cpu/attention.ts, plugins/webgpu/attention.ts); both ops decompose
 * into core ops, so a backend without the kernels still runs them, and with `createGraph` the
 * backward runs as its decomposition, whose ops are differentiable again. Defined by the attention
 * plugin's manifest (`layers/attention.ts`), which routes `F.scaledDotProductAttention` here.
 *
 * Inputs: q [..., L, E], k [..., S, E], v [..., S, Ev] (batch dims broadcast to B) and an optional
 * mask broadcastable to the scores [...B, L, S]: bool (false = masked out: the score is −∞ whatever
 * q·k is, and it gets no gradient, as `where` gives) or floating point of q's dtype (added to the
 * scores). Attribute `causal` masks key j > query i as well. Outputs: out [...B, L, Ev] and the
 * float32 log-sum-exp [...B, L] of each row's masked, scaled scores (−∞ for a row with no key).
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../attention.ts";
 * import { apply, randn } from "../../core/mod.ts";
 * import { sdpaOp } from "./attention.ts";
 * const [out, lse] = apply(sdpaOp, [randn([2, 4, 8]), randn([2, 6, 8]), randn([2, 6, 3])], {
 *   scale: 0.25,
 *   causal: false,
 * });
 * console.log(out.shape, lse.shape); // [2, 4, 3] [2, 4]
 * ```
 *
 * @module
 */

import {
  allocHost,
  amax,
  apply,
  apply1,
  broadcastShapes,
  broadcastStrides,
  cast,
  DTypeError,
  fromData,
  getOp,
  isFloating,
  sameShape,
  scalar,
  ShapeError,
  shapeStr,
  sizeOf,
  sumToShape,
  where,
} from "../../core/mod.ts";
import type { OpDef, Tensor, TensorSpec } from "../../core/mod.ts";

/** Attributes of the fused attention op. */
export interface SdpaAttrs {
  /** Factor applied to q·kᵀ. */
  scale: number;
  /** Also mask key j > query i (top-left aligned causal mask). */
  causal: boolean;
}

/** Attributes of the fused attention backward op. */
export interface SdpaBackwardAttrs extends SdpaAttrs {
  /** A mask is among the inputs (after v). */
  mask: boolean;
  /** Output the gradient of the (floating-point) mask, in the scores' shape [...B, L, S]. */
  maskGrad: boolean;
  /** The gradient of the log-sum-exp output is the last input. */
  lseGrad: boolean;
}

/** Where a kernel reads each input: shapes and element strides, batch dims broadcast. */
export interface SdpaLayout {
  /** The broadcast batch shape B. */
  batch: number[];
  /** Number of batch entries (the product of B). */
  count: number;
  /** Query length L. */
  l: number;
  /** Key length S. */
  s: number;
  /** Query and key features E. */
  e: number;
  /** Value features Ev. */
  ev: number;
  /**
   * Element strides of q, k, v and the mask along B (0 where that input is broadcast); the
   * mask's are zeros when there is none.
   */
  strides: { q: number[]; k: number[]; v: number[]; mask: number[] };
  /** Element stride of the mask along L (0 when broadcast or absent). */
  maskRow: number;
  /** Element stride of the mask along S (0 when broadcast or absent). */
  maskCol: number;
}

const OP = "scaledDotProductAttention";
const BWD = "scaledDotProductAttentionBackward";

/** The layout of dense q, k, v and mask (shapes already checked by the op's infer). */
export function sdpaLayout(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
): SdpaLayout {
  const lead = (t: Tensor) => t.shape.slice(0, -2);
  const batch = broadcastShapes(OP, broadcastShapes(OP, lead(q), lead(k)), lead(v));
  const l = q.shape[q.ndim - 2], e = q.shape[q.ndim - 1];
  const s = k.shape[k.ndim - 2], ev = v.shape[v.ndim - 1];
  const along = (t: Tensor, rows: number, cols: number) =>
    broadcastStrides(t.shape, [...batch, rows, cols]);
  const ms = mask ? along(mask, l, s) : new Array<number>(batch.length + 2).fill(0);
  const nb = batch.length;
  return {
    batch,
    count: sizeOf(batch),
    l,
    s,
    e,
    ev,
    strides: {
      q: along(q, l, e).slice(0, nb),
      k: along(k, s, e).slice(0, nb),
      v: along(v, s, ev).slice(0, nb),
      mask: ms.slice(0, nb),
    },
    maskRow: ms[nb],
    maskCol: ms[nb + 1],
  };
}

/** The element offset of every batch entry (row-major over `batch`) given per-dim `strides`. */
export function batchOffsets(batch: readonly number[], strides: readonly number[]): Float64Array {
  const n = sizeOf(batch);
  const out = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    let r = b, off = 0;
    for (let d = batch.length - 1; d >= 0; d--) {
      off += (r % batch[d]) * strides[d];
      r = Math.floor(r / batch[d]);
    }
    out[b] = off;
  }
  return out;
}

/**
 * The causal mask [l, s] on `device`: bool true where key j ≤ query i (`keep`), or, with `keep`
 * false, true where j > i (MultiheadAttention's "masked out" convention).
 */
export function causalMask(l: number, s: number, device: string, keep: boolean): Tensor {
  const m = allocHost("bool", l * s);
  for (let i = 0; i < l; i++) {
    for (let j = 0; j < s; j++) m[i * s + j] = (j <= i) === keep ? 1 : 0;
  }
  return fromData(m, [l, s], { dtype: "bool", device });
}

// Checks q, k, v and the mask; returns the broadcast batch shape.
function check(op: string, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): number[] {
  for (const t of [q, k, v]) {
    if (!isFloating(t.dtype) || t.dtype !== q.dtype) {
      throw new DTypeError(
        `${op}: expected floating-point query, key and value of one dtype, got ${q.dtype}, ` +
          `${k.dtype} and ${v.dtype}`,
      );
    }
    if (t.ndim < 2) {
      throw new ShapeError(
        `${op}: query, key and value must be at least 2-D [..., length, features], got ` +
          `${shapeStr(q.shape)}, ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`,
      );
    }
  }
  const last = (t: Tensor, i: number) => t.shape[t.ndim - i];
  if (last(q, 1) !== last(k, 1) || last(k, 2) !== last(v, 2)) {
    throw new ShapeError(
      `${op}: expected query [..., L, E], key [..., S, E] and value [..., S, Ev], got ` +
        `${shapeStr(q.shape)}, ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`,
    );
  }
  let batch: number[];
  try {
    const lead = (t: Tensor) => t.shape.slice(0, -2);
    batch = broadcastShapes(op, broadcastShapes(op, lead(q), lead(k)), lead(v));
  } catch {
    throw new ShapeError(
      `${op}: the batch dimensions of query ${shapeStr(q.shape)}, key ${shapeStr(k.shape)} and ` +
        `value ${shapeStr(v.shape)} do not broadcast`,
    );
  }
  if (mask) {
    if (mask.dtype !== "bool" && mask.dtype !== q.dtype) {
      throw new DTypeError(
        `${op}: the mask must be bool or of the query's dtype ${q.dtype}, got ${mask.dtype}`,
      );
    }
    const scores = [...batch, last(q, 2), last(k, 2)];
    let ok = mask.ndim <= scores.length;
    try {
      ok &&= sameShape(broadcastShapes(op, mask.shape, scores), scores);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ShapeError(
        `${op}: mask ${shapeStr(mask.shape)} must broadcast to the scores ${
          shapeStr(scores)
        } [..., L, S]`,
      );
    }
  }
  return batch;
}

// The masked, scaled scores q·kᵀ·scale [...B', L, S] as core ops (masked entries −∞).
function scores(q: Tensor, k: Tensor, mask: Tensor | null, a: SdpaAttrs): Tensor {
  let s = apply1(getOp("matmul")!, [q.mul(a.scale), k], { transA: false, transB: true });
  const ninf = () => scalar(-Infinity, s.dtype, s.device);
  if (a.causal) {
    s = where(causalMask(s.shape[s.ndim - 2], s.shape[s.ndim - 1], s.device, true), s, ninf());
  }
  if (mask) s = mask.dtype === "bool" ? where(mask, s, ninf()) : s.add(mask);
  return s;
}

// `t` broadcast to `shape` (a dense copy only where it is not that shape already).
function full(t: Tensor, shape: readonly number[]): Tensor {
  return sameShape(t.shape, shape) ? t : t.expand(...shape).contiguous();
}

/**
 * The fused attention's backward (`"scaledDotProductAttentionBackward"`): inputs q, k, v, the mask
 * (with attribute `mask`), the forward's out and log-sum-exp, the gradient of out and, with
 * `lseGrad`, that of the log-sum-exp; outputs the gradients of q, k and v in the broadcast batch
 * shape ([...B, L, E], [...B, S, E], [...B, S, Ev]) and, with `maskGrad`, of the mask [...B, L, S].
 * With P = exp(scores − lse) and D = rowsum(dout ⊙ out) − dlse: dv = Pᵀ·dout, dS = P ⊙ (dout·vᵀ −
 * D) (zero where a bool or causal mask masks), dq = dS·k·scale, dk = dSᵀ·q·scale, dmask = dS. A
 * row with no key (log-sum-exp −∞) has P = NaN, so its NaN output reaches the gradients as it does
 * through softmax. Not differentiable itself: with `createGraph` it runs as its decomposition.
 */
export const sdpaBackwardOp: OpDef<SdpaBackwardAttrs> = {
  name: BWD,
  family: OP,
  infer(inputs, a): TensorSpec[] {
    const n = 6 + Number(a.mask) + Number(a.lseGrad);
    if (inputs.length !== n || (a.maskGrad && !a.mask)) {
      throw new ShapeError(
        `${BWD}: expected q, k, v, ${a.mask ? "mask, " : ""}out, lse, dout${
          a.lseGrad ? ", dlse" : ""
        } (${n} inputs), got ${inputs.length}${a.maskGrad && !a.mask ? " and no mask" : ""}`,
      );
    }
    const [q, k, v] = inputs;
    const mask = a.mask ? inputs[3] : null;
    const batch = check(BWD, q, k, v, mask);
    const l = q.shape[q.ndim - 2], s = k.shape[k.ndim - 2];
    const o = 3 + Number(a.mask);
    const outShape = [...batch, l, v.shape[v.ndim - 1]];
    const want: [string, number[]][] = [["out", outShape], ["lse", [...batch, l]], [
      "dout",
      outShape,
    ]];
    if (a.lseGrad) want.push(["dlse", [...batch, l]]);
    want.forEach(([name, shape], i) => {
      const t = inputs[o + i];
      if (!sameShape(t.shape, shape) || !isFloating(t.dtype)) {
        throw new ShapeError(
          `${BWD}: ${name} must be a floating-point ${shapeStr(shape)}, got ${
            shapeStr(t.shape)
          } ${t.dtype}`,
        );
      }
    });
    if (a.maskGrad && mask!.dtype === "bool") {
      throw new DTypeError(`${BWD}: a bool mask has no gradient (maskGrad is set)`);
    }
    const specs: TensorSpec[] = [
      { shape: [...batch, l, q.shape[q.ndim - 1]], dtype: q.dtype },
      { shape: [...batch, s, k.shape[k.ndim - 1]], dtype: q.dtype },
      { shape: [...batch, s, v.shape[v.ndim - 1]], dtype: q.dtype },
    ];
    if (a.maskGrad) specs.push({ shape: [...batch, l, s], dtype: q.dtype });
    return specs;
  },
  decompose(inputs, a): Tensor[] {
    const [q, k, v] = inputs;
    const mask = a.mask ? inputs[3] : null;
    const o = 3 + Number(a.mask);
    const [out, lse, dout] = inputs.slice(o, o + 3);
    const dlse = a.lseGrad ? inputs[o + 3] : null;
    const matmul = (x: Tensor, y: Tensor, transA: boolean, transB: boolean) =>
      apply1(getOp("matmul")!, [x, y], { transA, transB });
    const s = scores(q, k, mask, a);
    const p = s.sub(cast(lse, s.dtype).unsqueeze(-1)).exp();
    let d = dout.mul(out).sum(-1, true);
    if (dlse) d = d.sub(cast(dlse, d.dtype).unsqueeze(-1));
    let ds = p.mul(matmul(dout, v, false, true).sub(d));
    const zero = () => scalar(0, ds.dtype, ds.device);
    if (mask && mask.dtype === "bool") ds = where(mask, ds, zero());
    if (a.causal) {
      ds = where(
        causalMask(ds.shape[ds.ndim - 2], ds.shape[ds.ndim - 1], ds.device, true),
        ds,
        zero(),
      );
    }
    const batch = out.shape.slice(0, -2);
    const l = q.shape[q.ndim - 2], s1 = k.shape[k.ndim - 2];
    const grads = [
      full(matmul(ds, k, false, false).mul(a.scale), [...batch, l, q.shape[q.ndim - 1]]),
      full(matmul(ds, q, true, false).mul(a.scale), [...batch, s1, k.shape[k.ndim - 1]]),
      full(matmul(p, dout, true, false), [...batch, s1, v.shape[v.ndim - 1]]),
    ];
    if (a.maskGrad) grads.push(full(ds, [...batch, l, s1]));
    return grads;
  },
};

/**
 * The fused attention (`"scaledDotProductAttention"`): inputs q, k, v and an optional mask
 * (see the module documentation); outputs out and the float32 log-sum-exp of each row. Its
 * gradient is one {@linkcode sdpaBackwardOp}, reduced to each input's shape.
 */
export const sdpaOp: OpDef<SdpaAttrs> = {
  name: OP,
  savesInputs: true,
  savesOutputs: true,
  infer(inputs): TensorSpec[] {
    if (inputs.length !== 3 && inputs.length !== 4) {
      throw new ShapeError(
        `${OP}: expected 3 or 4 inputs (query, key, value and an optional mask), got ${inputs.length}`,
      );
    }
    const [q, k, v] = inputs;
    const batch = check(OP, q, k, v, inputs[3] ?? null);
    const l = q.shape[q.ndim - 2];
    return [
      { shape: [...batch, l, v.shape[v.ndim - 1]], dtype: q.dtype },
      { shape: [...batch, l], dtype: "float32" },
    ];
  },
  grad(ctx, g, gs) {
    const [q, k, v] = ctx.inputs;
    const mask = ctx.inputs.length > 3 ? ctx.inputs[3] : null;
    const [out, lse] = ctx.outputs;
    const dlse = gs[1];
    const maskGrad = mask !== null && ctx.needsInputGrad[3] && mask.dtype !== "bool";
    const given = [q, k, v];
    if (mask) given.push(mask);
    given.push(out, lse, g);
    if (dlse) given.push(dlse);
    const d = apply(sdpaBackwardOp, given, {
      scale: ctx.attrs.scale,
      causal: ctx.attrs.causal,
      mask: mask !== null,
      maskGrad,
      lseGrad: dlse !== null,
    });
    const grads: (Tensor | null)[] = [0, 1, 2].map((i) =>
      ctx.needsInputGrad[i] ? sumToShape(d[i], ctx.inputShapes[i]) : null
    );
    if (mask) grads.push(maskGrad ? sumToShape(d[3], ctx.inputShapes[3]) : null);
    return grads;
  },
  // softmax(s)·v, and lse = max + log Σ exp(s − max) (a row with no key gives NaN here).
  decompose(inputs, a): Tensor[] {
    const [q, k, v] = inputs;
    const s = scores(q, k, inputs[3] ?? null, a);
    const m = amax(s, -1, true);
    const lse = m.add(s.sub(m).exp().sum(-1, true).log()).squeeze(-1);
    const batch = broadcastShapes(OP, s.shape.slice(0, -2), v.shape.slice(0, -2));
    const out = full(s.softmax(-1).matmul(v), [...batch, s.shape[s.ndim - 2], v.shape[v.ndim - 1]]);
    return [out, full(cast(lse, "float32"), out.shape.slice(0, -1))];
  },
};

/** The fused attention ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const attentionOps: readonly OpDef<any>[] = [sdpaOp, sdpaBackwardOp];

/**
 * Runs the fused attention op on checked inputs: `mask` is null, a bool keep-mask or a float mask
 * of q's dtype broadcastable to the scores. Returns out (the log-sum-exp stays internal).
 */
export function sdpaFused(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  causal: boolean,
): Tensor {
  return apply(sdpaOp, mask ? [q, k, v, mask] : [q, k, v], { scale, causal })[0];
}
