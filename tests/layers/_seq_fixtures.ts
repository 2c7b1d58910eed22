// Shared by the attention, transformer and recurrent-layer tests (cpu and webgpu): reads
// tests/fixtures/attention.json and rnn.json (tools/gen_attention_fixtures.py), builds the denn
// module a fixture case describes, and runs it the way the PyTorch side did. Not a test file.

import { Tensor, tensor } from "../../core/mod.ts";
import type { AnyModule, StateDict } from "../../core/mod.ts";
import { MultiheadAttention } from "../../layers/attention.ts";
import {
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
} from "../../layers/transformer.ts";
import type { TransformerLayerOptions } from "../../layers/transformer.ts";
import { LayerNorm } from "../../layers/norm.ts";
import { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell } from "../../layers/rnn.ts";

/** A tensor as the fixtures store it (bool data as 0/1). */
export interface FixTensor {
  shape: number[];
  dtype: "float32" | "bool";
  data: number[];
}

/** A fixture tensor on `device`, optionally requiring grad (float only). */
export function fromFix(t: FixTensor, device = "cpu", requiresGrad = false): Tensor {
  if (t.dtype === "bool") {
    return tensor(Uint8Array.from(t.data), { shape: t.shape, dtype: "bool", device });
  }
  return tensor(Float32Array.from(t.data), { shape: t.shape, device, requiresGrad });
}

/** A case of F.scaledDotProductAttention. */
export interface SdpaCase {
  name: string;
  q: FixTensor;
  k: FixTensor;
  v: FixTensor;
  options: { attnMask?: FixTensor; isCausal?: boolean; scale?: number };
  g: FixTensor;
  y: FixTensor;
  dq: number[];
  dk: number[];
  dv: number[];
  dmask?: number[];
}

/** A module's description: PyTorch's positional args and camelCased keyword args. */
export interface ModuleSpec {
  type: string;
  args?: unknown[];
  options?: Record<string, unknown>;
  layer?: ModuleSpec;
  numLayers?: number;
  normDim?: number | null;
}

/** A case of an attention or transformer module. */
export interface ModuleCase {
  name: string;
  spec: ModuleSpec;
  training: boolean;
  state: Record<string, number[]>;
  stateKeys: string[];
  inputs: FixTensor[];
  forward: Record<string, FixTensor | boolean>;
  g: FixTensor;
  y: FixTensor;
  weights?: FixTensor | null;
  gw?: FixTensor | null;
  dInputs: number[][];
  grads: Record<string, number[]>;
  dMasks: Record<string, number[]>;
}

/** A case of a recurrent layer or cell. */
export interface RnnCase {
  name: string;
  type: string;
  args: number[];
  options: Record<string, unknown>;
  training: boolean;
  state: Record<string, number[]>;
  stateKeys: string[];
  x: FixTensor;
  dx: number[];
  hx: FixTensor[] | null;
  dhx: number[][] | null;
  g: Record<string, FixTensor>;
  grads: Record<string, number[]>;
  output: FixTensor | null;
  h: FixTensor;
  c: FixTensor | null;
}

/** attention.json. */
export const attentionFixture: { sdpa: SdpaCase[]; modules: ModuleCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/attention.json", import.meta.url)),
);

/** rnn.json. */
export const rnnFixture: { cases: RnnCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/rnn.json", import.meta.url)),
);

function layerOptions(spec: ModuleSpec): TransformerLayerOptions {
  // PyTorch's (d_model, nhead, dim_feedforward, dropout) positionals; denn takes the last two as
  // options.
  const [, , dimFeedforward, dropout] = (spec.args ?? []) as number[];
  const o: Record<string, unknown> = { ...spec.options };
  if (dimFeedforward !== undefined) o.dimFeedforward = dimFeedforward;
  if (dropout !== undefined) o.dropout = dropout;
  if (o.activation === "customTanh") o.activation = (x: Tensor) => x.tanh();
  return o as TransformerLayerOptions;
}

