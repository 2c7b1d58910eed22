/**
 * The ConvTranspose2d plugin: transposed 2-D convolution ("deconvolution") over NCHW input (or
 * unbatched [C, H, W]) with PyTorch's [in, out/groups, kH, kW] weight layout, constructor
 * arguments (`stride`, `padding`, `outputPadding`, `groups`, `bias`, `dilation`), output size
 * `(H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1` and initialisation
 * (Kaiming-uniform with a = √5 and bias U(±1/√fan_in), fan_in = out/groups · kH · kW, as PyTorch
 * computes it from the weight), and its functional form `convTranspose2d` (`F.convTranspose2d`).
 * Importing this module registers the plugin, whose manifest defines the `convTranspose2d` op
 * (see `ops/conv_transpose.ts`): it runs as the Conv2d plugin's `conv2dBackwardInput` kernel.
 * PyTorch's `forward(input, output_size)` is not supported: pass `outputPadding`.
 *
 * @example
 * ```ts
 * import { ConvTranspose2d } from "./conv_transpose2d.ts";
 * import { randn } from "../mod.ts";
 * const up = new ConvTranspose2d(8, 4, 3, { stride: 2, padding: 1, outputPadding: 1 });
 * console.log(up.forward(randn([1, 8, 5, 5])).shape); // [1, 4, 10, 10]
 * console.log(up.weight.shape); // [8, 4, 3, 3]
 * ```
 *
 * @module
 */

import {
  definePlugin,
  DTypeError,
  Module,
  ShapeError,
  shapeStr,
  trustForward,
  use,
} from "../core/mod.ts";
import type { Plugin, Tensor } from "../core/mod.ts";
import type { InitScheme } from "./linear.ts";
import "./conv2d.ts";
import { bool, fail, int, knownKeys, pair, tensorArg } from "./_validate.ts";
import * as conv from "./_conv.ts";
import type { IntPair } from "./_validate.ts";
import { convTranspose2dRaw, convTransposeOps } from "./ops/conv_transpose.ts";
import type { ConvTranspose2dAttrs } from "./ops/conv_transpose.ts";

export { convTranspose2dRaw, convTransposeOutputSize } from "./ops/conv_transpose.ts";
export type { ConvTranspose2dAttrs } from "./ops/conv_transpose.ts";

/** Options of {@linkcode convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Stride (default 1). */
  stride?: IntPair;
  /** Rows / columns removed from each side of the full output (default 0). */
  padding?: IntPair;
  /** Rows / columns added at the bottom / right; each below stride or dilation (default 0). */
  outputPadding?: IntPair;
  /** Channel groups (default 1). */
  groups?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: IntPair;
}

const OPTION_KEYS = ["stride", "padding", "outputPadding", "groups", "dilation"];

function attrsOf(fn: string, o: ConvTranspose2dOptions): ConvTranspose2dAttrs {
  knownKeys(fn, o, OPTION_KEYS);
  const a: ConvTranspose2dAttrs = {
    stride: pair(fn, "stride", o.stride ?? 1),
    padding: pair(fn, "padding", o.padding ?? 0, 0),
    outputPadding: pair(fn, "outputPadding", o.outputPadding ?? 0, 0),
    groups: int(fn, "groups", o.groups ?? 1),
    dilation: pair(fn, "dilation", o.dilation ?? 1),
  };
  for (let i = 0; i < 2; i++) {
    if (a.outputPadding[i] >= Math.max(a.stride[i], a.dilation[i])) {
      fail(
        fn,
        "outputPadding",
        `must be smaller than stride [${a.stride.join(", ")}] or dilation [${
          a.dilation.join(", ")
        }] in each dimension`,
        o.outputPadding,
      );
    }
  }
  return a;
}

// Batches unbatched input, runs the op and adds the bias.
function run(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  a: ConvTranspose2dAttrs,
): Tensor {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new ShapeError(
      `${fn}: expected a 4-D input [N, C, H, W] or 3-D [C, H, W], got ${shapeStr(x.shape)}`,
    );
  }
  const xb = x.ndim === 4 ? x : x.unsqueeze(0);
  if (b && w.ndim === 4 && (b.ndim !== 1 || b.shape[0] !== w.shape[1] * a.groups)) {
    throw new ShapeError(
      `${fn}: bias ${shapeStr(b.shape)} must have shape [${w.shape[1] * a.groups}] (weight ${
        shapeStr(w.shape)
      }, groups=${a.groups})`,
    );
  }
  if (b && b.dtype !== x.dtype) {
    throw new DTypeError(`${fn}: bias is ${b.dtype}, expected the input's ${x.dtype}`);
  }
  let y = convTranspose2dRaw(xb, w, a);
  if (b) y = y.add(b.reshape([1, b.shape[0], 1, 1]));
  return x.ndim === 4 ? y : y.squeeze(0);
}

