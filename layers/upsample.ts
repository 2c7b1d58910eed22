/**
 * Resizing: `F.interpolate` and the `Upsample` layer (with PyTorch's `UpsamplingNearest2d` and
 * `UpsamplingBilinear2d`), for modes `"nearest"` and `"nearest-exact"` (1 to 3 spatial dims:
 * [N, C, L], [N, C, H, W], [N, C, D, H, W]), `"linear"` ([N, C, L]) and `"bilinear"`
 * ([N, C, H, W]), with `alignCorners`, `size` or `scaleFactor`, and `recomputeScaleFactor`.
 * Source indices and weights follow PyTorch's CPU kernels, in float32 arithmetic as they compute
 * them: without `recomputeScaleFactor` a given `scaleFactor` sets the step (1 / scale), not
 * in/out. Each spatial dimension is resampled in turn with the core `gather` op (and, for the
 * linear modes, a weighted sum of two gathers), so every backend runs it and the gradient is a
 * `scatterAdd`. `"bicubic"`, `"trilinear"`, `"area"` and `antialias` are not supported.
 *
 * @example
 * ```ts
 * import { Upsample } from "./upsample.ts";
 * import { interpolate } from "./upsample.ts";
 * import { randn } from "../mod.ts";
 * const up = new Upsample({ scaleFactor: 2, mode: "bilinear" });
 * console.log(up.forward(randn([1, 3, 4, 4])).shape); // [1, 3, 8, 8]
 * console.log(interpolate(randn([1, 3, 10]), { size: 4 }).shape); // [1, 3, 4]
 * ```
 *
 * @module
 */

import {
  DTypeError,
  fromData,
  gather,
  isFloating,
  Module,
  reprFloat,
  reprTuple,
  ShapeError,
  shapeStr,
  trustForward,
  ValueError,
} from "../core/mod.ts";
import type { Tensor } from "../core/mod.ts";
import { arity, fail, knownKeys, oneOf, tensorArg } from "./_validate.ts";

/** Interpolation modes. */
export type InterpolateMode = "nearest" | "nearest-exact" | "linear" | "bilinear";

const MODES: readonly InterpolateMode[] = ["nearest", "nearest-exact", "linear", "bilinear"];
const UNSUPPORTED = ["bicubic", "trilinear", "area"];

/** Options of {@linkcode interpolate}. */
export interface InterpolateOptions {
  /** Output spatial size: an int for every spatial dim, or one per dim. */
  size?: number | readonly number[] | null;
  /** Multiplier of each spatial size (output = floor(in · scale)): one, or one per dim. */
  scaleFactor?: number | readonly number[] | null;
  /** Interpolation mode (default "nearest"). */
  mode?: InterpolateMode;
  /**
   * Linear modes only: align the corner pixels' centres (default false). PyTorch's null default
   * means false; it is an error to set it with the nearest modes.
   */
  alignCorners?: boolean | null;
  /** Compute the step from the output size rather than the given `scaleFactor` (default false). */
  recomputeScaleFactor?: boolean | null;
  /** Only false (anti-aliasing is not implemented). */
  antialias?: boolean;
}

const KEYS = ["size", "scaleFactor", "mode", "alignCorners", "recomputeScaleFactor", "antialias"];

interface Plan {
  mode: InterpolateMode;
  // A number applies to every spatial dim; an array has one entry per dim.
  size: number | readonly number[] | null;
  scale: number | readonly number[] | null;
  alignCorners: boolean;
  recompute: boolean;
}

const f32 = Math.fround;

// A size or scale option: a valid number, or a non-empty array of them (copied).
function entries(
  fn: string,
  option: string,
  v: unknown,
  ok: (e: number) => boolean,
): number | number[] {
  if (typeof v === "number" && ok(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === "number" && ok(e))) {
    return [...v];
  }
  return fail(
    fn,
    option,
    option === "size"
      ? "must be a positive integer or a non-empty array of them"
      : "must be a positive finite number or a non-empty array of them",
    v,
  );
}

