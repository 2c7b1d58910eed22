// Fuzzing the safetensors reader: 1,200 deterministic mutations (fixed seed) of valid files — bit
// flips, byte changes, truncations, appended garbage, header-length changes and structured header
// edits (offsets, shapes, dtypes, fields, metadata, duplicate keys, BOM, number literals, ...).
// Each must give a DataFormatError naming the file, or exactly the data an independent minimal
// reference parser (below, built on JSON.parse and DataView) gives; both must agree on which.
// No Python at test time. DENN_FUZZ_SCALE=N runs N times as many cases and DENN_FUZZ_SEED picks
// another seed, for longer campaigns outside the suite.

import assert from "node:assert/strict";
import { DennError, tensor } from "../../mod.ts";
import { DataFormatError } from "../../plugins/data/mod.ts";
import { deserialize, serialize } from "../../plugins/train/mod.ts";
import { envNumber, rng } from "../fuzz_kit.ts";

// ---- Fixed-seed mutations (tests/fuzz_kit.ts).

// ---- The reference: an independent minimal parser of the rules denn documents.

type RefTensor = { dtype: string; shape: number[]; bytes: Uint8Array; values?: number[] };
type RefResult = { ok: true; tensors: Map<string, RefTensor>; metadata: Record<string, string> } | {
  ok: false;
  why: string;
};

const SIZES: Record<string, number> = { F32: 4, F16: 2, I32: 4, BOOL: 1, I64: 8, F64: 8, BF16: 2 };

/** Scans valid JSON text for what JSON.parse lets through: duplicate keys, lone surrogates,
 * non-integer number literals and nesting past 64. Returns a reason, or null. */
function scanJson(text: string): string | null {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1)) as string;
      if (lone.test(s)) return "lone surrogate";
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        if (top.keys.has(s)) return "duplicate key";
        top.keys.add(s);
        top.expectKey = false;
      }
      i = j + 1;
    } else if (c === "{" || c === "[") {
      stack.push({ keys: c === "{" ? new Set() : null, expectKey: c === "{" });
      if (stack.length > 65) return "too deep";
      i++;
    } else if (c === "}" || c === "]") {
      stack.pop();
      i++;
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      i++;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))!;
      if (m[1] || m[2]) return "non-integer number literal";
      i += m[0].length;
    } else i++;
  }
  return null;
}

