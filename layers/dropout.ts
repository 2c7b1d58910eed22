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
  reprFloat,
  ShapeError,
  shapeStr,
  trustForward,
  ValueError,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, bool, fail, knownKeys, probability, tensorArg } from "./_validate.ts";
import { maybeInplace } from "./_inplace.ts";

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
  const m = allocHost(isFloating(x.dtype) ? x.dtype : "float32", x.numel());
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

  /** `p=0.5, inplace=false`, as PyTorch prints it (denn's dropout is never in place). */
  override extraRepr(): string {
    return `p=${reprFloat(this.p)}, inplace=false`;
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

// ---------------------------------------------------------------- Dropout2d

// Zeroes whole channels of [N, C, H, W] input: one mask value per (sample, channel).
function runChannels(fn: string, x: Tensor, p: number, training: boolean, g: Generator): Tensor {
  if (x.ndim !== 4) {
    throw new ShapeError(
      `${fn}: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)} (PyTorch reads 3-D ` +
        `input as [N, C, L] for now and as [C, H, W] later; reshape to 4-D to say which)`,
    );
  }
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const [n, c] = x.shape;
  const keepP = 1 - p, scale = 1 / keepP;
  const m = allocHost(isFloating(x.dtype) ? x.dtype : "float32", n * c);
  for (let i = 0; i < m.length; i++) m[i] = g.uniform() < keepP ? scale : 0;
  return x.mul(fromData(m, [n, c, 1, 1], { device: x.device }));
}

/**
 * Channel-wise dropout of [N, C, H, W] input (`F.dropout2d`): during training each channel of each
 * sample is zeroed with probability `p` and the others scaled by 1/(1−p). The fourth argument is
 * PyTorch's `inplace` boolean or `{ generator, inplace }`.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { Generator, ones } from "../core/mod.ts";
 * import { dropout2d } from "./dropout.ts";
 * const y = dropout2d(ones([2, 3, 2, 2]), 0.5, true, { generator: new Generator(0) });
 * console.log(y.shape); // [2, 3, 2, 2]: each [2, 2] plane is all 0 or all 2
 * ```
 */
export function dropout2d(
  x: Tensor,
  p = 0.5,
  training = true,
  options: DropoutOptions | boolean = {},
): Tensor {
  arity("dropout2d", arguments, 4);
  tensorArg("dropout2d", "input", x);
  probability("dropout2d", "p", p);
  bool("dropout2d", "training", training, true);
  const o = typeof options === "boolean" ? { inplace: options } : options;
  knownKeys("dropout2d", o, ["generator", "inplace"]);
  if (o.generator !== undefined && !(o.generator instanceof Generator)) {
    fail("dropout2d", "generator", "must be a Generator", o.generator);
  }
  const inplace = bool("dropout2d", "inplace", o.inplace, false);
  const g = o.generator ?? defaultGenerator;
  if (!training || p === 0) return runChannels("dropout2d", x, p, training, g);
  return maybeInplace("dropout2d", x, inplace, (t) => runChannels("dropout2d", t, p, training, g));
}

/** Options of {@linkcode Dropout2d}. */
export interface Dropout2dLayerOptions {
  /** Overwrite the input with the result (default false). */
  inplace?: boolean;
  /** Generator for the masks (default: the global one seeded by `manualSeed`). */
  generator?: Generator;
}

/** Channel-wise dropout of [N, C, H, W] input: whole feature maps are zeroed. */
export class Dropout2d extends Module {
  /** Probability of zeroing a channel. */
  readonly p: number;
  /** Whether forward overwrites its input. */
  readonly inplace: boolean;
  #generator: Generator | undefined;

  /**
   * Creates the layer with drop probability `p` (default 0.5); `options` is
   * `{ inplace, generator }` or PyTorch's positional `inplace` boolean.
   */
  constructor(p = 0.5, options: Dropout2dLayerOptions | boolean = {}) {
    super();
    const o = typeof options === "boolean" ? { inplace: options } : options;
    knownKeys("Dropout2d", o, ["inplace", "generator"]);
    this.p = probability("Dropout2d", "p", p);
    this.inplace = bool("Dropout2d", "inplace", o.inplace, false);
    if (o.generator !== undefined && !(o.generator instanceof Generator)) {
      fail("Dropout2d", "generator", "must be a Generator", o.generator);
    }
    this.#generator = o.generator;
  }

  /** `p=0.5, inplace=false`, as PyTorch prints it. */
  override extraRepr(): string {
    return `p=${reprFloat(this.p)}, inplace=${this.inplace}`;
  }

  /** Zeroes channels in training mode; the identity in evaluation mode. */
  forward(x: Tensor): Tensor {
    tensorArg("Dropout2d.forward", "input", x);
    const g = this.#generator ?? defaultGenerator;
    if (!this.training || this.p === 0) return runChannels("Dropout2d", x, this.p, false, g);
    return maybeInplace(
      "Dropout2d",
      x,
      this.inplace,
      (t) => runChannels("Dropout2d", t, this.p, this.training, g),
    );
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Dropout, Dropout2d);
