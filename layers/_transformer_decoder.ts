/**
 * The decoder side of transformer.ts: `TransformerDecoderLayer` and the stack
 * `TransformerDecoder`. Private to layers/: transformer.ts re-exports them.
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

/** Options of {@linkcode TransformerDecoderLayer.forward}. */
export interface TransformerDecoderLayerForwardOptions {
  /** Self-attention mask [L, L] or [N·nhead, L, L]: bool (true = masked out) or float (added). */
  tgtMask?: Tensor | null;
  /** Cross-attention mask [L, S] or [N·nhead, L, S]. */
  memoryMask?: Tensor | null;
  /** [N, L] ([L] unbatched): bool (true = padding, ignored) or float (added). */
  tgtKeyPaddingMask?: Tensor | null;
  /** [N, S] ([S] unbatched): bool (true = padding, ignored) or float (added). */
  memoryKeyPaddingMask?: Tensor | null;
  /** `tgtMask` is causal; without `tgtMask` the causal mask is built (PyTorch raises). */
  tgtIsCausal?: boolean;
  /** `memoryMask` is causal; without `memoryMask` the causal mask is built (PyTorch raises). */
  memoryIsCausal?: boolean;
}

const DEC = "TransformerDecoderLayer";
const DEC_FORWARD_KEYS = [
  "tgtMask",
  "memoryMask",
  "tgtKeyPaddingMask",
  "memoryKeyPaddingMask",
  "tgtIsCausal",
  "memoryIsCausal",
] as const;

// Shared by the decoder layer and the decoder stack: checked forward options.
function decoderOptions(fn: string, o: TransformerDecoderLayerForwardOptions) {
  knownKeys(fn, o, DEC_FORWARD_KEYS);
  return {
    tgtMask: optionalTensor(fn, "tgtMask", o.tgtMask),
    memoryMask: optionalTensor(fn, "memoryMask", o.memoryMask),
    tgtKeyPaddingMask: optionalTensor(fn, "tgtKeyPaddingMask", o.tgtKeyPaddingMask),
    memoryKeyPaddingMask: optionalTensor(fn, "memoryKeyPaddingMask", o.memoryKeyPaddingMask),
    tgtIsCausal: bool(fn, "tgtIsCausal", o.tgtIsCausal, false),
    memoryIsCausal: bool(fn, "memoryIsCausal", o.memoryIsCausal, false),
  };
}

/**
 * One decoder block, PyTorch's `nn.TransformerDecoderLayer`: self-attention over the target,
 * cross-attention to the encoder output (`memory`) and a feed-forward network, each with a
 * residual connection, dropout and layer norm (`norm1`, `norm2`, `norm3`; pre-norm with
 * `normFirst`).
 *
 * @example
 * ```ts
 * import { TransformerDecoderLayer } from "./transformer.ts";
 * import { randn } from "../mod.ts";
 * const layer = new TransformerDecoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true });
 * const y = layer.eval().forward(randn([2, 4, 8]), randn([2, 6, 8]), { tgtIsCausal: true });
 * console.log(y.shape); // [2, 4, 8]
 * ```
 */
export class TransformerDecoderLayer extends Module {
  /** Feed-forward input projection [dimFeedforward, dModel]. */
  declare readonly linear1: Linear;
  /** Dropout inside the feed-forward block. */
  declare readonly dropout: Dropout;
  /** Feed-forward output projection [dModel, dimFeedforward]. */
  declare readonly linear2: Linear;
  /** Layer norm of the self-attention block. */
  declare readonly norm1: LayerNorm;
  /** Layer norm of the cross-attention block. */
  declare readonly norm2: LayerNorm;
  /** Layer norm of the feed-forward block. */
  declare readonly norm3: LayerNorm;
  /** Dropout of the self-attention branch. */
  declare readonly dropout1: Dropout;
  /** Dropout of the cross-attention branch. */
  declare readonly dropout2: Dropout;
  /** Dropout of the feed-forward branch. */
  declare readonly dropout3: Dropout;
  #c: LayerConfig;

  /** Creates the layer: model width `dModel`, `nhead` attention heads. */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    this.#c = configOf(DEC, dModel, nhead, options);
    registerLayer(this, this.#c, ["self_attn", "multihead_attn"], options.device);
  }

