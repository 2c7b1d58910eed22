/**
 * PyTorch state dicts with int64 tensors (tools/gen_training_utils_fixtures.py): a
 * Sequential(Conv2d, BatchNorm2d) trained for three batches in PyTorch, whose
 * `1.num_batches_tracked` is the I64 3, saved as safetensors bytes, loads into denn's layers
 * unchanged (the I64 becomes int32) and gives PyTorch's eval-mode output; I64 index buffers with
 * the int32 extremes load exactly; a value outside int32 is a DataFormatError naming the file,
 * the tensor, the index and the value.
 */

import assert from "node:assert/strict";
import { nn, noGrad, tensor } from "../../mod.ts";
import { DataFormatError } from "../../plugins/data/mod.ts";
import { deserialize, load, loadWithMetadata } from "../../plugins/train/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

interface Described {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/training_utils.json", import.meta.url)),
).safetensors as {
  batchnorm: {
    bytes: string;
    tensors: Record<string, Described>;
    input: { shape: number[]; values: number[] };
    output: { shape: number[]; values: number[] };
  };
  indices: { bytes: string; tensors: Record<string, Described> };
};

const decodeBase64 = (b64: string): Uint8Array =>
  Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const bnBytes = decodeBase64(fixture.batchnorm.bytes);
const indexBytes = decodeBase64(fixture.indices.bytes);

function near(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: got ${got[i]}, expected ${want[i]}`,
    );
  }
}

Deno.test("a PyTorch BatchNorm state dict with the I64 num_batches_tracked loads as int32", () => {
  const { tensors, metadata } = deserialize(bnBytes, { name: "bn.safetensors" });
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(fixture.batchnorm.tensors).sort());
  for (const [k, want] of Object.entries(fixture.batchnorm.tensors)) {
    const t = tensors[k];
    assert.deepEqual(t.shape, want.shape, k);
    if (want.dtype === "int64") {
      assert.equal(t.dtype, "int32", `${k}: I64 loads as int32`);
      assert.deepEqual([...t.dataSync()], want.values, k);
    } else {
      assert.equal(t.dtype, "float32", k);
      near(t.dataSync(), want.values.map(Number), k, 1e-6);
    }
  }
  assert.equal(tensors["1.num_batches_tracked"].itemSync(), 3);
});

Deno.test("the PyTorch model's state dict loads into denn's layers and gives PyTorch's output", () => {
  const model = new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1 }), new nn.BatchNorm2d(3));
  const result = model.loadStateDict(deserialize(bnBytes).tensors);
  assert.deepEqual([result.missingKeys, result.unexpectedKeys], [[], []]);
  const bn = model.at(1) as nn.BatchNorm2d;
  assert.equal(bn.numBatchesTracked?.itemSync(), 3);
  assert.equal(bn.numBatchesTracked?.dtype, "int32");
  model.eval();
  const { input, output } = fixture.batchnorm;
  const y = noGrad(() =>
    model.forward(tensor(Float32Array.from(input.values), { shape: input.shape }))
  );
  assert.deepEqual(y.shape, output.shape);
  near(y.dataSync(), output.values, "eval output");
  // A training step goes on counting from PyTorch's count.
  model.train();
  model.forward(tensor(Float32Array.from(input.values), { shape: input.shape }));
  assert.equal(bn.numBatchesTracked?.itemSync(), 4);
});

Deno.test("I64 index buffers load exactly, int32 extremes included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/idx.safetensors`, indexBytes);
    const tensors = await load(`${dir}/idx.safetensors`);
    for (const [k, want] of Object.entries(fixture.indices.tensors)) {
      assert.equal(tensors[k].dtype, "int32", k);
      assert.deepEqual(tensors[k].shape, want.shape, k);
      assert.deepEqual([...tensors[k].dataSync()], want.values, k);
    }
    assert.deepEqual(tensors.extremes.toArraySync(), [0, -1, 2147483647, -2147483648, 7]);
    assert.equal(tensors.scalar.itemSync(), 12345678);
    const { metadata } = await loadWithMetadata(`${dir}/idx.safetensors`);
    assert.deepEqual(metadata, {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The byte offset of element `index` of tensor `key` in a safetensors file.
function elementOffset(bytes: Uint8Array, key: string, index: number): number {
  const hlen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  return 8 + hlen + header[key].data_offsets[0] + 8 * index;
}

function withI64(bytes: Uint8Array, key: string, index: number, v: bigint): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setBigInt64(elementOffset(out, key, index), v, true);
  return out;
}

Deno.test("an I64 value outside int32 is a DataFormatError naming the tensor, index and value", () => {
  const cases: [Uint8Array, string, number, bigint][] = [
    [bnBytes, "1.num_batches_tracked", 0, 2n ** 31n],
    [bnBytes, "1.num_batches_tracked", 0, -(2n ** 63n)],
    [indexBytes, "extremes", 3, -(2n ** 31n) - 1n],
    [indexBytes, "perm", 5, 2n ** 40n],
    [indexBytes, "scalar", 0, 9223372036854775807n],
  ];
  for (const [bytes, key, index, v] of cases) {
    assertThrowsNamed(
      () => deserialize(withI64(bytes, key, index, v), { name: "model.safetensors" }),
      DataFormatError,
      `model.safetensors: tensor "${key}": I64 value ${v} at index ${index} does not fit int32 ` +
        `(denn loads I64 tensors, such as PyTorch's num_batches_tracked and index buffers, as ` +
        `int32: -2147483648 to 2147483647)`,
    );
  }
  // The int32 bounds themselves load.
  const edge = deserialize(withI64(indexBytes, "perm", 0, -(2n ** 31n))).tensors.perm;
  assert.equal(edge.dataSync()[0], -2147483648);
});
