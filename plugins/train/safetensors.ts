/**
 * The [safetensors](https://github.com/huggingface/safetensors) format: an 8-byte little-endian
 * header length, a JSON header (`dtype`, `shape`, `data_offsets` per tensor, optional
 * `__metadata__` of strings), then the raw little-endian data. denn writes F32, F16, I32 and BOOL
 * and also reads I64 (as int32, range-checked), F64 and BF16 (as float32), so PyTorch's files load.
 *
 * Files are written atomically (a temp file in the same directory, synced, then renamed over the
 * target), and the header is fully validated — length, dtypes, shapes, offsets in bounds and
 * contiguous, shape × itemsize = byte length — before any data is touched.
 *
 * @example
 * ```ts ignore
 * import { load, save } from "./safetensors.ts";
 * import { nn } from "../../mod.ts";
 * const model = new nn.Linear(4, 2);
 * await save("linear.safetensors", model.stateDict(), { note: "hello" });
 * model.loadStateDict(await load("linear.safetensors"));
 * ```
 *
 * @module
 */

import { fromData, Tensor, ValueError } from "../../core/mod.ts";
import type { DType, TypedArray } from "../../core/mod.ts";
import { DataFormatError } from "../data/dataset.ts";

/** Tensors by name, as a state dict. */
export type TensorMap = Record<string, Tensor>;

/** String metadata stored in the header's `__metadata__`. */
export type Metadata = Record<string, string>;

/** Dtype codes denn reads (it writes only F32, F16, I32 and BOOL). */
export type SafetensorsDType = "F32" | "F16" | "I32" | "BOOL" | "I64" | "F64" | "BF16";

const ITEMSIZE: Record<SafetensorsDType, number> = {
  F32: 4,
  F16: 2,
  I32: 4,
  BOOL: 1,
  I64: 8,
  F64: 8,
  BF16: 2,
};
const CODE: Record<DType, SafetensorsDType> = {
  float32: "F32",
  float16: "F16",
  int32: "I32",
  bool: "BOOL",
};
/** The format's limit on the header size (100 MB). */
const MAX_HEADER = 100_000_000;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new ValueError("safetensors: denn supports only little-endian hosts");
}

/** A header entry. */
export interface TensorInfo {
  /** Element type. */
  dtype: SafetensorsDType;
  /** Dimensions. */
  shape: number[];
  /** [begin, end) in the data section. */
  data_offsets: [number, number];
}

