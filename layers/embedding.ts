/**
 * The Embedding layer: a lookup table of `numEmbeddings` vectors of size `embeddingDim`, indexed
 * by int32 ids of any shape (output [...ids, embeddingDim]), with PyTorch's initialisation N(0, 1),
 * `weight` parameter and state-dict key, and its functional form `embedding` (`F.embedding`). The
 * lookup is the core `gather` op, so every backend runs it and the gradient is a `scatterAdd`
 * (dense, summed over repeated ids). An id outside [0, numEmbeddings) is an `IndexError` (on
 * device backends, at the next readback). `paddingIdx` rows start at zero and get no gradient;
 * `maxNorm` renormalises the rows looked up, in place, as PyTorch does. PyTorch's
 * `scaleGradByFreq` and `sparse` are not supported and rejected when true.
 *
 * @example
 * ```ts
 * import { Embedding } from "./embedding.ts";
 * import { tensor } from "../mod.ts";
 * const emb = new Embedding(10, 3, { paddingIdx: 0 });
 * const ids = tensor([[1, 2, 0], [4, 0, 9]], { dtype: "int32" });
 * console.log(emb.forward(ids).shape); // [2, 3, 3]
 * ```
 *
 * @module
 */

import {
  DTypeError,
  gather,
  IndexError,
  isFloating,
  isGradEnabled,
  Module,
  noGrad,
  ones,
  Parameter,
  reprFloat,
  scatterAdd,
  ShapeError,
  shapeStr,
  trustForward,
  where,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as init from "./init.ts";
import { arity, bool, fail, int, knownKeys, tensorArg } from "./_validate.ts";

/** Options of {@linkcode embedding}. */
export interface EmbeddingOptions {
  /** The row whose gradient is always zero (negative counts from the end; default none). */
  paddingIdx?: number | null;
  /** Rows looked up with a larger `normType`-norm are scaled in place to this norm (default none). */
  maxNorm?: number | null;
  /** The p of the p-norm for `maxNorm`, a positive finite number (default 2). */
  normType?: number;
  /** Not supported: only false. */
  scaleGradByFreq?: boolean;
  /** Not supported (denn has no sparse gradients): only false. */
  sparse?: boolean;
}

interface Resolved {
  paddingIdx: number | null;
  maxNorm: number | null;
  normType: number;
}

const KEYS = ["paddingIdx", "maxNorm", "normType", "scaleGradByFreq", "sparse"];

function resolve(fn: string, o: EmbeddingOptions, rows: number): Resolved {
  let paddingIdx: number | null = null;
  if (o.paddingIdx !== undefined && o.paddingIdx !== null) {
    const p = int(fn, "paddingIdx", o.paddingIdx, -Infinity);
    if (p < -rows || p >= rows) {
      fail(fn, "paddingIdx", `must be within [-${rows}, ${rows}) (numEmbeddings ${rows})`, p);
    }
    paddingIdx = p < 0 ? p + rows : p;
  }
  let maxNorm: number | null = null;
  if (o.maxNorm !== undefined && o.maxNorm !== null) {
    if (typeof o.maxNorm !== "number" || !(o.maxNorm > 0) || !Number.isFinite(o.maxNorm)) {
      fail(fn, "maxNorm", "must be a positive finite number or null", o.maxNorm);
    }
    maxNorm = o.maxNorm;
  }
  const normType = o.normType ?? 2;
  if (typeof normType !== "number" || !(normType > 0) || !Number.isFinite(normType)) {
    fail(fn, "normType", "must be a positive finite number", normType);
  }
  if (bool(fn, "scaleGradByFreq", o.scaleGradByFreq, false)) {
    fail(fn, "scaleGradByFreq", "is not supported (only false)", true);
  }
  if (bool(fn, "sparse", o.sparse, false)) {
    fail(fn, "sparse", "is not supported: denn has no sparse gradients (only false)", true);
  }
  return { paddingIdx, maxNorm, normType };
}

// Scales, in place and without recording, each row of `weight` that `ids` looks up and whose
// p-norm exceeds maxNorm to norm maxNorm (PyTorch's embedding_renorm_: scale maxNorm/(norm + 1e-7)).
function renorm(fn: string, weight: Tensor, ids: Tensor, maxNorm: number, p: number): void {
  noGrad(() => {
    const rows = weight.shape[0];
    const flat = ids.reshape([-1]);
    const used = lookup(
      fn,
      rows,
      () =>
        scatterAdd([rows], 0, flat, ones([flat.numel()], { dtype: "int32", device: ids.device })),
    ).gt(0);
    const norms = p === 2
      ? weight.mul(weight).sum(1).sqrt()
      : weight.abs().pow(p).sum(1).pow(1 / p);
    const over = used.logicalAnd(norms.gt(maxNorm));
    const scale = where(over, norms.add(1e-7).reciprocal().mul(maxNorm), 1);
    weight.mul_(scale.unsqueeze(1));
  });
}

// Runs a gather/scatter over ids, naming this function in an out-of-range IndexError.
function lookup(fn: string, rows: number, f: () => Tensor): Tensor {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof IndexError)) throw e;
    throw new IndexError(`${fn}: id out of range [0, ${rows}): ${e.message}`, { cause: e });
  }
}

