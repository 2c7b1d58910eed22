// Ownership on a device without shared memory: Module.to/toAsync keep identities (an optimizer
// built before still trains), in-place ops and a training loop written without scope() or
// dispose() keep device memory flat, async scopes, views, and the error for a missing kernel.
// Skipped without an adapter, except under CI=true, where webgpu_test.ts already fails the run.

import assert from "node:assert/strict";
import {
  apply1,
  defineOp,
  explain,
  F,
  manualSeed,
  Module,
  nn,
  optim,
  Parameter,
  randn,
  scope,
  tensor,
  use,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";

const plugin = await webgpu();
use(plugin);
const gc = (globalThis as { gc?: () => void }).gc;

function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name: `webgpu ownership: ${name}`,
    ignore: plugin.unavailableReason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

// Collects garbage and lets the FinalizationRegistry run, then reports live device buffers.
async function settle(): Promise<{ liveBuffers: number; liveBytes: number }> {
  if (!gc) throw new Error("run with --v8-flags=--expose-gc (deno task test does)");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
  await plugin.sync();
  const s = plugin.memoryStats();
  return { liveBuffers: s.liveBuffers, liveBytes: s.liveBytes };
}

class Tied extends Module {
  w = Parameter(randn([4, 4]));
  alias = this.w;
  forward(x: Tensor): Tensor {
    return x.matmul(this.w).matmul(this.alias.t());
  }
}

test("an optimizer built before model.to('webgpu') keeps training it", async () => {
  manualSeed(1);
  const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 1));
  const params = model.parameters();
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  model.to("webgpu");
  assert.deepStrictEqual(model.parameters(), params);
  for (const p of params) assert.equal(p.device, "webgpu");
  const x = randn([16, 4]).to("webgpu");
  const y = x.sum(1, { keepdim: true }).to("webgpu");
  const losses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const loss = F.mseLoss(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if (i === 0 || i === 29) losses.push(await loss.item());
  }
  assert.ok(losses[1] < losses[0] * 0.5, `loss did not fall: ${losses}`);
  await model.toAsync("cpu");
  assert.deepStrictEqual(model.parameters(), params);
  for (const p of params) assert.equal(p.device, "cpu");
});

