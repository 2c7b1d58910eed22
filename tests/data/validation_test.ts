// Options of loaders, datasets, splits and transforms are validated (a ValueError naming the option
// and what is accepted, never a silent clamp or fallback); only regular files are read; gzip input
// stops decompressing at the size its header (IDX) or the record limit (CIFAR-10) allows.

import assert from "node:assert/strict";
import { Generator, IndexError, ShapeError, ValueError } from "../../mod.ts";
import {
  ArrayDataset,
  CIFAR10_RECORD_BYTES,
  DataFormatError,
  DataLoader,
  loadCifar10,
  loadIdx,
  normalize,
  randomCrop,
  randomHorizontalFlip,
  randomSplit,
  readCifar10,
  readIdx,
  Subset,
  trainValidationSplit,
} from "../../plugins/data/mod.ts";
import { load } from "../../plugins/train/mod.ts";

const ds = new ArrayDataset(new Float32Array(10 * 4), new Int32Array(10), [4]);

function throwsNamed(f: () => unknown, cls: typeof ValueError, re: RegExp): void {
  assert.throws(f, (e: Error) => {
    assert.ok(e instanceof cls, `${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

async function rejectsNamed(p: Promise<unknown>, cls: typeof ValueError, re: RegExp) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof cls, `${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const bad = <T>(v: unknown) => v as T;

Deno.test("DataLoader validates every option", () => {
  const mk = (o: unknown) => () => new DataLoader(ds, bad(o));
  for (const bs of [-5, 0, NaN, 1.5, Infinity, "4", null]) {
    throwsNamed(
      mk({ batchSize: bs }),
      ValueError,
      /DataLoader: batchSize must be an integer >= 1, got/,
    );
  }
  throwsNamed(mk({ batchSiz: 4 }), ValueError, /unknown option "batchSiz" \(accepted: batchSize,/);
  throwsNamed(mk({ shuffle: "yes" }), ValueError, /shuffle must be true or false, got "yes"/);
  throwsNamed(mk({ dropLast: 1 }), ValueError, /dropLast must be true or false/);
  throwsNamed(
    mk({ dropLast: true, batchSize: 11 }),
    ValueError,
    /dropLast with batchSize 11 > 10 examples would give no batches/,
  );
  throwsNamed(mk({ seed: NaN }), ValueError, /seed must be a safe integer, got/);
  throwsNamed(mk({ seed: 0.5 }), ValueError, /seed must be a safe integer, got/);
  throwsNamed(mk({ generator: {} }), ValueError, /generator must be a Generator, got an object/);
  throwsNamed(mk({ transforms: normalize(0, 1) }), ValueError, /transforms must be an array/);
  throwsNamed(mk({ transforms: [5] }), ValueError, /transforms must be an array of transforms/);
  throwsNamed(mk({ device: "" }), ValueError, /device must be a non-empty string/);
  throwsNamed(mk(5), ValueError, /options must be an object, got 5/);
  throwsNamed(() => new DataLoader(bad({ length: 3 })), ValueError, /expected a Dataset/);
  // Valid edge cases still work; undefined counts as absent.
  assert.equal(new DataLoader(ds, { batchSize: 10, dropLast: true }).length, 1);
  assert.equal(new DataLoader(ds, { batchSize: undefined, seed: -3 }).length, 10);
  assert.ok(new DataLoader(ds, { generator: new Generator(1) }).generator instanceof Generator);
});

Deno.test("datasets, subsets and splits validate their arguments", () => {
  throwsNamed(
    () => new ArrayDataset(new Float32Array(4), new Int32Array(1), [-1, -4]),
    ShapeError,
    /example shape must be a non-empty list of positive integers, got \[-1,-4\]/,
  );
  throwsNamed(
    () => new ArrayDataset(new Float32Array(4), new Int32Array(1), [2.5]),
    ShapeError,
    /positive integers/,
  );
  throwsNamed(
    () => new ArrayDataset(new Float32Array(4), new Int32Array([3]), [4], { numClasses: 2 }),
    ValueError,
    /numClasses must be an integer >= 4, got 2/,
  );
  throwsNamed(
    () => new ArrayDataset(new Float32Array(4), new Int32Array(1), [4], { scale: NaN }),
    ValueError,
    /scale must be a finite number, got NaN/,
  );
  throwsNamed(
    () => new ArrayDataset(bad([1, 2]), new Int32Array(2), [1]),
    ValueError,
    /data must be a Float32Array or Uint8Array/,
  );
  throwsNamed(() => new Subset(ds, [1.5]), IndexError, /Subset: index 1.5 is out of range/);
  throwsNamed(() => new Subset(ds, [NaN]), IndexError, /index NaN/);
  throwsNamed(() => new Subset(ds, [-1]), IndexError, /index -1/);
  throwsNamed(() => ds.get(10), IndexError, /ArrayDataset.get: index 10 is out of range/);
  throwsNamed(() => randomSplit(ds, [NaN, 1]), ValueError, /lengths must be finite/);
  throwsNamed(() => randomSplit(ds, [Infinity]), ValueError, /lengths must be finite/);
  throwsNamed(() => randomSplit(ds, []), ValueError, /non-empty array/);
  throwsNamed(
    () => randomSplit(ds, [5, 5], { seed: 1.5 }),
    ValueError,
    /seed must be a safe integer, got/,
  );
  throwsNamed(() => randomSplit(ds, [5, 5], bad({ sed: 1 })), ValueError, /unknown option "sed"/);
  for (const v of [NaN, -1, -0.2, 11, 2.5, "0.2", Infinity]) {
    throwsNamed(
      () => trainValidationSplit(ds, bad(v)),
      ValueError,
      /trainValidationSplit: validation/,
    );
  }
  assert.equal(trainValidationSplit(ds, 0.3, { seed: 1 }).validation.length, 3);
});

Deno.test("transforms validate their parameters", () => {
  throwsNamed(() => normalize(NaN, 1), ValueError, /normalize: mean must be a finite number/);
  throwsNamed(
    () => normalize([0, 1], [1, Infinity]),
    ValueError,
    /normalize: std must be a finite/,
  );
  throwsNamed(() => normalize([], []), ValueError, /non-empty list/);
  throwsNamed(() => normalize(0, -1), ValueError, /std must be > 0/);
  throwsNamed(() => randomCrop(0), ValueError, /randomCrop: size must be an integer >= 1, got 0/);
  throwsNamed(() => randomCrop(3.5), ValueError, /size must be an integer/);
  throwsNamed(
    () => randomCrop(bad(undefined)),
    ValueError,
    /randomCrop: size is required/,
  );
  throwsNamed(() => randomCrop(3, { padding: -1 }), ValueError, /padding must be an integer >= 0/);
  throwsNamed(() => randomCrop(3, { fill: NaN }), ValueError, /fill must be a finite number/);
  throwsNamed(() => randomCrop(3, bad({ pad: 1 })), ValueError, /unknown option "pad"/);
  throwsNamed(() => randomHorizontalFlip(bad("0.5")), ValueError, /p must be a number in \[0, 1\]/);
  throwsNamed(() => randomHorizontalFlip(1.5), ValueError, /p must be a number in \[0, 1\]/);
});

function idx(code: number, dims: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head[2] = code;
  head[3] = dims.length;
  dims.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d));
  return new Uint8Array([...head, ...body]);
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("loadIdx and loadCifar10 validate their options", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a-images.idx`, idx(8, [3, 2, 2], new Uint8Array(12)));
    await Deno.writeFile(`${dir}/a-labels.idx`, idx(8, [3], new Uint8Array([1, 2, 3])));
    const images = `${dir}/a-images.idx`;
    for (const limit of [-5, 0, NaN, 1.5, Infinity, "2"]) {
      await rejectsNamed(
        loadIdx(images, bad({ limit })),
        ValueError,
        /loadIdx: limit must be an integer >= 1, got/,
      );
    }
    await rejectsNamed(
      loadIdx(images, bad({ labels: 5 })),
      ValueError,
      /labels must be a non-empty string/,
    );
    await rejectsNamed(
      loadIdx(images, bad({ limits: 5 })),
      ValueError,
      /unknown option "limits" \(accepted: labels, limit\)/,
    );
    assert.equal((await loadIdx(images, { limit: 2 })).length, 2);
    assert.equal((await loadIdx(images, { limit: 99, labels: undefined })).length, 3);
    // int32 labels read from a file are checked too.
    const neg = new Uint8Array(12);
    new DataView(neg.buffer).setInt32(4, -7);
    await Deno.writeFile(`${dir}/neg.idx`, idx(0x0c, [3], neg));
    await rejectsNamed(
      loadIdx(images, { labels: `${dir}/neg.idx` }),
      DataFormatError,
      /neg\.idx: label 1 is negative \(-7\)/,
    );

    const batch = new Uint8Array(2 * CIFAR10_RECORD_BYTES);
    await Deno.writeFile(`${dir}/test_batch.bin`, batch);
    await rejectsNamed(
      loadCifar10(dir, bad({ split: "val" })),
      ValueError,
      /loadCifar10: split must be one of "train", "test", got "val"/,
    );
    await rejectsNamed(
      loadCifar10(dir, { maxRecords: 0 }),
      ValueError,
      /maxRecords must be an integer >= 1/,
    );
    await rejectsNamed(
      loadCifar10(dir, bad({ spilt: "test" })),
      ValueError,
      /unknown option "spilt"/,
    );
    await rejectsNamed(loadCifar10([]), ValueError, /non-empty list of batch files/);
    await rejectsNamed(loadCifar10(bad([5])), ValueError, /non-empty list/);
    await rejectsNamed(loadCifar10(""), ValueError, /non-empty string/);
    assert.equal((await loadCifar10(dir, { split: "test" })).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("devices, FIFOs and directories are rejected before reading, not read forever", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths: [string, RegExp][] = [[dir, /a directory, not a regular file/]];
    if (Deno.build.os !== "windows") {
      paths.push(["/dev/zero", /a character device, not a regular file/]);
    }
    const canRun = (await Deno.permissions.query({ name: "run", command: "mkfifo" })).state ===
      "granted";
    if (canRun && Deno.build.os !== "windows") {
      const fifo = `${dir}/fifo`;
      const { success } = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      if (success) paths.push([fifo, /a FIFO, not a regular file/]);
    }
    for (const [p, re] of paths) {
      const name = new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: cannot read`);
      for (const read of [readIdx, (f: string) => readCifar10(f), load]) {
        await assert.rejects(read(p), (e: Error) => {
          assert.ok(e instanceof DataFormatError, String(e));
          assert.match(e.message, name);
          assert.match(e.message, re);
          return true;
        });
      }
    }
    await rejectsNamed(
      loadIdx("/dev/zero", { labels: "/dev/zero" }),
      DataFormatError,
      /character device|directory/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gzip input stops decompressing at the size the header or record limit allows", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 64 MB of zeros after a header that declares one 28 x 28 image: a ~65 KB "zip bomb".
    const zeros = new Uint8Array(64 << 20);
    zeros.set(idx(8, [1, 28, 28], new Uint8Array()));
    const bomb = await gzip(zeros);
    assert.ok(bomb.length < 100_000);
    await Deno.writeFile(`${dir}/bomb-images.gz`, bomb);
    await assert.rejects(readIdx(`${dir}/bomb-images.gz`), (e: Error) => {
      assert.ok(e instanceof DataFormatError, String(e));
      const m =
        /bomb-images\.gz: gzip data decompresses to more than the 800 bytes its IDX header declares; stopped after (\d+)/
          .exec(e.message);
      assert.ok(m, e.message);
      assert.ok(Number(m[1]) <= 17 << 20, `stopped after ${m[1]} bytes, not near 64 MB`);
      return true;
    });
    // A header that declares more than exists, or a bad header, stops as soon as it is seen.
    const short = await gzip(idx(8, [2, 28, 28], new Uint8Array(784)));
    await Deno.writeFile(`${dir}/short.gz`, short);
    await rejectsNamed(
      readIdx(`${dir}/short.gz`),
      DataFormatError,
      /needs 1568 data bytes, file has 784/,
    );
    zeros[2] = 0x42;
    await Deno.writeFile(`${dir}/code.gz`, await gzip(zeros.subarray(0, 1 << 20)));
    await rejectsNamed(
      readIdx(`${dir}/code.gz`),
      DataFormatError,
      /code\.gz: unknown IDX dtype code 42/,
    );
    // CIFAR-10: zeros are valid records (label 0), so only the record limit stops them.
    zeros.fill(0, 0, 16);
    await Deno.writeFile(`${dir}/data_batch_1.bin.gz`, await gzip(zeros));
    await rejectsNamed(
      readCifar10(`${dir}/data_batch_1.bin.gz`),
      DataFormatError,
      /decompresses to more than the 30730000 bytes of 10000 CIFAR-10 records \(maxRecords\)/,
    );
    const two = await gzip(new Uint8Array(2 * CIFAR10_RECORD_BYTES));
    await Deno.writeFile(`${dir}/two.bin.gz`, two);
    assert.equal((await readCifar10(`${dir}/two.bin.gz`)).labels.length, 2);
    await rejectsNamed(
      readCifar10(`${dir}/two.bin.gz`, 1),
      DataFormatError,
      /more than the 3073 bytes/,
    );
    assert.equal((await loadCifar10([`${dir}/two.bin.gz`])).length, 2);
    // A plain file's size is checked against its header before the data is read.
    await Deno.writeFile(`${dir}/big.idx`, idx(8, [1, 2, 2], new Uint8Array(5)));
    await rejectsNamed(
      readIdx(`${dir}/big.idx`),
      DataFormatError,
      /big\.idx: IDX data length mismatch: .* needs 4 data bytes, file has 5/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
