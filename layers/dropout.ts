/**
 * `Dropout`: during training, zeroes each element with probability `p` and scales the survivors by
 * 1 / (1 − p) (inverted dropout, so evaluation is the identity). The mask comes from denn's seeded
 * generator, so masks differ from PyTorch's for the same seed; their statistics do not.
 *
 * @example
 * ```ts
 * import { Dropout } from "./dropout.ts";
 * import { Generator, ones } from "../mod.ts";
 * const drop = new Dropout(0.5, { generator: new Generator(1) });
 * const y = drop.forward(ones([4, 4])); // entries are 0 or 2
 * drop.eval();
 * console.log(drop.forward(ones([2])).toArraySync()); // [1, 1]
 * ```
 *
 * @module
 */

import { definePlugin, F, Generator, Module } from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import { fail, knownKeys, probability } from "./_validate.ts";

/** Options of {@linkcode Dropout}. */
export interface DropoutLayerOptions {
  /** Generator for the masks (default: the global one seeded by `manualSeed`). */
  generator?: Generator;
}

/** Inverted dropout. */
export class Dropout extends Module {
  /** Probability of zeroing an element. */
  readonly p: number;
  #generator: Generator | undefined;

  /** Creates the layer with drop probability `p` (default 0.5). */
  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super();
    knownKeys("Dropout", options, ["generator"]);
    this.p = probability("Dropout", "p", p);
    if (options.generator !== undefined && !(options.generator instanceof Generator)) {
      fail("Dropout", "generator", "must be a Generator", options.generator);
    }
    this.#generator = options.generator;
  }

  /** Applies dropout in training mode; the identity in evaluation mode. */
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, { generator: this.#generator });
  }
}

/** The Dropout layer as a plugin. */
export const dropoutPlugin: Plugin = definePlugin({
  name: "@denn/dropout",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  exports: { Dropout },
});