// Validates everything that does not depend on the input.
function planOf(fn: string, o: InterpolateOptions): Plan {
  knownKeys(fn, o, KEYS);
  const m = o.mode;
  if (typeof m === "string" && UNSUPPORTED.includes(m)) {
    fail(fn, "mode", `"${m}" is not supported (supported: ${MODES.join(", ")})`, m);
  }
  const mode = oneOf(fn, "mode", m, MODES);
  const hasSize = o.size !== undefined && o.size !== null;
  const hasScale = o.scaleFactor !== undefined && o.scaleFactor !== null;
  if (hasSize === hasScale) {
    throw new ValueError(
      `${fn}: ${hasSize ? "only one" : "one"} of size or scaleFactor must be given`,
    );
  }
  const linear = mode === "linear" || mode === "bilinear";
  if (o.alignCorners !== undefined && o.alignCorners !== null) {
    if (typeof o.alignCorners !== "boolean") {
      fail(fn, "alignCorners", "must be a boolean", o.alignCorners);
    }
    if (!linear) {
      throw new ValueError(
        `${fn}: alignCorners can only be set with the linear modes (linear, bilinear), got mode "${mode}"`,
      );
    }
  }
  const rc = o.recomputeScaleFactor;
  if (rc !== undefined && rc !== null && typeof rc !== "boolean") {
    fail(fn, "recomputeScaleFactor", "must be a boolean or null", rc);
  }
  if (rc && hasSize) {
    throw new ValueError(`${fn}: recomputeScaleFactor is not meaningful with an explicit size`);
  }
  if (o.antialias !== undefined && o.antialias !== false) {
    fail(fn, "antialias", "is not supported (only false)", o.antialias);
  }
  const isInt = (e: number) => Number.isInteger(e) && e > 0;
  const isPos = (e: number) => Number.isFinite(e) && e > 0;
  const size = hasSize ? entries(fn, "size", o.size, isInt) : null;
  const scale = hasScale ? entries(fn, "scaleFactor", o.scaleFactor, isPos) : null;
  return { mode, size, scale, alignCorners: o.alignCorners === true, recompute: rc === true };
}

// PyTorch's source-index rules (aten/src/ATen/native/UpSample.h), in float32 as its CPU kernels.
function stepOf(inSize: number, outSize: number, scale: number | null, align: boolean): number {
  if (align) return outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0;
  return scale !== null && scale > 0 ? f32(1 / scale) : f32(inSize / outSize);
}

function nearestIndex(
  inSize: number,
  outSize: number,
  scale: number | null,
  exact: boolean,
): Int32Array {
  const idx = new Int32Array(outSize);
  if (!exact && outSize === inSize) return idx.map((_, j) => j);
  if (!exact && outSize === 2 * inSize) return idx.map((_, j) => j >> 1);
  const s = stepOf(inSize, outSize, scale, false);
  for (let j = 0; j < outSize; j++) {
    const src = exact ? f32(f32(j + 0.5) * s) : f32(j * s);
    idx[j] = Math.min(Math.floor(src), inSize - 1);
  }
  return idx;
}

