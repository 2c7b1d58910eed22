/**
 * The host array pool behind cpu tensors: large arrays released by dispose() or scope() are
 * reused by the next allocation of the same dtype and length (a steady loop in scope() allocates
 * nothing new), a user's own array is never taken into it, small arrays stay with the garbage
 * collector, and emptyHostPool() empties it or sets its limit.
 */

import assert from "node:assert/strict";
import {
  emptyHostPool,
  F,
  fromData,
  hostPoolStats,
  randn,
  scope,
  tensor,
  ValueError,
  zeros,
} from "../../mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

const BIG = [256, 256]; // 256 KiB of float32: above the pool's 4 KiB floor

Deno.test("a released large array is reused, zeroed, by the next allocation of its length", () => {
  emptyHostPool();
  const a = randn(BIG);
  const handle = a.storage.handle;
  a.dispose();
  assert.equal(hostPoolStats().pooledBytes, 256 * 256 * 4);
  const b = zeros(BIG);
  assert.equal(b.storage.handle, handle);
  assert.ok((b.dataSync() as Float32Array).every((v) => v === 0));
  assert.equal(hostPoolStats().pooledBytes, 0);
});

Deno.test("a training-style loop in scope() allocates no new large arrays after its first step", () => {
  emptyHostPool();
  const w = randn([256, 256], { requiresGrad: true });
  const x = randn(BIG);
  const step = () =>
    scope(() => {
      x.matmul(w).relu().sum().backward();
      w.grad!.dispose();
      w.grad = null;
    });
  step();
  const held = hostPoolStats().pooledBytes;
  assert.ok(held > 0, "the first step's intermediates went back to the pool");
  for (let i = 0; i < 5; i++) {
    step();
    // Each step takes its arrays from the pool and gives the same ones back: nothing new.
    assert.equal(hostPoolStats().pooledBytes, held, `step ${i + 2}`);
  }
});

Deno.test("a user's array is never pooled, nor are small arrays", () => {
  emptyHostPool();
  const mine = new Float32Array(256 * 256).fill(7);
  const t = fromData(mine, BIG);
  t.dispose();
  assert.equal(hostPoolStats().pooledBytes, 0);
  const z = zeros(BIG);
  assert.notEqual(z.storage.handle, mine);
  assert.ok(mine.every((v) => v === 7), "the user's data is untouched");
  const small = tensor([1, 2, 3]);
  small.dispose();
  assert.equal(hostPoolStats().pooledBytes, 0);
});

Deno.test("a kernel's output of a few KiB is reused too; under 4 KiB it is not", () => {
  emptyHostPool();
  // [64, 16] float32 is 4 KiB, the pool's floor: an elementwise output of a small training batch.
  const x = randn([64, 16]), y = randn([64, 16]);
  const first = x.add(y);
  const handle = first.storage.handle;
  first.dispose();
  assert.equal(hostPoolStats().pooledBytes, 64 * 16 * 4);
  const again = x.mul(y);
  assert.equal(again.storage.handle, handle);
  const xs = x.dataSync() as Float32Array, ys = y.dataSync() as Float32Array;
  assert.deepEqual(again.dataSync(), xs.map((v, i) => Math.fround(v * ys[i])));
  const below = randn([1023]);
  below.dispose();
  assert.equal(hostPoolStats().pooledBytes, 0);
});

Deno.test("outputs of at most 256 bytes are zeroed views into shared slabs, one per size class", () => {
  const x = tensor([1, 2, 3, 4]), y = tensor([10, 20, 30, 40]);
  const s = x.add(y), p = x.mul(y), z = zeros([3]);
  const hs = s.storage.handle as Float32Array, hp = p.storage.handle as Float32Array;
  const hz = z.storage.handle as Float32Array;
  // Three 16-byte views of one slab, side by side.
  assert.equal(hs.buffer, hp.buffer);
  assert.equal(hp.buffer, hz.buffer);
  assert.equal(new Set([hs.byteOffset, hp.byteOffset, hz.byteOffset]).size, 3);
  // Each kernel wrote its own view only: the sum survived the product written next to it.
  assert.deepEqual([...hs], [11, 22, 33, 44]);
  assert.deepEqual([...hp], [10, 40, 90, 160]);
  assert.deepEqual([...hz], [0, 0, 0]);
  // 64 floats (256 bytes) take the largest class; 65 get a buffer of their own.
  const m = zeros([64]).storage.handle as Float32Array;
  assert.notEqual(m.buffer, hs.buffer);
  assert.ok(m.buffer.byteLength > 256 && m.every((v) => v === 0));
  const own = zeros([65]).storage.handle as Float32Array;
  assert.deepEqual([own.byteOffset, own.buffer.byteLength], [0, 65 * 4]);
  // int32 too (a cast's output); bool and float16 arrays keep their own buffers.
  const idx = x.int().storage.handle as Int32Array;
  assert.ok(idx instanceof Int32Array && idx.buffer.byteLength === 4096);
  assert.deepEqual([...idx], [1, 2, 3, 4]);
  const mask = x.gt(y).storage.handle as Uint8Array;
  assert.equal(mask.buffer.byteLength, 4);
  // Disposing a view gives nothing to the pool (its slab goes when no view of it is left).
  s.dispose();
  assert.equal(hostPoolStats().pooledBytes, 0);
});

Deno.test("emptyHostPool empties the pool and sets its limit; 0 turns pooling off", () => {
  emptyHostPool(0);
  randn(BIG).dispose();
  assert.deepEqual(hostPoolStats(), { pooledBytes: 0, limitBytes: 0, allocations: 1, reuses: 0 });
  emptyHostPool(256 * 1024 * 1024);
  randn(BIG).dispose();
  assert.ok(hostPoolStats().pooledBytes > 0);
  emptyHostPool();
  assert.equal(hostPoolStats().pooledBytes, 0);
  assertThrowsNamed(() => emptyHostPool(-1), ValueError, "emptyHostPool: limitBytes");
});

Deno.test("the dense copy dispatch makes of a view for a kernel goes back to the pool", () => {
  const x = randn(BIG);
  emptyHostPool();
  // exp's cpu kernel reads plain arrays: the transposed view is copied for it first.
  x.transpose(0, 1).exp().dispose();
  assert.equal(hostPoolStats().allocations, 2);
  assert.equal(hostPoolStats().pooledBytes, 2 * 256 * 256 * 4, "the copy and the result");
});

Deno.test("max pooling's indices come from the pool and go back to it", () => {
  // [8, 64, 16, 16] pooled 3 x 3 / 2 (ceil) and 2 x 2 / 2: 8 * 64 * 8 * 8 int32 indices, 128 KiB,
  // through the generic and the 2 x 2 kernels.
  const x = randn([8, 64, 16, 16]);
  for (const [k, options] of [[3, { stride: 2, padding: 1 }], [2, {}]] as const) {
    emptyHostPool();
    const [y, idx] = F.maxPool2dWithIndices(x, k, options);
    assert.equal(idx.dtype, "int32");
    const handle = idx.storage.handle, want = Array.from(idx.dataSync());
    const made = hostPoolStats().allocations;
    y.dispose();
    idx.dispose();
    const [y2, idx2] = F.maxPool2dWithIndices(x, k, options);
    assert.equal(hostPoolStats().allocations, made, "the second call makes no new large array");
    assert.equal(idx2.storage.handle, handle, "the indices reuse the released array");
    assert.deepEqual(Array.from(idx2.dataSync()), want);
    y2.dispose();
    idx2.dispose();
  }
});
