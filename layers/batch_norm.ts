/**
 * The batch-norm plugin: `BatchNorm1d`, `BatchNorm2d` and the functional form `batchNorm`
 * (`F.batchNorm`). Importing this module registers the plugin, whose manifest defines the fused
 * `batchNormStats`, `batchNorm` and `batchNormBackward` ops (see `ops/batch_norm.ts`). The layers
 * normalise each channel (dim 1) with the batch's mean and biased variance in training, updating
 * the running statistics (unbiased variance, exponential average with `momentum`, or a cumulative
 * average when `momentum` is null) and `num_batches_tracked`; in evaluation the running
 * statistics are used. State-dict keys are PyTorch's: `weight`, `bias`,
 * `running_mean`, `running_var`, `num_batches_tracked` (int32 here, int64 in PyTorch).
 *
 * @example
 * ```ts
 * import { BatchNorm2d } from "./batch_norm.ts";
 * import { randn } from "../mod.ts";
 * const bn = new BatchNorm2d(3);
 * bn.forward(randn([4, 3, 5, 5])); // updates running_mean / running_var
 * console.log(Object.keys(bn.stateDict()));
 * // ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
 * ```
 *
 * @module
 */

import {
  definePlugin,
  full,
  Module,
  noGrad,
  reprFloat,
  ShapeError,
  shapeStr,
  Tensor,
  trustForward,
  use,
  ValueError,
} from "../core/mod.ts";
import type { Plugin } from "../core/mod.ts";
import {
  arity,
  bool,
  fail,
  finite,
  int,
  knownKeys,
  optionalTensor,
  probability,
  tensorArg,
} from "./_validate.ts";
import { affineParams, registerRunningStats } from "./_norm_state.ts";
import { batchNormOps, batchNormRaw, batchNormReluRaw, batchNormStats } from "./ops/batch_norm.ts";
import { bnReluForward } from "./_bn_relu.ts";

export { batchNormRaw, batchNormStats } from "./ops/batch_norm.ts";
export type { BatchNormAttrs } from "./ops/batch_norm.ts";

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** Learnable scale γ. */
  weight?: Tensor | null;
  /** Learnable shift β. */
  bias?: Tensor | null;
  /** Use batch statistics and update running ones (default false). */
  training?: boolean;
  /** Running-average momentum (default 0.1; null means a cumulative average). */
  momentum?: number | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Batches seen so far, for momentum null (cumulative average). */
  numBatchesTracked?: number;
}

const OPTION_KEYS = ["weight", "bias", "training", "momentum", "eps", "numBatchesTracked"];