function run(fn: string, ids: Tensor, weight: Tensor, o: Resolved): Tensor {
  if (ids.dtype !== "int32") {
    throw new DTypeError(`${fn}: expected int32 ids, got ${ids.dtype}`);
  }
  if (weight.ndim !== 2) {
    throw new ShapeError(
      `${fn}: expected a 2-D weight [numEmbeddings, embeddingDim], got ${shapeStr(weight.shape)}`,
    );
  }
  if (!isFloating(weight.dtype)) {
    throw new DTypeError(`${fn}: expected a floating-point weight, got ${weight.dtype}`);
  }
  const [rows, dim] = weight.shape;
  if (o.maxNorm !== null) renorm(fn, weight, ids, o.maxNorm, o.normType);
  const flat = ids.reshape([-1]);
  const n = flat.numel();
  let y = lookup(fn, rows, () => gather(weight, 0, flat.unsqueeze(1).expand([n, dim])));
  if (o.paddingIdx !== null && weight.requiresGrad && isGradEnabled()) {
    // The padding row's value, through a detached copy: no gradient reaches it.
    y = where(flat.eq(o.paddingIdx).unsqueeze(1), y.detach(), y);
  }
  return y.reshape([...ids.shape, dim]);
}

/**
 * Looks up rows of `weight` [numEmbeddings, embeddingDim] by int32 `ids` (`F.embedding`). The
 * third argument is the options or, as PyTorch's positional form, `paddingIdx`.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { embedding } from "./embedding.ts";
 * const w = tensor([[0, 0], [1, 2], [3, 4]]);
 * console.log(embedding(tensor([2, 1], { dtype: "int32" }), w).toArraySync()); // [[3, 4], [1, 2]]
 * ```
 */
export function embedding(
  ids: Tensor,
  weight: Tensor,
  options: EmbeddingOptions | number | null = {},
): Tensor {
  arity("embedding", arguments, 3);
  tensorArg("embedding", "input", ids);
  tensorArg("embedding", "weight", weight);
  const o = typeof options === "number" || options === null ? { paddingIdx: options } : options;
  knownKeys("embedding", o, KEYS);
  if (weight.ndim !== 2) {
    throw new ShapeError(
      `embedding: expected a 2-D weight [numEmbeddings, embeddingDim], got ${
        shapeStr(weight.shape)
      }`,
    );
  }
  return run("embedding", ids, weight, resolve("embedding", o, weight.shape[0]));
}

/** Options of {@linkcode Embedding}. */
export interface EmbeddingLayerOptions extends EmbeddingOptions {
  /** Device of the weight (default "cpu"). */
  device?: string;
}

