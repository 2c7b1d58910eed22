/**
 * `LocalResponseNorm` and its functional form `localResponseNorm` (`F.localResponseNorm`): divides
 * each activation by (k + α/n · Σ x²)^β over `size` neighbouring channels, as in AlexNet and
 * GoogLeNet (PyTorch's formula, α divided by `size`).
 *
 * @example
 * ```ts
 * import { LocalResponseNorm } from "./local_response_norm.ts";
 * import { randn } from "../mod.ts";
 * const y = new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }).forward(randn([1, 8, 4, 4]));
 * console.log(y.shape); // [1, 8, 4, 4]
 * ```
 *
 * @module
 */

import {
  Module,
  pad,
  reprFloat,
  reshape,
  ShapeError,
  shapeStr,
  trustForward,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, finite, int, knownKeys, tensorArg } from "./_validate.ts";
import { avgPool2dRaw } from "./pooling.ts";

/** Local response normalisation across channels (AlexNet, GoogLeNet), as PyTorch's. */
export function localResponseNorm(
  x: Tensor,
  size: number,
  alpha = 1e-4,
  beta = 0.75,
  k = 1,
): Tensor {
  arity("localResponseNorm", arguments, 5);
  const L = "localResponseNorm";
  tensorArg(L, "input", x);
  int(L, "size", size);
  return run(x, size, finite(L, "alpha", alpha), finite(L, "beta", beta), finite(L, "k", k));
}

function run(x: Tensor, size: number, alpha: number, beta: number, k: number): Tensor {
  if (x.ndim < 3) {
    throw new ShapeError(
      `localResponseNorm: expected at least 3-D input [N, C, ...], got ${shapeStr(x.shape)}`,
    );
  }
  const [n, c] = x.shape;
  const rest = x.numel() / (n * c);
  const sq = reshape(x.mul(x), [n, 1, c, rest]);
  const padded = pad(sq, [0, 0, Math.floor(size / 2), Math.floor((size - 1) / 2)]);
  const avg = avgPool2dRaw(padded, {
    kernelSize: [size, 1],
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    ceilMode: false,
    countIncludePad: true,
    divisorOverride: null,
  });
  const div = reshape(avg, x.shape as number[]).mul(alpha).add(k).pow(beta);
  return x.div(div);
}

/** Options of {@linkcode LocalResponseNorm}. */
export interface LocalResponseNormOptions {
  /** Multiplicative factor α (default 1e-4). */
  alpha?: number;
  /** Exponent β (default 0.75). */
  beta?: number;
  /** Additive constant k (default 1). */
  k?: number;
}

/** Local response normalisation across channels. */
export class LocalResponseNorm extends Module {
  /** Number of neighbouring channels summed. */
  readonly size: number;
  /** α. */
  readonly alpha: number;
  /** β. */
  readonly beta: number;
  /** k. */
  readonly k: number;

  /** Creates the layer over `size` neighbouring channels. */
  constructor(size: number, options: LocalResponseNormOptions = {}) {
    super();
    const L = "LocalResponseNorm";
    knownKeys(L, options, ["alpha", "beta", "k"]);
    this.size = int(L, "size", size);
    this.alpha = finite(L, "alpha", options.alpha ?? 1e-4);
    this.beta = finite(L, "beta", options.beta ?? 0.75);
    this.k = finite(L, "k", options.k ?? 1);
  }

  /** `5, alpha=0.0001, beta=0.75, k=1.0`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${this.size}, alpha=${reprFloat(this.alpha)}, beta=${reprFloat(this.beta)}, ` +
      `k=${reprFloat(this.k)}`;
  }

  /** Normalises `x` [N, C, ...]. */
  forward(x: Tensor): Tensor {
    return run(
      tensorArg("LocalResponseNorm.forward", "input", x),
      this.size,
      this.alpha,
      this.beta,
      this.k,
    );
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(LocalResponseNorm);
