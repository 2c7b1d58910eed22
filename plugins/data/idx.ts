/**
 * The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed (decompressed with the
 * built-in `DecompressionStream`). The header is validated — magic number, dtype code, dims and
 * the exact data length — and errors name the file and the problem.
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

import { ArrayDataset, DataFormatError } from "./dataset.ts";

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

/** Decompresses gzip bytes with the web-standard `DecompressionStream`. */
export async function gunzip(bytes: Uint8Array, name = "input"): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataFormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
  }
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
  if (bytes.length < 4) {
    throw new DataFormatError(`${name}: not an IDX file (${bytes.length} bytes, no header)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFormatError(
      `${name}: not an IDX file (magic number starts with ${hex(bytes[0])} ${
        hex(bytes[1])
      }, expected 00 00)`,
    );
  }
  const code = CODES[bytes[2]];
  if (!code) {
    throw new DataFormatError(
      `${name}: unknown IDX dtype code ${hex(bytes[2])} (expected 08, 09, 0b, 0c, 0d or 0e)`,
    );
  }
  const [dtype, itemsize] = code;
  const ndim = bytes[3];
  if (ndim === 0) throw new DataFormatError(`${name}: IDX header declares 0 dimensions`);
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new DataFormatError(
      `${name}: truncated IDX header (${bytes.length} bytes, ${ndim} dims need ${headerLen})`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    if (n === 0 || n > 0x7fffffff) {
      throw new DataFormatError(`${name}: IDX dimension ${d} has invalid size ${n}`);
    }
    shape.push(n);
    count *= n;
  }
  const expected = headerLen + count * itemsize;
  if (bytes.length !== expected) {
    throw new DataFormatError(
      `${name}: IDX data length mismatch: header [${shape.join(", ")}] of ${dtype} needs ${
        expected - headerLen
      } data bytes, file has ${bytes.length - headerLen}`,
    );
  }
  const off = headerLen;
  let data: IdxArray["data"];
  switch (dtype) {
    case "uint8":
      data = bytes.slice(off, off + count);
      break;
    case "int8":
      data = new Int8Array(bytes.slice(off, off + count).buffer);
      break;
    case "int16":
      data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(off + 2 * i, false);
      break;
    case "int32":
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(off + 4 * i, false);
      break;
    case "float32":
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(off + 4 * i, false);
      break;
    case "float64":
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(off + 8 * i, false);
      break;
  }
  return { dtype, shape, data };
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, "0");
}

/** Reads an IDX file, gunzipping it when it is gzip-compressed (by content, not by name). */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read IDX file (${(e as Error).message})`);
  }
  if (isGzip(bytes)) bytes = await gunzip(bytes, path);
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
  /** Stop after this many examples. */
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
  const labelsPath = options.labels ?? labelsPathFor(imagesPath);
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
  const n = Math.min(images.shape[0], options.limit ?? Infinity);
  return new ArrayDataset(
    (images.data as Uint8Array).subarray(0, n * per),
    Int32Array.from(labels.data.subarray(0, n)),
    shape,
    { scale: 1 / 255 },
  );
}
