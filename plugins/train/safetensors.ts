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

import { DennError, fromData, Tensor, ValueError } from "../../core/mod.ts";
import type { DType, TypedArray } from "../../core/mod.ts";
import { DataFormatError } from "../data/dataset.ts";
import { readRegularFile } from "../data/files.ts";

/**
 * Writing a file failed (no space left, no permission, a missing directory, ...); the message
 * names the target path and the step, and `cause` keeps the file-system error.
 */
export class FileWriteError extends DennError {
  /** Creates the error; `options.cause` keeps the error it wraps. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileWriteError";
  }
}

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

/** A JSON number literal with a fraction or an exponent (never valid in a safetensors header). */
class NonInteger {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

class JsonError extends Error {}

const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 64;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * A strict JSON parser for headers: objects become `Map`s (so duplicate keys are detected and a key
 * such as `__proto__` is an ordinary key), integer literals numbers, other number literals
 * {@linkcode NonInteger}s. Throws a `JsonError` for anything RFC 8259 does not allow, for lone
 * surrogate escapes and for duplicate keys.
 */
function parseStrictJson(s: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonError(`${what} at character ${i}`);
  };
  const ws = () => {
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
  };
  const hex4 = (): number => {
    const h = s.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("invalid \\u escape");
    i += 4;
    return parseInt(h, 16);
  };
  const str = (): string => {
    i++; // opening quote
    let out = "", from = i;
    for (;;) {
      if (i >= s.length) fail("unterminated string");
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(from, i++);
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(from, i);
      const e = s[i + 1];
      i += 2;
      if (e !== undefined && Object.hasOwn(ESCAPES, e)) out += ESCAPES[e];
      else if (e === "u") {
        const u = hex4();
        if (u >= 0xdc00 && u <= 0xdfff) fail("lone low surrogate escape");
        if (u >= 0xd800 && u <= 0xdbff) {
          if (s[i] !== "\\" || s[i + 1] !== "u") fail("lone high surrogate escape");
          i += 2;
          const lo = hex4();
          if (lo < 0xdc00 || lo > 0xdfff) fail("lone high surrogate escape");
          out += String.fromCharCode(u, lo);
        } else out += String.fromCharCode(u);
      } else fail("invalid escape");
      from = i;
    }
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    ws();
    const c = s[i];
    if (c === "{") {
      i++;
      const map = new Map<string, unknown>();
      ws();
      if (s[i] === "}") {
        i++;
        return map;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail("expected a string key");
        const at = i;
        const k = str();
        if (map.has(k)) {
          i = at;
          fail(`duplicate key ${JSON.stringify(k)}`);
        }
        ws();
        if (s[i] !== ":") fail('expected ":"');
        i++;
        map.set(k, value(depth + 1));
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "}") {
          i++;
          return map;
        } else fail('expected "," or "}"');
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (s[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "]") {
          i++;
          return arr;
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) {
      JSON_NUMBER.lastIndex = i;
      const m = JSON_NUMBER.exec(s);
      if (!m) return fail("invalid number");
      i += m[0].length;
      return m[1] !== undefined || m[2] !== undefined ? new NonInteger(m[0]) : Number(m[0]);
    }
    for (const [lit, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (s.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return fail(c === undefined ? "unexpected end" : `unexpected character ${JSON.stringify(c)}`);
  };
  const v = value(0);
  ws();
  if (i !== s.length) fail("unexpected data after the JSON value");
  return v;
}

/** JSON text of a parsed header value, for messages. */
function show(v: unknown): string {
  const text = JSON.stringify(v, (_k, x) => x instanceof Map ? Object.fromEntries(x) : x);
  return text === undefined ? String(v) : text.length > 80 ? text.slice(0, 80) + "…" : text;
}

/** A non-negative integer literal below 2^53 (`-0` is a float to the reference parser, too). */
function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0);
}

const ENTRY_FIELDS = ["dtype", "shape", "data_offsets"];

/** Parses and validates the header of safetensors bytes without touching the data. */
export function parseHeader(
  bytes: Uint8Array,
  name = "input",
): { entries: [string, TensorInfo][]; metadata: Metadata; dataStart: number } {
  const bad = (msg: string, cause?: unknown) =>
    new DataFormatError(`${name}: invalid safetensors file: ${msg}`, cause ? { cause } : undefined);
  if (bytes.length < 8) throw bad(`${bytes.length} bytes is too short for the header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) {
    throw bad(`header length ${n} is over the format's limit of ${MAX_HEADER} bytes`);
  }
  if (n < 2n || n > BigInt(bytes.length - 8)) {
    throw bad(`header length ${n} does not fit in the file (${bytes.length} bytes)`);
  }
  const hlen = Number(n);
  if (bytes[8] === 0xef && bytes[9] === 0xbb && bytes[10] === 0xbf) {
    throw bad("the header starts with a UTF-8 byte-order mark (the format allows none)");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + hlen),
    );
  } catch (e) {
    throw bad("header is not valid UTF-8", e);
  }
  let header: unknown;
  try {
    header = parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    throw bad(`header is not valid JSON (${e.message})`, e);
  }
  if (!(header instanceof Map)) throw bad("header is not a JSON object");
  const dataStart = 8 + hlen, dataLen = bytes.length - dataStart;
  let metadata: Metadata = {};
  const entries: [string, TensorInfo][] = [];
  for (const [key, v] of header as Map<string, unknown>) {
    const what = `tensor ${JSON.stringify(key)}`;
    if (key === "__metadata__") {
      if (!(v instanceof Map) || [...v.values()].some((s) => typeof s !== "string")) {
        throw bad(`__metadata__ must be an object of strings, got ${show(v)}`);
      }
      metadata = Object.fromEntries(v) as Metadata;
      continue;
    }
    if (!(v instanceof Map)) throw bad(`${what} is not an object: ${show(v)}`);
    for (const f of v.keys()) {
      if (!ENTRY_FIELDS.includes(f)) {
        throw bad(
          `${what} has unknown field ${JSON.stringify(f)} (expected dtype, shape, data_offsets)`,
        );
      }
    }
    for (const f of ENTRY_FIELDS) if (!v.has(f)) throw bad(`${what} has no ${f}`);
    const dtype = v.get("dtype");
    if (typeof dtype !== "string" || !Object.hasOwn(ITEMSIZE, dtype)) {
      throw bad(
        `${what} has unsupported dtype ${
          show(dtype)
        } (denn reads F32, F16, I32, BOOL, I64, F64, BF16)`,
      );
    }
    const shape = v.get("shape");
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw bad(`${what} has invalid shape ${show(shape)} (expected non-negative integers)`);
    }
    const off = v.get("data_offsets");
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) {
      throw bad(`${what} has invalid data_offsets ${show(off)} (expected [begin, end])`);
    }
    if (off[0] > off[1] || off[1] > dataLen) {
      throw bad(
        `${what} has data_offsets ${show(off)} outside the ${dataLen}-byte data section`,
      );
    }
    const d = dtype as SafetensorsDType;
    const need = shape.reduce((a: number, b: number) => a * b, 1) * ITEMSIZE[d];
    if (need !== off[1] - off[0]) {
      throw bad(
        `${what} of ${d} [${shape}] needs ${need} bytes but data_offsets span ${off[1] - off[0]}`,
      );
    }
    entries.push([key, { dtype: d, shape, data_offsets: [off[0], off[1]] }]);
  }
  const sorted = [...entries].sort((a, b) =>
    a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]
  );
  let at = 0;
  for (const [key, info] of sorted) {
    if (info.data_offsets[0] !== at) {
      throw bad(
        `tensor ${JSON.stringify(key)} starts at byte ${info.data_offsets[0]}, expected ${at} (${
          info.data_offsets[0] < at ? "it overlaps the previous tensor" : "a gap precedes it"
        }; data must be contiguous without overlaps or holes)`,
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

/** Options of {@linkcode save}. */
export interface SaveOptions {
  /**
   * Called after the temp file is fully written and synced, just before the rename: a hook for
   * fault-injection tests (throwing here leaves the previous file untouched).
   */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Fsyncs a directory so that renames in it are durable. Platforms that cannot open a directory
 * (Windows) skip it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let d: Deno.FsFile | undefined;
  try {
    d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Not supported here; the rename itself is still atomic.
  } finally {
    d?.close();
  }
}

/** The temp-file name {@linkcode writeAtomic} uses for `path`. */
function tempPathFor(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const rand = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
  return `${dir}.${path.slice(slash + 1)}.${Deno.pid}.${rand}.tmp`;
}

/**
 * Writes bytes to `path` atomically: a new temp file in the same directory, written in full and
 * fsynced, renamed over `path`, then the directory fsynced. On failure the temp file is removed,
 * `path` is untouched and a {@linkcode FileWriteError} names `path` (the file-system error is its
 * `cause`).
 */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  options: SaveOptions = {},
): Promise<void> {
  const tmp = tempPathFor(path);
  const fail = (step: string, e: unknown) =>
    new FileWriteError(`${path}: cannot write the file (${step}: ${(e as Error).message})`, {
      cause: e,
    });
  let f: Deno.FsFile;
  try {
    f = await Deno.open(tmp, { write: true, createNew: true });
  } catch (e) {
    throw fail(`creating the temp file ${tmp}`, e);
  }
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.syncData();
    } catch (e) {
      throw fail(`writing ${bytes.length} bytes to the temp file ${tmp}`, e);
    } finally {
      f.close();
    }
    await options.beforeRename?.(tmp);
    try {
      await Deno.rename(tmp, path);
    } catch (e) {
      throw fail(`renaming the temp file ${tmp} into place`, e);
    }
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  const slash = path.lastIndexOf("/");
  await syncDirectory(slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".");
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
