/**
 * Transformer layers with PyTorch's structure and state-dict keys (`self_attn.in_proj_weight`,
 * `linear1.weight`, `norm1.weight`, ...): `TransformerEncoderLayer`, `TransformerDecoderLayer`, and
 * the stacks `TransformerEncoder` and `TransformerDecoder` (`layers.0.…`, `norm.…`), so PyTorch
 * weights load unchanged. Post-norm by default, pre-norm with `normFirst`.
 *
 * @example
 * ```ts
 * import { TransformerEncoder, TransformerEncoderLayer } from "./transformer.ts";
 * import { randn } from "../mod.ts";
 * const layer = new TransformerEncoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true });
 * const encoder = new TransformerEncoder(layer, 2);
 * const y = encoder.eval().forward(randn([2, 5, 16]), { isCausal: true });
 * console.log(y.shape); // [2, 5, 16]
 * ```
 *
 * @module
 */

import { Generator, Module, noGrad, ShapeError, shapeStr, Tensor } from "../core/mod.ts";
import { MultiheadAttention } from "./attention.ts";
import { gelu, relu } from "./activations.ts";
import { Dropout } from "./dropout.ts";
import { Linear } from "./linear.ts";
import { LayerNorm } from "./norm.ts";
import { ModuleList } from "./sequential.ts";
import {
  bool,
  fail,
  finite,
  int,
  knownKeys,
  optionalTensor,
  probability,
  tensorArg,
} from "./_validate.ts";

/** The feed-forward activation: PyTorch's names, or any function of a tensor. */
export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor);

/** Options of {@linkcode TransformerEncoderLayer} and {@linkcode TransformerDecoderLayer}. */
export interface TransformerLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability (attention weights and the residual branches; default 0.1). */
  dropout?: number;
  /** Feed-forward activation (default "relu"). */
  activation?: TransformerActivation;
  /** Epsilon of the layer norms (default 1e-5). */
  layerNormEps?: number;
  /** Inputs and output are [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Normalise before attention and feed-forward (pre-norm) instead of after (default false). */
  normFirst?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
  /** Generator of the dropout masks (default: the global one). */
  generator?: Generator;
}

const LAYER_KEYS = [
  "dimFeedforward",
  "dropout",
  "activation",
  "layerNormEps",
  "batchFirst",
  "normFirst",
  "device",
  "generator",
] as const;

interface LayerConfig {
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  dropout: number;
  activation: (x: Tensor) => Tensor;
  activationOption: TransformerActivation;
  eps: number;
  batchFirst: boolean;
  normFirst: boolean;
  generator: Generator | undefined;
}

function configOf(
  layer: string,
  dModel: number,
  nhead: number,
  o: TransformerLayerOptions,
): LayerConfig {
  knownKeys(layer, o, LAYER_KEYS);
  int(layer, "dModel", dModel);
  int(layer, "nhead", nhead);
  const a = o.activation ?? "relu";
  let activation: (x: Tensor) => Tensor;
  if (a === "relu") activation = (x) => relu(x);
  else if (a === "gelu") activation = (x) => gelu(x);
  else if (typeof a === "function") {
    activation = (x) => {
      const y = a(x);
      if (!(y instanceof Tensor)) {
        fail(layer, "activation", "must return a Tensor", y);
      }
      return y;
    };
  } else fail(layer, "activation", 'must be "relu", "gelu" or a function of a Tensor', a);
  if (o.generator !== undefined && !(o.generator instanceof Generator)) {
    fail(layer, "generator", "must be a Generator", o.generator);
  }
  const eps = o.layerNormEps === undefined ? 1e-5 : finite(layer, "layerNormEps", o.layerNormEps);
  if (!(eps > 0)) fail(layer, "layerNormEps", "must be positive", eps);
  return {
    dModel,
    nhead,
    dimFeedforward: o.dimFeedforward === undefined
      ? 2048
      : int(layer, "dimFeedforward", o.dimFeedforward),
    dropout: o.dropout === undefined ? 0.1 : probability(layer, "dropout", o.dropout),
    activation,
    activationOption: a,
    eps,
    batchFirst: bool(layer, "batchFirst", o.batchFirst, false),
    normFirst: bool(layer, "normFirst", o.normFirst, false),
    generator: o.generator,
  };
}

function dropoutLayer(c: LayerConfig): Dropout {
  return new Dropout(c.dropout, c.generator ? { generator: c.generator } : {});
}

function attention(c: LayerConfig): MultiheadAttention {
  return new MultiheadAttention(c.dModel, c.nhead, {
    dropout: c.dropout,
    batchFirst: c.batchFirst,
    ...(c.generator ? { generator: c.generator } : {}),
  });
}

function optionsOf(c: LayerConfig, device: string): TransformerLayerOptions {
  return {
    dimFeedforward: c.dimFeedforward,
    dropout: c.dropout,
    activation: c.activationOption,
    layerNormEps: c.eps,
    batchFirst: c.batchFirst,
    normFirst: c.normFirst,
    device,
    ...(c.generator ? { generator: c.generator } : {}),
  };
}

