/**
 * `Linear` and its functional form `linear` (`F.linear`): y = x Wᵀ + b, PyTorch's layout and
 * default initialisation (Kaiming-uniform with a = √5 for W, i.e. U(±1/√fan_in), and the lecture's
 * U(±1/√fan_in) for b). `init: "glorot"` selects Glorot uniform.
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

import {
  mm,
  Module,
  Parameter,
  reshape,
  sameShape,
  ShapeError,
  shapeStr,
  trustForward,
  ValueError,
  zeros,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import * as init from "./init.ts";
import { arity, fail, knownKeys, optionalTensor, tensorArg } from "./_validate.ts";

/**
 * y = x Wᵀ + b with W of shape [out, in] (PyTorch layout): `F.linear`. The bias (a Tensor or
 * null) must broadcast to the output's shape without growing it.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  arity("linear", arguments, 3);
  tensorArg("linear", "input", x);
  tensorArg("linear", "weight", weight);
  return run(x, weight, optionalTensor("linear", "bias", bias));
}

// The computation shared by F.linear and Linear.forward, with tensor arguments already checked.
function run(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  if (weight.ndim !== 2) {
    throw new ShapeError(`linear: weight must be 2-D [out, in], got ${shapeStr(weight.shape)}`);
  }
  const inF = weight.shape[1];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(
      `linear: input ${shapeStr(x.shape)} has ${
        x.shape[x.ndim - 1] ?? 0
      } features in its last dimension, ` +
        `weight ${shapeStr(weight.shape)} expects ${inF}`,
    );
  }
  const lead = x.shape.slice(0, -1);
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, inF]);
  let y = mm(x2, weight, false, true);
  if (bias) {
    const shape = y.shape;
    y = y.add(bias);
    if (!sameShape(y.shape, shape)) {
      throw new ShapeError(
        `linear: bias ${shapeStr(bias.shape)} must broadcast to the output ${
          shapeStr([...lead, weight.shape[0]])
        }`,
      );
    }
  }
  return x.ndim === 2 ? y : reshape(y, [...lead, weight.shape[0]]);
}

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

  /**
   * Creates a layer mapping `inFeatures` to `outFeatures`. The third argument is the options or,
   * as in PyTorch's `Linear(2, 3, False)`, the `bias` boolean.
   */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions | boolean = {}) {
    super();
    if (typeof options === "boolean") options = { bias: options };
    knownKeys("Linear", options, ["bias", "init", "device"]);
    if (options.bias !== undefined && typeof options.bias !== "boolean") {
      fail("Linear", "bias", "must be a boolean", options.bias);
    }
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

  /** `inFeatures=4, outFeatures=2, bias=true`, as PyTorch prints it. */
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, ` +
      `bias=${this.bias !== null}`;
  }

  /** y = x Wᵀ + b. */
  forward(x: Tensor): Tensor {
    return run(tensorArg("Linear.forward", "input", x), this.weight, this.bias);
  }
}

// Their forward runs only ops and children's forwards and keeps nothing it makes: intermediates
// are freed when the outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Linear);
