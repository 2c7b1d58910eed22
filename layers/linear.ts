/**
 * `Linear`: y = x Wᵀ + b, PyTorch's layout and default initialisation (Kaiming-uniform with a = √5
 * for W, i.e. U(±1/√fan_in), and the lecture's U(±1/√fan_in) for b). `init: "glorot"` selects
 * Glorot uniform.
 *
 * @example
 * ```ts
 * import { Linear } from "./linear.ts";
 * import { randn } from "../mod.ts";
 * const fc = new Linear(4, 2);
 * console.log(fc.forward(randn([3, 4])).shape); // [3, 2]
 * ```
 *
 * @module
 */

import { definePlugin, F, init, Module, Parameter, ValueError, zeros } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";

/** Weight initialisation schemes selectable per layer. */
export type InitScheme =
  | "default"
  | "fanIn"
  | "glorot"
  | "glorotNormal"
  | "kaiming"
  | "kaimingNormal";

/** Options of {@linkcode Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Weight initialisation (default: PyTorch's). */
  init?: InitScheme;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Applies the initialisation scheme to a weight (biases always use U(±1/√fan_in) unless zeroed). */
export function initWeight(w: Tensor, scheme: InitScheme = "default"): void {
  switch (scheme) {
    case "default":
      init.kaimingUniform_(w, { a: Math.sqrt(5) });
      break;
    case "fanIn":
      init.fanInUniform_(w);
      break;
    case "glorot":
      init.xavierUniform_(w);
      break;
    case "glorotNormal":
      init.xavierNormal_(w);
      break;
    case "kaiming":
      init.kaimingUniform_(w, { nonlinearity: "relu" });
      break;
    case "kaimingNormal":
      init.kaimingNormal_(w, { nonlinearity: "relu" });
      break;
    default:
      throw new ValueError(`init: unknown scheme "${scheme}"`);
  }
}

/** Fully connected layer. */
export class Linear extends Module {
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;
  /** Weight [out, in]. */
  weight: Tensor;
  /** Bias [out] or null. */
  bias: Tensor | null;

  /** Creates a layer mapping `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [k, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v <= 0) {
        throw new ValueError(`Linear: ${k} must be a positive integer, got ${v}`);
      }
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const device = options.device;
    this.weight = Parameter(zeros([outFeatures, inFeatures]));
    initWeight(this.weight, options.init);
    this.bias = options.bias === false
      ? null
      : init.fanInUniform_(Parameter(zeros([outFeatures])), inFeatures);
    if (device && device !== "cpu") this.to(device);
  }

  /** y = x Wᵀ + b. */
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** The Linear layer as a plugin. */
export const linearPlugin: Plugin = definePlugin({
  name: "@denn/linear",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  exports: { Linear },
});
