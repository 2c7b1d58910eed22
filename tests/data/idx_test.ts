import assert from "node:assert/strict";
import {
  DataFormatError,
  labelsPathFor,
  loadIdx,
  parseIdx,
  readIdx,
} from "../../plugins/data/mod.ts";

function idx(code: number, dims: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head[2] = code;
  head[3] = dims.length;
  const v = new DataView(head.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

const images = idx(0x08, [3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i * 20));
const labels = idx(0x08, [3], new Uint8Array([4, 0, 9]));

Deno.test("parseIdx decodes uint8 and big-endian int32/float32", () => {
  const a = parseIdx(images, "x");
  assert.equal(a.dtype, "uint8");
  assert.deepEqual(a.shape, [3, 2, 2]);
  assert.equal(a.data[11], 220);
  const body = new Uint8Array(8);
  new DataView(body.buffer).setInt32(0, -5, false);
  new DataView(body.buffer).setInt32(4, 70000, false);
  assert.deepEqual([...parseIdx(idx(0x0c, [2], body)).data], [-5, 70000]);
  const fb = new Uint8Array(4);
  new DataView(fb.buffer).setFloat32(0, 1.5, false);
  assert.deepEqual([...parseIdx(idx(0x0d, [1], fb)).data], [1.5]);
});

Deno.test("parseIdx rejects malformed files with the file name and problem", () => {
  const bad = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => parseIdx(bytes, "f.idx"), (e: Error) => {
      assert.ok(e instanceof DataFormatError, String(e));
      assert.match(e.message, /^f\.idx: /);
      assert.match(e.message, re);
      return true;
    });
  bad(new Uint8Array([0, 0]), /no header/);
  const wrongMagic = images.slice();
  wrongMagic[0] = 1;
  bad(wrongMagic, /magic number/);
  const wrongCode = images.slice();
  wrongCode[2] = 0x07;
  bad(wrongCode, /dtype code 07/);
  bad(images.slice(0, 10), /truncated IDX header/);
  bad(images.slice(0, images.length - 1), /needs 12 data bytes, file has 11/);
  bad(new Uint8Array([...images, 0]), /needs 12 data bytes, file has 13/);
  bad(idx(0x08, [0], new Uint8Array()), /dimension 0 has invalid size 0/);
  bad(new Uint8Array([0, 0, 8, 0]), /0 dimensions/);
});

Deno.test("readIdx and loadIdx read plain and gzip files, labels by naming convention", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte.gz`, await gzip(images));
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte.gz`, await gzip(labels));
    await Deno.writeFile(`${dir}/plain-images.idx3-ubyte`, images);
    assert.deepEqual((await readIdx(`${dir}/plain-images.idx3-ubyte`)).shape, [3, 2, 2]);
    const ds = await loadIdx(`${dir}/train-images-idx3-ubyte.gz`);
    assert.equal(ds.length, 3);
    assert.deepEqual(ds.shape, [1, 2, 2]);
    const e = ds.get(2);
    assert.equal(e.y, 9);
    assert.ok(Math.abs(e.x[3] - 220 / 255) < 1e-6);
    // Explicit labels path, and a count mismatch.
    await Deno.writeFile(`${dir}/two.idx`, idx(0x08, [2], new Uint8Array([1, 2])));
    await assert.rejects(
      loadIdx(`${dir}/plain-images.idx3-ubyte`, { labels: `${dir}/two.idx` }),
      /2 labels for 3 images/,
    );
    // Corrupt gzip.
    const gz = await gzip(images);
    await Deno.writeFile(`${dir}/bad-images.gz`, gz.slice(0, gz.length - 6));
    await assert.rejects(readIdx(`${dir}/bad-images.gz`), DataFormatError);
    await assert.rejects(readIdx(`${dir}/missing`), /cannot read IDX file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("labelsPathFor follows MNIST's names", () => {
  assert.equal(labelsPathFor("a/t10k-images-idx3-ubyte"), "a/t10k-labels-idx1-ubyte");
  assert.equal(labelsPathFor("x/images/data.idx"), null);
});
