/**
 * Data plugin: datasets, readers for IDX (MNIST / Fashion-MNIST, plain or .gz) and CIFAR-10
 * binary files, the 10,000 embedded MNIST digits, seeded splits, transforms and the DataLoader.
 *
 * @example
 * ```ts ignore
 * import { DataLoader, loadDigits, normalize, trainValidationSplit } from "./mod.ts";
 * const digits = await loadDigits();
 * const { train, validation } = trainValidationSplit(digits, 2000, { seed: 0 });
 * const loader = new DataLoader(train, {
 *   batchSize: 64,
 *   shuffle: true,
 *   transforms: [normalize(0.1307, 0.3081)],
 * });
 * for (const { x, y } of loader) console.log(x.shape, y.shape); // [64, 1, 28, 28] [64]
 * ```
 *
 * @module
 */

import { definePlugin } from "../../core/mod.ts";
import type { Plugin } from "../../core/mod.ts";
import {
  ArrayDataset,
  randomSplit,
  Subset,
  TensorDataset,
  trainValidationSplit,
} from "./dataset.ts";
import { loadIdx } from "./idx.ts";
import { loadCifar10 } from "./cifar10.ts";
import { loadDigits } from "./digits.ts";
import { DataLoader } from "./loader.ts";

export * from "./dataset.ts";
export * from "./idx.ts";
export * from "./cifar10.ts";
export * from "./digits.ts";
export * from "./transforms.ts";
export * from "./loader.ts";

/** The data plugin (datasets and loaders). */
export const dataPlugin: Plugin = definePlugin({
  name: "@denn/data",
  kind: "dataset",
  version: "0.1.0",
  apiVersion: 1,
  description: "IDX, CIFAR-10 and embedded-digit datasets, splits, transforms and DataLoader",
  exports: {
    ArrayDataset,
    TensorDataset,
    Subset,
    randomSplit,
    trainValidationSplit,
    loadIdx,
    loadCifar10,
    loadDigits,
    DataLoader,
  },
});
