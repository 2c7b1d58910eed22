// Fuzzing the IDX and CIFAR-10 readers: deterministic mutations (fixed seed) of valid files — bit
// flips, byte changes, truncations, appended garbage, header field changes (magic, dtype code,
// number of dims, dim sizes), label changes — read from memory, from plain files and from gzip
// files, plus mutations of the gzip bytes themselves. Each must give a DataFormatError naming the
// file, or exactly the data an independent minimal reference parser (below; node:zlib for gzip)
// gives; both must agree on which. No Python at test time. DENN_FUZZ_SCALE=N runs N times as many
// cases and DENN_FUZZ_SEED picks another seed, for longer campaigns outside the suite.

import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { DennError } from "../../mod.ts";
import {
  DataFormatError,
  parseCifar10,
  parseIdx,
  readCifar10,
  readIdx,
} from "../../plugins/data/mod.ts";
import { envNumber, rng } from "../fuzz_kit.ts";

type Rng = ReturnType<typeof rng>;

const SCALE = envNumber("DENN_FUZZ_SCALE", 1);
const SEED = envNumber("DENN_FUZZ_SEED", 0);

type Outcome = { ok: false } | { ok: true; key: string; bytes: Uint8Array };

// ---- References.

const IDX_TYPES: Record<number, [string, number]> = {
  8: ["uint8", 1],
  9: ["int8", 1],
  11: ["int16", 2],
  12: ["int32", 4],
  13: ["float32", 4],
  14: ["float64", 8],
};

/** IDX: big-endian dims and elements; returns dtype/shape and the elements' little-endian bytes. */
function refIdx(b: Uint8Array): Outcome {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0 || !IDX_TYPES[b[2]] || b[3] === 0) {
    return { ok: false };
  }
  const [dtype, size] = IDX_TYPES[b[2]];
  const nd = b[3], head = 4 + 4 * nd;
  if (b.length < head) return { ok: false };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shape: number[] = [];
  let n = 1;
  for (let d = 0; d < nd; d++) {
    const v = dv.getUint32(4 + 4 * d);
    if (v < 1 || v >= 2 ** 31) return { ok: false };
    shape.push(v);
    n *= v;
  }
  if (b.length !== head + n * size) return { ok: false };
  const out = new Uint8Array(n * size);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const p = head + i * size;
    if (size === 1) out[i] = b[p];
    else if (size === 2) ov.setUint16(2 * i, dv.getUint16(p), true);
    else if (size === 4) ov.setUint32(4 * i, dv.getUint32(p), true);
    else ov.setBigUint64(8 * i, dv.getBigUint64(p), true);
  }
  return { ok: true, key: `${dtype} [${shape}]`, bytes: out };
}

/** CIFAR-10: whole 3073-byte records, labels 0..9; returns labels then pixels. */
function refCifar(b: Uint8Array, maxRecords = Infinity): Outcome {
  const R = 3073;
  if (b.length === 0 || b.length % R !== 0 || b.length / R > maxRecords) return { ok: false };
  const n = b.length / R;
  const out = new Uint8Array(n + n * (R - 1));
  for (let i = 0; i < n; i++) {
    if (b[i * R] > 9) return { ok: false };
    out[i] = b[i * R];
    out.set(b.subarray(i * R + 1, (i + 1) * R), n + i * (R - 1));
  }
  return { ok: true, key: `${n} records`, bytes: out };
}

/** One gzip member and nothing after it (node:zlib itself skips some trailing bytes). */
function refGunzip(gz: Uint8Array): Uint8Array | null {
  try {
    const r = gunzipSync(gz, { info: true }) as unknown as {
      buffer: Uint8Array;
      engine: { bytesWritten: number };
    };
    return r.engine.bytesWritten === gz.length ? new Uint8Array(r.buffer) : null;
  } catch {
    return null;
  }
}

// ---- What denn gives, in the same form.

function idxOutcome(a: ReturnType<typeof parseIdx>): Outcome {
  const d = a.data;
  return {
    ok: true,
    key: `${a.dtype} [${a.shape}]`,
    bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}

function cifarOutcome(c: { pixels: Uint8Array; labels: Int32Array }): Outcome {
  const n = c.labels.length;
  const out = new Uint8Array(n + c.pixels.length);
  c.labels.forEach((l, i) => (out[i] = l));
  out.set(c.pixels, n);
  return { ok: true, key: `${n} records`, bytes: out };
}

// ---- Base files.

function idxFile(code: number, dims: number[], r: Rng): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const head = new Uint8Array(4 + 4 * dims.length);
  head[2] = code;
  head[3] = dims.length;
  dims.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d));
  const body = Uint8Array.from({ length: n * IDX_TYPES[code][1] }, () => r.int(256));
  return new Uint8Array([...head, ...body]);
}

function cifarFile(records: number, r: Rng): Uint8Array {
  const b = Uint8Array.from({ length: records * 3073 }, () => r.int(256));
  for (let i = 0; i < records; i++) b[i * 3073] = r.int(10);
  return b;
}

