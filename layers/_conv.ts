/**
 * Pieces shared by the convolution layers (Conv1d, Conv2d, ConvTranspose2d): the functional
 * forms' argument checks, the layer constructors' checks and parameters, and PyTorch's
 * `extraRepr` text. Private to layers/.
 *
 * @module
 */

import { Parameter, reprTuple, zeros } from "../core/mod.ts";
import type { Module, Tensor } from "../core/mod.ts";
import * as init from "./init.ts";
import { initWeight } from "./linear.ts";
import type { InitScheme } from "./linear.ts";
import { arity, fail, oneOf, optionalTensor, tensorArg } from "./_validate.ts";

const INITS: readonly InitScheme[] = [
  "default",
  "fanIn",
  "glorot",
  "glorotNormal",
  "kaiming",
  "kaimingNormal",
];

/** The functional form's checks: at most 4 arguments, input and weight tensors; the bias. */
export function convArgs(
  fn: string,
  args: IArguments,
  x: unknown,
  weight: unknown,
  bias: unknown,
): Tensor | null {
  arity(fn, args, 4);
  tensorArg(fn, "input", x);
  tensorArg(fn, "weight", weight);
  return optionalTensor(fn, "bias", bias);
}

/** Rejects a `paddingMode` other than "zeros"; `why` ends the message. */
export function zerosPaddingMode(layer: string, mode: unknown, why: string): void {
  if ((mode ?? "zeros") !== "zeros") {
    fail(layer, "paddingMode", `supports only "zeros" ${why}`, mode);
  }
}

/** Checks that `groups` divides both channel counts. */
export function checkGroups(
  layer: string,
  inChannels: number,
  outChannels: number,
  groups: number,
): void {
  if (inChannels % groups) fail(layer, "groups", `must divide inChannels (${inChannels})`, groups);
  if (outChannels % groups) {
    fail(layer, "groups", `must divide outChannels (${outChannels})`, groups);
  }
}

/** Checks the `init` option: one of the schemes a convolution weight takes. */
export function initScheme(layer: string, scheme: unknown): InitScheme {
  return oneOf(layer, "init", scheme, INITS);
}

/**
 * The weight of `shape` initialised by `scheme`, and a bias [outChannels] drawn from
 * U(±1/√fanIn) when `withBias` (else null).
 */
export function convParameters(
  shape: number[],
  scheme: InitScheme,
  withBias: boolean,
  outChannels: number,
  fanIn: number,
): { weight: Tensor; bias: Tensor | null } {
  const weight = Parameter(zeros(shape));
  initWeight(weight, scheme);
  const bias = withBias ? init.fanInUniform_(Parameter(zeros([outChannels])), fanIn) : null;
  return { weight, bias };
}

/** Checks the `device` option (a string) and moves `m` there unless it is "cpu". */
export function toDevice(layer: string, m: Module, device: unknown): void {
  if (device !== undefined && typeof device !== "string") {
    fail(layer, "device", "must be a string", device);
  }
  if (device && device !== "cpu") m.to(device);
}

/** The options a convolution layer takes besides its functional form's. */
export const LAYER_KEYS: readonly string[] = ["bias", "paddingMode", "init", "device"];

/** The fields of a convolution layer that `extraRepr` shows besides its per-dimension ones. */
export interface ConvLayerFields {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Channel groups (shown unless 1). */
  readonly groups: number;
  /** The bias, or null (shown as `bias=false`). */
  readonly bias: Tensor | null;
}

/**
 * PyTorch's `extraRepr` of a convolution, e.g. `3, 4, kernelSize=(3, 3), stride=(1, 1)`; the
 * `optional` fields ([name, value, default]) are shown where a value differs from the default or
 * is a string, and groups and bias where they are not the defaults.
 */
export function convExtraRepr(
  m: ConvLayerFields,
  kernelSize: readonly number[],
  stride: readonly number[],
  optional: readonly (readonly [string, readonly number[] | string, number])[],
): string {
  let s = `${m.inChannels}, ${m.outChannels}, kernelSize=${reprTuple(kernelSize)}, ` +
    `stride=${reprTuple(stride)}`;
  for (const [name, v, dflt] of optional) {
    if (typeof v === "string") s += `, ${name}=${v}`;
    else if (v.some((e) => e !== dflt)) s += `, ${name}=${reprTuple(v)}`;
  }
  if (m.groups !== 1) s += `, groups=${m.groups}`;
  if (m.bias === null) s += ", bias=false";
  return s;
}
