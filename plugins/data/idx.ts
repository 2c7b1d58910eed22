/**
 * The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed (decompressed with the
 * built-in `DecompressionStream`). The header is validated — magic number, dtype code, dims and
 * the exact data length — and errors name the file and the problem.
 *
 * Reading is bounded by the header: a plain file's size is compared with the size its header
 * declares before the data is read, and gzip data is decompressed as a stream that stops (with a
 * `DataFormatError`) as soon as the output exceeds the size the header in its first bytes declares,
 * so a small corrupt or malicious `.gz` never expands in memory. Only regular files are read: a
 * FIFO, a device such as `/dev/zero` or a directory is rejected before any read.
 *
 * @example
 * ```ts ignore
 * import { loadIdx } from "./idx.ts";
 * const train = await loadIdx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
 * console.log(train.length, train.shape); // 60000 [1, 28, 28]
 * ```
 *
 * @module
 */

import { ValueError } from "../../core/mod.ts";
import { ArrayDataset, DataFormatError } from "./dataset.ts";
import { readFileHead, readRegularFile, statRegularFile } from "./files.ts";
import { checkOptions, intOption, stringOption } from "./options.ts";

/** Element types of IDX files. */
export type IdxDType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

/** A decoded IDX array. */
export interface IdxArray {
  /** Element type. */
  dtype: IdxDType;
  /** Dimensions. */
  shape: number[];
  /** Elements, row-major (big-endian values converted to host order). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const CODES: Record<number, [IdxDType, number]> = {
  0x08: ["uint8", 1],
  0x09: ["int8", 1],
  0x0b: ["int16", 2],
  0x0c: ["int32", 4],
  0x0d: ["float32", 4],
  0x0e: ["float64", 8],
};

/** Whether bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Options of {@linkcode gunzip}. */
export interface GunzipOptions {
  /**
   * The most bytes the data may decompress to: a number, or a function of the first decompressed
   * bytes (called as they arrive, at most {@linkcode GUNZIP_HEAD_BYTES} of them) that returns the
   * limit once a header in them declares it, `undefined` while it needs more bytes, and throws
   * when the header is invalid. Decompression stops with a `DataFormatError` as soon as the
   * output exceeds the limit, so a small "zip bomb" never expands in memory.
   */
  maxBytes?: number | ((head: Uint8Array) => number | undefined);
  /** What the limit is, for the message (default "the limit"). */
  limitName?: string;
}

/** Bytes of decompressed output handed to a {@linkcode GunzipOptions.maxBytes} function. */
export const GUNZIP_HEAD_BYTES = 1024;

/** Compressed bytes fed to the decompressor at a time: bounds each output chunk (~16 MB). */
const GUNZIP_INPUT_CHUNK = 16 * 1024;

/**
 * Decompresses gzip bytes with the web-standard `DecompressionStream`, streaming, so that output
 * beyond `options.maxBytes` is never produced. Corrupt data, trailing bytes after the gzip member
 * and output over the limit throw a `DataFormatError` naming `name`.
 */
export async function gunzip(
  bytes: Uint8Array,
  name = "input",
  options: GunzipOptions = {},
): Promise<Uint8Array> {
  let at = 0;
  const input = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(c) {
      if (at >= bytes.length) c.close();
      else {
        c.enqueue(bytes.slice(at, at + GUNZIP_INPUT_CHUNK));
        at += GUNZIP_INPUT_CHUNK;
      }
    },
  }, { highWaterMark: 0 });
  const reader = input.pipeThrough<Uint8Array>(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cap = typeof options.maxBytes === "number" ? options.maxBytes : undefined;
  const capFn = typeof options.maxBytes === "function" ? options.maxBytes : undefined;
  let head = new Uint8Array(0);
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw new DataFormatError(`${name}: corrupt gzip data (${(e as Error).message})`, {
          cause: e,
        });
      }
      if (r.done) break;
      const chunk = r.value;
      chunks.push(chunk);
      total += chunk.length;
      if (cap === undefined && capFn && head.length < GUNZIP_HEAD_BYTES) {
        const h = new Uint8Array(Math.min(GUNZIP_HEAD_BYTES, head.length + chunk.length));
        h.set(head);
        h.set(chunk.subarray(0, h.length - head.length), head.length);
        head = h;
        cap = capFn(head);
      }
      if (cap !== undefined && total > cap) {
        throw new DataFormatError(
          `${name}: gzip data decompresses to more than the ${cap} bytes ${
            options.limitName ?? "of the limit"
          }; stopped after ${total}`,
        );
      }
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** The header of an IDX file. */
export interface IdxHeader {
  /** Element type. */
  dtype: IdxDType;
  /** Bytes per element. */
  itemsize: number;
  /** Dimensions. */
  shape: number[];
  /** Bytes of the header (4 + 4 × dims). */
  headerBytes: number;
  /** Bytes of the whole file the header declares (header + data). */
  fileBytes: number;
}