// ---- Mutations of raw bytes (header-aware ones for IDX).

function flip(r: Rng, b: Uint8Array, headBias = 0): Uint8Array {
  const out = b.slice();
  if (out.length === 0) return out;
  const i = r.next() < headBias ? r.int(Math.min(out.length, 16)) : r.int(out.length);
  out[i] ^= 1 << r.int(8);
  return out;
}

const GENERIC: Record<string, (r: Rng, b: Uint8Array) => Uint8Array> = {
  "bit flip": (r, b) => flip(r, b, 0.5),
  "byte change": (r, b) => {
    const out = b.slice();
    out[r.int(out.length)] = r.int(256);
    return out;
  },
  "truncation": (r, b) => b.slice(0, r.int(b.length)),
  "appended garbage": (r, b) =>
    new Uint8Array([...b, ...Uint8Array.from({ length: 1 + r.int(24) }, () => r.int(256))]),
};

const IDX_MUTATIONS: Record<string, (r: Rng, b: Uint8Array) => Uint8Array> = {
  ...GENERIC,
  "magic / dtype code": (r, b) => {
    const out = b.slice();
    const i = r.int(3);
    out[i] = i === 2
      ? r.pick([7, 8, 9, 10, 11, 12, 13, 14, 15, 0x88, 0])
      : r.pick([0, 1, 0x1f, 255]);
    return out;
  },
  "number of dims": (r, b) => {
    const out = b.slice();
    out[3] = r.pick([0, 1, 2, 3, 4, out[3] + 1, out[3] - 1, 255]) & 255;
    return out;
  },
  "dim size": (r, b) => {
    const out = b.slice();
    const nd = out[3], dv = new DataView(out.buffer);
    const d = r.int(nd), v = dv.getUint32(4 + 4 * d);
    dv.setUint32(
      4 + 4 * d,
      r.pick([0, 1, v + 1, Math.max(0, v - 1), v * 2, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 60000]),
    );
    return out;
  },
};

const CIFAR_MUTATIONS: Record<string, (r: Rng, b: Uint8Array) => Uint8Array> = {
  ...GENERIC,
  "label change": (r, b) => {
    const out = b.slice();
    out[3073 * r.int(Math.max(1, Math.floor(out.length / 3073)))] = r.pick([
      0,
      9,
      10,
      11,
      127,
      255,
    ]);
    return out;
  },
  "whole records": (r, b) => {
    const extra = cifarFile(1, r);
    if (r.next() < 0.3) extra[0] = 10 + r.int(246);
    return r.next() < 0.5 ? new Uint8Array([...b, ...extra]) : b.slice(0, b.length - 3073);
  },
};

// ---- The harness.

type Table = Record<string, { error: number; identical: number }>;

function check(
  table: Table,
  kind: string,
  ctx: string,
  name: string,
  ref: Outcome,
  got: Outcome | undefined,
  err: unknown,
): void {
  table[kind] ??= { error: 0, identical: 0 };
  if (err !== undefined) {
    assert.ok(err instanceof DennError, `${ctx}: raw ${err}`);
    assert.ok(err instanceof DataFormatError, `${ctx}: ${err}`);
    assert.ok((err as Error).message.startsWith(`${name}: `), `${ctx}: ${(err as Error).message}`);
    assert.ok(!ref.ok, `${ctx}: denn rejected what the reference reads: ${(err as Error).message}`);
    table[kind].error++;
    return;
  }
  assert.ok(got?.ok && ref.ok, `${ctx}: denn read what the reference rejects`);
  assert.equal(got.key, ref.key, ctx);
  assert.ok(
    got.bytes.length === ref.bytes.length && got.bytes.every((x, i) => x === ref.bytes[i]),
    `${ctx}: data differs`,
  );
  table[kind].identical++;
}

// 80 mutations of the gzip bytes of valid files (bit flips, truncations, appended garbage), each
// written to a file and read back; returns the next case number.
async function gzipMutations(
  r: Rng,
  bases: readonly Uint8Array[],
  table: Table,
  n: number,
  prefix: string,
  suffix: string,
  ref: (plain: Uint8Array) => Outcome,
  read: (name: string) => Promise<Outcome>,
): Promise<number> {
  for (
    const [kind, count] of Object.entries({
      "gzip bit flip": 40,
      "gzip truncation": 20,
      "gzip appended garbage": 20,
    })
  ) {
    for (let k = 0; k < count * SCALE; k++, n++) {
      const gz = new Uint8Array(gzipSync(r.pick(bases)));
      const bytes = GENERIC[kind.slice(5)](r, gz);
      const plain = refGunzip(bytes);
      const want = plain ? ref(plain) : { ok: false as const };
      const name = `${prefix}${n}${suffix}`;
      await Deno.writeFile(name, bytes);
      const [got, err] = await attempt(() => read(name));
      check(table, kind, `${kind} #${k} ${name}`, name, want, got, err);
    }
  }
  return n;
}

async function attempt<T>(f: () => T | Promise<T>): Promise<[T | undefined, unknown]> {
  try {
    return [await f(), undefined];
  } catch (e) {
    return [undefined, e];
  }
}

