/**
 * Scaled dot-product attention (`scaledDotProductAttention`), the choice between the fused op and
 * the composite of core ops (`sdpaKernel`, `FUSED_ATTENTION_MIN_SCORES`), and the checks and
 * composite attention that `MultiheadAttention` (`_attention_mha.ts`) shares. Private to layers/:
 * attention.ts re-exports the public names and registers the attention plugin.
 *
 * @module
 */

import {
  apply1,
  broadcastShapes,
  cast,
  DTypeError,
  Generator,
  getBackend,
  getOp,
  hasBackend,
  isFloating,
  sameShape,
  scalar,
  ShapeError,
  shapeStr,
  ValueError,
  where,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { causalMask, sdpaFused, sdpaOp } from "./ops/attention.ts";
import { dropout } from "./dropout.ts";
import {
  arity,
  bool,
  fail,
  finite,
  knownKeys,
  oneOf,
  optionalTensor,
  probability,
  tensorArg,
} from "./_validate.ts";

const SDPA = "scaledDotProductAttention";

/** Options of {@linkcode scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /**
   * Mask broadcastable to the scores [..., L, S]: bool (true = takes part, false = masked out) or
   * floating point (added to the scores). Not allowed together with `isCausal`.
   */
  attnMask?: Tensor | null;
  /** Dropout probability applied to the attention weights (default 0). */
  dropoutP?: number;
  /** Apply the top-left aligned causal mask (query i attends to keys 0..i; default false). */
  isCausal?: boolean;
  /** Factor applied to q·kᵀ (default 1/√E, E the last dimension of the query). */
  scale?: number | null;
  /** Generator of the dropout mask (default: the global one). */
  generator?: Generator;
}

/**
 * softmax(q kᵀ · scale + mask) v, PyTorch 2.x's `F.scaled_dot_product_attention`: query
 * [..., L, E], key [..., S, E], value [..., S, Ev] (leading dimensions broadcast) give
 * [..., L, Ev]. A bool `attnMask` keeps the positions where it is true; a float one is added to
 * the scores. A query row whose keys are all masked out gives NaN, as in PyTorch before 2.5 (and
 * the NaN reaches the gradients, as through softmax).
 *
 * Where the inputs' backend has a kernel for the fused `scaledDotProductAttention` op (cpu and
 * webgpu do), it runs as that op: an online softmax over the keys per query row, keeping the
 * row's log-sum-exp for the backward, which recomputes the probabilities. Without a mask, or with
 * `isCausal`, its memory is linear in L and S: no [L, S] scores are made, forward or backward. With
 * `dropoutP` > 0 the dropout needs the weights themselves, so it runs as the composite of core
 * ops (matmul, softmax, dropout, matmul), as it does on a backend without the kernel;
 * `explain()` shows which ran.
 *
 * @example
 * ```ts
 * import { scaledDotProductAttention } from "./attention.ts";
 * import { ones, randn } from "../mod.ts";
 * const q = randn([3, 4]), k = randn([5, 4]), v = randn([5, 2]);
 * const keep = ones([3, 5], { dtype: "bool" });
 * console.log(scaledDotProductAttention(q, k, v, { attnMask: keep, scale: 0.5 }).shape); // [3, 2]
 * ```
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  arity(SDPA, arguments, 4);
  tensorArg(SDPA, "query", query);
  tensorArg(SDPA, "key", key);
  tensorArg(SDPA, "value", value);
  knownKeys(SDPA, options, ["attnMask", "dropoutP", "isCausal", "scale", "generator"]);
  const mask = optionalTensor(SDPA, "attnMask", options.attnMask);
  const p = options.dropoutP === undefined ? 0 : probability(SDPA, "dropoutP", options.dropoutP);
  const isCausal = bool(SDPA, "isCausal", options.isCausal, false);
  const gen = generatorOf(SDPA, options.generator);
  checkQkv(SDPA, query, key, value);
  const e = query.shape[query.ndim - 1];
  const scale = options.scale === undefined || options.scale === null
    ? 1 / Math.sqrt(e)
    : finite(SDPA, "scale", options.scale);
  if (isCausal && mask) {
    throw new ValueError(
      `${SDPA}: pass either attnMask or isCausal, not both (attnMask ${shapeStr(mask.shape)})`,
    );
  }
  const l = query.shape[query.ndim - 2], s = key.shape[key.ndim - 2];
  let bias: Tensor | null = null;
  if (mask) {
    checkMaskDtype(SDPA, "attnMask", mask);
    const scores = scoresShape(query, key);
    checkBroadcast(SDPA, "attnMask", mask, scores);
    bias = mask.dtype === "bool" ? mask : castLike(mask, query);
  }
  if (useFused(query, key, value, bias, isCausal, p, false)) {
    return sdpaFused(query, key, value, bias, scale, isCausal);
  }
  if (isCausal) bias = causalMask(l, s, query.device, true);
  return attend(query, key, value, bias, scale, p, gen, false).output;
}

/**
 * Whether the fused attention op has a kernel on the backend the inputs live on (all on one
 * device). Dispatch still checks the kernel's dtypes and limits: a kernel that declines runs the
 * op's decomposition.
 */