/** Encodes tensors (read back from their devices) and metadata as safetensors bytes. */
export async function serialize(tensors: TensorMap, metadata?: Metadata): Promise<Uint8Array> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new ValueError(`safetensors: metadata "${k}" must be a string, got ${typeof v}`);
      }
    }
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t instanceof Tensor)) throw new ValueError(`safetensors: "${name}" is not a Tensor`);
    if (name === "__metadata__") throw new ValueError(`safetensors: "__metadata__" is reserved`);
    const data = await t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = {
      dtype: CODE[t.dtype],
      shape: [...t.shape],
      data_offsets: [at, at + bytes.length],
    };
    parts.push(bytes);
    at += bytes.length;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hbytes = enc.encode(json);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padded = Math.ceil(hbytes.length / 8) * 8;
  if (padded !== hbytes.length) {
    json += " ".repeat(padded - hbytes.length);
    hbytes = enc.encode(json);
  }
  const out = new Uint8Array(8 + hbytes.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let off = 8 + hbytes.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Parses and validates the header of safetensors bytes without touching the data. */
export function parseHeader(
  bytes: Uint8Array,
  name = "input",
): { entries: [string, TensorInfo][]; metadata: Metadata; dataStart: number } {
  const bad = (msg: string) => new DataFormatError(`${name}: invalid safetensors file: ${msg}`);
  if (bytes.length < 8) throw bad(`${bytes.length} bytes is too short for the header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    throw bad(`header length ${n} does not fit in the file (${bytes.length} bytes)`);
  }
  const hlen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + hlen)),
    );
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) {
    throw bad("header is not a JSON object");
  }
  const dataStart = 8 + hlen, dataLen = bytes.length - dataStart;
  let metadata: Metadata = {};
  const entries: [string, TensorInfo][] = [];
  for (const [key, v] of Object.entries(header as Record<string, unknown>)) {
    if (key === "__metadata__") {
      if (!v || typeof v !== "object" || Object.values(v).some((s) => typeof s !== "string")) {
        throw bad("__metadata__ must map strings to strings");
      }
      metadata = v as Metadata;
      continue;
    }
    const info = v as Partial<TensorInfo> | null;
    if (!info || typeof info !== "object") throw bad(`entry "${key}" is not an object`);
    if (typeof info.dtype !== "string" || !(info.dtype in ITEMSIZE)) {
      throw bad(
        `tensor "${key}" has unsupported dtype ${
          JSON.stringify(info.dtype)
        } (denn reads F32, F16, I32, BOOL, I64, F64, BF16)`,
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw bad(`tensor "${key}" has invalid shape ${JSON.stringify(shape)}`);
    }
    const off = info.data_offsets;
    if (
      !Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o)) ||
      off[0] < 0 || off[1] < off[0] || off[1] > dataLen
    ) {
      throw bad(
        `tensor "${key}" has data_offsets ${
          JSON.stringify(off)
        } outside the ${dataLen}-byte data section`,
      );
    }
    const need = shape.reduce((a: number, b: number) => a * b, 1) * ITEMSIZE[info.dtype];
    if (need !== off[1] - off[0]) {
      throw bad(
        `tensor "${key}" of ${info.dtype} [${shape}] needs ${need} bytes but data_offsets span ${
          off[1] - off[0]
        }`,
      );
    }
    entries.push([key, { dtype: info.dtype, shape, data_offsets: [off[0], off[1]] }]);
  }
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let at = 0;
  for (const [key, info] of sorted) {
    if (info.data_offsets[0] !== at) {
      throw bad(
        `tensor "${key}" starts at byte ${
          info.data_offsets[0]
        }, expected ${at} (data must be contiguous without overlaps or holes)`,
      );
    }
    at = info.data_offsets[1];
  }
  if (at !== dataLen) {
    throw bad(`the tensors cover ${at} bytes but the data section has ${dataLen}`);
  }
  return { entries, metadata, dataStart };
}

function decode(
  bytes: Uint8Array,
  start: number,
  info: TensorInfo,
  name: string,
  key: string,
): TypedArray {
  const [b, e] = info.data_offsets;
  const buf = bytes.buffer.slice(bytes.byteOffset + start + b, bytes.byteOffset + start + e);
  switch (info.dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F16":
      return new Float16Array(buf);
    case "BF16": {
      // bfloat16 is the upper half of a float32.
      const src = new Uint16Array(buf);
      const out = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case "I32":
      return new Int32Array(buf);
    case "BOOL": {
      const u = new Uint8Array(buf);
      for (let i = 0; i < u.length; i++) {
        if (u[i] > 1) {
          throw new DataFormatError(
            `${name}: tensor "${key}": BOOL byte ${i} is ${u[i]}, expected 0 or 1`,
          );
        }
      }
      return u;
    }
    case "F64":
      return Float32Array.from(new Float64Array(buf));
    case "I64": {
      const src = new BigInt64Array(buf);
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        if (v < -2147483648n || v > 2147483647n) {
          throw new DataFormatError(
            `${name}: tensor "${key}": I64 value ${v} at index ${i} does not fit int32`,
          );
        }
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** Decodes safetensors bytes into host tensors and metadata. */
export function deserialize(
  bytes: Uint8Array,
  options: { name?: string; device?: string } = {},
): { tensors: TensorMap; metadata: Metadata } {
  const name = options.name ?? "input";
  const { entries, metadata, dataStart } = parseHeader(bytes, name);
  const tensors: TensorMap = {};
  for (const [key, info] of entries) {
    tensors[key] = fromData(decode(bytes, dataStart, info, name, key), info.shape, {
      device: options.device,
    });
  }
  return { tensors, metadata };
}

/** Options of {@linkcode save}. */
export interface SaveOptions {
  /**
   * Called after the temp file is fully written and synced, just before the rename: a hook for
   * fault-injection tests (throwing here leaves the previous file untouched).
   */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/** Writes bytes to `path` atomically: temp file in the same directory, fsync, rename. */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  options: SaveOptions = {},
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const tmp = `${dir}.${path.slice(slash + 1)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.syncData();
    } finally {
      f.close();
    }
    await options.beforeRename?.(tmp);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Saves tensors (a state dict) and optional string metadata to a safetensors file, atomically.
 *
 * @example
 * ```ts ignore
 * import { save } from "./safetensors.ts";
 * import { tensor } from "../../mod.ts";
 * await save("t.safetensors", { w: tensor([[1, 2], [3, 4]]) }, { epoch: "3" });
 * ```
 */
export async function save(
  path: string,
  stateDict: TensorMap,
  metadata?: Metadata,
  options: SaveOptions = {},
): Promise<void> {
  await writeAtomic(path, await serialize(stateDict, metadata), options);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read safetensors file (${(e as Error).message})`);
  }
}

/**
 * Loads a safetensors file as a state dict of host tensors (`device` moves them).
 *
 * @example
 * ```ts ignore
 * import { load } from "./safetensors.ts";
 * const sd = await load("model.safetensors");
 * ```
 */
export async function load(path: string, options: { device?: string } = {}): Promise<TensorMap> {
  return deserialize(await readBytes(path), { name: path, device: options.device }).tensors;
}

/** Loads a safetensors file's tensors and its `__metadata__`. */
export async function loadWithMetadata(
  path: string,
  options: { device?: string } = {},
): Promise<{ tensors: TensorMap; metadata: Metadata }> {
  return deserialize(await readBytes(path), { name: path, device: options.device });
}
