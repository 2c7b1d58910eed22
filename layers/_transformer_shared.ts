/**
 * What the encoder and decoder layers and stacks of transformer.ts share: the layer options and
 * their checks, the submodules in PyTorch's order, cloning, the attention, feed-forward and
 * residual blocks, and the stacks' arguments. Private to layers/.
 *
 * @module
 */

import { Generator, Module, noGrad, ShapeError, shapeStr, Tensor } from "../core/mod.ts";
import { MultiheadAttention } from "./attention.ts";
import { gelu, relu } from "./activations.ts";
import { Dropout } from "./dropout.ts";
import { Linear } from "./linear.ts";
import { LayerNorm } from "./norm.ts";
import { bool, fail, finite, int, knownKeys, probability, tensorArg } from "./_validate.ts";

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

export interface LayerConfig {
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

export function configOf(
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
export function checkSeq(
  fn: string,
  name: string,
  x: unknown,
  dModel: number,
  like?: Tensor,
): Tensor {
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
export function registerLayer(
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
export function cloneLayer<T extends Module>(
  src: T,
  c: LayerConfig,
  make: (dModel: number, nhead: number, options: TransformerLayerOptions) => T,
): T {
  return copyState(make(c.dModel, c.nhead, optionsOf(c, deviceOf(src))), src) as T;
}

// The attention block: `attn` over (query, key/value) without weights, then the branch dropout.
export function attentionBlock(
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
export function feedForward(
  m: { linear1: Linear; dropout: Dropout; linear2: Linear },
  c: LayerConfig,
  out: Dropout,
  x: Tensor,
): Tensor {
  return out.forward(m.linear2.forward(m.dropout.forward(c.activation(m.linear1.forward(x)))));
}

// Runs `x` through residual blocks in turn: `norm(x + block(x))`, or `x + block(norm(x))` with
// normFirst.
export function residual(
  normFirst: boolean,
  x: Tensor,
  blocks: readonly (readonly [LayerNorm, (x: Tensor) => Tensor])[],
): Tensor {
  for (const [norm, block] of blocks) {
    x = normFirst ? x.add(block(norm.forward(x))) : norm.forward(x.add(block(x)));
  }
  return x;
}

/** Options of {@linkcode TransformerEncoder} and {@linkcode TransformerDecoder}. */
export interface TransformerStackOptions {
  /** Module applied to the last layer's output (typically a LayerNorm; `norm.*` keys). */
  norm?: Module | null;
}

export function stackArgs<T extends Module>(
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
