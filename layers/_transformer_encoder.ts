/**
 * The encoder side of transformer.ts: `TransformerEncoderLayer` and the stack
 * `TransformerEncoder`. Private to layers/: transformer.ts re-exports them.
 *
 * @module
 */

import { Module, trustForward } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import type { MultiheadAttention } from "./attention.ts";
import type { Dropout } from "./dropout.ts";
import type { Linear } from "./linear.ts";
import type { LayerNorm } from "./norm.ts";
// Before sequential.ts, so that importing transformer.ts registers the plugins in the order it did.
import {
  attentionBlock,
  checkSeq,
  cloneLayer,
  configOf,
  feedForward,
  registerLayer,
  residual,
  stackArgs,
} from "./_transformer_shared.ts";
import type {
  LayerConfig,
  TransformerLayerOptions,
  TransformerStackOptions,
} from "./_transformer_shared.ts";
import { ModuleList } from "./sequential.ts";
import { bool, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";

/** Options of {@linkcode TransformerEncoderLayer.forward}. */
export interface TransformerEncoderLayerForwardOptions {
  /** Attention mask [L, L] or [N·nhead, L, L]: bool (true = masked out) or float (added). */
  srcMask?: Tensor | null;
  /** [N, L] ([L] unbatched): bool (true = padding, ignored) or float (added). */
  srcKeyPaddingMask?: Tensor | null;
  /** `srcMask` is causal; without `srcMask` the causal mask is built (PyTorch raises). */
  isCausal?: boolean;
}

const ENC = "TransformerEncoderLayer";

/**
 * One encoder block, PyTorch's `nn.TransformerEncoderLayer`: self-attention and a feed-forward
 * network (linear1 → activation → dropout → linear2), each with a residual connection, dropout and
 * layer norm (`LayerNorm` from layers/norm.ts; after the residual sum by default, before the block
 * with `normFirst`).
 *
 * @example
 * ```ts
 * import { TransformerEncoderLayer } from "./transformer.ts";
 * import { randn } from "../mod.ts";
 * const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 });
 * console.log(layer.forward(randn([5, 3, 8])).shape); // [5, 3, 8]
 * console.log(Object.keys(layer.stateDict()).slice(0, 3));
 * // ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight"]
 * ```
 */
export class TransformerEncoderLayer extends Module {
  /** Feed-forward input projection [dimFeedforward, dModel]. */
  declare readonly linear1: Linear;
  /** Dropout inside the feed-forward block. */
  declare readonly dropout: Dropout;
  /** Feed-forward output projection [dModel, dimFeedforward]. */
  declare readonly linear2: Linear;
  /** Layer norm of the attention block. */
  declare readonly norm1: LayerNorm;
  /** Layer norm of the feed-forward block. */
  declare readonly norm2: LayerNorm;
  /** Dropout of the attention branch. */
  declare readonly dropout1: Dropout;
  /** Dropout of the feed-forward branch. */
  declare readonly dropout2: Dropout;
  #c: LayerConfig;

  /** Creates the layer: model width `dModel`, `nhead` attention heads. */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    this.#c = configOf(ENC, dModel, nhead, options);
    registerLayer(this, this.#c, ["self_attn"], options.device);
  }

  /** The self-attention (`self_attn`). */
  get selfAttn(): MultiheadAttention {
    return (this as unknown as { self_attn: MultiheadAttention }).self_attn;
  }

  /** Model width. */
  get dModel(): number {
    return this.#c.dModel;
  }

  /** Whether inputs are batch-first. */
  get batchFirst(): boolean {
    return this.#c.batchFirst;
  }

  /** Whether the norms come first (pre-norm). */
  get normFirst(): boolean {
    return this.#c.normFirst;
  }

  /** A new layer with the same options and a copy of this one's parameters (PyTorch's deepcopy). */
  clone(): TransformerEncoderLayer {
    return cloneLayer(this, this.#c, (d, n, o) => new TransformerEncoderLayer(d, n, o));
  }

  /** Encodes `src` [L, N, E] ([N, L, E] with batchFirst, [L, E] unbatched). */
  forward(src: Tensor): Tensor;
  /** Encodes `src` with masks. */
  forward(src: Tensor, options: TransformerEncoderLayerForwardOptions): Tensor;
  forward(src: Tensor, options: TransformerEncoderLayerForwardOptions = {}): Tensor {
    const fn = `${ENC}.forward`;
    checkSeq(fn, "src", src, this.#c.dModel);
    knownKeys(fn, options, ["srcMask", "srcKeyPaddingMask", "isCausal"]);
    const attnMask = optionalTensor(fn, "srcMask", options.srcMask);
    const keyPaddingMask = optionalTensor(fn, "srcKeyPaddingMask", options.srcKeyPaddingMask);
    const isCausal = bool(fn, "isCausal", options.isCausal, false);
    return residual(this.#c.normFirst, src, [
      [
        this.norm1,
        (x) =>
          attentionBlock(this.selfAttn, this.dropout1, x, x, attnMask, keyPaddingMask, isCausal),
      ],
      [this.norm2, (x) => feedForward(this, this.#c, this.dropout2, x)],
    ]);
  }
}

/** Options of {@linkcode TransformerEncoder.forward}. */
export interface TransformerEncoderForwardOptions {
  /** Attention mask of every layer ([L, L] or [N·nhead, L, L]). */
  mask?: Tensor | null;
  /** [N, L] ([L] unbatched): bool (true = padding, ignored) or float (added). */
  srcKeyPaddingMask?: Tensor | null;
  /** `mask` is causal; without `mask` the causal mask is built (PyTorch raises). */
  isCausal?: boolean;
}

/**
 * A stack of `numLayers` copies of an encoder layer (`layers.0`, `layers.1`, ...; each starts
 * with the given layer's parameters, as PyTorch deep-copies it) and an optional final `norm`.
 *
 * @example
 * ```ts
 * import { TransformerEncoder, TransformerEncoderLayer } from "./transformer.ts";
 * import { randn } from "../mod.ts";
 * const enc = new TransformerEncoder(new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }), 3);
 * console.log(enc.eval().forward(randn([4, 2, 8])).shape); // [4, 2, 8]
 * console.log(Object.keys(enc.stateDict())[0]); // "layers.0.self_attn.in_proj_weight"
 * ```
 */
export class TransformerEncoder extends Module {
  /** The layers. */
  declare readonly layers: ModuleList;
  /** The final norm, or null. */
  declare readonly norm: Module | null;
  /** Number of layers. */
  readonly numLayers: number;

  /** Stacks `numLayers` copies of `encoderLayer`. */
  constructor(
    encoderLayer: TransformerEncoderLayer,
    numLayers: number,
    options: TransformerStackOptions = {},
  ) {
    super();
    const name = "TransformerEncoder";
    const norm = stackArgs(name, encoderLayer, TransformerEncoderLayer, numLayers, options);
    this.numLayers = numLayers;
    const copies = Array.from({ length: numLayers }, () => encoderLayer.clone());
    this.registerModule("layers", new ModuleList(copies));
    this.registerModule("norm", norm);
  }

  /** Runs `src` through every layer, then the norm. */
  forward(src: Tensor): Tensor;
  /** Runs `src` through every layer with masks, then the norm. */
  forward(src: Tensor, options: TransformerEncoderForwardOptions): Tensor;
  forward(src: Tensor, options: TransformerEncoderForwardOptions = {}): Tensor {
    const fn = "TransformerEncoder.forward";
    tensorArg(fn, "src", src);
    knownKeys(fn, options, ["mask", "srcKeyPaddingMask", "isCausal"]);
    const o = {
      srcMask: optionalTensor(fn, "mask", options.mask),
      srcKeyPaddingMask: optionalTensor(fn, "srcKeyPaddingMask", options.srcKeyPaddingMask),
      isCausal: bool(fn, "isCausal", options.isCausal, false),
    };
    let x = src;
    for (const layer of this.layers) x = (layer as TransformerEncoderLayer).forward(x, o);
    return this.norm ? this.norm.forward(x) : x;
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(TransformerEncoderLayer, TransformerEncoder);