function linearTaps(
  inSize: number,
  outSize: number,
  scale: number | null,
  align: boolean,
): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const s = stepOf(inSize, outSize, scale, align);
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize), l1 = new Float32Array(outSize);
  for (let j = 0; j < outSize; j++) {
    let src = align ? f32(s * j) : f32(f32(s * f32(j + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const k = Math.min(Math.floor(src), inSize - 1);
    const lambda = Math.min(Math.max(f32(src - k), 0), 1);
    i0[j] = k;
    i1[j] = k + (k < inSize - 1 ? 1 : 0);
    l1[j] = lambda;
    l0[j] = f32(1 - lambda);
  }
  return { i0, i1, l0, l1 };
}

// Gathers along `axis` with a per-position index of length y.shape[axis]'s new size.
function take(y: Tensor, axis: number, idx: Int32Array): Tensor {
  const shape = y.shape.map((_, i) => (i === axis ? idx.length : 1));
  const full = y.shape.map((s, i) => (i === axis ? idx.length : s));
  const t = fromData(idx, shape, { dtype: "int32", device: y.device });
  return gather(y, axis, t.expand(full));
}

function weights(y: Tensor, axis: number, w: Float32Array): Tensor {
  const shape = y.shape.map((_, i) => (i === axis ? w.length : 1));
  const t = fromData(w, shape, { device: y.device });
  return y.dtype === "float32" ? t : t.cast(y.dtype);
}

function run(fn: string, x: Tensor, p: Plan): Tensor {
  const dims = x.ndim - 2;
  if (dims < 1 || dims > 3) {
    throw new ShapeError(
      `${fn}: expected a 3-D, 4-D or 5-D input [N, C, ...spatial], got ${shapeStr(x.shape)}`,
    );
  }
  if (p.mode === "linear" && dims !== 1) {
    throw new ShapeError(
      `${fn}: mode "linear" needs a 3-D input [N, C, L], got ${shapeStr(x.shape)}`,
    );
  }
  if (p.mode === "bilinear" && dims !== 2) {
    throw new ShapeError(
      `${fn}: mode "bilinear" needs a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`,
    );
  }
  const linear = p.mode === "linear" || p.mode === "bilinear";
  if (linear ? !isFloating(x.dtype) : x.dtype === "bool") {
    throw new DTypeError(
      `${fn}: mode "${p.mode}" expects a ${linear ? "floating-point" : "float or int32"} input, ` +
        `got ${x.dtype}`,
    );
  }
  const inSizes = x.shape.slice(2);
  const expand = (v: number | readonly number[] | null) =>
    typeof v === "number" ? new Array<number>(dims).fill(v) : v;
  const size = expand(p.size), scale = expand(p.scale);
  for (const [name, v] of [["size", size], ["scaleFactor", scale]] as const) {
    if (v && v.length !== dims) {
      throw new ShapeError(
        `${fn}: ${name} has ${v.length} entries but the input ${shapeStr(x.shape)} has ${dims} ` +
          `spatial dimension${dims === 1 ? "" : "s"}`,
      );
    }
  }
  const outSizes = size ?? inSizes.map((s, i) => Math.floor(s * scale![i]));
  if (outSizes.some((s) => s < 1) || inSizes.some((s) => s < 1)) {
    throw new ShapeError(
      `${fn}: input and output sizes must be positive, got input ${shapeStr(x.shape)} and output ` +
        `size [${outSizes.join(", ")}]`,
    );
  }
  // A given scaleFactor is the step PyTorch's kernels use, unless it is recomputed from the sizes.
  const scales = scale && !p.recompute ? scale : null;
  let y = x;
  for (let d = 0; d < dims; d++) {
    const axis = d + 2, n = inSizes[d], m = outSizes[d], sc = scales ? scales[d] : null;
    if (!linear) {
      y = take(y, axis, nearestIndex(n, m, sc, p.mode === "nearest-exact"));
      continue;
    }
    const t = linearTaps(n, m, sc, p.alignCorners);
    y = take(y, axis, t.i0).mul(weights(y, axis, t.l0))
      .add(take(y, axis, t.i1).mul(weights(y, axis, t.l1)));
  }
  return y;
}

/**
 * Resizes [N, C, ...spatial] input to `size` or by `scaleFactor` (`F.interpolate`).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { interpolate } from "./upsample.ts";
 * const x = tensor([[[1, 2]]]);
 * console.log(interpolate(x, { scaleFactor: 2 }).toArraySync()); // [[[1, 1, 2, 2]]]
 * console.log(interpolate(x, { size: 4, mode: "linear" }).toArraySync());
 * // [[[1, 1.25, 1.75, 2]]]
 * ```
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  arity("interpolate", arguments, 2);
  tensorArg("interpolate", "input", x);
  if (options === undefined) {
    throw new ValueError("interpolate: options with size or scaleFactor are required");
  }
  return run("interpolate", x, planOf("interpolate", options));
}

/** Options of {@linkcode Upsample}: those of {@linkcode interpolate} but `antialias`. */
export interface UpsampleOptions {
  /** Output spatial size: an int for every spatial dim, or one per dim. */
  size?: number | readonly number[] | null;
  /** Multiplier of each spatial size: one, or one per dim. */
  scaleFactor?: number | readonly number[] | null;
  /** Interpolation mode (default "nearest"). */
  mode?: InterpolateMode;
  /** Linear modes only: align the corner pixels' centres (default false). */
  alignCorners?: boolean | null;
  /** Compute the step from the output size rather than the given `scaleFactor` (default false). */
  recomputeScaleFactor?: boolean | null;
}

/** Resizes its input as {@linkcode interpolate} does (PyTorch's `nn.Upsample`). */
export class Upsample extends Module {
  /** Output size, or null. */
  readonly size: number | readonly number[] | null;
  /** Scale factor, or null. */
  readonly scaleFactor: number | readonly number[] | null;
  /** Interpolation mode. */
  readonly mode: InterpolateMode;
  /** Whether corner pixels are aligned (linear modes). */
  readonly alignCorners: boolean | null;
  #plan: Plan;
  #layer: string;

  /** Creates the layer; exactly one of `size` and `scaleFactor` must be given. */
  constructor(options: UpsampleOptions) {
    super();
    this.#layer = new.target.name;
    if (options === undefined) {
      throw new ValueError(`${this.#layer}: options with size or scaleFactor are required`);
    }
    knownKeys(this.#layer, options, KEYS.filter((k) => k !== "antialias"));
    this.#plan = planOf(this.#layer, options);
    this.size = options.size ?? null;
    this.scaleFactor = options.scaleFactor ?? null;
    this.mode = this.#plan.mode;
    this.alignCorners = options.alignCorners ?? null;
  }

  /** `scaleFactor=2.0, mode='nearest'` or `size=(5, 7), mode='bilinear'`, as PyTorch prints it. */
  override extraRepr(): string {
    const s = this.scaleFactor, v = s ?? this.size!;
    const text = typeof v === "number"
      ? (s !== null ? reprFloat(v) : String(v))
      : s !== null
      ? `(${v.map(reprFloat).join(", ")})`
      : reprTuple(v);
    return `${s !== null ? "scaleFactor" : "size"}=${text}, mode='${this.mode}'`;
  }

  /** Resizes `x` [N, C, ...spatial]. */
  forward(x: Tensor): Tensor {
    tensorArg(`${this.#layer}.forward`, "input", x);
    return run(this.#layer, x, this.#plan);
  }
}

/** Options of {@linkcode UpsamplingNearest2d} and {@linkcode UpsamplingBilinear2d}. */
export interface Upsampling2dOptions {
  /** Output size (height, width), or one int for both. */
  size?: number | readonly [number, number] | null;
  /** Multiplier of the height and width. */
  scaleFactor?: number | readonly [number, number] | null;
}

function upsampling2d(layer: string, options: Upsampling2dOptions): Upsampling2dOptions {
  if (options === undefined) {
    throw new ValueError(`${layer}: options with size or scaleFactor are required`);
  }
  knownKeys(layer, options, ["size", "scaleFactor"]);
  return options;
}

/** Nearest-neighbour upsampling of [N, C, H, W] input (PyTorch's `UpsamplingNearest2d`). */
export class UpsamplingNearest2d extends Upsample {
  /** Creates the layer; exactly one of `size` and `scaleFactor` must be given. */
  constructor(options: Upsampling2dOptions) {
    super({ ...upsampling2d("UpsamplingNearest2d", options), mode: "nearest" });
  }

  /** Resizes `x` [N, C, H, W]. */
  override forward(x: Tensor): Tensor {
    tensorArg("UpsamplingNearest2d.forward", "input", x);
    if (x.ndim !== 4) {
      throw new ShapeError(`UpsamplingNearest2d: expected a 4-D input, got ${shapeStr(x.shape)}`);
    }
    return super.forward(x);
  }
}

/**
 * Bilinear upsampling of [N, C, H, W] input with aligned corners (PyTorch's
 * `UpsamplingBilinear2d`, which is `interpolate(..., mode="bilinear", alignCorners=true)`).
 */
export class UpsamplingBilinear2d extends Upsample {
  /** Creates the layer; exactly one of `size` and `scaleFactor` must be given. */
  constructor(options: Upsampling2dOptions) {
    super({
      ...upsampling2d("UpsamplingBilinear2d", options),
      mode: "bilinear",
      alignCorners: true,
    });
  }
}

// Their forward runs only ops and keeps nothing it makes: intermediates are freed when the
// outermost call returns or backward is done with them (core/module_frames.ts).
trustForward(Upsample, UpsamplingNearest2d, UpsamplingBilinear2d);