function hasFusedKernel(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): boolean {
  const d = q.device;
  if (k.device !== d || v.device !== d || (mask && mask.device !== d)) return false;
  return hasBackend(d) && getBackend(d).table.has(sdpaOp.name);
}

/**
 * Scores (batch × L × S elements) from which the fused op runs by itself without a causal mask:
 * below it the composite's two matrix products are faster (measured on cpu: the fused backward
 * recomputes the probabilities, about 1.3× the composite's time at every size up to L = S = 1024),
 * above it the composite's [..., L, S] scores, probabilities and their gradients (64 MiB each in
 * float32 at this size) make memory the limit. With `isCausal` the fused op skips the masked key
 * tiles and is faster at any size.
 */
export const FUSED_ATTENTION_MIN_SCORES: number = 2 ** 24;

/** The attention implementations {@linkcode sdpaKernel} can force (PyTorch's `SDPBackend`). */
export type SdpaBackend = "flash" | "math";

let forcedKernel: SdpaBackend | null = null;

/**
 * Runs `fn` with scaled dot-product attention forced to one implementation, as PyTorch's
 * `torch.nn.attention.sdpa_kernel`: `"flash"`, the fused op (online softmax, memory linear in L
 * and S; a backend without its kernel, dropout, or returned weights are then errors), or
 * `"math"`, the composite of core ops. Without it, attention picks: the fused op with
 * `isCausal` or from {@linkcode FUSED_ATTENTION_MIN_SCORES} scores, the composite otherwise.
 * `fn` must be synchronous.
 *
 * @example
 * ```ts
 * import { sdpaKernel, scaledDotProductAttention } from "./attention.ts";
 * import { explain, randn } from "../mod.ts";
 * const q = randn([2, 4, 8]);
 * const { trace } = explain(() => sdpaKernel("flash", () => scaledDotProductAttention(q, q, q)));
 * console.log(trace.map((e) => e.op)); // ["scaledDotProductAttention"]
 * ```
 */
export function sdpaKernel<T>(backend: SdpaBackend, fn: () => T): T {
  arity("sdpaKernel", arguments, 2);
  oneOf("sdpaKernel", "backend", backend, ["flash", "math"] as const);
  if (typeof fn !== "function") fail("sdpaKernel", "fn", "must be a function", fn);
  const prev = forcedKernel;
  forcedKernel = backend;
  try {
    const r = fn();
    if (r instanceof Promise) {
      r.catch(() => {});
      throw new ValueError(
        "sdpaKernel: fn must be synchronous (its setting would not apply after an await)",
      );
    }
    return r;
  } finally {
    forcedKernel = prev;
  }
}

// Whether attention runs as the fused op (see sdpaKernel for the policy).
function useFused(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null,
  isCausal: boolean,
  p: number,
  needWeights: boolean,
): boolean {
  if (forcedKernel === "math") return false;
  const possible = p === 0 && !needWeights && hasFusedKernel(q, k, v, bias);
  if (forcedKernel === "flash") {
    if (possible) return true;
    throw new ValueError(
      `sdpaKernel("flash"): the fused attention op cannot run here: ${
        p > 0
          ? `dropoutP ${p} needs the attention weights`
          : needWeights
          ? "the attention weights are asked for (needWeights)"
          : `no ${sdpaOp.name} kernel for the inputs on ${
            [q, k, v, ...(bias ? [bias] : [])].map((t) => t.device).join(", ")
          }`
      }; use sdpaKernel("math") or no sdpaKernel`,
    );
  }
  if (!possible) return false;
  if (isCausal) return true;
  const scores = scoresShape(q, k).reduce((a, b) => a * b, 1);
  return scores >= FUSED_ATTENTION_MIN_SCORES;
}

