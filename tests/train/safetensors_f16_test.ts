// safetensors F16: float16 tensors are written as F16 and read back bit for bit; F16 and BF16 files
// written by other tools load (F16 as float16, BF16 widened to float32).

import assert from "node:assert/strict";
import { nn, tensor } from "../../mod.ts";
import { deserialize, load, save, serialize } from "../../plugins/train/mod.ts";

Deno.test("safetensors round trip of float16 tensors (F16), bit for bit", async () => {
  const values = [0, -0, 1, -2.5, 65504, Infinity, -Infinity, 6e-8, 0.1, 1 / 3];
  const half = tensor(values, { dtype: "float16" });
  const bytes = await serialize({ h: half, f: tensor([1.5, 2]) });
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  assert.equal(header.h.dtype, "F16");
  assert.deepEqual(header.h.data_offsets, [0, values.length * 2]);
  assert.equal(header.f.dtype, "F32");
  const { tensors } = deserialize(bytes);
  assert.equal(tensors.h.dtype, "float16");
  const a = new Uint16Array((tensors.h.dataSync() as Float16Array).buffer);
  const b = new Uint16Array((half.dataSync() as Float16Array).buffer);
  assert.deepEqual([...a], [...b]);
  assert.equal(tensors.f.dtype, "float32");
  assert.deepEqual(tensors.f.toArraySync(), [1.5, 2]);
});

Deno.test("safetensors reads F16 and BF16 written by other tools", () => {
  // 1.0 in F16 is 0x3c00, -2.0 is 0xc000; 1.0 in BF16 is 0x3f80, -0.5 is 0xbf00.
  const h = new TextEncoder().encode(JSON.stringify({
    a: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
    b: { dtype: "BF16", shape: [2], data_offsets: [4, 8] },
  }));
  const out = new Uint8Array(8 + h.length + 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  const dv = new DataView(out.buffer, 8 + h.length);
  dv.setUint16(0, 0x3c00, true);
  dv.setUint16(2, 0xc000, true);
  dv.setUint16(4, 0x3f80, true);
  dv.setUint16(6, 0xbf00, true);
  const { tensors } = deserialize(out);
  assert.equal(tensors.a.dtype, "float16");
  assert.deepEqual(tensors.a.toArraySync(), [1, -2]);
  assert.equal(tensors.b.dtype, "float32");
  assert.deepEqual(tensors.b.toArraySync(), [1, -0.5]);
});

Deno.test("a half model's state dict saves as F16 and loads into another half model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4)).half();
    await save(`${dir}/h.safetensors`, a.stateDict());
    const sd = await load(`${dir}/h.safetensors`);
    assert.equal(sd["0.weight"].dtype, "float16");
    assert.equal(sd["1.running_var"].dtype, "float16");
    assert.equal(sd["1.num_batches_tracked"].dtype, "int32");
    const b = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4)).half();
    b.loadStateDict(sd);
    for (const [k, t] of Object.entries(a.stateDict())) {
      assert.equal(b.stateDict()[k].dtype, t.dtype, k);
      assert.deepEqual(b.stateDict()[k].toArraySync(), t.toArraySync(), k);
    }
    // A float32 model loads the F16 checkpoint too (values cast on copy).
    const c = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    c.loadStateDict(sd);
    assert.equal(c.stateDict()["0.weight"].dtype, "float32");
    assert.deepEqual(c.stateDict()["0.weight"].toArraySync(), sd["0.weight"].toArraySync());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
