/**
 * Per-example transforms applied by the {@linkcode DataLoader} in place, on each example's slice of
 * the batch array (no allocation per example): {@linkcode normalize},
 * {@linkcode randomCrop} with zero padding and {@linkcode randomHorizontalFlip}. Random ones draw
 * from the loader's generator, so a seeded loader augments reproducibly.
 *
 * @example
 * ```ts
 * import { normalize, randomCrop, randomHorizontalFlip } from "./transforms.ts";
 * const cifarAugment = [randomCrop(32, { padding: 4 }), randomHorizontalFlip(), normalize([0.49, 0.48, 0.45], [0.25, 0.24, 0.26])];
 * ```
 *
 * @module
 */

import { ShapeError, ValueError } from "../../core/mod.ts";
import type { Generator } from "../../core/mod.ts";
import { checkOptions, describe, finiteOption, intOption } from "./options.ts";

function numbers(fn: string, name: string, v: number | readonly number[]): number[] {
  const list = typeof v === "number" ? [v] : Array.isArray(v) ? [...v] : null;
  if (
    !list || list.length === 0 || list.some((x) => typeof x !== "number" || !Number.isFinite(x))
  ) {
    throw new ValueError(
      `${fn}: ${name} must be a finite number or a non-empty list of them, got ${
        Array.isArray(v) ? `[${v}]` : describe(v)
      }`,
    );
  }
  return list;
}

/** A shape-preserving in-place transform of one example. */
export interface Transform {
  /** Name shown in errors. */
  readonly name: string;
  /** Transforms `x` (one example of shape `shape`, row-major) in place. */
  apply(x: Float32Array, shape: readonly number[], rng: Generator): void;
}

function chw(name: string, shape: readonly number[]): [number, number, number] {
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  if (shape.length === 2) return [1, shape[0], shape[1]];
  throw new ShapeError(`${name}: expected examples [C, H, W] or [H, W], got [${shape}]`);
}

/**
 * (x − mean) / std per channel (the first dim of [C, H, W]); scalars apply to every channel.
 *
 * @example
 * ```ts
 * import { normalize } from "./transforms.ts";
 * import { Generator } from "../../core/mod.ts";
 * const x = new Float32Array([0.5, 1]);
 * normalize(0.5, 0.25).apply(x, [1, 1, 2], new Generator());
 * console.log(x); // Float32Array [0, 2]
 * ```
 */
export function normalize(
  mean: number | readonly number[],
  std: number | readonly number[],
): Transform {
  const means = numbers("normalize", "mean", mean);
  const stds = numbers("normalize", "std", std);
  if (stds.some((s) => !(s > 0))) throw new ValueError(`normalize: std must be > 0, got [${stds}]`);
  if (means.length !== stds.length) {
    throw new ValueError(`normalize: ${means.length} means but ${stds.length} stds`);
  }
  return {
    name: "normalize",
    apply(x, shape) {
      const c = shape.length >= 3 ? shape[0] : 1;
      if (means.length !== 1 && means.length !== c) {
        throw new ShapeError(`normalize: ${means.length} channel means for examples [${shape}]`);
      }
      const plane = x.length / c;
      for (let ch = 0; ch < c; ch++) {
        const m = means.length === 1 ? means[0] : means[ch];
        const inv = 1 / (stds.length === 1 ? stds[0] : stds[ch]);
        for (let i = ch * plane, e = i + plane; i < e; i++) x[i] = (x[i] - m) * inv;
      }
    },
  };
}

/** Options of {@linkcode randomCrop}. */
export interface RandomCropOptions {
  /** Zero padding added on every side before cropping (default 0). */
  padding?: number;
  /** Value of the padding (default 0). */
  fill?: number;
}

/**
 * Pads by `padding` and crops a random `size` × `size` window (torchvision's `RandomCrop`). The
 * crop must be the example's own size, so batches keep one shape.
 */
export function randomCrop(size: number, options: RandomCropOptions = {}): Transform {
  checkOptions("randomCrop", options, ["padding", "fill"]);
  if (size === undefined) throw new ValueError("randomCrop: size is required (an integer >= 1)");
  intOption("randomCrop", "size", size, 0, 1);
  const pad = intOption("randomCrop", "padding", options.padding, 0, 0);
  const fill = finiteOption("randomCrop", "fill", options.fill, 0);
  let scratch = new Float32Array(0);
  return {
    name: "randomCrop",
    apply(x, shape, rng) {
      const [c, h, w] = chw("randomCrop", shape);
      if (h !== size || w !== size) {
        throw new ShapeError(
          `randomCrop: crop ${size}x${size} must equal the example size ${h}x${w}`,
        );
      }
      const top = rng.randint(0, 2 * pad + 1) - pad, left = rng.randint(0, 2 * pad + 1) - pad;
      if (top === 0 && left === 0) return;
      if (scratch.length < x.length) scratch = new Float32Array(x.length);
      scratch.set(x);
      for (let ch = 0; ch < c; ch++) {
        const base = ch * h * w;
        for (let i = 0; i < h; i++) {
          const si = i + top;
          for (let j = 0; j < w; j++) {
            const sj = j + left;
            x[base + i * w + j] = si < 0 || si >= h || sj < 0 || sj >= w
              ? fill
              : scratch[base + si * w + sj];
          }
        }
      }
    },
  };
}

/** Mirrors the example left–right with probability `p` (default 0.5). */
export function randomHorizontalFlip(p = 0.5): Transform {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new ValueError(`randomHorizontalFlip: p must be a number in [0, 1], got ${describe(p)}`);
  }
  return {
    name: "randomHorizontalFlip",
    apply(x, shape, rng) {
      const [c, h, w] = chw("randomHorizontalFlip", shape);
      if (!(rng.uniform() < p)) return;
      for (let r = 0; r < c * h; r++) {
        for (let a = r * w, b = a + w - 1; a < b; a++, b--) {
          const t = x[a];
          x[a] = x[b];
          x[b] = t;
        }
      }
    },
  };
}
