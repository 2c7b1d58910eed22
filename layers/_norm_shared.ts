/**
 * The argument checks and pieces shared by the normalisation layers of norm.ts (`_norm_layer.ts`,
 * `_norm_group.ts`, `_norm_instance.ts`, `_norm_rms.ts`): the normalised shape, `eps`, the input
 * and parameter shapes, the fused `normRows` call, the per-channel affine. Private to layers/.
 *
 * @module
 */

import { DTypeError, isFloating, ShapeError, shapeStr } from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { fail } from "./_validate.ts";
import { normRows } from "./ops/layer_norm.ts";
import type { NormRowsAttrs } from "./ops/layer_norm.ts";

/** A normalised shape: the trailing dimensions normalised over (an int is one dimension). */
export type NormalizedShape = number | readonly number[];

export function normalizedShapeArg(fn: string, v: unknown): number[] {
  const s = typeof v === "number" ? [v] : v;
  if (
    !Array.isArray(s) || s.length === 0 ||
    !s.every((e) => typeof e === "number" && Number.isInteger(e) && e > 0)
  ) {
    fail(fn, "normalizedShape", "must be a positive integer or a non-empty array of them", v);
  }
  return [...s];
}

export function epsArg(fn: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    fail(fn, "eps", "must be a non-negative finite number", v);
  }
  return v;
}

export function floatInput(fn: string, x: Tensor): void {
  if (!isFloating(x.dtype)) {
    throw new DTypeError(`${fn}: expected a floating-point input, got ${x.dtype}`);
  }
}

export function trailing(fn: string, x: Tensor, shape: readonly number[]): void {
  floatInput(fn, x);
  const k = shape.length;
  if (x.ndim < k || shape.some((s, i) => x.shape[x.ndim - k + i] !== s)) {
    throw new ShapeError(
      `${fn}: expected input with shape [*, ${shape.join(", ")}], got ${shapeStr(x.shape)}`,
    );
  }
}

export function checkParam(
  fn: string,
  name: string,
  t: Tensor | null,
  shape: readonly number[],
): void {
  if (t && (t.ndim !== shape.length || t.shape.some((s, i) => s !== shape[i]))) {
    throw new ShapeError(`${fn}: ${name} ${shapeStr(t.shape)} must have shape ${shapeStr(shape)}`);
  }
}

/**
 * x normalised by the fused `normRows` op, with the weight and bias applied inside it when they
 * have x's dtype and device; otherwise (and for an empty x) they are applied afterwards by
 * `affine`, with the dtype promotion and device errors of the elementwise ops, as before.
 */
export function fusedNorm(
  x: Tensor,
  attrs: Omit<NormRowsAttrs, "weight" | "bias">,
  weight: Tensor | null,
  bias: Tensor | null,
  affine: (y: Tensor) => Tensor,
): Tensor {
  if (x.numel() === 0) return affine(x.mul(1));
  const fits = (t: Tensor | null) => t === null || (t.dtype === x.dtype && t.device === x.device);
  if (fits(weight) && fits(bias)) {
    return normRows(x, weight, bias, { ...attrs, weight: weight !== null, bias: bias !== null })[0];
  }
  return affine(normRows(x, null, null, { ...attrs, weight: false, bias: false })[0]);
}

// Per-channel weight and bias [C] applied to [N, C, ...] input.
export function channelAffine(y: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const bs = y.shape.map((s, i) => (i === 1 ? s : 1));
  if (weight) y = y.mul(weight.reshape(bs));
  if (bias) y = y.add(bias.reshape(bs));
  return y;
}

export function deviceOf(fn: string, v: unknown): string | undefined {
  if (v !== undefined && typeof v !== "string") fail(fn, "device", "must be a string", v);
  return v;
}