/**
 * Batch normalisation over dim 1 of [N, C] or [N, C, ...] input (`F.batchNorm`). In training it
 * normalises with the batch mean and biased variance and updates the running statistics in place
 * (unbiased variance), as PyTorch does. It runs as the fused `batchNormStats` and `batchNorm` ops
 * (gradient: one `batchNormBackward`), which decompose into elementwise ops and reductions on
 * backends without kernels for them.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  arity("batchNorm", arguments, 4);
  tensorArg("batchNorm", "input", x);
  const rm = optionalTensor("batchNorm", "runningMean", runningMean);
  const rv = optionalTensor("batchNorm", "runningVar", runningVar);
  if (options instanceof Tensor) {
    throw new ValueError(
      `batchNorm: options must be an object like { weight, bias, training, momentum, eps }, ` +
        `got a Tensor (PyTorch's positional weight: pass { weight })`,
    );
  }
  knownKeys("batchNorm", options, OPTION_KEYS);
  const weight = optionalTensor("batchNorm", "weight", options.weight);
  const bias = optionalTensor("batchNorm", "bias", options.bias);
  bool("batchNorm", "training", options.training, false);
  if (options.momentum !== null && options.momentum !== undefined) {
    probability("batchNorm", "momentum", options.momentum);
  }
  if (
    options.eps !== undefined &&
    !(typeof options.eps === "number" && options.eps > 0 && Number.isFinite(options.eps))
  ) {
    fail("batchNorm", "eps", "must be a positive finite number", options.eps);
  }
  if (options.numBatchesTracked !== undefined) {
    int("batchNorm", "numBatchesTracked", options.numBatchesTracked, 0);
  }
  if (x.ndim < 2) {
    throw new ShapeError(
      `batchNorm: expected input with at least 2 dims [N, C, ...], got ${shapeStr(x.shape)}`,
    );
  }
  const c = x.shape[1];
  for (
    const [name, t] of [
      ["weight", weight],
      ["bias", bias],
      ["runningMean", rm],
      ["runningVar", rv],
    ] as const
  ) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(
        `batchNorm: ${name} ${shapeStr(t.shape)} must have shape [${c}] for input ${
          shapeStr(x.shape)
        }`,
      );
    }
  }
  const training = options.training ?? false;
  if (!training && (!rm || !rv)) {
    throw new ValueError("batchNorm: running statistics are required when not training");
  }
  const momentum = options.momentum === null
    ? 1 / ((options.numBatchesTracked ?? 0) + 1)
    : (options.momentum ?? 0.1);
  return run(x, rm, rv, weight, bias, {
    training,
    momentum,
    eps: options.eps ?? 1e-5,
  });
}

// The op calls shared by F.batchNorm and the layers, with options already validated; `momentum`
// is the weight of this batch in the running averages. With `relu`, the result's ReLU is part of
// the normalisation op (the layers' fused path, see _bn_relu.ts).
function run(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  o: { training: boolean; momentum: number; eps: number; relu?: boolean },
): Tensor {
  const c = x.shape[1];
  const w = weight ?? full([c], 1, { device: x.device, dtype: x.dtype });
  const b = bias ?? full([c], 0, { device: x.device, dtype: x.dtype });
  const attrs = { training: o.training, eps: o.eps };
  const normalise = o.relu ? batchNormReluRaw : batchNormRaw;
  if (!o.training) return normalise(x, runningMean!, runningVar!, w, b, attrs);
  const n = x.numel() / c;
  if (n <= 1) {
    throw new ValueError(
      `batchNorm: expected more than 1 value per channel when training, got input ${
        shapeStr(x.shape)
      }`,
    );
  }
  const [mean, variance] = batchNormStats(x);
  if (runningMean && runningVar) {
    const m = o.momentum;
    noGrad(() => {
      runningMean.mul_(1 - m).add_(mean.mul(m));
      runningVar.mul_(1 - m).add_(variance.mul(n / (n - 1)).mul(m));
    });
  }
  return normalise(x, mean, variance, w, b, attrs);
}

/** Options of {@linkcode BatchNorm1d} and {@linkcode BatchNorm2d}. */
export interface BatchNormLayerOptions {
  /** Added to the variance for numerical stability (default 1e-5). */
  eps?: number;
  /** Running-average momentum in [0, 1] (default 0.1); null means a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without them eval uses batch stats. */
  trackRunningStats?: boolean;
  /** Device of the parameters and buffers (default "cpu"). */
  device?: string;
}

const KEYS = ["eps", "momentum", "affine", "trackRunningStats", "device"] as const;

/** Shared implementation of the batch-norm layers; subclasses fix the accepted input ranks. */
export abstract class BatchNormBase extends Module {
  /** Channels (features) normalised. */
  readonly numFeatures: number;
  /** Variance epsilon. */
  readonly eps: number;
  /** Running-average momentum, or null for a cumulative average. */
  readonly momentum: number | null;
  /** Whether weight and bias are learnt. */
  readonly affine: boolean;
  /** Whether running statistics are kept. */
  readonly trackRunningStats: boolean;
  /** Scale γ [C] (ones) or null. */
  weight: Tensor | null;
  #forwardName: string;
  /** Shift β [C] (zeros) or null. */
  bias: Tensor | null;

  /** Validates the options and creates the parameters and buffers. */
  constructor(layer: string, numFeatures: number, options: BatchNormLayerOptions) {
    super();
    this.#forwardName = `${layer}.forward`;
    knownKeys(layer, options, KEYS);
    this.numFeatures = int(layer, "numFeatures", numFeatures);
    this.eps = finite(layer, "eps", options.eps ?? 1e-5);
    if (!(this.eps > 0)) fail(layer, "eps", "must be positive", this.eps);
    const m = options.momentum === undefined ? 0.1 : options.momentum;
    if (m !== null && (typeof m !== "number" || !(m >= 0 && m <= 1))) {
      fail(layer, "momentum", "must be a number in [0, 1] or null", m);
    }
    this.momentum = m;
    this.affine = bool(layer, "affine", options.affine, true);
    this.trackRunningStats = bool(layer, "trackRunningStats", options.trackRunningStats, true);
    ({ weight: this.weight, bias: this.bias } = affineParams(numFeatures, this.affine));
    registerRunningStats(this, numFeatures, this.trackRunningStats);
    if (options.device && options.device !== "cpu") this.to(options.device);
  }