function reference(bytes: Uint8Array): RefResult {
  const no = (why: string): RefResult => ({ ok: false, why });
  if (bytes.length < 8) return no("short");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > 100_000_000n || 8n + n > BigInt(bytes.length)) return no("header length");
  const hb = bytes.subarray(8, 8 + Number(n));
  if (hb[0] === 0xef && hb[1] === 0xbb && hb[2] === 0xbf) return no("BOM");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(hb);
  } catch {
    return no("utf-8");
  }
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    return no("json");
  }
  const why = scanJson(text);
  if (why) return no(why);
  if (typeof h !== "object" || h === null || Array.isArray(h)) return no("not an object");
  const dataStart = 8 + Number(n), dataLen = bytes.length - dataStart;
  const isIdx = (v: unknown) =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0);
  let metadata: Record<string, string> = {};
  const infos: [string, string, number[], number, number][] = [];
  for (const key of Object.keys(h)) {
    const v = (h as Record<string, unknown>)[key];
    if (key === "__metadata__") {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return no("metadata");
      if (Object.values(v).some((x) => typeof x !== "string")) return no("metadata value");
      metadata = v as Record<string, string>;
      continue;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) return no("entry");
    const e = v as Record<string, unknown>;
    if (Object.keys(e).sort().join() !== "data_offsets,dtype,shape") return no("fields");
    if (typeof e.dtype !== "string" || !Object.hasOwn(SIZES, e.dtype)) return no("dtype");
    if (!Array.isArray(e.shape) || !e.shape.every(isIdx)) return no("shape");
    const o = e.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every(isIdx)) return no("offsets");
    if (o[0] > o[1] || o[1] > dataLen) return no("offsets range");
    let count = 1;
    for (const d of e.shape) count *= d;
    if (count * SIZES[e.dtype] !== o[1] - o[0]) return no("size");
    infos.push([key, e.dtype, e.shape, o[0], o[1]]);
  }
  const sorted = [...infos].sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let at = 0;
  for (const t of sorted) {
    if (t[3] !== at) return no("contiguity");
    at = t[4];
  }
  if (at !== dataLen) return no("coverage");
  const tensors = new Map<string, RefTensor>();
  for (const [key, dtype, shape, b, e] of infos) {
    const raw = bytes.subarray(dataStart + b, dataStart + e);
    const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const count = raw.length / SIZES[dtype];
    if (dtype === "F32" || dtype === "F16" || dtype === "I32") {
      tensors.set(key, { dtype, shape, bytes: raw.slice() });
    } else if (dtype === "BOOL") {
      if (raw.some((x) => x > 1)) return no("bool");
      tensors.set(key, { dtype, shape, bytes: raw.slice() });
    } else if (dtype === "BF16") {
      const out = new Uint8Array(count * 4);
      for (let i = 0; i < count; i++) {
        out[4 * i + 2] = raw[2 * i];
        out[4 * i + 3] = raw[2 * i + 1];
      }
      tensors.set(key, { dtype, shape, bytes: out });
    } else if (dtype === "I64") {
      const out = new Uint8Array(count * 4);
      const ov = new DataView(out.buffer);
      for (let i = 0; i < count; i++) {
        const v = rv.getBigInt64(8 * i, true);
        if (v < -(2n ** 31n) || v >= 2n ** 31n) return no("i64 range");
        ov.setInt32(4 * i, Number(v), true);
      }
      tensors.set(key, { dtype, shape, bytes: out });
    } else {
      const values: number[] = [];
      for (let i = 0; i < count; i++) {
        const v = rv.getFloat64(8 * i, true);
        if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) return no("f64 range");
        values.push(Math.fround(v));
      }
      tensors.set(key, { dtype, shape, bytes: new Uint8Array(), values });
    }
  }
  return { ok: true, tensors, metadata };
}

const DENN_DTYPE: Record<string, string> = {
  F32: "float32",
  F16: "float16",
  I32: "int32",
  BOOL: "bool",
  I64: "int32",
  F64: "float32",
  BF16: "float32",
};

function sameAsReference(
  got: ReturnType<typeof deserialize>,
  ref: RefResult & { ok: true },
): string | null {
  const keys = Object.keys(got.tensors).sort(), rkeys = [...ref.tensors.keys()].sort();
  if (JSON.stringify(keys) !== JSON.stringify(rkeys)) return `keys ${keys} vs ${rkeys}`;
  if (JSON.stringify(got.metadata) !== JSON.stringify(ref.metadata)) return "metadata";
  for (const k of keys) {
    const t = got.tensors[k], r = ref.tensors.get(k)!;
    if (t.dtype !== DENN_DTYPE[r.dtype]) return `${k}: dtype ${t.dtype} vs ${r.dtype}`;
    if (JSON.stringify(t.shape) !== JSON.stringify(r.shape)) return `${k}: shape`;
    const d = t.dataSync();
    if (r.values) {
      if (d.length !== r.values.length || r.values.some((v, i) => !Object.is(v, d[i]))) {
        return `${k}: F64 values`;
      }
    } else {
      const b = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      if (b.length !== r.bytes.length || b.some((x, i) => x !== r.bytes[i])) return `${k}: bytes`;
    }
  }
  return null;
}

// ---- Valid base files.

const enc = new TextEncoder();

