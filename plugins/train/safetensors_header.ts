/**
 * The safetensors header: its types (`Metadata`, `SafetensorsDType`, `TensorInfo`) and
 * `parseHeader`, which reads the 8-byte length and the JSON header and validates all of it
 * (metadata, every entry's fields, dtype, shape and offsets, and that the data is contiguous and
 * fills the file) before any data is touched. The rules and their errors are listed in the module
 * documentation of `safetensors.ts`, which decodes the data; the JSON itself is read by
 * `_strict_json.ts`.
 *
 * @module
 */

import { DataFormatError } from "../data/dataset.ts";
import { JsonError, parseStrictJson } from "./_strict_json.ts";

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

/** The format's limit on the header size (100 MB). */
const MAX_HEADER = 100_000_000;

/** A header entry. */
export interface TensorInfo {
  /** Element type. */
  dtype: SafetensorsDType;
  /** Dimensions. */
  shape: number[];
  /** [begin, end) in the data section. */
  data_offsets: [number, number];
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
