import assert from "node:assert/strict";
import { tensor } from "../../mod.ts";
import { DataFormatError } from "../../plugins/data/mod.ts";
import { deserialize, load, loadWithMetadata, save, serialize } from "../../plugins/train/mod.ts";

/** Builds a safetensors file from a raw header object and data bytes. */
function raw(header: unknown, data: Uint8Array = new Uint8Array(), headerLen?: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("safetensors round trip of float32, int32 and bool tensors with metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sd = {
      "features.0.weight": tensor([[1.5, -2], [3, 4e-8]]),
      "bn.num_batches_tracked": tensor(7, { dtype: "int32" }),
      "mask": tensor([true, false, true]),
    };
    await save(`${dir}/m.safetensors`, sd, { epoch: "3" });
    const { tensors, metadata } = await loadWithMetadata(`${dir}/m.safetensors`);
    assert.deepEqual(metadata, { epoch: "3" });
    assert.deepEqual(Object.keys(tensors), Object.keys(sd));
    for (const [k, t] of Object.entries(sd)) {
      assert.equal(tensors[k].dtype, t.dtype);
      assert.deepEqual(tensors[k].shape, t.shape);
      assert.deepEqual(tensors[k].toArraySync(), t.toArraySync());
    }
    const bytes = await Deno.readFile(`${dir}/m.safetensors`);
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(hlen % 8, 0, "header padded to 8 bytes");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors reads I64 (range-checked) as int32 and F64 as float32", () => {
  const data = new Uint8Array(16 + 8);
  new BigInt64Array(data.buffer, 0, 2).set([-3n, 2147483647n]);
  new Float64Array(data.buffer, 16, 1)[0] = 0.1;
  const header = {
    a: { dtype: "I64", shape: [2], data_offsets: [0, 16] },
    b: { dtype: "F64", shape: [], data_offsets: [16, 24] },
  };
  const { tensors } = deserialize(raw(header, data));
  assert.equal(tensors.a.dtype, "int32");
  assert.deepEqual(tensors.a.toArraySync(), [-3, 2147483647]);
  assert.equal(tensors.b.dtype, "float32");
  assert.ok(Math.abs((tensors.b.toArraySync() as number) - 0.1) < 1e-8);
  new BigInt64Array(data.buffer, 0, 2).set([2147483648n, 0n]);
  assert.throws(
    () => deserialize(raw(header, data), { name: "big.st" }),
    /big\.st: .*does not fit int32/,
  );
});

Deno.test("safetensors validates the header before touching data", () => {
  const f4 = new Uint8Array(8);
  const bad = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => deserialize(bytes, { name: "x.st" }), (e: Error) => {
      assert.ok(e instanceof DataFormatError, String(e));
      assert.match(e.message, /^x\.st: invalid safetensors file: /);
      assert.match(e.message, re);
      return true;
    });
  bad(new Uint8Array(4), /too short/);
  bad(raw({}, new Uint8Array(), 1 << 30), /header length \d+ is over the format's limit/);
  bad(raw({}, new Uint8Array(), 1000), /header length 1000 does not fit/);
  const notJson = raw({});
  notJson[8] = 0x5b; // "[" makes "[}" invalid JSON
  bad(notJson, /not valid JSON/);
  bad(raw([1, 2]), /not a JSON object/);
  bad(
    raw({ w: { dtype: "I16", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)),
    /unsupported dtype "I16"/,
  );
  bad(
    raw({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    /invalid shape/,
  );
  bad(
    raw({ w: { dtype: "F32", shape: [2], data_offsets: [0, 16] } }, f4),
    /outside the 8-byte data section/,
  );
  bad(
    raw({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f4),
    /needs 12 bytes but data_offsets span 8/,
  );
  bad(
    raw({
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      b: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    }, f4),
    /starts at byte 0, expected 4/,
  );
  bad(raw({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f4), /expected 0/);
  bad(
    raw({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f4),
    /cover 4 bytes but the data section has 8/,
  );
  bad(raw({ __metadata__: { a: 1 } }), /__metadata__/);
  const boolBytes = raw(
    { a: { dtype: "BOOL", shape: [1], data_offsets: [0, 1] } },
    new Uint8Array([2]),
  );
  assert.throws(
    () => deserialize(boolBytes, { name: "x.st" }),
    /x\.st: tensor "a": BOOL byte 0 is 2/,
  );
});

Deno.test("an interrupted save leaves the previous file intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ck.safetensors`;
    await save(path, { w: tensor([1, 2, 3]) });
    const before = await Deno.readFile(path);
    let tempSeen = "";
    await assert.rejects(
      save(path, { w: tensor([9, 9, 9, 9]) }, undefined, {
        beforeRename: async (tmp) => {
          // The new file is complete on disk but not yet in place: "crash" now.
          tempSeen = tmp;
          assert.equal((await Deno.stat(tmp)).size > 0, true);
          assert.ok(tmp.startsWith(`${dir}/`), "temp file in the same directory");
          throw new Error("simulated crash");
        },
      }),
      /simulated crash/,
    );
    assert.ok(tempSeen);
    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual((await load(path)).w.toArraySync(), [1, 2, 3]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ck.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serialize rejects non-tensors and non-string metadata", async () => {
  await assert.rejects(serialize({ a: 1 as never }), /not a Tensor/);
  await assert.rejects(serialize({}, { a: 1 as never }), /must be a string/);
});
