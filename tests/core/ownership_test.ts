// Ownership: identities kept across moves, deterministic release, named errors for disposed
// tensors, and noGrad/scope/route/explain with async functions.

import assert from "node:assert/strict";
import {
  DisposedError,
  explain,
  F,
  nn,
  noGrad,
  optim,
  randn,
  registerBackend,
  route,
  tensor,
  unregisterBackend,
} from "../../mod.ts";
import type { TypedArray } from "../../mod.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

Deno.test("ownership: an op on a disposed tensor is a DisposedError naming the op", () => {
  const t = tensor([1, 2, 3]);
  t.dispose();
  assert.throws(
    () => t.add(1),
    (e: unknown) => e instanceof DisposedError && /add/.test(e.message),
  );
  assert.throws(() => t.toArraySync(), DisposedError);
  assert.throws(() => t.mul(tensor([1, 2, 3])), /mul: input 0/);
});

Deno.test("ownership: zeroGrad releases the old gradients at once", () => {
  const model = new nn.Linear(3, 2);
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  F.mseLoss(model.forward(randn([4, 3])), randn([4, 2])).backward();
  const grads = model.parameters().map((p) => p.grad!);
  opt.zeroGrad();
  for (const g of grads) assert.equal(g.disposed, true);
  for (const p of model.parameters()) assert.equal(p.grad, null);
  F.mseLoss(model.forward(randn([4, 3])), randn([4, 2])).backward();
  const again = model.parameters().map((p) => p.grad!);
  model.zeroGrad();
  for (const g of again) assert.equal(g.disposed, true);
});

Deno.test("ownership: Module.to keeps parameter, buffer and grad identities (host move)", () => {
  // A second host backend: moves share memory, so this exercises Module.to without a GPU (the
  // webgpu move is tested in tests/webgpu/ownership_webgpu_test.ts).
  registerBackend({
    name: "host2",
    hostMemory: true,
    priority: 95,
    upload: (d: TypedArray) => d,
    download: (h: unknown) => Promise.resolve(h as TypedArray),
    downloadSync: (h: unknown) => h as TypedArray,
    kernels: {},
  });
  try {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    F.mseLoss(model.forward(randn([5, 3])), randn([5, 4])).backward();
    const before = [...model.parameters(), ...model.buffers()];
    const grads = model.parameters().map((p) => p.grad!);
    const values = before.map((t) => t.toArraySync());
    model.to("host2");
    assert.deepStrictEqual([...model.parameters(), ...model.buffers()], before);
    assert.deepStrictEqual(model.parameters().map((p) => p.grad), grads);
    for (const t of [...before, ...grads]) assert.equal(t.device, "host2");
    assert.deepStrictEqual(before.map((t) => t.toArraySync()), values);
    model.to("cpu");
    for (const t of [...before, ...grads]) assert.equal(t.device, "cpu");
  } finally {
    unregisterBackend("host2");
  }
});

Deno.test("ownership: noGrad with an async function holds across awaits, only for it", async () => {
  const w = tensor([1, 2], { requiresGrad: true });
  let concurrent: boolean | null = null;
  const inside = noGrad(async () => {
    await tick();
    return w.mul(2);
  });
  // While the async noGrad waits, other code still records gradients.
  concurrent = w.mul(3).requiresGrad;
  const y = await inside;
  assert.equal(y.requiresGrad, false);
  assert.equal(concurrent, true);
  assert.equal(w.mul(2).requiresGrad, true);
});

Deno.test("ownership: noGrad refuses a plain function that returns a promise", async () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const inner = async () => {
    await tick();
    return w.mul(2);
  };
  assert.throws(() => noGrad(() => inner()), /not declared async/);
  await tick();
  assert.equal(noGrad(() => w.mul(2)).requiresGrad, false);
});

Deno.test("ownership: route and explain with async functions", async () => {
  const x = tensor([1, 2]);
  const { trace, result } = await explain(async () => {
    await tick();
    const a = x.add(1);
    await tick();
    return a.mul(2);
  });
  assert.deepStrictEqual(trace.map((e) => e.op), ["add", "mul"]);
  assert.deepStrictEqual(result.toArraySync(), [4, 6]);
  const seen = await route({ mul: "cpu" }, async () => {
    await tick();
    return explain(() => x.mul(3)).trace[0].via;
  });
  assert.equal(seen, "route");
  assert.equal(explain(() => x.mul(3)).trace[0].via, "device");
});