function build(headerText: string, data: Uint8Array, headerLen?: bigint): Uint8Array {
  const h = enc.encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function split(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return {
    header: new TextDecoder().decode(bytes.subarray(8, 8 + n)),
    data: bytes.slice(8 + n),
  };
}

async function bases(): Promise<Uint8Array[]> {
  const a = await serialize({
    "layer.weight": tensor([[1.5, -2, 3], [4, 5e-3, -0]]),
    "layer.count": tensor([7, -8, 9, 2147483647], { dtype: "int32" }),
    "mask": tensor([true, false, true]),
    "half": tensor([1, -2, 0.5, 65504, 1e-7], { dtype: "float16" }),
  }, { epoch: "3", note: "héllo ✓" });
  // Dtypes denn only reads, header keys out of offset order, an empty tensor and a scalar.
  const data = new Uint8Array(24 + 32 + 8 + 4);
  const dv = new DataView(data.buffer);
  [-3n, 2147483647n, -2147483648n].forEach((v, i) => dv.setBigInt64(8 * i, v, true));
  [0.1, -1e300 / 1e270, 3.4028234663852886e38, Number.NaN].forEach((v, i) =>
    dv.setFloat64(24 + 8 * i, v, true)
  );
  [0x3f80, 0xbf00, 0x7f80, 0x0001].forEach((v, i) => dv.setUint16(56 + 2 * i, v, true));
  dv.setFloat32(64, 42, true);
  const b = build(
    JSON.stringify({
      z: { dtype: "BF16", shape: [2, 2], data_offsets: [56, 64] },
      empty: { dtype: "F32", shape: [0, 3], data_offsets: [64, 64] },
      x: { dtype: "I64", shape: [3], data_offsets: [0, 24] },
      s: { dtype: "F32", shape: [], data_offsets: [64, 68] },
      y: { dtype: "F64", shape: [2, 2], data_offsets: [24, 56] },
    }) + "   ",
    data,
  );
  const c = await serialize({ w: tensor([1]) }, { "": "", ["__proto__"]: "p" });
  const d = build(
    '{"__metadata__":{"k":"v\\u00e9\\ud83d\\ude00"}, "\\u0041b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}',
    new Uint8Array([1, 0, 0, 0]),
  );
  return [a, b, c, d];
}

// ---- Mutations.

type Mutation = (r: ReturnType<typeof rng>, base: Uint8Array) => Uint8Array;

function headerEdit(
  edit: (h: Record<string, unknown>, r: ReturnType<typeof rng>) => string | void,
) {
  return (r: ReturnType<typeof rng>, base: Uint8Array): Uint8Array => {
    const { header, data } = split(base);
    const h = JSON.parse(header);
    const text = edit(h, r) ?? JSON.stringify(h);
    return build(text, data);
  };
}

function tensorKeys(h: Record<string, unknown>): string[] {
  return Object.keys(h).filter((k) => k !== "__metadata__");
}

type Entry = { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };

const NUMBERS: unknown[] = [0, 1, 2, 3, 4, 7, 8, -1, 2 ** 53, 2 ** 64, 1e300, 0.5, "4", null, true];

const MUTATIONS: Record<string, Mutation> = {
  "bit flip": (r, b) => {
    const out = b.slice();
    const i = r.next() < 0.5
      ? 8 + r.int(Math.max(1, Number(split(b).header.length)))
      : r.int(b.length);
    out[Math.min(i, out.length - 1)] ^= 1 << r.int(8);
    return out;
  },
  "byte change": (r, b) => {
    const out = b.slice();
    out[r.int(out.length)] = r.int(256);
    return out;
  },
  "truncation": (r, b) => b.slice(0, r.int(b.length)),
  "appended garbage": (r, b) => {
    const extra = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
    return new Uint8Array([...b, ...extra]);
  },
  "header length": (r, b) => {
    const out = b.slice();
    const dv = new DataView(out.buffer);
    const n = dv.getBigUint64(0, true);
    const choices = [
      n + 1n,
      n - 1n,
      n + 8n,
      n - 8n,
      0n,
      1n,
      2n,
      100_000_001n,
      2n ** 63n,
      2n ** 64n - 1n,
    ];
    const v = choices[r.int(choices.length)];
    dv.setBigUint64(0, v < 0n ? 0n : v, true);
    return out;
  },
  "data_offsets": headerEdit((h, r) => {
    const e = h[r.pick(tensorKeys(h))] as Entry;
    const i = r.int(2);
    e.data_offsets[i] = r.next() < 0.5
      ? (e.data_offsets[i] as number) + r.pick([-8, -4, -2, -1, 1, 2, 4, 8])
      : r.pick(NUMBERS);
    if (r.next() < 0.2) e.data_offsets.reverse();
    if (r.next() < 0.1) e.data_offsets.push(0);
  }),
  "shape": headerEdit((h, r) => {
    const e = h[r.pick(tensorKeys(h))] as Entry;
    const k = r.int(4);
    if (k === 0) e.shape.push(r.pick([1, 2]));
    else if (k === 1) e.shape.pop();
    else if (e.shape.length) e.shape[r.int(e.shape.length)] = r.pick(NUMBERS);
    else e.shape = r.pick([[1], [0], [1, 1], "1" as unknown as unknown[]]);
  }),
  "dtype": headerEdit((h, r) => {
    const e = h[r.pick(tensorKeys(h))] as Entry;
    e.dtype = r.pick([
      "F32",
      "F16",
      "I32",
      "BOOL",
      "I64",
      "F64",
      "BF16",
      "U8",
      "I16",
      "f32",
      "",
      4,
    ]);
  }),
  "fields": headerEdit((h, r) => {
    const e = h[r.pick(tensorKeys(h))] as Record<string, unknown>;
    const k = r.int(3);
    if (k === 0) delete e[r.pick(["dtype", "shape", "data_offsets"])];
    else if (k === 1) e[r.pick(["extra", "offsets", "Shape"])] = 1;
    else h[r.pick(tensorKeys(h))] = r.pick([null, [], "x", 5, {}]);
  }),
  "metadata": headerEdit((h, r) => {
    h.__metadata__ = r.pick<unknown>([
      [],
      ["a"],
      null,
      5,
      "text",
      { a: 1 },
      { a: null },
      { a: { b: "c" } },
      { a: "b", c: "d" },
      {},
    ]);
  }),
  "duplicate key": (r, b) => {
    const { header, data } = split(b);
    const h = JSON.parse(header);
    const keys = Object.keys(h);
    const k = r.pick(keys);
    // Same key twice (same or different value): JSON.parse would silently keep the last.
    const dup = JSON.stringify(k) + ":" + JSON.stringify(r.next() < 0.5 ? h[k] : h[r.pick(keys)]);
    const text = JSON.stringify(h);
    return build(text.slice(0, -1) + "," + dup + "}", data);
  },
  "byte-order mark": (r, b) => {
    const { header, data } = split(b);
    return build((r.next() < 0.8 ? "\ufeff" : " \ufeff") + header, data);
  },
  "number literal": (r, b) => {
    const { header, data } = split(b);
    const nums = [...header.matchAll(/\d+/g)];
    const m = r.pick(nums);
    const rep = r.pick([".0", "e0", "E+0", ".5"]);
    const pre = r.pick(["", "-", "0"]);
    const text = header.slice(0, m.index) + pre + m[0] + (pre ? "" : rep) +
      header.slice(m.index! + m[0].length);
    return build(text, data);
  },
  "header text": (r, b) => {
    const { header, data } = split(b);
    const t = header.trimEnd();
    const edits = [
      () => t + r.pick(["x", "\u0000", "}", ",", "{}", "\n\t ", "  "]),
      () => t.slice(0, -1) + ",}",
      () => t.replace("{", "{\n"),
      () => t.replace(":", " : "),
      () => "[" + t + "]",
      () => t.replace(/"([^"]+)":\{/, '"\\ud800$1":{'),
      () => t.replace(/"([^"]+)":\{/, '"\\ud83d\\ude00$1":{'),
      () => t.replace(/"([^"]+)":\{/, '"__proto__":{'),
      () =>
        t.replace(
          '"__metadata__":{',
          '"__metadata__":{"deep":' + "[".repeat(100) + "]".repeat(100) + ",",
        ),
      () => t.replace("}", "}" + " ".repeat(r.int(4))),
      () => t.replace(/"dtype"/, "'dtype'"),
      () => t.replace(/\[/, "[ "),
    ];
    return build(r.pick(edits)(), data);
  },
  "tensor swap/removal": headerEdit((h, r) => {
    const keys = tensorKeys(h);
    const a = h[r.pick(keys)] as Entry, c = h[r.pick(keys)] as Entry;
    if (r.next() < 0.5) [a.data_offsets, c.data_offsets] = [c.data_offsets, a.data_offsets];
    else delete h[r.pick(keys)];
  }),
  "data values": (r, b) => {
    // Values denn cannot represent: F64 overflow, I64 past int32, BOOL bytes > 1.
    const { header, data } = split(b);
    const h = JSON.parse(header);
    const out = data.slice();
    const dv = new DataView(out.buffer);
    const key = r.pick(tensorKeys(h));
    const e = h[key] as Entry;
    const [s, end] = e.data_offsets as number[];
    if (end === s) return b.slice();
    const size = SIZES[e.dtype as string];
    const at = s + size * r.int((end - s) / size);
    if (e.dtype === "F64") {
      dv.setFloat64(at, r.pick([1e300, -1e39, 3.5e38, 3.4028235e38, Infinity, 1e-50]), true);
    } else if (e.dtype === "I64") {
      dv.setBigInt64(
        at,
        r.pick([2n ** 31n, -(2n ** 31n) - 1n, 2n ** 31n - 1n, -(2n ** 63n)]),
        true,
      );
    } else if (e.dtype === "BOOL") out[at] = r.pick([0, 1, 2, 255]);
    else out[at + r.int(size)] = r.int(256);
    return build(header, out);
  },
};

