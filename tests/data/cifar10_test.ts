import assert from "node:assert/strict";
import {
  CIFAR10_RECORD_BYTES,
  DataFormatError,
  loadCifar10,
  parseCifar10,
} from "../../plugins/data/mod.ts";

function batch(labels: number[]): Uint8Array {
  const b = new Uint8Array(labels.length * CIFAR10_RECORD_BYTES);
  labels.forEach((l, i) => {
    b[i * CIFAR10_RECORD_BYTES] = l;
    b[i * CIFAR10_RECORD_BYTES + 1] = 255; // R plane, first pixel
    b[i * CIFAR10_RECORD_BYTES + 1 + 2048] = i; // B plane, first pixel
  });
  return b;
}

Deno.test("parseCifar10 validates the record size and labels", () => {
  const { pixels, labels } = parseCifar10(batch([3, 9]));
  assert.deepEqual([...labels], [3, 9]);
  assert.equal(pixels.length, 2 * 3072);
  assert.throws(() => parseCifar10(batch([1]).slice(1), "b.bin"), /b\.bin: .*3073-byte records/);
  assert.throws(() => parseCifar10(new Uint8Array(0), "e.bin"), DataFormatError);
  assert.throws(() => parseCifar10(batch([1, 10]), "l.bin"), /l\.bin: record 1 has label 10/);
});

Deno.test("loadCifar10 reads files and the batches directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (let i = 1; i <= 5; i++) await Deno.writeFile(`${dir}/data_batch_${i}.bin`, batch([i, 0]));
    await Deno.writeFile(`${dir}/test_batch.bin`, batch([7]));
    const train = await loadCifar10(dir);
    assert.equal(train.length, 10);
    assert.deepEqual(train.shape, [3, 32, 32]);
    assert.deepEqual([...train.labels.slice(0, 4)], [1, 0, 2, 0]);
    const e = train.get(1);
    assert.equal(e.x[0], 1);
    assert.ok(Math.abs(e.x[2048] - 1 / 255) < 1e-7);
    const test = await loadCifar10(dir, { split: "test" });
    assert.deepEqual([...test.labels], [7]);
    assert.equal((await loadCifar10([`${dir}/test_batch.bin`])).length, 1);
    await assert.rejects(loadCifar10(`${dir}/nope`), /cannot read CIFAR-10/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
