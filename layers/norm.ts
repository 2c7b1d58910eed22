/**
 * Normalisation layers beside batch norm: `LayerNorm`, `GroupNorm`, `InstanceNorm1d`,
 * `InstanceNorm2d` and `RMSNorm`, with PyTorch's constructor arguments, defaults, parameter names
 * and state-dict keys (`weight`, `bias`, and for instance norm with `trackRunningStats`
 * `running_mean`, `running_var`, `num_batches_tracked`), and their functional forms
 * (`F.layerNorm`, `F.groupNorm`, `F.instanceNorm`, `F.rmsNorm`).
 *
 * Layer and group norm run as this plugin's fused `normRows` op (`ops/layer_norm.ts`): the
 * statistics, the normalisation and the affine weight and bias are one kernel, and the gradient
 * (dx with the statistics' dependence on the input, dweight and dbias) one `normRowsBackward`,
 * where a backend has them; elsewhere they decompose into core ops. Instance norm normalises each
 * channel of one sample with the batch-norm plugin's fused ops (the input seen as
 * [1, blocks, values per block] is a batch norm whose channels are the blocks) and applies the
 * affine weight and bias afterwards. RMSNorm (PyTorch 2.4) is written with elementwise ops and a
 * mean; its `eps` defaults to the machine epsilon of the input's dtype.
 *
 * @example
 * ```ts
 * import { GroupNorm, LayerNorm, RMSNorm } from "./norm.ts";
 * import { randn } from "../mod.ts";
 * const x = randn([2, 6, 4, 4]);
 * console.log(new LayerNorm([4, 4]).forward(x).shape); // [2, 6, 4, 4]
 * console.log(Object.keys(new GroupNorm(3, 6).stateDict())); // ["weight", "bias"]
 * console.log(new RMSNorm(4).forward(randn([3, 4])).shape); // [3, 4]
 * ```
 *
 * @module
 */

import {
  definePlugin,
  DTypeError,
  full,
  isFloating,
  Module,
  noGrad,
  ones,
  Parameter,
  reprFloat,
  reprTuple,
  ShapeError,
  shapeStr,
  use,
  ValueError,
  zeros,
} from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import { arity, bool, fail, int, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";
import { affineParams, registerRunningStats } from "./_norm_state.ts";
import { batchNormRaw, batchNormStats } from "./batch_norm.ts";
import { layerNormOps, normRows } from "./ops/layer_norm.ts";
import type { NormRowsAttrs } from "./ops/layer_norm.ts";

// ---------------------------------------------------------------- shared

/** A normalised shape: the trailing dimensions normalised over (an int is one dimension). */
export type NormalizedShape = number | readonly number[];

function normalizedShapeArg(fn: string, v: unknown): number[] {
  const s = typeof v === "number" ? [v] : v;
  if (
    !Array.isArray(s) || s.length === 0 ||
    !s.every((e) => typeof e === "number" && Number.isInteger(e) && e > 0)
  ) {
    fail(fn, "normalizedShape", "must be a positive integer or a non-empty array of them", v);
  }
  return [...s];
}

function epsArg(fn: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    fail(fn, "eps", "must be a non-negative finite number", v);
  }
  return v;
}