  /** Running mean [C] (the `running_mean` buffer), or null. */
  get runningMean(): Tensor | null {
    return this.#buffer("running_mean");
  }

  /** Running variance [C] (the `running_var` buffer), or null. */
  get runningVar(): Tensor | null {
    return this.#buffer("running_var");
  }

  /** Training batches seen (the int32 `num_batches_tracked` buffer), or null. */
  get numBatchesTracked(): Tensor | null {
    return this.#buffer("num_batches_tracked");
  }

  #buffer(name: string): Tensor | null {
    return ((this as unknown as Record<string, Tensor | null>)[name]) ?? null;
  }

  /** Resets the running statistics to mean 0, variance 1 and zero batches. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }

  /** `64, eps=1e-05, momentum=0.1, affine=true, trackRunningStats=true`, as PyTorch prints it. */
  override extraRepr(): string {
    const momentum = this.momentum === null ? "null" : reprFloat(this.momentum);
    return `${this.numFeatures}, eps=${reprFloat(this.eps)}, momentum=${momentum}, ` +
      `affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }

  /** Throws unless `x` has a rank this layer accepts. */
  protected abstract checkInput(x: Tensor): void;

  /** Normalises `x` [N, C, ...]. */
  forward(x: Tensor): Tensor {
    return this.#forward(x, false);
  }

  static {
    bnReluForward.run = (bn, x) => bn.#forward(x, true);
  }

  #forward(x: Tensor, relu: boolean): Tensor {
    tensorArg(this.#forwardName, "input", x);
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        `${this.constructor.name}: expected ${this.numFeatures} channels in dim 1, got input [${
          x.shape.join(", ")
        }]`,
      );
    }
    const rm = this.runningMean, rv = this.runningVar, nbt = this.numBatchesTracked;
    // Without running statistics PyTorch normalises with batch statistics even in eval mode.
    const useBatchStats = this.training || !rm || !rv;
    const update = this.training && rm !== null && rv !== null;
    let seen = 0;
    if (update && nbt) {
      // Only the cumulative average needs the count on the host.
      if (this.momentum === null) seen = nbt.itemSync();
      noGrad(() => nbt.add_(1));
    }
    // Running stats are read in eval and updated in training; with neither they stay untouched.
    const pass = update || !useBatchStats;
    return run(x, pass ? rm : null, pass ? rv : null, this.weight, this.bias, {
      training: useBatchStats,
      momentum: this.momentum ?? 1 / (seen + 1),
      eps: this.eps,
      relu,
    });
  }
}

/** Batch normalisation of [N, C] or [N, C, L] input. */
export class BatchNorm1d extends BatchNormBase {
  /** Creates the layer for `numFeatures` channels. */
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("BatchNorm1d", numFeatures, options);
  }

  /** Accepts 2-D or 3-D input. */
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) {
      throw new ShapeError(`BatchNorm1d: expected 2-D or 3-D input, got [${x.shape.join(", ")}]`);
    }
  }
}

/** Batch normalisation of [N, C, H, W] input. */
export class BatchNorm2d extends BatchNormBase {
  /** Creates the layer for `numFeatures` channels. */
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super("BatchNorm2d", numFeatures, options);
  }

  /** Accepts 4-D input. */
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) {
      throw new ShapeError(`BatchNorm2d: expected 4-D input, got [${x.shape.join(", ")}]`);
    }
  }
}

/**
 * The batch-norm plugin, registered when this module is imported: its manifest defines the
 * `batchNormStats`, `batchNorm` and `batchNormBackward` ops, and `batchNormRelu` with its
 * `batchNormReluBackward` (batch norm then ReLU as one op, which Sequential and the models use).
 */
export const batchNormPlugin: Plugin = use(definePlugin({
  name: "@denn/batch-norm",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: batchNormOps,
  exports: { BatchNorm1d, BatchNorm2d },
}));

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(BatchNorm1d, BatchNorm2d);
