/**
 * The [safetensors](https://github.com/huggingface/safetensors) format: an 8-byte little-endian
 * header length, a JSON header (`dtype`, `shape`, `data_offsets` per tensor, optional
 * `__metadata__` of strings), then the raw little-endian data. denn writes F32, F16, I32 and BOOL
 * and also reads I64 (as int32, range-checked), F64 (as float32, range-checked) and BF16 (as
 * float32, exact), so PyTorch's files load.
 *
 * Files are written atomically: a temp file in the same directory (`.NAME.PID.RANDOM.tmp`),
 * written in full and fsynced, then renamed over the target, then the directory fsynced. A failed
 * write throws a {@linkcode FileWriteError} naming the target path, with the file-system error as
 * `cause` (e.g. "No space left on device"), and leaves the previous file untouched.
 *
 * Reading is at least as strict as the reference implementation (the Rust `safetensors` crate)
 * and validates the whole header before any data is touched. A `DataFormatError` naming the file
 * and the problem is thrown for:
 * - a file under 8 bytes, a header length over 100,000,000 bytes or past the end of the file;
 * - a header that is not UTF-8, starts with a byte-order mark, is not exactly one JSON object
 *   (trailing spaces are the padding writers add; anything else after it is rejected), nests
 *   deeper than 64 levels or repeats a key in any object (JSON parsers differ on which duplicate
 *   wins, so a file with one is ambiguous);
 * - a `__metadata__` that is not an object of string values;
 * - a tensor entry that is not an object with exactly `dtype`, `shape` and `data_offsets`; a dtype
 *   denn does not read; a shape or offset that is not a non-negative integer literal (`4.0`,
 *   `4e0`, `-0` and values past 2^53 are rejected);
 * - offsets with begin > end, a byte span that is not shape × itemsize, tensors whose data overlap
 *   or leave a gap (in offset order; the order of keys in the header does not matter), or data
 *   that does not end exactly at the end of the file;
 * - values denn cannot represent exactly in the dtype it loads them as: a BOOL byte other than
 *   0/1, an I64 outside int32, and an F64 value whose magnitude overflows float32 (a finite F64
 *   would otherwise silently become ±Infinity). F64 values inside the float32 range are rounded
 *   to the nearest float32, as `tensor.float()` does in PyTorch (tiny values may flush to zero);
 *   F64 NaN and ±Infinity stay NaN and ±Infinity.
 *
 * Where the reference is more lenient denn rejects: it accepts duplicate keys (keeping one of
 * them), unknown fields in a tensor entry and a `null` `__metadata__`. Every file denn reads, the
 * reference reads with the same data (`tools/check_safetensors_fuzz.py` compares the two on the
 * fuzz corpus of `tests/train/safetensors_fuzz_test.ts`).
 *
 * A path that is not a regular file (a FIFO, a device, a directory) is rejected before reading.
 *
 * This file holds the encoding and decoding of tensors, `save` and `load`; the header's parsing
 * and validation are in `safetensors_header.ts` (its strict JSON parser in `_strict_json.ts`), the
 * atomic writes in `atomic_write.ts`.
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
import { readRegularFile } from "../data/files.ts";
import { writeAtomic } from "./atomic_write.ts";
import type { SaveOptions } from "./atomic_write.ts";
import { parseHeader } from "./safetensors_header.ts";
import type { Metadata, SafetensorsDType, TensorInfo } from "./safetensors_header.ts";

/** Tensors by name, as a state dict. */
export type TensorMap = Record<string, Tensor>;

const CODE: Record<DType, SafetensorsDType> = {
  float32: "F32",
  float16: "F16",
  int32: "I32",
  bool: "BOOL",
};

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new ValueError("safetensors: denn supports only little-endian hosts");
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
    case "F64": {
      const src = new Float64Array(buf);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i], f = Math.fround(v);
        if (f === Infinity || f === -Infinity) {
          if (Number.isFinite(v)) {
            throw new DataFormatError(
              `${name}: tensor "${key}": F64 value ${v} at index ${i} overflows float32 (largest ±3.4028234663852886e38)`,
            );
          }
        }
        out[i] = f;
      }
      return out;
    }
    case "I64": {
      const src = new BigInt64Array(buf);
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        if (v < -2147483648n || v > 2147483647n) {
          throw new DataFormatError(
            `${name}: tensor "${key}": I64 value ${v} at index ${i} does not fit int32 (denn ` +
              `loads I64 tensors, such as PyTorch's num_batches_tracked and index buffers, as ` +
              `int32: -2147483648 to 2147483647)`,
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
  // Object.fromEntries defines own properties, so a tensor named "__proto__" stays a tensor.
  const tensors: TensorMap = Object.fromEntries(entries.map(([key, info]) => [
    key,
    fromData(decode(bytes, dataStart, info, name, key), info.shape, { device: options.device }),
  ]));
  return { tensors, metadata };
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

function readBytes(path: string): Promise<Uint8Array> {
  return readRegularFile(path, "safetensors file");
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
