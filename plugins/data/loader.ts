/**
 * `DataLoader`: batches a {@linkcode Dataset} into tensors, with a seeded shuffle (its own core
 * `Generator`, whose state a checkpoint saves), `dropLast` and per-example transforms. Each batch
 * is built in one `Float32Array` and becomes one tensor — no tensor per example.
 *
 * @example
 * ```ts
 * import "../cpu/mod.ts";
 * import { ArrayDataset, DataLoader } from "./mod.ts";
 * const ds = new ArrayDataset(new Float32Array(10 * 4), new Int32Array(10), [4]);
 * const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 });
 * for (const { x, y } of loader) console.log(x.shape, y.dtype); // [4, 4] int32 … [2, 4] int32
 * ```
 *
 * @module
 */

import { fromData, ValueError } from "../../core/mod.ts";
import type { Generator, Tensor } from "../../core/mod.ts";
import { permutation } from "./dataset.ts";
import {
  boolOption,
  checkOptions,
  describe,
  generatorOption,
  intOption,
  stringOption,
} from "./options.ts";
import type { Dataset } from "./dataset.ts";
import type { Transform } from "./transforms.ts";

/** One batch. */
export interface Batch {
  /** Features [B, ...example shape], float32. */
  x: Tensor;
  /** Labels [B], int32. */
  y: Tensor;
}

/** Options of {@linkcode DataLoader}. */
export interface DataLoaderOptions {
  /** Examples per batch (default 1). */
  batchSize?: number;
  /** Reshuffle every epoch (default false). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Seed of the loader's generator (default 0). */
  seed?: number;
  /** Generator for shuffling and random transforms (wins over `seed`). */
  generator?: Generator;
  /** Per-example transforms, applied in order. */
  transforms?: readonly Transform[];
  /** Device of the batch tensors (default "cpu"). */
  device?: string;
}

/** Iterates over a dataset in batches; each `for … of` is one epoch. */
export class DataLoader implements Iterable<Batch> {
  /** The dataset. */
  readonly dataset: Dataset;
  /** Examples per batch. */
  readonly batchSize: number;
  /** Whether each epoch is shuffled. */
  readonly shuffle: boolean;
  /** Whether the last incomplete batch is dropped. */
  readonly dropLast: boolean;
  /** Generator for shuffling and transforms; its state is part of a training checkpoint. */
  readonly generator: Generator;
  /** Per-example transforms. */
  readonly transforms: readonly Transform[];
  /** Device of the batches. */
  device: string;

  /** Creates a loader over `dataset`. */
  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const fn = "DataLoader";
    checkOptions(fn, options, [
      "batchSize",
      "shuffle",
      "dropLast",
      "seed",
      "generator",
      "transforms",
      "device",
    ]);
    if (
      dataset === null || typeof dataset !== "object" || typeof dataset.get !== "function" ||
      !Number.isSafeInteger(dataset.length) || dataset.length < 0 || !Array.isArray(dataset.shape)
    ) {
      throw new ValueError(
        `${fn}: expected a Dataset (length, shape and get(i)), got ${describe(dataset)}`,
      );
    }
    const bs = intOption(fn, "batchSize", options.batchSize, 1, 1);
    if (dataset.length === 0) throw new ValueError(`${fn}: the dataset is empty`);
    this.dataset = dataset;
    this.batchSize = bs;
    this.shuffle = boolOption(fn, "shuffle", options.shuffle, false);
    this.dropLast = boolOption(fn, "dropLast", options.dropLast, false);
    if (this.dropLast && bs > dataset.length) {
      throw new ValueError(
        `${fn}: dropLast with batchSize ${bs} > ${dataset.length} examples would give no batches`,
      );
    }
    this.generator = generatorOption(fn, options);
    const transforms = options.transforms ?? [];
    if (
      !Array.isArray(transforms) ||
      transforms.some((t) => t === null || typeof t !== "object" || typeof t.apply !== "function")
    ) {
      throw new ValueError(
        `${fn}: transforms must be an array of transforms (objects with apply()), got ${
          describe(transforms)
        }`,
      );
    }
    this.transforms = transforms;
    this.device = stringOption(fn, "device", options.device) ?? "cpu";
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Examples per epoch (after `dropLast`). */
  get numExamples(): number {
    return this.dropLast ? this.length * this.batchSize : this.dataset.length;
  }

  /** One epoch of batches (the order is drawn when iteration starts). */
  *[Symbol.iterator](): Iterator<Batch> {
    const ds = this.dataset, n = ds.length;
    const order = this.shuffle ? permutation(n, this.generator) : null;
    const shape = ds.shape;
    const per = shape.reduce((a, b) => a * b, 1);
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize, size = Math.min(this.batchSize, n - start);
      const xs = new Float32Array(size * per);
      const ys = new Int32Array(size);
      for (let k = 0; k < size; k++) {
        const i = order ? order[start + k] : start + k;
        if (ds.readInto) ys[k] = ds.readInto(i, xs, k * per);
        else {
          const e = ds.get(i);
          xs.set(e.x, k * per);
          ys[k] = e.y;
        }
        if (this.transforms.length) {
          const view = xs.subarray(k * per, (k + 1) * per);
          for (const t of this.transforms) t.apply(view, shape, this.generator);
        }
      }
      yield {
        x: fromData(xs, [size, ...shape], { device: this.device }),
        y: fromData(ys, [size], { device: this.device }),
      };
    }
  }
}