function floatInput(fn: string, x: Tensor): void {
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${fn}: expected a floating-point input, got ${x.dtype}`);
  }
}

function trailing(fn: string, x: Tensor, shape: readonly number[]): void {
  floatInput(fn, x);
  const k = shape.length;
  if (x.ndim < k || shape.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
    throw new ShapeError(
      `${fn}: expected input with shape [*, ${shape.join(", ")}], got ${shapeStr(x.shape)}`,
    );
  }
}

function checkParam(fn: string, name: string, t: Tensor | null, shape: readonly number[]): void {
  if (t && (t.ndim !== shape.length || t.shape.some((s, i) => s !== shape[i]))) {
    throw new ShapeError(`${fn}: ${name} ${shapeStr(t.shape)} must have shape ${shapeStr(shape)}`);
  }
}

/**
 * x normalised to zero mean and unit biased variance over each of `blocks` consecutive blocks of
 * its elements, plus each block's mean and variance ([blocks]). Runs the fused batch-norm ops on
 * x seen as [1, blocks, x.numel() / blocks].
 */
function normalizeBlocks(
  x: Tensor,
  blocks: number,
  eps: number,
): [Tensor, Tensor | null, Tensor | null] {
  if (x.numel() === 0) return [x.mul(1), null, null];
  const xr = x.reshape([1, blocks, x.numel() / blocks]);
  const [mean, variance] = batchNormStats(xr);
  const o = { dtype: x.dtype, device: x.device };
  const y = batchNormRaw(xr, mean, variance, full([blocks], 1, o), full([blocks], 0, o), {
    training: true,
    eps,
  });
  return [y.reshape(x.shape as number[]), mean, variance];
}

/**
 * x normalised by the fused `normRows` op, with the weight and bias applied inside it when they
 * have x's dtype and device; otherwise (and for an empty x) they are applied afterwards by
 * `affine`, with the dtype promotion and device errors of the elementwise ops, as before.
 */
function fusedNorm(
  x: Tensor,
  attrs: Omit<NormRowsAttrs, "weight" | "bias">,
  weight: Tensor | null,
  bias: Tensor | null,
  affine: (y: Tensor) => Tensor,
): Tensor {
  if (x.numel() === 0) return affine(x.mul(1));
  const fits = (t: Tensor | null) => t === null || (t.dtype === x.dtype && t.device === x.device);
  if (fits(weight) && fits(bias)) {
    return normRows(x, weight, bias, { ...attrs, weight: weight !== null, bias: bias !== null })[0];
  }
  return affine(normRows(x, null, null, { ...attrs, weight: false, bias: false })[0]);
}

// Per-channel weight and bias [C] applied to [N, C, ...] input.
function channelAffine(y: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const bs = y.shape.map((s, i) => (i === 1 ? s : 1));
  if (weight) y = y.mul(weight.reshape(bs));
  if (bias) y = y.add(bias.reshape(bs));
  return y;
}

function deviceOf(fn: string, v: unknown): string | undefined {
  if (v !== undefined && typeof v !== "string") fail(fn, "device", "must be a string", v);
  return v;
}

// ---------------------------------------------------------------- layer norm

/** Options of {@linkcode layerNorm}. */
export interface LayerNormOptions {
  /** Scale, of the normalised shape (default none). */
  weight?: Tensor | null;
  /** Shift, of the normalised shape (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function runLayerNorm(
  fn: string,
  x: Tensor,
  shape: readonly number[],
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  trailing(fn, x, shape);
  const per = shape.reduce((a, b) => a * b, 1);
  return fusedNorm(x, { rowSize: per, groups: 1, inner: 1, eps }, weight, bias, (y) => {
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  });
}

/**
 * Layer normalisation over the trailing `normalizedShape` dimensions (`F.layerNorm`):
 * (x − mean) / √(var + eps) · weight + bias, with the biased variance.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { layerNorm } from "./norm.ts";
 * console.log(layerNorm(tensor([[1, 3]]), 2).toArraySync()); // about [[-1, 1]]
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: NormalizedShape,
  options: LayerNormOptions = {},
): Tensor {
  arity("layerNorm", arguments, 3);
  tensorArg("layerNorm", "input", x);
  const shape = normalizedShapeArg("layerNorm", normalizedShape);
  knownKeys("layerNorm", options, ["weight", "bias", "eps"]);
  const weight = optionalTensor("layerNorm", "weight", options.weight);
  const bias = optionalTensor("layerNorm", "bias", options.bias);
  checkParam("layerNorm", "weight", weight, shape);
  checkParam("layerNorm", "bias", bias, shape);
  return runLayerNorm("layerNorm", x, shape, weight, bias, epsArg("layerNorm", options.eps, 1e-5));
}

/** Options of {@linkcode LayerNorm}. */
export interface LayerNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a weight (ones) and bias (zeros) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  /** With `elementwiseAffine`, also learn the bias (default true; PyTorch 2.1's `bias`). */
  bias?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Layer normalisation over the trailing `normalizedShape` dimensions of the input. */
export class LayerNorm extends Module {
  /** The trailing dimensions normalised over. */
  readonly normalizedShape: readonly number[];
  /** Variance epsilon. */
  readonly eps: number;
  /** Whether weight and bias are learnt. */
  readonly elementwiseAffine: boolean;
  /** Scale of the normalised shape (ones), or null. */
  weight: Tensor | null;
  /** Shift of the normalised shape (zeros), or null. */
  bias: Tensor | null;

  /** Creates the layer; `normalizedShape` is an int or the trailing dims, as in PyTorch. */
  constructor(normalizedShape: NormalizedShape, options: LayerNormLayerOptions = {}) {
    super();
    const L = "LayerNorm";
    knownKeys(L, options, ["eps", "elementwiseAffine", "bias", "device"]);
    this.normalizedShape = normalizedShapeArg(L, normalizedShape);
    this.eps = epsArg(L, options.eps, 1e-5);
    this.elementwiseAffine = bool(L, "elementwiseAffine", options.elementwiseAffine, true);
    const withBias = bool(L, "bias", options.bias, true);
    const device = deviceOf(L, options.device);
    const s = [...this.normalizedShape];
    this.weight = this.elementwiseAffine ? Parameter(ones(s)) : null;
    this.bias = this.elementwiseAffine && withBias ? Parameter(zeros(s)) : null;
    if (device && device !== "cpu") this.to(device);
  }

  /** `(4,), eps=1e-05, elementwiseAffine=true`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${reprTuple(this.normalizedShape)}, eps=${reprFloat(this.eps)}, ` +
      `elementwiseAffine=${this.elementwiseAffine}`;
  }

  /** Normalises `x` [*, ...normalizedShape]. */
  forward(x: Tensor): Tensor {
    tensorArg("LayerNorm.forward", "input", x);
    return runLayerNorm("LayerNorm", x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

// ---------------------------------------------------------------- group norm

/** Options of {@linkcode groupNorm}. */
export interface GroupNormOptions {
  /** Per-channel scale [C] (default none). */
  weight?: Tensor | null;
  /** Per-channel shift [C] (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function runGroupNorm(
  fn: string,
  x: Tensor,
  groups: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  if (x.ndim < 2) {
    throw new ShapeError(
      `${fn}: expected input [N, C, *] with at least 2 dims, got ${shapeStr(x.shape)}`,
    );
  }
  floatInput(fn, x);
  const c = x.shape[1];
  if (c % groups !== 0) {
    throw new ShapeError(
      `${fn}: ${groups} groups must divide the ${c} channels of input ${shapeStr(x.shape)}`,
    );
  }
  checkParam(fn, "weight", weight, [c]);
  checkParam(fn, "bias", bias, [c]);
  const spatial = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const attrs = { rowSize: (c / groups) * spatial, groups, inner: spatial, eps };
  return fusedNorm(x, attrs, weight, bias, (y) => channelAffine(y, weight, bias));
}

/**
 * Group normalisation (`F.groupNorm`): the channels of each sample in `numGroups` groups, each
 * normalised over its channels and spatial positions, then a per-channel weight and bias.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { groupNorm } from "./norm.ts";
 * console.log(groupNorm(randn([2, 4, 3]), 2).shape); // [2, 4, 3]
 * ```
 */
export function groupNorm(x: Tensor, numGroups: number, options: GroupNormOptions = {}): Tensor {
  arity("groupNorm", arguments, 3);
  tensorArg("groupNorm", "input", x);
  int("groupNorm", "numGroups", numGroups);
  knownKeys("groupNorm", options, ["weight", "bias", "eps"]);
  const weight = optionalTensor("groupNorm", "weight", options.weight);
  const bias = optionalTensor("groupNorm", "bias", options.bias);
  const eps = epsArg("groupNorm", options.eps, 1e-5);
  return runGroupNorm("groupNorm", x, numGroups, weight, bias, eps);
}

/** Options of {@linkcode GroupNorm}. */
export interface GroupNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Group normalisation of [N, C, *] input with `numGroups` groups of channels. */
export class GroupNorm extends Module {
  /** Number of channel groups. */
  readonly numGroups: number;
  /** Number of channels. */
  readonly numChannels: number;
  /** Variance epsilon. */
  readonly eps: number;
  /** Whether weight and bias are learnt. */
  readonly affine: boolean;
  /** Per-channel scale [C] (ones), or null. */
  weight: Tensor | null;
  /** Per-channel shift [C] (zeros), or null. */
  bias: Tensor | null;

  /** Creates the layer; `numGroups` must divide `numChannels`. */
  constructor(numGroups: number, numChannels: number, options: GroupNormLayerOptions = {}) {
    super();
    const L = "GroupNorm";
    knownKeys(L, options, ["eps", "affine", "device"]);
    this.numGroups = int(L, "numGroups", numGroups);
    this.numChannels = int(L, "numChannels", numChannels);
    if (numChannels % numGroups !== 0) {
      fail(L, "numGroups", `must divide numChannels (${numChannels})`, numGroups);
    }
    this.eps = epsArg(L, options.eps, 1e-5);
    this.affine = bool(L, "affine", options.affine, true);
    const device = deviceOf(L, options.device);
    this.weight = this.affine ? Parameter(ones([numChannels])) : null;
    this.bias = this.affine ? Parameter(zeros([numChannels])) : null;
    if (device && device !== "cpu") this.to(device);
  }

  /** `2, 4, eps=1e-05, affine=true`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${reprFloat(this.eps)}, ` +
      `affine=${this.affine}`;
  }

  /** Normalises `x` [N, C, *]. */
  forward(x: Tensor): Tensor {
    tensorArg("GroupNorm.forward", "input", x);
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(
        `GroupNorm: expected input [N, ${this.numChannels}, *], got ${shapeStr(x.shape)}`,
      );
    }
    return runGroupNorm("GroupNorm", x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

// ---------------------------------------------------------------- instance norm

/** Options of {@linkcode instanceNorm}. */
export interface InstanceNormOptions {
  /** Running mean [C]: updated when using input statistics, used otherwise. */
  runningMean?: Tensor | null;
  /** Running variance [C] (unbiased), as `runningMean`. */
  runningVar?: Tensor | null;
  /** Per-channel scale [C] (default none). */
  weight?: Tensor | null;
  /** Per-channel shift [C] (default none). */
  bias?: Tensor | null;
  /** Normalise with each instance's statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  /** Weight of this batch in the running averages (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

interface InstanceRun {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  weight: Tensor | null;
  bias: Tensor | null;
  useInputStats: boolean;
  momentum: number;
  eps: number;
}

// Instance norm of [N, C, *] input (options validated; running statistics of shape [C]).
function runInstanceNorm(fn: string, x: Tensor, o: InstanceRun): Tensor {
  floatInput(fn, x);
  const [n, c] = x.shape;
  const spatial = x.numel() / Math.max(1, n * c);
  if (!o.useInputStats) {
    if (!o.runningMean || !o.runningVar) {
      throw new ValueError(`${fn}: running statistics are required when not using input stats`);
    }
    const w = o.weight ?? full([c], 1, { dtype: x.dtype, device: x.device });
    const b = o.bias ?? full([c], 0, { dtype: x.dtype, device: x.device });
    return batchNormRaw(x, o.runningMean, o.runningVar, w, b, { training: false, eps: o.eps });
  }
  if (spatial <= 1 && x.numel() > 0) {
    throw new ValueError(
      `${fn}: expected more than 1 spatial element when using input statistics, got input ${
        shapeStr(x.shape)
      }`,
    );
  }
  const [y, mean, variance] = normalizeBlocks(x, n * c, o.eps);
  const rm = o.runningMean, rv = o.runningVar;
  if ((rm || rv) && mean && variance) {
    const m = o.momentum;
    noGrad(() => {
      // As PyTorch: each instance updates a copy of the running statistics; the copies average.
      rm?.mul_(1 - m).add_(mean.reshape([n, c]).mean(0).mul(m));
      rv?.mul_(1 - m).add_(variance.reshape([n, c]).mean(0).mul(m * spatial / (spatial - 1)));
    });
  }
  return channelAffine(y, o.weight, o.bias);
}

function momentumArg(fn: string, v: unknown): number {
  if (v === undefined) return 0.1;
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
    fail(fn, "momentum", "must be a number in [0, 1]", v);
  }
  return v;
}

/**
 * Instance normalisation of [N, C, *] input (`F.instanceNorm`): each channel of each sample
 * normalised over its spatial positions, then a per-channel weight and bias. With running
 * statistics and `useInputStats`, they are updated in place as PyTorch does (the unbiased
 * variance, averaged over the batch).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { instanceNorm } from "./norm.ts";
 * console.log(instanceNorm(randn([2, 3, 4, 4])).shape); // [2, 3, 4, 4]
 * ```
 */
export function instanceNorm(x: Tensor, options: InstanceNormOptions = {}): Tensor {
  arity("instanceNorm", arguments, 2);
  const fn = "instanceNorm";
  tensorArg(fn, "input", x);
  knownKeys(fn, options, [
    "runningMean",
    "runningVar",
    "weight",
    "bias",
    "useInputStats",
    "momentum",
    "eps",
  ]);
  const o: InstanceRun = {
    runningMean: optionalTensor(fn, "runningMean", options.runningMean),
    runningVar: optionalTensor(fn, "runningVar", options.runningVar),
    weight: optionalTensor(fn, "weight", options.weight),
    bias: optionalTensor(fn, "bias", options.bias),
    useInputStats: bool(fn, "useInputStats", options.useInputStats, true),
    momentum: momentumArg(fn, options.momentum),
    eps: epsArg(fn, options.eps, 1e-5),
  };
  if (x.ndim < 3) {
    throw new ShapeError(
      `${fn}: expected input [N, C, *] with at least 3 dims, got ${shapeStr(x.shape)}`,
    );
  }
  for (const k of ["runningMean", "runningVar", "weight", "bias"] as const) {
    checkParam(fn, k, o[k], [x.shape[1]]);
  }
  return runInstanceNorm(fn, x, o);
}

/** Options of {@linkcode InstanceNorm1d} and {@linkcode InstanceNorm2d}. */
export interface InstanceNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-average momentum in [0, 1] (default 0.1). */
  momentum?: number;
  /** Learn a per-channel weight and bias (default false, as PyTorch). */
  affine?: boolean;
  /** Keep running statistics, used in evaluation (default false, as PyTorch). */
  trackRunningStats?: boolean;
  /** Device of the parameters and buffers (default "cpu"). */
  device?: string;
}

/** Shared implementation of the instance-norm layers; subclasses fix the spatial rank. */
export abstract class InstanceNormBase extends Module {
  /** Channels normalised. */
  readonly numFeatures: number;
  /** Variance epsilon. */
  readonly eps: number;
  /** Running-average momentum. */
  readonly momentum: number;
  /** Whether weight and bias are learnt. */
  readonly affine: boolean;
  /** Whether running statistics are kept (and used in evaluation). */
  readonly trackRunningStats: boolean;
  /** Per-channel scale [C] (ones), or null. */
  weight: Tensor | null;
  /** Per-channel shift [C] (zeros), or null. */
  bias: Tensor | null;
  #layer: string;
  #spatial: number;

  /** Validates the options and creates the parameters and buffers. */
  constructor(
    layer: string,
    spatial: number,
    numFeatures: number,
    options: InstanceNormLayerOptions,
  ) {
    super();
    this.#layer = layer;
    this.#spatial = spatial;
    knownKeys(layer, options, ["eps", "momentum", "affine", "trackRunningStats", "device"]);
    this.numFeatures = int(layer, "numFeatures", numFeatures);
    this.eps = epsArg(layer, options.eps, 1e-5);
    this.momentum = momentumArg(layer, options.momentum);
    this.affine = bool(layer, "affine", options.affine, false);
    this.trackRunningStats = bool(layer, "trackRunningStats", options.trackRunningStats, false);
    const device = deviceOf(layer, options.device);
    ({ weight: this.weight, bias: this.bias } = affineParams(numFeatures, this.affine));
    registerRunningStats(this, numFeatures, this.trackRunningStats);
    if (device && device !== "cpu") this.to(device);
  }

  #buffer(name: string): Tensor | null {
    return ((this as unknown as Record<string, Tensor | null>)[name]) ?? null;
  }

  /** Running mean [C] (the `running_mean` buffer), or null. */
  get runningMean(): Tensor | null {
    return this.#buffer("running_mean");
  }

  /** Running variance [C] (the `running_var` buffer), or null. */
  get runningVar(): Tensor | null {
    return this.#buffer("running_var");
  }

  /** `3, eps=1e-05, momentum=0.1, affine=false, trackRunningStats=false`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${reprFloat(this.eps)}, momentum=${
      reprFloat(this.momentum)
    }, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }

  /**
   * Normalises `x`: [N, C, ...spatial] or unbatched [C, ...spatial]. In training, or without
   * running statistics, each instance's own statistics are used (and the running ones updated);
   * in evaluation with `trackRunningStats`, the running ones.
   */
  forward(x: Tensor): Tensor {
    const L = this.#layer, s = this.#spatial;
    tensorArg(`${L}.forward`, "input", x);
    if (x.ndim !== s + 1 && x.ndim !== s + 2) {
      throw new ShapeError(
        `${L}: expected ${s + 1}-D (unbatched) or ${s + 2}-D input, got ${shapeStr(x.shape)}`,
      );
    }
    const batched = x.ndim === s + 2 ? x : x.unsqueeze(0);
    if (batched.shape[1] !== this.numFeatures && (this.affine || this.trackRunningStats)) {
      throw new ShapeError(
        `${L}: expected ${this.numFeatures} channels, got input ${shapeStr(x.shape)}`,
      );
    }
    const y = runInstanceNorm(L, batched, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats,
      momentum: this.momentum,
      eps: this.eps,
    });
    return x.ndim === s + 2 ? y : y.squeeze(0);
  }
}

/** Instance normalisation of [N, C, L] (or [C, L]) input. */
export class InstanceNorm1d extends InstanceNormBase {
  /** Creates the layer for `numFeatures` channels. */
  constructor(numFeatures: number, options: InstanceNormLayerOptions = {}) {
    super("InstanceNorm1d", 1, numFeatures, options);
  }
}

/** Instance normalisation of [N, C, H, W] (or [C, H, W]) input. */
export class InstanceNorm2d extends InstanceNormBase {
  /** Creates the layer for `numFeatures` channels. */
  constructor(numFeatures: number, options: InstanceNormLayerOptions = {}) {
    super("InstanceNorm2d", 2, numFeatures, options);
  }
}

// ---------------------------------------------------------------- RMS norm

/** Machine epsilon of a floating dtype (PyTorch's `torch.finfo(dtype).eps`). */
function finfoEps(x: Tensor): number {
  return x.dtype === "float16" ? 2 ** -10 : 2 ** -23;
}

/** Options of {@linkcode rmsNorm}. */
export interface RMSNormOptions {
  /** Scale, of the normalised shape (default none). */
  weight?: Tensor | null;
  /** Added to the mean square (default null: the machine epsilon of the input's dtype). */
  eps?: number | null;
}

function runRmsNorm(
  fn: string,
  x: Tensor,
  shape: readonly number[],
  weight: Tensor | null,
  eps: number | null,
): Tensor {
  trailing(fn, x, shape);
  const dims = shape.map((_, i) => x.ndim - shape.length + i);
  const ms = x.mul(x).mean(dims, { keepdim: true });
  const y = x.mul(ms.add(eps ?? finfoEps(x)).rsqrt());
  return weight ? y.mul(weight) : y;
}

function rmsEpsArg(fn: string, v: unknown): number | null {
  return v === undefined || v === null ? null : epsArg(fn, v, 0);
}

/**
 * Root-mean-square normalisation over the trailing `normalizedShape` dimensions (`F.rmsNorm`,
 * PyTorch 2.4): x / √(mean(x²) + eps) · weight.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { rmsNorm } from "./norm.ts";
 * console.log(rmsNorm(tensor([[3, 4]]), 2, { eps: 0 }).toArraySync()); // about [[0.85, 1.13]]
 * ```
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: NormalizedShape,
  options: RMSNormOptions = {},
): Tensor {
  arity("rmsNorm", arguments, 3);
  tensorArg("rmsNorm", "input", x);
  const shape = normalizedShapeArg("rmsNorm", normalizedShape);
  knownKeys("rmsNorm", options, ["weight", "eps"]);
  const weight = optionalTensor("rmsNorm", "weight", options.weight);
  checkParam("rmsNorm", "weight", weight, shape);
  return runRmsNorm("rmsNorm", x, shape, weight, rmsEpsArg("rmsNorm", options.eps));
}

/** Options of {@linkcode RMSNorm}. */
export interface RMSNormLayerOptions {
  /** Added to the mean square (default null: the machine epsilon of the input's dtype). */
  eps?: number | null;
  /** Learn a weight (ones) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Root-mean-square normalisation (PyTorch 2.4's `nn.RMSNorm`). */
export class RMSNorm extends Module {
  /** The trailing dimensions normalised over. */
  readonly normalizedShape: readonly number[];
  /** Epsilon, or null for the machine epsilon of the input's dtype. */
  readonly eps: number | null;
  /** Whether the weight is learnt. */
  readonly elementwiseAffine: boolean;
  /** Scale of the normalised shape (ones), or null. */
  weight: Tensor | null;

  /** Creates the layer; `normalizedShape` is an int or the trailing dims. */
  constructor(normalizedShape: NormalizedShape, options: RMSNormLayerOptions = {}) {
    super();
    const L = "RMSNorm";
    knownKeys(L, options, ["eps", "elementwiseAffine", "device"]);
    this.normalizedShape = normalizedShapeArg(L, normalizedShape);
    this.eps = rmsEpsArg(L, options.eps);
    this.elementwiseAffine = bool(L, "elementwiseAffine", options.elementwiseAffine, true);
    const device = deviceOf(L, options.device);
    this.weight = this.elementwiseAffine ? Parameter(ones([...this.normalizedShape])) : null;
    if (device && device !== "cpu") this.to(device);
  }

  /** `(4,), eps=null, elementwiseAffine=true`, as PyTorch prints it. */
  override extraRepr(): string {
    const eps = this.eps === null ? "null" : reprFloat(this.eps);
    return `${reprTuple(this.normalizedShape)}, eps=${eps}, ` +
      `elementwiseAffine=${this.elementwiseAffine}`;
  }

  /** Normalises `x` [*, ...normalizedShape]. */
  forward(x: Tensor): Tensor {
    tensorArg("RMSNorm.forward", "input", x);
    return runRmsNorm("RMSNorm", x, this.normalizedShape, this.weight, this.eps);
  }
}

// ---------------------------------------------------------------- plugin

/** The norm plugin (registered on import): its manifest defines the fused `normRows` ops. */
export const normPlugin: Plugin = use(definePlugin({
  name: "@denn/norm",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: layerNormOps,
  exports: { LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d, RMSNorm },
}));
