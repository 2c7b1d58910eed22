/**
 * `LocalResponseNorm`: divides each activation by (k + α/n · Σ x²)^β over `size` neighbouring
 * channels, as in AlexNet and GoogLeNet (PyTorch's formula, α divided by `size`).
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

import { definePlugin, F, Module } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import { finite, int, knownKeys } from "./_validate.ts";

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

  /** Normalises `x` [N, C, ...]. */
  forward(x: Tensor): Tensor {
    return F.localResponseNorm(x, this.size, this.alpha, this.beta, this.k);
  }
}

/** The LocalResponseNorm layer as a plugin. */
export const localResponseNormPlugin: Plugin = definePlugin({
  name: "@denn/local-response-norm",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  exports: { LocalResponseNorm },
});
