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

export * from "./dataset.ts";
export * from "./idx.ts";
export * from "./cifar10.ts";
export * from "./digits.ts";
export * from "./transforms.ts";
export * from "./loader.ts";