const COUNTS: Record<string, number> = {
  "bit flip": 250,
  "byte change": 100,
  "truncation": 120,
  "appended garbage": 80,
  "header length": 80,
  "data_offsets": 80,
  "shape": 70,
  "dtype": 60,
  "fields": 50,
  "metadata": 50,
  "duplicate key": 40,
  "byte-order mark": 20,
  "number literal": 50,
  "header text": 60,
  "tensor swap/removal": 40,
  "data values": 50,
};

// Shared with tools/safetensors_fuzz_dump.ts, which writes these cases out for a cross-check
// against the reference implementation (tools/check_safetensors_fuzz.py).
export { bases, COUNTS, MUTATIONS, rng };

Deno.test("safetensors fuzz: 1,200 mutated files give a named error or the reference's data", async () => {
  const baseFiles = await bases();
  for (const b of baseFiles) assert.ok(reference(b).ok, "bases are valid");
  const scale = envNumber("DENN_FUZZ_SCALE", 1);
  const r = rng(envNumber("DENN_FUZZ_SEED", 20240611));
  const table: Record<string, { error: number; identical: number }> = {};
  let total = 0;
  const t0 = performance.now();
  for (const [kind, count] of Object.entries(COUNTS)) {
    const n = Math.round(count * scale);
    table[kind] = { error: 0, identical: 0 };
    for (let k = 0; k < n; k++, total++) {
      const base = baseFiles[r.int(baseFiles.length)];
      const bytes = MUTATIONS[kind](r, base);
      const name = `case-${total}.safetensors`;
      const ref = reference(bytes);
      let got: ReturnType<typeof deserialize> | undefined;
      let err: unknown;
      try {
        got = deserialize(bytes, { name });
      } catch (e) {
        err = e;
      }
      const ctx = `${kind} #${k} (${name}), reference: ${ref.ok ? "valid" : ref.why}`;
      if (err !== undefined) {
        assert.ok(err instanceof DennError, `${ctx}: raw ${err}`);
        assert.ok(err instanceof DataFormatError, `${ctx}: ${err}`);
        assert.ok(err.message.startsWith(`${name}: `), `${ctx}: ${err.message}`);
        assert.ok(!ref.ok, `${ctx}: denn rejected a file the reference reads: ${err.message}`);
        table[kind].error++;
      } else {
        assert.ok(ref.ok, `${ctx}: denn read a file the reference rejects`);
        const diff = sameAsReference(got!, ref);
        assert.equal(diff, null, `${ctx}: ${diff}`);
        table[kind].identical++;
      }
    }
  }
  const ms = Math.round(performance.now() - t0);
  console.log(`  ${total} cases in ${ms} ms`);
  for (const [kind, c] of Object.entries(table)) {
    console.log(
      `  ${kind.padEnd(20)} ${String(c.error).padStart(4)} named error  ${
        String(c.identical).padStart(4)
      } identical`,
    );
  }
  assert.ok(total >= 1000);
});