/**
 * Decodes and validates an IDX header from the first bytes of a file; returns `undefined` when
 * `bytes` is too short to hold the whole header (and `final` is false).
 */
export function parseIdxHeader(
  bytes: Uint8Array,
  name = "input",
  final = true,
): IdxHeader | undefined {
  if ((bytes.length >= 1 && bytes[0] !== 0) || (bytes.length >= 2 && bytes[1] !== 0)) {
    throw new DataFormatError(
      `${name}: not an IDX file (magic number starts with ${hex(bytes[0])} ${
        hex(bytes[1])
      }, expected 00 00)`,
    );
  }
  if (bytes.length >= 3 && !CODES[bytes[2]]) {
    throw new DataFormatError(
      `${name}: unknown IDX dtype code ${hex(bytes[2])} (expected 08, 09, 0b, 0c, 0d or 0e)`,
    );
  }
  if (bytes.length >= 4 && bytes[3] === 0) {
    throw new DataFormatError(`${name}: IDX header declares 0 dimensions`);
  }
  if (bytes.length < 4) {
    if (!final) return undefined;
    throw new DataFormatError(`${name}: not an IDX file (${bytes.length} bytes, no header)`);
  }
  const [dtype, itemsize] = CODES[bytes[2]];
  const ndim = bytes[3];
  const headerBytes = 4 + 4 * ndim;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim && 8 + 4 * d <= bytes.length; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    if (n === 0 || n > 0x7fffffff) {
      throw new DataFormatError(`${name}: IDX dimension ${d} has invalid size ${n}`);
    }
    shape.push(n);
    count *= n;
  }
  if (bytes.length < headerBytes) {
    if (!final) return undefined;
    throw new DataFormatError(
      `${name}: truncated IDX header (${bytes.length} bytes, ${ndim} dims need ${headerBytes})`,
    );
  }
  const fileBytes = headerBytes + count * itemsize;
  if (!Number.isSafeInteger(fileBytes)) {
    throw new DataFormatError(
      `${name}: IDX header [${shape.join(", ")}] of ${dtype} declares more than 2^53 bytes`,
    );
  }
  return { dtype, itemsize, shape, headerBytes, fileBytes };
}

/** Copies `count` big-endian items of `size` bytes into a new buffer in host (little-endian) order. */
function fromBigEndian(bytes: Uint8Array, off: number, count: number, size: number): ArrayBuffer {
  const out = new Uint8Array(count * size);
  if (size === 1) out.set(bytes.subarray(off, off + count));
  else {
    for (let i = 0, p = off; i < count; i++, p += size) {
      for (let k = 0; k < size; k++) out[i * size + k] = bytes[p + size - 1 - k];
    }
  }
  return out.buffer;
}

/**
 * Decodes IDX bytes (already decompressed). `name` labels errors.
 *
 * @example
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
 * console.log(parseIdx(bytes, "labels").data); // Uint8Array [7, 9]
 * ```
 */
export function parseIdx(bytes: Uint8Array, name = "input"): IdxArray {
  const h = parseIdxHeader(bytes, name)!;
  const { dtype, shape, headerBytes: off, fileBytes: expected } = h;
  if (bytes.length !== expected) {
    throw new DataFormatError(
      `${name}: IDX data length mismatch: header [${shape.join(", ")}] of ${dtype} needs ${
        expected - off
      } data bytes, file has ${bytes.length - off}`,
    );
  }
  const count = (expected - off) / h.itemsize;
  const buf = fromBigEndian(bytes, off, count, h.itemsize);
  let data: IdxArray["data"];
  switch (dtype) {
    case "uint8":
      data = new Uint8Array(buf);
      break;
    case "int8":
      data = new Int8Array(buf);
      break;
    case "int16":
      data = new Int16Array(buf);
      break;
    case "int32":
      data = new Int32Array(buf);
      break;
    case "float32":
      data = new Float32Array(buf);
      break;
    case "float64":
      data = new Float64Array(buf);
      break;
  }
  return { dtype, shape, data };
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, "0");
}

/**
 * Reads an IDX file, gunzipping it when it is gzip-compressed (by content, not by name). Only
 * regular files are read; a plain file's size is checked against its header before the data is
 * read, and gzip data is decompressed only up to the size its header declares.
 */