export function generatorOf(fn: string, g: unknown): Generator | undefined {
  if (g !== undefined && !(g instanceof Generator)) fail(fn, "generator", "must be a Generator", g);
  return g as Generator | undefined;
}

function checkQkv(fn: string, q: Tensor, k: Tensor, v: Tensor): void {
  for (const [name, t] of [["query", q], ["key", k], ["value", v]] as const) {
    if (t.ndim < 2) {
      throw new ShapeError(
        `${fn}: ${name} must have at least 2 dimensions [..., length, features], got ${
          shapeStr(t.shape)
        }`,
      );
    }
    if (!isFloating(t.dtype) || t.dtype !== q.dtype) {
      throw new DTypeError(
        `${fn}: query, key and value must share one floating-point dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`,
      );
    }
  }
  const last = (t: Tensor, i: number) => t.shape[t.ndim - i];
  if (last(q, 1) !== last(k, 1)) {
    throw new ShapeError(
      `${fn}: query ${shapeStr(q.shape)} and key ${
        shapeStr(k.shape)
      } must have the same last dimension (E)`,
    );
  }
  if (last(k, 2) !== last(v, 2)) {
    throw new ShapeError(
      `${fn}: key ${shapeStr(k.shape)} and value ${
        shapeStr(v.shape)
      } must have the same length (dimension -2)`,
    );
  }
  const lead = (t: Tensor) => t.shape.slice(0, -2);
  try {
    broadcastShapes(fn, broadcastShapes(fn, lead(q), lead(k)), lead(v));
  } catch {
    throw new ShapeError(
      `${fn}: the batch dimensions of query ${shapeStr(q.shape)}, key ${shapeStr(k.shape)} and ` +
        `value ${shapeStr(v.shape)} do not broadcast`,
    );
  }
}

function scoresShape(q: Tensor, k: Tensor): number[] {
  const batch = broadcastShapes(SDPA, q.shape.slice(0, -2), k.shape.slice(0, -2));
  return [...batch, q.shape[q.ndim - 2], k.shape[k.ndim - 2]];
}

export function checkMaskDtype(fn: string, name: string, mask: Tensor): void {
  if (mask.dtype !== "bool" && !isFloating(mask.dtype)) {
    throw new DTypeError(
      `${fn}: ${name} must be a bool or floating-point tensor, got ${mask.dtype}`,
    );
  }
}

// A mask must broadcast to the scores without growing them (PyTorch adds it in place).
function checkBroadcast(fn: string, name: string, mask: Tensor, scores: readonly number[]): void {
  let ok = mask.ndim <= scores.length;
  if (ok) {
    try {
      ok = sameShape(broadcastShapes(fn, mask.shape, scores), scores);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new ShapeError(
      `${fn}: ${name} ${shapeStr(mask.shape)} must broadcast to the attention scores ${
        shapeStr(scores)
      } [..., L, S]`,
    );
  }
}

export function castLike(t: Tensor, like: Tensor): Tensor {
  return t.dtype === like.dtype ? t : cast(t, like.dtype);
}

// q·kᵀ without materialising kᵀ: the matmul op reads its second operand transposed.
function scoresOf(q: Tensor, k: Tensor): Tensor {
  return apply1(getOp("matmul")!, [q, k], { transA: false, transB: true });
}

/**
 * The attention itself, on checked inputs: `bias` is null, a bool "keep" mask or an additive float
 * mask of the query's dtype, broadcastable to the scores. Without dropout, and when the weights
 * are not asked for, it is the fused op where the backend has its kernel.
 */
export function attend(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null,
  scale: number,
  p: number,
  gen: Generator | undefined,
  needWeights: boolean,
): { output: Tensor; weights: Tensor | null } {
  if (useFused(q, k, v, bias, false, p, needWeights)) {
    return { output: sdpaFused(q, k, v, bias, scale, false), weights: null };
  }
  let s = scoresOf(q.mul(scale), k);
  if (bias) {
    s = bias.dtype === "bool" ? where(bias, s, scalar(-Infinity, s.dtype, s.device)) : s.add(bias);
  }
  let w = s.softmax(-1);
  if (p > 0) w = dropout(w, p, true, gen ? { generator: gen } : {});
  const out = w.matmul(v);
  return { output: out, weights: needWeights ? w : null };
}