function report(title: string, table: Table, ms: number): number {
  let total = 0;
  const lines = Object.entries(table).map(([kind, c]) => {
    total += c.error + c.identical;
    return `  ${kind.padEnd(30)} ${String(c.error).padStart(4)} named error  ${
      String(c.identical).padStart(4)
    } identical`;
  });
  console.log(`  ${title}: ${total} cases in ${ms} ms\n${lines.join("\n")}`);
  return total;
}

Deno.test("IDX fuzz: 400 mutated files give a named error or the reference's data", async () => {
  const r = rng(90210 + SEED);
  const bases = [
    idxFile(8, [3, 4, 4], r),
    idxFile(8, [5], r),
    idxFile(9, [2, 3], r),
    idxFile(11, [2, 3], r),
    idxFile(12, [4], r),
    idxFile(13, [2, 2], r),
    idxFile(14, [3], r),
    idxFile(8, [2, 1, 3, 3], r),
  ];
  for (const b of bases) assert.ok(refIdx(b).ok);
  const dir = await Deno.makeTempDir({ prefix: "denn-fuzz-idx-" });
  const table: Table = {};
  const t0 = performance.now();
  try {
    let n = 0;
    // 320 mutations of the IDX bytes: 2 in 4 parsed from memory, 1 in 4 read from a plain file,
    // 1 in 4 gzip-compressed and read from a file (decompression must be transparent).
    for (
      const [kind, count] of Object.entries({
        "bit flip": 70,
        "byte change": 40,
        "truncation": 50,
        "appended garbage": 40,
        "magic / dtype code": 40,
        "number of dims": 30,
        "dim size": 50,
      })
    ) {
      for (let k = 0; k < count * SCALE; k++, n++) {
        const bytes = IDX_MUTATIONS[kind](r, r.pick(bases));
        const ref = refIdx(bytes);
        const via = n % 4 < 2 ? "memory" : n % 4 === 2 ? "file" : "gzip file";
        const name = via === "memory"
          ? `case-${n}.idx`
          : `${dir}/case-${n}.idx${via === "file" ? "" : ".gz"}`;
        if (via === "file") await Deno.writeFile(name, bytes);
        if (via === "gzip file") await Deno.writeFile(name, gzipSync(bytes));
        const [got, err] = await attempt(async () =>
          idxOutcome(via === "memory" ? parseIdx(bytes, name) : await readIdx(name))
        );
        check(
          table,
          `${kind} (${via})`.replace(" (memory)", ""),
          `${kind} #${k} ${name}`,
          name,
          ref,
          got,
          err,
        );
      }
    }
    // 80 mutations of the gzip bytes of valid files.
    n = await gzipMutations(
      r,
      bases,
      table,
      n,
      `${dir}/case-`,
      ".gz",
      refIdx,
      async (name) => idxOutcome(await readIdx(name)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(report("IDX", table, Math.round(performance.now() - t0)) >= 400);
});

Deno.test("CIFAR-10 fuzz: 300 mutated batches give a named error or the reference's data", async () => {
  const r = rng(4242 + SEED);
  const bases = [cifarFile(1, r), cifarFile(3, r)];
  const dir = await Deno.makeTempDir({ prefix: "denn-fuzz-cifar-" });
  const table: Table = {};
  const t0 = performance.now();
  try {
    let n = 0;
    for (
      const [kind, count] of Object.entries({
        "bit flip": 50,
        "byte change": 30,
        "truncation": 40,
        "appended garbage": 30,
        "label change": 40,
        "whole records": 30,
      })
    ) {
      for (let k = 0; k < count * SCALE; k++, n++) {
        const bytes = CIFAR_MUTATIONS[kind](r, r.pick(bases));
        // 2 in 4 from memory, 1 in 4 from a plain file, 1 in 4 gzip with maxRecords 3.
        const via = n % 4 < 2 ? "memory" : n % 4 === 2 ? "file" : "gzip file";
        const ref = refCifar(bytes, via === "gzip file" ? 3 : Infinity);
        const name = via === "memory"
          ? `case-${n}.bin`
          : `${dir}/case-${n}.bin${via === "file" ? "" : ".gz"}`;
        if (via === "file") await Deno.writeFile(name, bytes);
        if (via === "gzip file") await Deno.writeFile(name, gzipSync(bytes));
        const [got, err] = await attempt(async () =>
          cifarOutcome(
            via === "memory" ? parseCifar10(bytes, name) : await readCifar10(name, 3),
          )
        );
        check(
          table,
          `${kind} (${via})`.replace(" (memory)", ""),
          `${kind} #${k} ${name}`,
          name,
          ref,
          got,
          err,
        );
      }
    }
    n = await gzipMutations(
      r,
      bases,
      table,
      n,
      `${dir}/case-`,
      ".bin.gz",
      (b) => refCifar(b, 3),
      async (name) => cifarOutcome(await readCifar10(name, 3)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(report("CIFAR-10", table, Math.round(performance.now() - t0)) >= 300);
});
