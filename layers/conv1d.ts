/**
 * The Conv1d layer: 1-D convolution over [N, C, L] (or unbatched [C, L]) input with an [O, C/groups,
 * K] weight, PyTorch's layout, defaults and initialisation (Kaiming-uniform with a = √5, bias
 * U(±1/√fan_in), fan_in = C/groups · K), and its functional form `conv1d` (`F.conv1d`). It runs
 * as the Conv2d plugin's `conv2d` op on the input seen as [N, C, 1, L], so every backend with a
 * conv2d kernel runs it; padding may be an int, `"same"` (stride 1) or `"valid"`.
 *
 * @example
 * ```ts
 * import { Conv1d } from "./conv1d.ts";
 * import { randn } from "../mod.ts";
 * const conv = new Conv1d(4, 8, 3, { padding: 1 });
 * console.log(conv.forward(randn([2, 4, 10])).shape); // [2, 8, 10]
 * console.log(conv.weight.shape); // [8, 4, 3]
 * ```
 *
 * @module
 */

import {
  DTypeError,
  isFloating,
  Module,
  ShapeError,
  shapeStr,
  trustForward,
  ValueError,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import type { InitScheme } from "./linear.ts";
import { conv2d } from "./conv2d.ts";
import { bool, fail, int, knownKeys, tensorArg } from "./_validate.ts";
import * as conv from "./_conv.ts";

/** Options of {@linkcode conv1d}. */
export interface Conv1dOptions {
  /** Stride (default 1). */
  stride?: number;
  /** Zero padding per side, or "same" (stride 1 only) or "valid" (default 0). */
  padding?: number | "same" | "valid";
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups (default 1). */
  groups?: number;
}

interface Resolved {
  stride: number;
  padding: number | "same" | "valid";
  dilation: number;
  groups: number;
}

const OPTION_KEYS = ["stride", "padding", "dilation", "groups"];

function resolve(fn: string, o: Conv1dOptions): Resolved {
  knownKeys(fn, o, OPTION_KEYS);
  const stride = int(fn, "stride", o.stride ?? 1);
  const dilation = int(fn, "dilation", o.dilation ?? 1);
  const groups = int(fn, "groups", o.groups ?? 1);
  const p = o.padding ?? 0;
  let padding: number | "same" | "valid";
  if (p === "same" || p === "valid") {
    if (p === "same" && stride !== 1) {
      throw new ValueError(`${fn}: padding "same" requires stride 1, got ${stride}`);
    }
    padding = p;
  } else if (typeof p === "string") {
    fail(fn, "padding", 'must be a non-negative integer, "same" or "valid"', p);
  } else {
    padding = int(fn, "padding", p, 0);
  }
  return { stride, padding, dilation, groups };
}

// Checks shapes in 1-D terms (so no error names the 2-D op) and runs conv2d over [N, C, 1, L].
function run(fn: string, x: Tensor, w: Tensor, b: Tensor | null, o: Resolved): Tensor {
  if (!isFloating(x.dtype) || w.dtype !== x.dtype || (b && b.dtype !== x.dtype)) {
    throw new DTypeError(
      `${fn}: expected floating-point input, weight and bias of one dtype, got ${x.dtype}, ` +
        `${w.dtype}${b ? ", " + b.dtype : ""}`,
    );
  }
  if (x.ndim !== 2 && x.ndim !== 3) {
    throw new ShapeError(
      `${fn}: expected a 3-D input [N, C, L] or 2-D [C, L], got ${shapeStr(x.shape)}`,
    );
  }
  if (w.ndim !== 3 || w.shape.some((s) => s === 0)) {
    throw new ShapeError(`${fn}: expected a 3-D weight [O, C/groups, K], got ${shapeStr(w.shape)}`);
  }
  const xb = x.ndim === 3 ? x : x.unsqueeze(0);
  const [, c, len] = xb.shape;
  const [out, cg, k] = w.shape;
  if (cg * o.groups !== c || out % o.groups !== 0) {
    throw new ShapeError(
      `${fn}: weight ${shapeStr(w.shape)} with groups=${o.groups} expects ${cg * o.groups} input ` +
        `channels and output channels divisible by ${o.groups}, got input ${shapeStr(x.shape)}`,
    );
  }
  if (b && (b.ndim !== 1 || b.shape[0] !== out)) {
    throw new ShapeError(`${fn}: bias ${shapeStr(b.shape)} must have shape [${out}]`);
  }
  const pad = typeof o.padding === "number" ? o.padding : 0;
  const span = o.dilation * (k - 1) + 1;
  if (o.padding !== "same" && span > len + 2 * pad) {
    throw new ShapeError(
      `${fn}: kernel ${k} (dilated ${span}) is larger than the padded input ${len + 2 * pad} ` +
        `(input ${shapeStr(x.shape)}, padding ${pad})`,
    );
  }
  const y = conv2d(xb.unsqueeze(2), w.unsqueeze(2), b, {
    stride: [1, o.stride],
    padding: typeof o.padding === "string" ? o.padding : [0, o.padding],
    dilation: [1, o.dilation],
    groups: o.groups,
  }).squeeze(2);
  return x.ndim === 3 ? y : y.squeeze(0);
}

/**
 * 1-D convolution over [N, C, L] (or [C, L]) input with an [O, C/groups, K] weight (`F.conv1d`).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { randn } from "../core/mod.ts";
 * import { conv1d } from "./conv1d.ts";
 * console.log(conv1d(randn([1, 2, 9]), randn([4, 2, 3]), null, { stride: 2 }).shape); // [1, 4, 4]
 * ```
 */
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv1dOptions = {},
): Tensor {
  const b = conv.convArgs("conv1d", arguments, x, weight, bias);
  return run("conv1d", x, weight, b, resolve("conv1d", options));
}

