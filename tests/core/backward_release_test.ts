/**
 * Backward releases the intermediate gradients it is done with (not the seeds, the leaves' grads,
 * the gradients autograd.grad returns, or those a rule keeps), so a training loop written without
 * scope() reuses their large host arrays at once instead of waiting for the garbage collector.
 */

import assert from "node:assert/strict";
import {
  autograd,
  emptyHostPool,
  hostPoolStats,
  manualSeed,
  nn,
  optim,
  randn,
  scope,
  tensor,
} from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";

const BIG = [256, 256]; // 256 KiB of float32: above the host pool's 4 KiB floor

Deno.test("backward: intermediate gradients go back to the host pool; the leaf's grad is right", () => {
  manualSeed(1);
  const x = randn(BIG, { requiresGrad: true });
  const y = x.mul(2).relu().mul(3).sum();
  emptyHostPool();
  y.backward();
  // relu's incoming gradient went back to the pool once consumed, was taken again by the first
  // mul's gradient, and the gradient mul consumed went back in its place: one array is waiting.
  assert.equal(hostPoolStats().pooledBytes, 256 * 256 * 4);
  const xs = x.dataSync() as Float32Array, g = x.grad!.dataSync() as Float32Array;
  for (let i = 0; i < xs.length; i++) assert.equal(g[i], xs[i] > 0 ? 6 : 0);
});

Deno.test("backward: a gradient that reaches one node along two edges is summed, then released", () => {
  const a = randn([300, 300], { requiresGrad: true });
  const b = a.mul(1.5);
  // b feeds both operands of the add and of the mul: its gradient arrives twice and is summed.
  b.add(b).mul(b).sum().backward();
  const av = a.dataSync() as Float32Array, g = a.grad!.dataSync() as Float32Array;
  // d/da of (2b)·b = 4b·1.5 = 9a.
  for (let i = 0; i < av.length; i += 97) assert.ok(Math.abs(g[i] - 9 * av[i]) < 1e-4);
});

Deno.test("autograd.grad: returned intermediate and leaf gradients stay usable", () => {
  const x = randn(BIG, { requiresGrad: true });
  const h = x.mul(2);
  const out = h.relu().sum();
  const [gh, gx] = autograd.grad(out, [h, x]);
  const hv = h.dataSync() as Float32Array;
  const ghv = gh!.dataSync() as Float32Array, gxv = gx!.dataSync() as Float32Array;
  for (let i = 0; i < hv.length; i += 101) {
    assert.equal(ghv[i], hv[i] > 0 ? 1 : 0);
    assert.equal(gxv[i], hv[i] > 0 ? 2 : 0);
  }
});

Deno.test("backward: createGraph keeps every gradient (second order still works)", () => {
  const x = tensor([1.5, -2, 3], { requiresGrad: true });
  const y = x.mul(x).mul(x).sum();
  const [g] = autograd.grad(y, [x], { createGraph: true });
  g!.sum().backward();
  assertClose(x.grad!, [9, -12, 18]); // d/dx Σ 3x² = 6x
});

Deno.test("backward: a full backward hook may keep the gradients it is given", () => {
  const lin = new nn.Linear(256, 256);
  let seen: unknown[] = [];
  lin.registerFullBackwardHook((_m, gradIn, gradOut) => {
    seen = [...gradIn, ...gradOut];
  });
  lin.forward(randn([64, 256], { requiresGrad: true })).relu().sum().backward();
  for (const t of seen) if (t) assert.equal((t as { isReleased: boolean }).isReleased, false);
});

Deno.test("backward: a leaf used at many steps gets its sum; the partial sums go back to the pool", () => {
  manualSeed(2);
  // w is used five times, as an RNN's weights are at every step: five gradients arrive for it.
  const w = randn([64, 64], { requiresGrad: true }), x = randn([32, 64]);
  const run = () => {
    let h = x;
    for (let i = 0; i < 5; i++) h = h.matmul(w).tanh();
    return h.sum();
  };
  const [expected] = autograd.grad(run(), [w]);
  const opt = new optim.SGD([w], { lr: 0 });
  const step = () =>
    scope(() => {
      opt.zeroGrad();
      run().backward();
    });
  step();
  step();
  const before = hostPoolStats().allocations;
  for (let i = 0; i < 3; i++) step();
  assert.equal(hostPoolStats().allocations, before, "later steps make no new arrays");
  assertClose(w.grad!, expected!);
});

Deno.test("backward: a .grad an earlier backward left, held by the user, is neither changed nor freed", () => {
  const w = randn([64, 64], { requiresGrad: true }), x = randn([16, 64]);
  const loss = () => x.matmul(w).matmul(w).sum();
  loss().backward();
  const first = w.grad!, values = Float32Array.from(first.dataSync() as Float32Array);
  loss().backward();
  assert.equal(first.isReleased, false);
  assert.deepEqual(first.dataSync(), values);
  assertClose(w.grad!, tensor(values).reshape([64, 64]).mul(2));
});

Deno.test("backward: a .grad a backward hook read and kept mid-sweep stays usable", () => {
  manualSeed(3);
  const lin = new nn.Linear(64, 64), act = new nn.Tanh();
  let seen: { isReleased: boolean; dataSync(): unknown } | null = null;
  // Runs after the outer use of lin has given lin.weight its first gradient, before the inner one.
  act.registerFullBackwardHook(() => {
    seen = lin.weight.grad;
  });
  lin.forward(act.forward(lin.forward(randn([8, 64])))).sum().backward();
  assert.ok(seen !== null, "the hook saw a gradient");
  const kept = seen as unknown as { isReleased: boolean; dataSync(): Float32Array };
  assert.equal(kept.isReleased, false);
  assert.ok(kept.dataSync().every(Number.isFinite));
  assert.notEqual(kept, lin.weight.grad, "the inner use added into a new sum");
});