/**
 * Transposed 2-D convolution (`F.convTranspose2d`) of [N, C, H, W] (or [C, H, W]) input with a
 * [C, O/groups, KH, KW] weight.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { convTranspose2d } from "./conv_transpose2d.ts";
 * const y = convTranspose2d(randn([1, 2, 3, 3]), randn([2, 5, 2, 2]), null, { stride: 2 });
 * console.log(y.shape); // [1, 5, 6, 6]
 * ```
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTranspose2dOptions = {},
): Tensor {
  const b = conv.convArgs("convTranspose2d", arguments, x, weight, bias);
  return run("convTranspose2d", x, weight, b, attrsOf("convTranspose2d", options));
}

/** Options of {@linkcode ConvTranspose2d}. */
export interface ConvTranspose2dLayerOptions extends ConvTranspose2dOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Only "zeros" is supported, as in PyTorch for transposed convolutions. */
  paddingMode?: "zeros";
  /** Weight initialisation (default: PyTorch's). */
  init?: InitScheme;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** Transposed 2-D convolution layer. */
export class ConvTranspose2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size (height, width). */
  readonly kernelSize: readonly [number, number];
  /** Stride (height, width). */
  readonly stride: readonly [number, number];
  /** Padding (height, width). */
  readonly padding: readonly [number, number];
  /** Output padding (height, width). */
  readonly outputPadding: readonly [number, number];
  /** Dilation (height, width). */
  readonly dilation: readonly [number, number];
  /** Channel groups. */
  readonly groups: number;
  /** Weight [in, out / groups, kH, kW]. */
  weight: Tensor;
  /** Bias [out] or null. */
  bias: Tensor | null;
  #attrs: ConvTranspose2dAttrs;

  /** Creates a transposed convolution from `inChannels` to `outChannels`. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: IntPair,
    options: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    const L = "ConvTranspose2d";
    knownKeys(L, options, [...OPTION_KEYS, ...conv.LAYER_KEYS]);
    this.inChannels = int(L, "inChannels", inChannels);
    this.outChannels = int(L, "outChannels", outChannels);
    this.kernelSize = pair(L, "kernelSize", kernelSize);
    const { bias, paddingMode, init: scheme, device, ...convOptions } = options;
    this.#attrs = attrsOf(L, convOptions);
    this.stride = this.#attrs.stride;
    this.padding = this.#attrs.padding;
    this.outputPadding = this.#attrs.outputPadding;
    this.dilation = this.#attrs.dilation;
    this.groups = this.#attrs.groups;
    conv.zerosPaddingMode(L, paddingMode, "(as PyTorch for transposed convolutions)");
    conv.checkGroups(L, inChannels, outChannels, this.groups);
    const withBias = bool(L, "bias", bias, true);
    const [kh, kw] = this.kernelSize;
    const perGroup = outChannels / this.groups;
    ({ weight: this.weight, bias: this.bias } = conv.convParameters(
      [inChannels, perGroup, kh, kw],
      conv.initScheme(L, scheme),
      withBias,
      outChannels,
      perGroup * kh * kw,
    ));
    conv.toDevice(L, this, device);
  }

  /**
   * `3, 4, kernelSize=(3, 3), stride=(2, 2), outputPadding=(1, 1)`: PyTorch's text, which leaves
   * out padding, output padding, dilation, groups and bias where they have their defaults.
   */
  override extraRepr(): string {
    return conv.convExtraRepr(this, this.kernelSize, this.stride, [
      ["padding", this.padding, 0],
      ["outputPadding", this.outputPadding, 0],
      ["dilation", this.dilation, 1],
    ]);
  }

  /** Applies the transposed convolution to `x` [N, C, H, W] (or [C, H, W]). */
  forward(x: Tensor): Tensor {
    tensorArg("ConvTranspose2d.forward", "input", x);
    if ((x.ndim !== 3 && x.ndim !== 4) || x.shape[x.ndim - 3] !== this.inChannels) {
      throw new ShapeError(
        `ConvTranspose2d: expected input [N, ${this.inChannels}, H, W] or [${this.inChannels}, H, W], ` +
          `got ${shapeStr(x.shape)}`,
      );
    }
    return run("ConvTranspose2d", x, this.weight, this.bias, this.#attrs);
  }
}

/**
 * The ConvTranspose2d plugin, registered when this module is imported (with the Conv2d plugin,
 * whose ops it runs on): its manifest defines the `convTranspose2d` op.
 */
export const convTranspose2dPlugin: Plugin = use(definePlugin({
  name: "@denn/conv-transpose2d",
  kind: "layer",
  version: "0.1.0",
  apiVersion: 1,
  ops: convTransposeOps,
  exports: { ConvTranspose2d },
}));

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(ConvTranspose2d);