export async function readIdx(path: string): Promise<IdxArray> {
  const size = await statRegularFile(path, "IDX file");
  const head = await readFileHead(path, GUNZIP_HEAD_BYTES, "IDX file");
  let bytes: Uint8Array;
  if (isGzip(head)) {
    bytes = await gunzip(await readRegularFile(path, "IDX file"), path, {
      maxBytes: (h) => parseIdxHeader(h, path, false)?.fileBytes,
      limitName: "its IDX header declares",
    });
  } else {
    const h = parseIdxHeader(head, path, head.length === size)!;
    if (h.fileBytes !== size) {
      throw new DataFormatError(
        `${path}: IDX data length mismatch: header [${h.shape.join(", ")}] of ${h.dtype} needs ${
          h.fileBytes - h.headerBytes
        } data bytes, file has ${size - h.headerBytes}`,
      );
    }
    bytes = await readRegularFile(path, "IDX file");
  }
  return parseIdx(bytes, path);
}

/**
 * The labels file that goes with an images file by MNIST's naming convention:
 * `train-images-idx3-ubyte.gz` → `train-labels-idx1-ubyte.gz`, `t10k-images.idx3-ubyte` →
 * `t10k-labels.idx1-ubyte`. Returns null when the name does not follow it.
 *
 * @example
 * ```ts
 * import { labelsPathFor } from "./idx.ts";
 * console.log(labelsPathFor("data/train-images-idx3-ubyte.gz")); // "data/train-labels-idx1-ubyte.gz"
 * ```
 */
export function labelsPathFor(imagesPath: string): string | null {
  const slash = imagesPath.lastIndexOf("/") + 1;
  const dir = imagesPath.slice(0, slash), base = imagesPath.slice(slash);
  if (!base.includes("images")) return null;
  return dir + base.replace("images", "labels").replace("idx3", "idx1");
}

/** Options of {@linkcode loadIdx}. */
export interface LoadIdxOptions {
  /** Labels file (default: found by {@linkcode labelsPathFor}). */
  labels?: string;
  /** Load at most this many examples (a positive integer; omit it to load all). */
  limit?: number;
}

/**
 * Loads an IDX images file ([N, H, W] or [N, C, H, W] of uint8) and its labels ([N] uint8) as a
 * dataset of examples [C, H, W] scaled to [0, 1].
 */
export async function loadIdx(
  imagesPath: string,
  options: LoadIdxOptions = {},
): Promise<ArrayDataset> {
  checkOptions("loadIdx", options, ["labels", "limit"]);
  if (typeof imagesPath !== "string" || imagesPath === "") {
    throw new ValueError(`loadIdx: the images path must be a non-empty string`);
  }
  const limit = intOption("loadIdx", "limit", options.limit, Infinity, 1);
  const labelsPath = stringOption("loadIdx", "labels", options.labels) ?? labelsPathFor(imagesPath);
  if (!labelsPath) {
    throw new DataFormatError(
      `${imagesPath}: cannot guess the labels file (name lacks "images"); pass the labels path`,
    );
  }
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  if (images.dtype !== "uint8" || (images.shape.length !== 3 && images.shape.length !== 4)) {
    throw new DataFormatError(
      `${imagesPath}: expected uint8 images [N, H, W] or [N, C, H, W], got ${images.dtype} [${images.shape}]`,
    );
  }
  if (labels.shape.length !== 1 || (labels.dtype !== "uint8" && labels.dtype !== "int32")) {
    throw new DataFormatError(
      `${labelsPath}: expected labels [N] of uint8 or int32, got ${labels.dtype} [${labels.shape}]`,
    );
  }
  if (labels.shape[0] !== images.shape[0]) {
    throw new DataFormatError(
      `${labelsPath}: ${labels.shape[0]} labels for ${images.shape[0]} images in ${imagesPath}`,
    );
  }
  const shape = images.shape.length === 3 ? [1, ...images.shape.slice(1)] : images.shape.slice(1);
  const per = shape.reduce((a, b) => a * b, 1);
  const n = Math.min(images.shape[0], limit);
  const y = Int32Array.from(labels.data.subarray(0, n));
  for (let i = 0; i < n; i++) {
    if (y[i] < 0) throw new DataFormatError(`${labelsPath}: label ${i} is negative (${y[i]})`);
  }
  return new ArrayDataset(
    (images.data as Uint8Array).subarray(0, n * per),
    y,
    shape,
    { scale: 1 / 255 },
  );
}
