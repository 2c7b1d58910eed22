/**
 * Attention: `scaledDotProductAttention` (`F.scaledDotProductAttention`, PyTorch 2.x semantics)
 * and `MultiheadAttention` with PyTorch's parameters and state-dict keys (`in_proj_weight`,
 * `in_proj_bias`, `out_proj.weight`, `out_proj.bias`; `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when `kdim`/`vdim` differ from `embedDim`; `bias_k`, `bias_v` with
 * `addBiasKv`), so PyTorch weights load unchanged. Where the tensors' backend has a kernel for
 * the fused `scaledDotProductAttention` op (cpu and webgpu do; see `ops/attention.ts`), attention
 * runs as that op: one flash-attention style kernel each way, memory linear in L and S. Elsewhere,
 * and where the attention weights themselves are needed (dropout, `needWeights`), it is a
 * composite of core ops (batched matmul, softmax, where), so it runs and differentiates on every
 * backend. `explain()` shows which ran: the fused op, or matmul and softmax. Importing this module
 * registers the attention plugin, whose manifest defines the fused ops.
 *
 * @example
 * ```ts
 * import { MultiheadAttention, scaledDotProductAttention } from "./attention.ts";
 * import { randn } from "../mod.ts";
 * const q = randn([2, 4, 5, 8]); // [batch, heads, length, headDim]
 * console.log(scaledDotProductAttention(q, q, q, { isCausal: true }).shape); // [2, 4, 5, 8]
 * const mha = new MultiheadAttention(16, 4, { batchFirst: true });
 * const x = randn([2, 5, 16]);
 * const { output, weights } = mha.forward(x, x, x);
 * console.log(output.shape, weights!.shape); // [2, 5, 16] [2, 5, 5]
 * ```
 *
 * @module
 */