/** The denn module of a spec. */
export function buildModule(spec: ModuleSpec): AnyModule {
  const [a, b] = (spec.args ?? []) as number[];
  switch (spec.type) {
    case "MultiheadAttention":
      return new MultiheadAttention(a, b, spec.options ?? {});
    case "TransformerEncoderLayer":
      return new TransformerEncoderLayer(a, b, layerOptions(spec));
    case "TransformerDecoderLayer":
      return new TransformerDecoderLayer(a, b, layerOptions(spec));
    case "TransformerEncoder":
      return new TransformerEncoder(
        buildModule(spec.layer!) as TransformerEncoderLayer,
        spec.numLayers!,
        { norm: spec.normDim ? new LayerNorm(spec.normDim) : null },
      );
    case "TransformerDecoder":
      return new TransformerDecoder(
        buildModule(spec.layer!) as TransformerDecoderLayer,
        spec.numLayers!,
        { norm: spec.normDim ? new LayerNorm(spec.normDim) : null },
      );
  }
  throw new Error(`no module ${spec.type}`);
}

/** A state dict from fixture data, shaped like the module's own (keys must all be there). */
export function stateFrom(m: AnyModule, data: Record<string, number[]>, device = "cpu"): StateDict {
  const sd: StateDict = {};
  for (const [k, t] of Object.entries(m.stateDict())) {
    if (!(k in data)) throw new Error(`fixture lacks ${k}`);
    sd[k] = tensor(Float32Array.from(data[k]), { shape: [...t.shape], device });
  }
  return sd;
}

/** What a module case produces: output, attention weights (or null) and the masks passed. */
export interface ModuleRun {
  y: Tensor;
  weights: Tensor | null | undefined;
  masks: Record<string, Tensor>;
}

/**
 * Runs a module case's forward on `inputs` (already on the device), with its masks made on
 * `device` (float masks require grad).
 */
export function runModule(
  m: AnyModule,
  c: ModuleCase,
  inputs: Tensor[],
  device = "cpu",
): ModuleRun {
  const masks: Record<string, Tensor> = {};
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.forward)) {
    if (typeof v === "boolean") opts[k] = v;
    else opts[k] = masks[k] = fromFix(v, device, v.dtype === "float32");
  }
  const r = m.forward(...inputs, opts) as Tensor | { output: Tensor; weights: Tensor | null };
  if (r instanceof Tensor) return { y: r, weights: undefined, masks };
  return { y: r.output, weights: r.weights, masks };
}

/** The denn recurrent layer or cell of a case. */
export function buildRnn(c: RnnCase, device = "cpu"): AnyModule {
  const [i, h] = c.args;
  const o = { ...c.options, device };
  const ctors: Record<string, new (i: number, h: number, o: object) => AnyModule> = {
    RNN,
    LSTM,
    GRU,
    RNNCell,
    LSTMCell,
    GRUCell,
  };
  return new ctors[c.type](i, h, o);
}

/** What a recurrent case produces. */
export interface RnnRun {
  output: Tensor | null;
  h: Tensor;
  c: Tensor | null;
}

/** Runs a recurrent case on `x` with initial states `hx` (already on the device, or null). */
export function runRnn(m: AnyModule, c: RnnCase, x: Tensor, hx: Tensor[] | null): RnnRun {
  const state = hx === null ? undefined : hx.length === 2 ? [hx[0], hx[1]] : hx[0];
  const r = (state === undefined ? m.forward(x) : m.forward(x, state)) as
    | Tensor
    | { output?: Tensor; h: Tensor; c?: Tensor };
  if (c.type === "RNNCell" || c.type === "GRUCell") {
    return { output: null, h: r as Tensor, c: null };
  }
  const o = r as { output?: Tensor; h: Tensor; c?: Tensor };
  return { output: o.output ?? null, h: o.h, c: o.c ?? null };
}