  /** The self-attention over the target (`self_attn`). */
  get selfAttn(): MultiheadAttention {
    return (this as unknown as { self_attn: MultiheadAttention }).self_attn;
  }

  /** The cross-attention to the memory (`multihead_attn`). */
  get multiheadAttn(): MultiheadAttention {
    return (this as unknown as { multihead_attn: MultiheadAttention }).multihead_attn;
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
  clone(): TransformerDecoderLayer {
    return cloneLayer(this, this.#c, (d, n, o) => new TransformerDecoderLayer(d, n, o));
  }

  /** Decodes `tgt` [L, N, E] attending to `memory` [S, N, E] (batch-first or unbatched alike). */
  forward(tgt: Tensor, memory: Tensor): Tensor;
  /** Decodes with masks. */
  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderLayerForwardOptions): Tensor;
  forward(
    tgt: Tensor,
    memory: Tensor,
    options: TransformerDecoderLayerForwardOptions = {},
  ): Tensor {
    const fn = `${DEC}.forward`;
    checkSeq(fn, "tgt", tgt, this.#c.dModel);
    checkSeq(fn, "memory", memory, this.#c.dModel, tgt);
    return this.#run(tgt, memory, decoderOptions(fn, options));
  }

  #run(tgt: Tensor, memory: Tensor, o: ReturnType<typeof decoderOptions>): Tensor {
    const sa = (x: Tensor) =>
      attentionBlock(
        this.selfAttn,
        this.dropout1,
        x,
        x,
        o.tgtMask,
        o.tgtKeyPaddingMask,
        o.tgtIsCausal,
      );
    const ca = (x: Tensor) =>
      attentionBlock(
        this.multiheadAttn,
        this.dropout2,
        x,
        memory,
        o.memoryMask,
        o.memoryKeyPaddingMask,
        o.memoryIsCausal,
      );
    return residual(this.#c.normFirst, tgt, [
      [this.norm1, sa],
      [this.norm2, ca],
      [this.norm3, (x) => feedForward(this, this.#c, this.dropout3, x)],
    ]);
  }
}

/**
 * A stack of `numLayers` copies of a decoder layer (`layers.0`, ...) and an optional final `norm`.
 *
 * @example
 * ```ts
 * import { TransformerDecoder, TransformerDecoderLayer } from "./transformer.ts";
 * import { randn } from "../mod.ts";
 * const dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, { dimFeedforward: 16 }), 2);
 * console.log(dec.eval().forward(randn([4, 2, 8]), randn([6, 2, 8])).shape); // [4, 2, 8]
 * ```
 */
export class TransformerDecoder extends Module {
  /** The layers. */
  declare readonly layers: ModuleList;
  /** The final norm, or null. */
  declare readonly norm: Module | null;
  /** Number of layers. */
  readonly numLayers: number;

  /** Stacks `numLayers` copies of `decoderLayer`. */
  constructor(
    decoderLayer: TransformerDecoderLayer,
    numLayers: number,
    options: TransformerStackOptions = {},
  ) {
    super();
    const name = "TransformerDecoder";
    const norm = stackArgs(name, decoderLayer, TransformerDecoderLayer, numLayers, options);
    this.numLayers = numLayers;
    const copies = Array.from({ length: numLayers }, () => decoderLayer.clone());
    this.registerModule("layers", new ModuleList(copies));
    this.registerModule("norm", norm);
  }

  /** Runs `tgt` through every layer (each attending to `memory`), then the norm. */
  forward(tgt: Tensor, memory: Tensor): Tensor;
  /** Same with masks. */
  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderLayerForwardOptions): Tensor;
  forward(
    tgt: Tensor,
    memory: Tensor,
    options: TransformerDecoderLayerForwardOptions = {},
  ): Tensor {
    const fn = "TransformerDecoder.forward";
    tensorArg(fn, "tgt", tgt);
    tensorArg(fn, "memory", memory);
    const o = decoderOptions(fn, options);
    let x = tgt;
    for (const layer of this.layers) x = (layer as TransformerDecoderLayer).forward(x, memory, o);
    return this.norm ? this.norm.forward(x) : x;
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(TransformerDecoderLayer, TransformerDecoder);
