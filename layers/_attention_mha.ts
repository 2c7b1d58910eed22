/**
 * `MultiheadAttention`, PyTorch's `nn.MultiheadAttention`, over the attention of
 * `_attention_sdpa.ts`. Private to layers/: attention.ts re-exports it and registers the attention
 * plugin.
 *
 * @module
 */

import {
  cat,
  DTypeError,
  isFloating,
  Module,
  pad,
  sameShape,
  scalar,
  ShapeError,
  shapeStr,
  trustForward,
  ValueError,
  where,
  zeros,
} from "../core/mod.ts";
import type { Generator, Tensor } from "../core/mod.ts";
import { causalMask } from "./ops/attention.ts";
import * as init from "./init.ts";
import { Linear, linear } from "./linear.ts";
import { bool, int, knownKeys, optionalTensor, probability, tensorArg } from "./_validate.ts";
import { attend, castLike, checkMaskDtype, generatorOf } from "./_attention_sdpa.ts";

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

// Its forward runs only ops and keeps nothing it makes: intermediates are freed when the outermost
// call returns or backward is done with them (core/module_frames.ts).
trustForward(MultiheadAttention);