import {
  apply1,
  broadcastShapes,
  cast,
  cat,
  definePlugin,
  DTypeError,
  Generator,
  getBackend,
  getOp,
  hasBackend,
  isFloating,
  Module,
  pad,
  sameShape,
  scalar,
  ShapeError,
  shapeStr,
  use,
  ValueError,
  where,
  zeros,
} from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import { attentionOps, causalMask, sdpaFused, sdpaOp } from "./ops/attention.ts";
import * as init from "./init.ts";
import { Linear, linear } from "./linear.ts";
import { dropout } from "./dropout.ts";
import {
  arity,
  bool,
  fail,
  finite,
  int,
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

function generatorOf(fn: string, g: unknown): Generator | undefined {
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

function checkMaskDtype(fn: string, name: string, mask: Tensor): void {
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

function castLike(t: Tensor, like: Tensor): Tensor {
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
function attend(
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

/** Options of {@linkcode MultiheadAttention}. */
export interface MultiheadAttentionOptions {
  /** Dropout probability on the attention weights in training (default 0). */
  dropout?: number;
  /** Learn the input and output projection biases (default true). */
  bias?: boolean;
  /** Learn bias_k and bias_v, appended to the keys and values (default false). */
  addBiasKv?: boolean;
  /** Append a zero key and value to every sequence (default false). */
  addZeroAttn?: boolean;
  /** Features of the key (default embedDim). */
  kdim?: number;
  /** Features of the value (default embedDim). */
  vdim?: number;
  /** Inputs and output are [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
  /** Generator of the dropout masks (default: the global one). */
  generator?: Generator;
}

/** Options of {@linkcode MultiheadAttention.forward}. */
export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] ([S] unbatched): bool (true = ignore this key) or float (added to the scores of that
   * key).
   */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true). */
  needWeights?: boolean;
  /**
   * [L, S] or [N·numHeads, L, S] ([numHeads, L, S] unbatched): bool (true = not allowed to attend)
   * or float (added to the scores).
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads (default true); otherwise [N, H, L, S]. */
  averageAttnWeights?: boolean;
  /**
   * `attnMask` is the causal mask (PyTorch's hint). Without `attnMask`, the causal mask is built
   * here (PyTorch raises instead).
   */
  isCausal?: boolean;
}

/** Result of {@linkcode MultiheadAttention.forward}. */
export interface MultiheadAttentionOutput {
  /** [L, N, E] ([N, L, E] with batchFirst, [L, E] unbatched). */
  output: Tensor;
  /**
   * Attention weights [N, L, S] (averaged over heads) or [N, H, L, S]; null when `needWeights` is
   * false.
   */
  weights: Tensor | null;
}

const MHA = "MultiheadAttention";
const MHA_KEYS = [
  "dropout",
  "bias",
  "addBiasKv",
  "addZeroAttn",
  "kdim",
  "vdim",
  "batchFirst",
  "device",
  "generator",
] as const;

/**
 * Multi-head attention, PyTorch's `nn.MultiheadAttention`: query [L, N, E], key [S, N, kdim] and
 * value [S, N, vdim] ([N, ·, ·] with `batchFirst`, or unbatched [L, E]) give
 * `{ output, weights }`. The parameters and their state-dict keys are PyTorch's: `in_proj_weight`
 * [3E, E] (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim or vdim differ from E),
 * `in_proj_bias` [3E], `out_proj.weight`, `out_proj.bias`, and `bias_k`, `bias_v` [1, 1, E] with
 * `addBiasKv`; camelCase getters (`inProjWeight`, ...) read them.
 *
 * @example
 * ```ts
 * import { MultiheadAttention } from "./attention.ts";
 * import { randn } from "../mod.ts";
 * const mha = new MultiheadAttention(8, 2);
 * const q = randn([3, 1, 8]), kv = randn([5, 1, 8]);
 * const { output, weights } = mha.forward(q, kv, kv, { averageAttnWeights: false });
 * console.log(output.shape, weights!.shape); // [3, 1, 8] [1, 2, 3, 5]
 * console.log(Object.keys(mha.stateDict()));
 * // ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
 * ```
 */
export class MultiheadAttention extends Module<
  [query: Tensor, key: Tensor, value: Tensor, options?: MultiheadAttentionForwardOptions],
  MultiheadAttentionOutput
> {
  /** Model dimension E. */
  readonly embedDim: number;
  /** Features of the key. */
  readonly kdim: number;
  /** Features of the value. */
  readonly vdim: number;
  /** Number of heads H (E is divisible by it). */
  readonly numHeads: number;
  /** E / H. */
  readonly headDim: number;
  /** Dropout probability on the attention weights. */
  readonly dropout: number;
  /** Inputs and output are batch-first. */
  readonly batchFirst: boolean;
  /** A zero key and value are appended to each sequence. */
  readonly addZeroAttn: boolean;
  #generator: Generator | undefined;

  /** Creates the layer; `embedDim` must be divisible by `numHeads`. */
  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    knownKeys(MHA, options, MHA_KEYS);
    this.embedDim = int(MHA, "embedDim", embedDim);
    this.numHeads = int(MHA, "numHeads", numHeads);
    if (embedDim % numHeads !== 0) {
      throw new ValueError(
        `${MHA}: embedDim must be divisible by numHeads, got embedDim ${embedDim} and numHeads ${numHeads}`,
      );
    }
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim === undefined ? embedDim : int(MHA, "kdim", options.kdim);
    this.vdim = options.vdim === undefined ? embedDim : int(MHA, "vdim", options.vdim);
    this.dropout = options.dropout === undefined ? 0 : probability(MHA, "dropout", options.dropout);
    const bias = bool(MHA, "bias", options.bias, true);
    const addBiasKv = bool(MHA, "addBiasKv", options.addBiasKv, false);
    this.addZeroAttn = bool(MHA, "addZeroAttn", options.addZeroAttn, false);
    this.batchFirst = bool(MHA, "batchFirst", options.batchFirst, false);
    this.#generator = generatorOf(MHA, options.generator);
    const e = embedDim;
    // Declaration order is PyTorch's, so the state-dict keys come out in its order.
    if (this.packed) {
      this.registerParameter("in_proj_weight", init.xavierUniform_(zeros([3 * e, e])));
    } else {
      this.registerParameter("q_proj_weight", init.xavierUniform_(zeros([e, e])));
      this.registerParameter("k_proj_weight", init.xavierUniform_(zeros([e, this.kdim])));
      this.registerParameter("v_proj_weight", init.xavierUniform_(zeros([e, this.vdim])));
    }
    if (bias) this.registerParameter("in_proj_bias", zeros([3 * e]));
    if (addBiasKv) {
      this.registerParameter("bias_k", init.xavierNormal_(zeros([1, 1, e])));
      this.registerParameter("bias_v", init.xavierNormal_(zeros([1, 1, e])));
    }
    const outProj = new Linear(e, e, { bias });
    if (outProj.bias) init.zeros_(outProj.bias);
    this.registerModule("out_proj", outProj);
    if (options.device && options.device !== "cpu") this.to(options.device);
  }

  /** Whether q, k and v share one packed projection (kdim = vdim = embedDim). */
  get packed(): boolean {
    return this.kdim === this.embedDim && this.vdim === this.embedDim;
  }

  #get(name: string): Tensor | null {
    return ((this as unknown as Record<string, Tensor | undefined>)[name]) ?? null;
  }

  /** Packed q/k/v projection [3E, E] (`in_proj_weight`), or null when kdim/vdim differ from E. */
  get inProjWeight(): Tensor | null {
    return this.#get("in_proj_weight");
  }

  /** Query projection [E, E] (`q_proj_weight`) when kdim/vdim differ from E, else null. */
  get qProjWeight(): Tensor | null {
    return this.#get("q_proj_weight");
  }

  /** Key projection [E, kdim] (`k_proj_weight`) when kdim/vdim differ from E, else null. */
  get kProjWeight(): Tensor | null {
    return this.#get("k_proj_weight");
  }

  /** Value projection [E, vdim] (`v_proj_weight`) when kdim/vdim differ from E, else null. */
  get vProjWeight(): Tensor | null {
    return this.#get("v_proj_weight");
  }

  /** Packed q/k/v projection bias [3E] (`in_proj_bias`), or null. */
  get inProjBias(): Tensor | null {
    return this.#get("in_proj_bias");
  }

  /** Bias appended to the keys [1, 1, E] (`bias_k`), or null. */
  get biasK(): Tensor | null {
    return this.#get("bias_k");
  }

  /** Bias appended to the values [1, 1, E] (`bias_v`), or null. */
  get biasV(): Tensor | null {
    return this.#get("bias_v");
  }

  /** The output projection (`out_proj`). */
  get outProj(): Linear {
    return (this as unknown as { out_proj: Linear }).out_proj;
  }

  /** Attends from `query` to `key`/`value`; see the class documentation for shapes. */
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiheadAttentionForwardOptions = {},
  ): MultiheadAttentionOutput {
    const fn = `${MHA}.forward`;
    tensorArg(fn, "query", query);
    tensorArg(fn, "key", key);
    tensorArg(fn, "value", value);
    knownKeys(fn, options, [
      "keyPaddingMask",
      "needWeights",
      "attnMask",
      "averageAttnWeights",
      "isCausal",
    ]);
    let kpm = optionalTensor(fn, "keyPaddingMask", options.keyPaddingMask);
    let attnMask = optionalTensor(fn, "attnMask", options.attnMask);
    const needWeights = bool(fn, "needWeights", options.needWeights, true);
    const average = bool(fn, "averageAttnWeights", options.averageAttnWeights, true);
    const isCausal = bool(fn, "isCausal", options.isCausal, false);

    if (query.ndim !== 2 && query.ndim !== 3) {
      throw new ShapeError(
        `${fn}: query must be batched 3-D or unbatched 2-D, got ${shapeStr(query.shape)}`,
      );
    }
    const batched = query.ndim === 3;
    for (const [name, t] of [["key", key], ["value", value]] as const) {
      if (t.ndim !== query.ndim) {
        throw new ShapeError(
          `${fn}: for a ${query.ndim}-D query ${
            shapeStr(query.shape)
          }, ${name} must be ${query.ndim}-D, got ${shapeStr(t.shape)}`,
        );
      }
    }
    for (const [name, t] of [["query", query], ["key", key], ["value", value]] as const) {
      if (!isFloating(t.dtype)) {
        throw new DTypeError(`${fn}: ${name} must be floating point, got ${t.dtype}`);
      }
    }
    let q = query, k = key, v = value;
    if (batched && this.batchFirst) {
      q = q.transpose(0, 1);
      k = k.transpose(0, 1);
      v = v.transpose(0, 1);
    }
    if (!batched) {
      q = q.unsqueeze(1);
      k = k.unsqueeze(1);
      v = v.unsqueeze(1);
      if (kpm) {
        if (kpm.ndim !== 1) {
          throw new ShapeError(
            `${fn}: for an unbatched query, keyPaddingMask must be 1-D [S], got ${
              shapeStr(kpm.shape)
            }`,
          );
        }
        kpm = kpm.unsqueeze(0);
      }
    }
    const [l, n, e] = q.shape;
    const s = k.shape[0];
    const h = this.numHeads, hd = this.headDim;
    // Messages name the shapes as the caller passed them.
    const layout = batched ? (this.batchFirst ? "[N, L, E]" : "[L, N, E]") : "[L, E]";
    if (e !== this.embedDim) {
      throw new ShapeError(
        `${fn}: query ${
          shapeStr(query.shape)
        } ${layout} must have ${this.embedDim} features (embedDim)`,
      );
    }
    if (k.shape[2] !== this.kdim || v.shape[2] !== this.vdim) {
      throw new ShapeError(
        `${fn}: key ${shapeStr(key.shape)} and value ${
          shapeStr(value.shape)
        } must have ${this.kdim} ` +
          `and ${this.vdim} features (kdim, vdim)`,
      );
    }
    if (k.shape[1] !== n || v.shape[1] !== n || v.shape[0] !== s) {
      throw new ShapeError(
        `${fn}: query ${shapeStr(query.shape)}, key ${shapeStr(key.shape)} and value ${
          shapeStr(value.shape)
        } must share the batch size, and key and value the length`,
      );
    }
    if (kpm) {
      checkMaskDtype(fn, "keyPaddingMask", kpm);
      if (!sameShape(kpm.shape, [n, s])) {
        throw new ShapeError(
          `${fn}: keyPaddingMask must be ${batched ? shapeStr([n, s]) : shapeStr([s])} ` +
            `(${batched ? "[N, S]" : "[S]"}), got ${shapeStr(options.keyPaddingMask!.shape)}`,
        );
      }
    }
    if (attnMask) {
      checkMaskDtype(fn, "attnMask", attnMask);
      const want3 = [batched ? n * h : h, l, s];
      if (attnMask.ndim === 2 && sameShape(attnMask.shape, [l, s])) {
        attnMask = attnMask.unsqueeze(0);
      } else if (!(attnMask.ndim === 3 && sameShape(attnMask.shape, want3))) {
        throw new ShapeError(
          `${fn}: attnMask must be ${shapeStr([l, s])} or ${shapeStr(want3)} ` +
            `([L, S] or [${batched ? "N·numHeads" : "numHeads"}, L, S]), got ${
              shapeStr(attnMask.shape)
            }`,
        );
      }
    } else if (isCausal) {
      attnMask = causalMask(l, s, q.device, false).unsqueeze(0);
    }

    // Projections: slices of the packed weight are views, so gradients reach in_proj_weight.
    const packedW = this.inProjWeight, b = this.inProjBias;
    const third = (t: Tensor, i: number) => t.narrow(0, i * e, e);
    const wq = packedW ? third(packedW, 0) : this.qProjWeight!;
    const wk = packedW ? third(packedW, 1) : this.kProjWeight!;
    const wv = packedW ? third(packedW, 2) : this.vProjWeight!;
    q = linear(q, wq, b && third(b, 0));
    k = linear(k, wk, b && third(b, 1));
    v = linear(v, wv, b && third(b, 2));

    // Masks become one additive float mask of q's dtype (true → −∞), padded as keys are added.
    let mask = attnMask && additive(attnMask, q);
    let padMask = kpm && additive(kpm, q);
    const widen = () => {
      if (mask) mask = pad(mask, [0, 1]);
      if (padMask) padMask = pad(padMask, [0, 1]);
    };
    const bk = this.biasK, bv = this.biasV;
    if (bk && bv) {
      k = cat([k, bk.expand(1, n, e)], 0);
      v = cat([v, bv.expand(1, n, e)], 0);
      widen();
    }
    // [len, N, E] → [N·H, len, hd]
    const heads = (t: Tensor) => t.reshape([t.shape[0], n * h, hd]).transpose(0, 1);
    q = heads(q);
    k = heads(k);
    v = heads(v);
    if (this.addZeroAttn) {
      const z = zeros([n * h, 1, hd], { dtype: k.dtype, device: k.device });
      k = cat([k, z], 1);
      v = cat([v, z], 1);
      widen();
    }
    const sk = k.shape[1];
    if (padMask) {
      const per = padMask.reshape([n, 1, 1, sk]).expand(n, h, 1, sk).reshape([n * h, 1, sk]);
      mask = mask ? mask.add(per) : per;
    }
    const p = this.training ? this.dropout : 0;
    const r = attend(q, k, v, mask, 1 / Math.sqrt(hd), p, this.#generator, needWeights);
    // [N·H, L, hd] → [L, N, E] → out_proj
    let out = r.output.transpose(0, 1).reshape([l * n, e]);
    out = linear(out, this.outProj.weight, this.outProj.bias).reshape([l, n, e]);
    let weights: Tensor | null = null;
    if (needWeights) {
      weights = r.weights!.reshape([n, h, l, sk]);
      if (average) weights = weights.mean(1);
      if (!batched) weights = weights.squeeze(0);
    }
    if (!batched) out = out.squeeze(1);
    else if (this.batchFirst) out = out.transpose(0, 1);
    return { output: out, weights };
  }
}

// A bool mask (true = masked out) as 0/−∞, or a float mask in `like`'s dtype.
function additive(mask: Tensor, like: Tensor): Tensor {
  if (mask.dtype !== "bool") return castLike(mask, like);
  return where(
    mask,
    scalar(-Infinity, like.dtype, like.device),
    scalar(0, like.dtype, like.device),
  );
}

/**
 * The attention plugin, registered when this module is imported: its manifest defines the fused
 * `scaledDotProductAttention` op and its backward (see `ops/attention.ts`), whose kernels the cpu
 * and webgpu backends supply.
 */
export const attentionPlugin: Plugin = use(definePlugin({
  name: "@denn/attention",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: attentionOps,
  exports: { MultiheadAttention },
}));
