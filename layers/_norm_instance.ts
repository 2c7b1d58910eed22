/**
 * Instance normalisation: `instanceNorm` (`F.instanceNorm`), `InstanceNorm1d`, `InstanceNorm2d`
 * and their base `InstanceNormBase`, each channel of a sample normalised with the batch-norm
 * plugin's fused ops. Private to layers/: norm.ts re-exports them.
 *
 * @module
 */

import {
  full,
  Module,
  noGrad,
  reprFloat,
  ShapeError,
  shapeStr,
  trustForward,
  ValueError,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, int, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";
import { affineParams, registerRunningStats } from "./_norm_state.ts";
import { batchNormRaw, batchNormStats } from "./batch_norm.ts";
import { channelAffine, checkParam, deviceOf, epsArg, floatInput } from "./_norm_shared.ts";

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

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(InstanceNorm1d, InstanceNorm2d);
