/**
 * The CIFAR-10 binary format: records of 1 label byte then 3,072 pixel bytes (3 × 32 × 32, channel
 * planes R, G, B). The file size must be a whole number of records and every label below 10.
 * Batch files may be gzip-compressed (`data_batch_1.bin.gz`, found by content, not by name); they
 * are decompressed as a stream that stops at `maxRecords` records (default 10,000, the size of
 * every official batch), so a small corrupt or malicious file cannot expand without bound. Only
 * regular files are read.
 *
 * @example
 * ```ts ignore
 * import { loadCifar10 } from "./cifar10.ts";
 * const train = await loadCifar10("cifar-10-batches-bin"); // data_batch_1..5.bin
 * const test = await loadCifar10("cifar-10-batches-bin", { split: "test" });
 * ```
 *
 * @module
 */

import { ValueError } from "../../core/mod.ts";
import { ArrayDataset, DataFormatError } from "./dataset.ts";
import { readFileHead, readRegularFile, statRegularFile } from "./files.ts";
import { gunzip, isGzip } from "./idx.ts";
import { checkOptions, choiceOption, describe, intOption } from "./options.ts";

/** Bytes per CIFAR-10 record. */
export const CIFAR10_RECORD_BYTES: number = 1 + 3 * 32 * 32;

/** Records per batch file of the official dataset (the default `maxRecords` of gzip input). */
export const CIFAR10_BATCH_RECORDS: number = 10_000;

/** CIFAR-10 class names, by label. */
export const CIFAR10_CLASSES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/**
 * Decodes one binary batch's bytes into pixels [N, 3, 32, 32] (bytes) and labels.
 *
 * @example
 * ```ts
 * import { CIFAR10_RECORD_BYTES, parseCifar10 } from "./cifar10.ts";
 * const bytes = new Uint8Array(2 * CIFAR10_RECORD_BYTES);
 * bytes[CIFAR10_RECORD_BYTES] = 7;
 * console.log(parseCifar10(bytes).labels); // Int32Array [0, 7]
 * ```
 */
export function parseCifar10(
  bytes: Uint8Array,
  name = "input",
): { pixels: Uint8Array; labels: Int32Array } {
  const R = CIFAR10_RECORD_BYTES;
  if (bytes.length === 0 || bytes.length % R !== 0) {
    throw new DataFormatError(
      `${name}: not a CIFAR-10 binary batch: ${bytes.length} bytes is not a whole number of ${R}-byte records`,
    );
  }
  const n = bytes.length / R;
  const pixels = new Uint8Array(n * (R - 1));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = bytes[i * R];
    if (l > 9) {
      throw new DataFormatError(`${name}: record ${i} has label ${l}, expected 0..9`);
    }
    labels[i] = l;
    pixels.set(bytes.subarray(i * R + 1, (i + 1) * R), i * (R - 1));
  }
  return { pixels, labels };
}

/** Options of {@linkcode loadCifar10}. */
export interface LoadCifar10Options {
  /**
   * With a directory: "train" (data_batch_1..5.bin, default) or "test" (test_batch.bin). Ignored
   * when `path` names batch files.
   */
  split?: "train" | "test";
  /**
   * Most records a gzip-compressed batch file may decompress to (default 10,000); decompression
   * stops with a `DataFormatError` beyond it.
   */
  maxRecords?: number;
}

/**
 * Reads one batch file (plain or gzip) and decodes it with {@linkcode parseCifar10}; `maxRecords`
 * caps the decompressed size of gzip input.
 */
export async function readCifar10(
  path: string,
  maxRecords: number = CIFAR10_BATCH_RECORDS,
): Promise<{ pixels: Uint8Array; labels: Int32Array }> {
  const R = CIFAR10_RECORD_BYTES, what = "CIFAR-10 batch";
  const size = await statRegularFile(path, what);
  const head = await readFileHead(path, 2, what);
  if (isGzip(head)) {
    const bytes = await gunzip(await readRegularFile(path, what), path, {
      maxBytes: maxRecords * R,
      limitName: `of ${maxRecords} CIFAR-10 records (maxRecords)`,
    });
    return parseCifar10(bytes, path);
  }
  if (size === 0 || size % R !== 0) {
    throw new DataFormatError(
      `${path}: not a CIFAR-10 binary batch: ${size} bytes is not a whole number of ${R}-byte records`,
    );
  }
  return parseCifar10(await readRegularFile(path, what), path);
}

/**
 * Loads CIFAR-10 from a batch file, a list of them, or the `cifar-10-batches-bin` directory, as a
 * dataset of [3, 32, 32] examples scaled to [0, 1].
 */
export async function loadCifar10(
  path: string | readonly string[],
  options: LoadCifar10Options = {},
): Promise<ArrayDataset> {
  const fn = "loadCifar10";
  checkOptions(fn, options, ["split", "maxRecords"]);
  const split = choiceOption(fn, "split", options.split, ["train", "test"], "train");
  const maxRecords = intOption(fn, "maxRecords", options.maxRecords, CIFAR10_BATCH_RECORDS, 1);
  let files: string[];
  if (typeof path !== "string") {
    if (
      !Array.isArray(path) || path.length === 0 ||
      path.some((p) => typeof p !== "string" || p === "")
    ) {
      throw new ValueError(
        `${fn}: path must be a directory, a batch file or a non-empty list of batch files, got ${
          describe(path)
        }`,
      );
    }
    files = [...path];
  } else {
    if (path === "") throw new ValueError(`${fn}: path must be a non-empty string`);
    let isDir = false;
    try {
      isDir = (await Deno.stat(path)).isDirectory;
    } catch (e) {
      throw new DataFormatError(`${path}: cannot read CIFAR-10 data (${(e as Error).message})`, {
        cause: e,
      });
    }
    files = !isDir
      ? [path]
      : split === "test"
      ? [`${path}/test_batch.bin`]
      : [1, 2, 3, 4, 5].map((i) => `${path}/data_batch_${i}.bin`);
  }
  const parts = await Promise.all(files.map((f) => readCifar10(f, maxRecords)));
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const pixels = new Uint8Array(n * (CIFAR10_RECORD_BYTES - 1));
  const labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * (CIFAR10_RECORD_BYTES - 1));
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  return new ArrayDataset(pixels, labels, [3, 32, 32], { scale: 1 / 255, numClasses: 10 });
}