test("SGD over parameters on cpu and webgpu at once: one update op per device, cpu's values", async () => {
  const run = async (split: boolean) => {
    manualSeed(2);
    const a = randn([5, 3]).requiresGrad_();
    const b = (split ? randn([7]).to("webgpu") : randn([7])).requiresGrad_();
    const opt = new optim.SGD([a, b], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    let ops: string[] = [];
    for (let k = 0; k < 3; k++) {
      a.grad = randn(a.shape);
      const gb = randn(b.shape);
      b.grad = split ? gb.to("webgpu") : gb;
      const { trace } = explain(() => opt.step());
      ops = trace.filter((e) => e.op.startsWith("sgdUpdate")).map((e) => `${e.op}@${e.backend}`);
    }
    return { values: [a.dataSync(), await b.data()], ops };
  };
  const one = await run(false), two = await run(true);
  assert.deepStrictEqual(one.ops, ["sgdUpdateForeach@cpu"]);
  assert.deepStrictEqual(two.ops.sort(), ["sgdUpdateForeach@cpu", "sgdUpdateForeach@webgpu"]);
  assert.deepStrictEqual(two.values[0], one.values[0]);
  const [gb, cb] = [two.values[1], one.values[1]];
  for (let i = 0; i < cb.length; i++) assert.ok(Math.abs(gb[i] - cb[i]) < 1e-5, `b[${i}]`);
});

test("tied weights stay tied across model.to", () => {
  const m = new Tied();
  m.to("webgpu");
  assert.equal(m.w, m.alias);
  assert.equal(m.w.device, "webgpu");
});

test("in-place ops release the replaced device buffer", async () => {
  const x = randn([64, 64]).to("webgpu");
  for (let i = 0; i < 20; i++) x.mul(1).relu_();
  const before = await settle();
  for (let i = 0; i < 300; i++) {
    x.mul(1).relu_();
    x.mul(2).sigmoid_().add_(1);
  }
  const after = await settle();
  assert.ok(
    after.liveBuffers <= before.liveBuffers,
    `${before.liveBuffers} → ${after.liveBuffers}`,
  );
});

test("a training loop without scope() or dispose() stays flat over 2,000 steps", async () => {
  manualSeed(2);
  const model = new nn.Sequential(
    new nn.Linear(8, 16),
    new nn.ReLU({ inplace: true }),
    new nn.Linear(16, 4),
  ).to("webgpu");
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([8, 8]).to("webgpu");
  const y = tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: "int32" }).to("webgpu");
  const step = () => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  for (let i = 0; i < 100; i++) step();
  const before = await settle();
  let last: Tensor | null = null;
  for (let i = 0; i < 2000; i++) {
    last = step();
    if (i % 500 === 499) await plugin.sync();
  }
  assert.ok(Number.isFinite(await last!.item()));
  last = null;
  const after = await settle();
  assert.ok(
    after.liveBuffers <= before.liveBuffers && after.liveBytes <= before.liveBytes,
    `live device memory grew: ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
  );
});

test("an async scope disposes what it created after its awaits, and only that", async () => {
  const outside: Tensor[] = [];
  const x = randn([4]).to("webgpu");
  const pending = scope(async () => {
    const a = x.add(1);
    await new Promise((r) => setTimeout(r, 1));
    const b = a.mul(2);
    await new Promise((r) => setTimeout(r, 1));
    return { keep: b.add(1), a, b };
  });
  outside.push(x.mul(5)); // created while the scope awaits: not the scope's
  const r = await pending;
  assert.equal(r.keep.disposed, false);
  assert.equal(outside[0].disposed, false);
  // a and b are part of the result (an object of tensors) and kept too.
  assert.equal(r.a.disposed, false);
  const inner = await scope(async () => {
    const t = x.add(3);
    await new Promise((r) => setTimeout(r, 1));
    const u = t.mul(1);
    return { t, u, drop: null };
  });
  assert.equal(inner.t.disposed, false);
  const dropped: Tensor[] = [];
  await scope(async () => {
    await new Promise((r) => setTimeout(r, 1));
    dropped.push(x.add(7));
  });
  assert.equal(dropped[0].disposed, true);
});

test("views of device tensors: narrow().fill_, t() into matmul", async () => {
  const w = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]).to("webgpu");
  w.narrow(0, 0, 2).fill_(0);
  assert.deepStrictEqual(await w.toArray(), [[0, 0, 0], [0, 0, 0], [7, 8, 9]]);
  const m = tensor([[1, 2], [3, 4]]).to("webgpu");
  m.t().mul_(10);
  assert.deepStrictEqual(await m.toArray(), [[10, 20], [30, 40]]);
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const got = a.to("webgpu").t().matmul(tensor([[1, 0], [0, 1]]).to("webgpu"));
  assert.deepStrictEqual(await got.toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.deepStrictEqual(await a.to("webgpu").narrow(1, 1, 2).toArray(), [[2, 3], [5, 6]]);
});

test("an op without a webgpu kernel names the op and the choices", () => {
  const op = defineOp<Record<string, never>>({
    name: "@test/cpu-only",
    infer: (inputs) => [{ shape: [...inputs[0].shape], dtype: inputs[0].dtype }],
  });
  use({
    name: "@test/cpu-only",
    kind: "op",
    version: "1.0.0",
    apiVersion: 1,
    kernels: { cpu: { "@test/cpu-only": (inputs: readonly Tensor[]) => [inputs[0].dataSync()] } },
  });
  const x = randn([3]).to("webgpu");
  assert.throws(
    () => apply1(op, [x], {}),
    (e: unknown) => {
      const m = (e as Error).message;
      return /@test\/cpu-only/.test(m) && /route/.test(m) && /toAsync/.test(m) &&
        /register/.test(m);
    },
  );
});

// Last test of the file.
releaseDeviceAtEnd(plugin, "webgpu ownership");