/** Options of {@linkcode Conv1d}. */
export interface Conv1dLayerOptions extends Conv1dOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Only "zeros" is supported; PyTorch's "reflect", "replicate" and "circular" are rejected. */
  paddingMode?: "zeros";
  /** Weight initialisation (default: PyTorch's). */
  init?: InitScheme;
  /** Device of the parameters (default "cpu"). */
  device?: string;
}

/** 1-D convolution layer. */
export class Conv1d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size. */
  readonly kernelSize: number;
  /** Stride. */
  readonly stride: number;
  /** Padding per side, or "same" / "valid". */
  readonly padding: number | "same" | "valid";
  /** Dilation. */
  readonly dilation: number;
  /** Channel groups. */
  readonly groups: number;
  /** Weight [out, in / groups, K]. */
  weight: Tensor;
  /** Bias [out] or null. */
  bias: Tensor | null;
  #o: Resolved;

  /** Creates a convolution from `inChannels` to `outChannels` with a `kernelSize` window. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options: Conv1dLayerOptions = {},
  ) {
    super();
    const L = "Conv1d";
    knownKeys(L, options, [...OPTION_KEYS, ...conv.LAYER_KEYS]);
    this.inChannels = int(L, "inChannels", inChannels);
    this.outChannels = int(L, "outChannels", outChannels);
    this.kernelSize = int(L, "kernelSize", kernelSize);
    const { bias, paddingMode, init: scheme, device, ...convOptions } = options;
    this.#o = resolve(L, convOptions);
    this.stride = this.#o.stride;
    this.padding = this.#o.padding;
    this.dilation = this.#o.dilation;
    this.groups = this.#o.groups;
    conv.zerosPaddingMode(
      L,
      paddingMode,
      "(reflect, replicate and circular padding are not implemented)",
    );
    conv.checkGroups(L, inChannels, outChannels, this.groups);
    const withBias = bool(L, "bias", bias, true);
    const perGroup = inChannels / this.groups;
    ({ weight: this.weight, bias: this.bias } = conv.convParameters(
      [outChannels, perGroup, kernelSize],
      conv.initScheme(L, scheme),
      withBias,
      outChannels,
      perGroup * kernelSize,
    ));
    conv.toDevice(L, this, device);
  }

  /**
   * `3, 4, kernelSize=(3,), stride=(1,)`: PyTorch's text, which leaves out padding, dilation,
   * groups and bias where they have their defaults.
   */
  override extraRepr(): string {
    const p = this.padding;
    return conv.convExtraRepr(this, [this.kernelSize], [this.stride], [
      ["padding", typeof p === "string" ? p : [p], 0],
      ["dilation", [this.dilation], 1],
    ]);
  }

  /** Convolves `x` [N, C, L] (or [C, L]). */
  forward(x: Tensor): Tensor {
    tensorArg("Conv1d.forward", "input", x);
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 2] !== this.inChannels) {
      throw new ShapeError(
        `Conv1d: expected input [N, ${this.inChannels}, L] or [${this.inChannels}, L], got ${
          shapeStr(x.shape)
        }`,
      );
    }
    return run("Conv1d", x, this.weight, this.bias, this.#o);
  }
}

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Conv1d);