// Checks a sequence input: [L, N, E] / [N, L, E] batched or [L, E] unbatched, E = dModel.
function checkSeq(fn: string, name: string, x: unknown, dModel: number, like?: Tensor): Tensor {
  const t = tensorArg(fn, name, x);
  if ((t.ndim !== 2 && t.ndim !== 3) || t.shape[t.ndim - 1] !== dModel) {
    throw new ShapeError(
      `${fn}: ${name} must be [L, N, ${dModel}] ([N, L, ${dModel}] with batchFirst) or [L, ${dModel}], got ${
        shapeStr(t.shape)
      }`,
    );
  }
  if (like && like.ndim !== t.ndim) {
    throw new ShapeError(
      `${fn}: ${name} ${shapeStr(t.shape)} must have as many dimensions as the target ${
        shapeStr(like.shape)
      }`,
    );
  }
  return t;
}

// Copies `src`'s parameters and buffers into `dst` (same structure and device; dtype follows).
function copyState(dst: Module, src: Module): Module {
  if (src.parameters()[0]?.dtype === "float16") dst.half();
  const from = src.stateDict();
  noGrad(() => {
    for (const [k, t] of Object.entries(dst.stateDict())) t.copy_(from[k]);
  });
  return dst.train(src.training);
}

function deviceOf(m: Module): string {
  return m.parameters()[0]?.device ?? "cpu";
}

// Registers a layer's submodules in PyTorch's order (so the state-dict keys come out in its
// order): the attentions, linear1, dropout, linear2, then norm1..n and dropout1..n, one per
// residual block (the attentions and the feed-forward block), and moves the layer to `device`.
function registerLayer(
  m: Module,
  c: LayerConfig,
  attentions: readonly string[],
  device: string | undefined,
): void {
  for (const name of attentions) m.registerModule(name, attention(c));
  m.registerModule("linear1", new Linear(c.dModel, c.dimFeedforward));
  m.registerModule("dropout", dropoutLayer(c));
  m.registerModule("linear2", new Linear(c.dimFeedforward, c.dModel));
  const blocks = attentions.length + 1;
  for (let i = 1; i <= blocks; i++) {
    m.registerModule(`norm${i}`, new LayerNorm(c.dModel, { eps: c.eps }));
  }
  for (let i = 1; i <= blocks; i++) m.registerModule(`dropout${i}`, dropoutLayer(c));
  if (device && device !== "cpu") m.to(device);
}

// A new layer with `src`'s options and a copy of its parameters (PyTorch's deepcopy).
function cloneLayer<T extends Module>(
  src: T,
  c: LayerConfig,
  make: (dModel: number, nhead: number, options: TransformerLayerOptions) => T,
): T {
  return copyState(make(c.dModel, c.nhead, optionsOf(c, deviceOf(src))), src) as T;
}

// The attention block: `attn` over (query, key/value) without weights, then the branch dropout.
function attentionBlock(
  attn: MultiheadAttention,
  out: Dropout,
  q: Tensor,
  kv: Tensor,
  attnMask: Tensor | null,
  keyPaddingMask: Tensor | null,
  isCausal: boolean,
): Tensor {
  return out.forward(
    attn.forward(q, kv, kv, { attnMask, keyPaddingMask, isCausal, needWeights: false }).output,
  );
}

// The feed-forward block: linear1 → activation → dropout → linear2, then the branch dropout.
function feedForward(
  m: { linear1: Linear; dropout: Dropout; linear2: Linear },
  c: LayerConfig,
  out: Dropout,
  x: Tensor,
): Tensor {
  return out.forward(m.linear2.forward(m.dropout.forward(c.activation(m.linear1.forward(x)))));
}

// Runs `x` through residual blocks in turn: `norm(x + block(x))`, or `x + block(norm(x))` with
// normFirst.
function residual(
  normFirst: boolean,
  x: Tensor,
  blocks: readonly (readonly [LayerNorm, (x: Tensor) => Tensor])[],
): Tensor {
  for (const [norm, block] of blocks) {
    x = normFirst ? x.add(block(norm.forward(x))) : norm.forward(x.add(block(x)));
  }
  return x;
}

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

/** Options of {@linkcode TransformerEncoder} and {@linkcode TransformerDecoder}. */
export interface TransformerStackOptions {
  /** Module applied to the last layer's output (typically a LayerNorm; `norm.*` keys). */
  norm?: Module | null;
}

function stackArgs<T extends Module>(
  name: string,
  layer: unknown,
  cls: abstract new (...a: never[]) => T,
  numLayers: number,
  options: TransformerStackOptions,
): Module | null {
  if (!(layer instanceof cls)) fail(name, "layer", `must be a ${cls.name}`, layer);
  int(name, "numLayers", numLayers);
  knownKeys(name, options, ["norm"]);
  const norm = options.norm ?? null;
  if (norm !== null && !(norm instanceof Module)) fail(name, "norm", "must be a Module", norm);
  return norm;
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
