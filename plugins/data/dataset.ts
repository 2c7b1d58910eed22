/**
 * The dataset interface and in-memory datasets: {@linkcode ArrayDataset} (one flat host array of
 * examples plus int labels), {@linkcode TensorDataset}, {@linkcode Subset}, and seeded
 * {@linkcode randomSplit} / {@linkcode trainValidationSplit}.
 *
 * A dataset hands out examples as host `Float32Array`s, never tensors: the
 * {@linkcode DataLoader} copies whole batches into one array and makes one tensor per batch.
 *
 * @example
 * ```ts
 * import { ArrayDataset, trainValidationSplit } from "./dataset.ts";
 * const ds = new ArrayDataset(new Float32Array(10 * 4), new Int32Array(10), [4]);
 * const { train, validation } = trainValidationSplit(ds, 0.2, { seed: 1 });
 * console.log(train.length, validation.length); // 8 2
 * ```
 *
 * @module
 */

import { DennError, IndexError, ShapeError, Tensor, ValueError } from "../../core/mod.ts";
import type { Generator } from "../../core/mod.ts";
import { checkOptions, describe, finiteOption, generatorOption, intOption } from "./options.ts";

/**
 * A malformed, truncated or unreadable data or checkpoint file; the message names the file and
 * the problem, and `cause` keeps the underlying error where there is one.
 */
export class DataFormatError extends DennError {
  /** Creates the error; `options.cause` keeps the error it wraps. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataFormatError";
  }
}

/** One example: its features (shape {@linkcode Dataset.shape}) and class label. */
export interface Example {
  /** Features, row-major. */
  x: Float32Array;
  /** Class index. */
  y: number;
}

/** A map-style dataset of fixed-shape float examples with integer labels. */
export interface Dataset {
  /** Number of examples. */
  readonly length: number;
  /** Shape of one example (e.g. `[1, 28, 28]`). */
  readonly shape: readonly number[];
  /** Number of classes, where known. */
  readonly numClasses?: number;
  /** Example `i` (0 <= i < length). */
  get(i: number): Example;
  /**
   * Optional fast path: writes example `i`'s features into `out` at `offset` and returns its
   * label, without allocating.
   */
  readInto?(i: number, out: Float32Array, offset: number): number;
}

function checkIndex(name: string, i: number, length: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    throw new IndexError(`${name}: index ${describe(i)} is out of range for ${length} examples`);
  }
}

function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Examples stored back to back in one host array. Bytes (`Uint8Array`) are scaled by `scale`
 * (e.g. 1/255) when read, so 60,000 MNIST images stay 47 MB.
 */
export class ArrayDataset implements Dataset {
  /** Number of examples. */
  readonly length: number;
  /** Shape of one example. */
  readonly shape: readonly number[];
  /** Number of classes (max label + 1 unless given). */
  readonly numClasses: number;
  /** Features of all examples. */
  readonly data: Float32Array | Uint8Array;
  /** Labels. */
  readonly labels: Int32Array;
  /** Factor applied to each stored value when read. */
  readonly scale: number;
  readonly #per: number;

