/**
 * `Dropout` and its functional form `dropout` (`F.dropout`): during training, zeroes each element
 * with probability `p` and scales the survivors by 1 / (1 − p) (inverted dropout, so evaluation is
 * the identity). The mask comes from denn's seeded generator, so masks differ from PyTorch's for
 * the same seed; their statistics do not.
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

import {
  allocHost,
  defaultGenerator,
  fromData,
  Generator,
  isFloating,
  Module,
  ValueError,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, knownKeys, probability, tensorArg } from "./_validate.ts";

/** Options of {@linkcode dropout}. */
export interface DropoutOptions {
  /** Generator for the mask. */
  generator?: Generator;
  /** Overwrite x with the result (default false). */
  inplace?: boolean;
}

/**
 * Zeroes elements with probability p during training and scales the rest by 1/(1−p). The fourth
 * argument is PyTorch's `inplace` boolean or `{ generator, inplace }`.
 */
export function dropout(
  x: Tensor,
  p = 0.5,
  training = true,
  options: DropoutOptions | boolean = {},
): Tensor {
  arity("dropout", arguments, 4);
  tensorArg("dropout", "input", x);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new ValueError(
      `dropout: probability has to be between 0 and 1, but got ${
        typeof p === "object" ? "an object (the form is dropout(x, p, training))" : p
      }`,
    );
  }
  const o = typeof options === "boolean" ? { inplace: options } : options;
  knownKeys("dropout", o, ["generator", "inplace"]);
  bool("dropout", "training", training, true);
  if (o.generator !== undefined && !(o.generator instanceof Generator)) {
    fail("dropout", "generator", "must be a Generator", o.generator);
  }
  const y = run(x, p, training, o.generator ?? defaultGenerator);
  return bool("dropout", "inplace", o.inplace, false) && y !== x ? x.copy_(y) : y;
}

function run(x: Tensor, p: number, training: boolean, g: Generator): Tensor {
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keepP = 1 - p;
  const m = allocHost(isFloating(x.dtype) ? x.dtype : "float32", x.size);
  const scale = 1 / keepP;
  for (let i = 0; i < m.length; i++) m[i] = g.uniform() < keepP ? scale : 0;
  return x.mul(fromData(m, x.shape, { device: x.device }));
}

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
    return run(
      tensorArg("Dropout.forward", "input", x),
      this.p,
      this.training,
      this.#generator ?? defaultGenerator,
    );
  }
}