/** Options of {@linkcode Embedding.fromPretrained}. */
export interface FromPretrainedOptions extends EmbeddingOptions {
  /** Keep the weight fixed: it does not require grad (default true). */
  freeze?: boolean;
}

/** A lookup table of `numEmbeddings` learnable vectors of size `embeddingDim`. */
export class Embedding extends Module {
  /** Number of rows. */
  readonly numEmbeddings: number;
  /** Size of each row. */
  readonly embeddingDim: number;
  /** Row with no gradient (non-negative), or null. */
  readonly paddingIdx: number | null;
  /** Max norm of looked-up rows, or null. */
  readonly maxNorm: number | null;
  /** p of the p-norm for `maxNorm`. */
  readonly normType: number;
  /** The table [numEmbeddings, embeddingDim], N(0, 1) with the padding row zeroed. */
  weight: Tensor;
  #o: Resolved;

  /** Creates the table. */
  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingLayerOptions = {}) {
    super();
    const L = "Embedding";
    knownKeys(L, options, [...KEYS, "device"]);
    this.numEmbeddings = int(L, "numEmbeddings", numEmbeddings);
    this.embeddingDim = int(L, "embeddingDim", embeddingDim);
    const { device, ...o } = options;
    this.#o = resolve(L, o, numEmbeddings);
    this.paddingIdx = this.#o.paddingIdx;
    this.maxNorm = this.#o.maxNorm;
    this.normType = this.#o.normType;
    if (device !== undefined && typeof device !== "string") {
      fail(L, "device", "must be a string", device);
    }
    this.weight = Parameter(init.normal_(ones([numEmbeddings, embeddingDim])));
    const pad = this.paddingIdx;
    if (pad !== null) noGrad(() => this.weight.narrow(0, pad, 1).fill_(0));
    if (device && device !== "cpu") this.to(device);
  }

  /**
   * An Embedding holding `embeddings` [numEmbeddings, embeddingDim] (copied), frozen unless
   * `freeze` is false (PyTorch's `Embedding.from_pretrained`). The padding row is kept as given.
   *
   * @example
   * ```ts
   * import { Embedding } from "./embedding.ts";
   * import { tensor } from "../mod.ts";
   * const emb = Embedding.fromPretrained(tensor([[1, 2], [3, 4]]));
   * console.log(emb.weight.requiresGrad); // false
   * ```
   */
  static fromPretrained(embeddings: Tensor, options: FromPretrainedOptions = {}): Embedding {
    const L = "Embedding.fromPretrained";
    tensorArg(L, "embeddings", embeddings);
    knownKeys(L, options, [...KEYS, "freeze"]);
    if (embeddings.ndim !== 2) {
      throw new ShapeError(`${L}: embeddings must be 2-D, got ${shapeStr(embeddings.shape)}`);
    }
    if (!isFloating(embeddings.dtype)) {
      throw new DTypeError(`${L}: expected floating-point embeddings, got ${embeddings.dtype}`);
    }
    const { freeze, ...o } = options;
    const frozen = bool(L, "freeze", freeze, true);
    const [rows, dim] = embeddings.shape;
    const emb = new Embedding(rows, dim, o);
    if (embeddings.dtype === "float16") emb.half();
    if (embeddings.device !== "cpu") emb.to(embeddings.device);
    noGrad(() => emb.weight.copy_(embeddings));
    emb.weight.requiresGrad = !frozen;
    return emb;
  }

  /** `10, 3, paddingIdx=0`, as PyTorch prints it (settings at their defaults are left out). */
  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, paddingIdx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, maxNorm=${reprFloat(this.maxNorm)}`;
    if (this.normType !== 2) s += `, normType=${reprFloat(this.normType)}`;
    return s;
  }

  /** Looks up `ids` (int32, any shape): [...ids.shape, embeddingDim]. */
  forward(ids: Tensor): Tensor {
    return run("Embedding", tensorArg("Embedding.forward", "input", ids), this.weight, this.#o);
  }
}

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Embedding);