  /** Wraps `data` (length × prod(shape) values) and `labels`. */
  constructor(
    data: Float32Array | Uint8Array,
    labels: Int32Array,
    shape: readonly number[],
    options: { scale?: number; numClasses?: number } = {},
  ) {
    const fn = "ArrayDataset";
    checkOptions(fn, options, ["scale", "numClasses"]);
    if (!(data instanceof Float32Array) && !(data instanceof Uint8Array)) {
      throw new ValueError(
        `${fn}: data must be a Float32Array or Uint8Array, got ${describe(data)}`,
      );
    }
    if (!(labels instanceof Int32Array)) {
      throw new ValueError(`${fn}: labels must be an Int32Array, got ${describe(labels)}`);
    }
    if (
      !Array.isArray(shape) || shape.length === 0 ||
      shape.some((d) => !Number.isSafeInteger(d) || d <= 0)
    ) {
      throw new ShapeError(
        `${fn}: the example shape must be a non-empty list of positive integers, got ${
          Array.isArray(shape) ? `[${shape}]` : describe(shape)
        }`,
      );
    }
    this.#per = sizeOfShape(shape);
    if (data.length !== labels.length * this.#per) {
      throw new ShapeError(
        `ArrayDataset: ${data.length} values do not hold ${labels.length} examples of shape [${shape}]`,
      );
    }
    this.data = data;
    this.labels = labels;
    this.shape = [...shape];
    this.length = labels.length;
    this.scale = finiteOption(fn, "scale", options.scale, 1);
    let max = -1;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (l < 0) throw new ValueError(`${fn}: label ${i} is negative (${l})`);
      if (l > max) max = l;
    }
    this.numClasses = intOption(
      fn,
      "numClasses",
      options.numClasses,
      max + 1,
      Math.max(1, max + 1),
    );
  }

  /** Example `i`; a view into the stored array when it holds unscaled floats. */
  get(i: number): Example {
    checkIndex("ArrayDataset.get", i, this.length);
    const p = this.#per;
    if (this.data instanceof Float32Array && this.scale === 1) {
      return { x: this.data.subarray(i * p, (i + 1) * p), y: this.labels[i] };
    }
    const x = new Float32Array(p);
    this.readInto(i, x, 0);
    return { x, y: this.labels[i] };
  }

  /** Copies example `i` (scaled) into `out` at `offset`; returns its label. */
  readInto(i: number, out: Float32Array, offset: number): number {
    const p = this.#per, src = this.data, s = this.scale, base = i * p;
    if (s === 1 && src instanceof Float32Array) out.set(src.subarray(base, base + p), offset);
    else for (let k = 0; k < p; k++) out[offset + k] = src[base + k] * s;
    return this.labels[i];
  }
}

/**
 * PyTorch's `TensorDataset` for classification: features `x` [N, ...] and int labels `y` [N].
 * The tensors are read back to the host once.
 */
export class TensorDataset extends ArrayDataset {
  /** Wraps features [N, ...] and labels [N]. */
  constructor(x: Tensor, y: Tensor) {
    if (!(x instanceof Tensor) || !(y instanceof Tensor)) {
      throw new ValueError("TensorDataset: expected two tensors (features and labels)");
    }
    if (y.ndim !== 1 || x.ndim < 1 || x.shape[0] !== y.shape[0]) {
      throw new ShapeError(
        `TensorDataset: features [${x.shape}] and labels [${y.shape}] must share their first dim`,
      );
    }
    const xs = x.dtype === "float32" ? x.dataSync() as Float32Array : x.float().dataSync();
    const ys = y.dtype === "int32" ? y.dataSync() as Int32Array : y.int().dataSync();
    super(xs as Float32Array, ys as Int32Array, x.ndim === 1 ? [1] : x.shape.slice(1));
  }
}

/** A view of some examples of another dataset. */
export class Subset implements Dataset {
  /** The underlying dataset. */
  readonly dataset: Dataset;
  /** Indices into it. */
  readonly indices: Int32Array;

  /** Selects `indices` of `dataset`. */
  constructor(dataset: Dataset, indices: ArrayLike<number>) {
    this.dataset = dataset;
    if (indices === null || typeof indices !== "object" || typeof indices.length !== "number") {
      throw new ValueError(
        `Subset: indices must be an array of integers, got ${describe(indices)}`,
      );
    }
    // Checked before the conversion to int32, which would turn 1.5 into 1 and NaN into 0.
    for (let k = 0; k < indices.length; k++) checkIndex("Subset", indices[k], dataset.length);
    this.indices = Int32Array.from(indices);
  }
  /** Number of examples. */
  get length(): number {
    return this.indices.length;
  }
  /** Shape of one example. */
  get shape(): readonly number[] {
    return this.dataset.shape;
  }
  /** Number of classes of the underlying dataset. */
  get numClasses(): number | undefined {
    return this.dataset.numClasses;
  }
  /** Example `i` of the subset. */
  get(i: number): Example {
    checkIndex("Subset.get", i, this.length);
    return this.dataset.get(this.indices[i]);
  }
  /** Copies example `i` into `out`; returns its label. */
  readInto(i: number, out: Float32Array, offset: number): number {
    const j = this.indices[i];
    if (this.dataset.readInto) return this.dataset.readInto(j, out, offset);
    const e = this.dataset.get(j);
    out.set(e.x, offset);
    return e.y;
  }
}

/** Options of the seeded splits. */
export interface SplitOptions {
  /** Generator to draw the permutation from (wins over `seed`). */
  generator?: Generator;
  /** Seed of a fresh generator (default 0). */
  seed?: number;
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, generator: Generator): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = generator.randint(0, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/**
 * Splits a dataset into non-overlapping random subsets, like `torch.utils.data.random_split`.
 * `lengths` are counts summing to the length, or fractions summing to 1 (remainders go to the
 * first subsets, one each).
 *
 * @example
 * ```ts
 * import { ArrayDataset, randomSplit } from "./dataset.ts";
 * const ds = new ArrayDataset(new Float32Array(10), new Int32Array(10), [1]);
 * const [a, b] = randomSplit(ds, [0.7, 0.3], { seed: 42 });
 * console.log(a.length, b.length); // 7 3
 * ```
 */
export function randomSplit(
  dataset: Dataset,
  lengths: readonly number[],
  options: SplitOptions = {},
): Subset[] {
  const n = dataset.length;
  let counts: number[];
  checkOptions("randomSplit", options, ["generator", "seed"]);
  const generator = generatorOption("randomSplit", options);
  if (!Array.isArray(lengths) || lengths.length === 0) {
    throw new ValueError(
      `randomSplit: lengths must be a non-empty array, got ${describe(lengths)}`,
    );
  }
  if (lengths.some((l) => typeof l !== "number" || !(l >= 0) || !Number.isFinite(l))) {
    throw new ValueError(`randomSplit: lengths must be finite and non-negative, got [${lengths}]`);
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.every((l) => l <= 1) && Math.abs(total - 1) < 1e-6 && total !== n) {
    counts = lengths.map((f) => Math.floor(f * n));
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]++;
  } else {
    if (lengths.some((l) => !Number.isInteger(l)) || total !== n) {
      throw new ValueError(
        `randomSplit: lengths [${lengths}] must be counts summing to the dataset length ${n} or fractions summing to 1`,
      );
    }
    counts = [...lengths];
  }
  const perm = permutation(n, generator);
  const out: Subset[] = [];
  let at = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, perm.subarray(at, at + c)));
    at += c;
  }
  return out;
}

/**
 * Holds out a validation set: `validation` is a fraction (< 1) or a count of examples.
 *
 * @example
 * ```ts
 * import { ArrayDataset, trainValidationSplit } from "./dataset.ts";
 * const ds = new ArrayDataset(new Float32Array(100), new Int32Array(100), [1]);
 * const { train, validation } = trainValidationSplit(ds, 20, { seed: 3 });
 * console.log(train.length, validation.length); // 80 20
 * ```
 */
export function trainValidationSplit(
  dataset: Dataset,
  validation: number,
  options: SplitOptions = {},
): { train: Subset; validation: Subset } {
  const n = dataset.length;
  checkOptions("trainValidationSplit", options, ["generator", "seed"]);
  if (typeof validation !== "number" || !(validation >= 0)) {
    throw new ValueError(
      `trainValidationSplit: validation must be a fraction in [0, 1) or a count <= ${n}, got ${
        describe(validation)
      }`,
    );
  }
  const v = validation < 1 ? Math.round(validation * n) : validation;
  if (!Number.isInteger(v) || v < 0 || v > n) {
    throw new ValueError(
      `trainValidationSplit: validation ${validation} must be a fraction < 1 or a count <= ${n}`,
    );
  }
  const [train, val] = randomSplit(dataset, [n - v, v], options);
  return { train, validation: val };
}
