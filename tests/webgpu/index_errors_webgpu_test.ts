// Out-of-range index values on webgpu raise the cpu backend's IndexError (same message) at the next
// readback instead of giving a silent wrong answer; oversized allocations raise OutOfMemoryError.
// Skipped without an adapter, except under CI=true, where webgpu_test.ts already fails the run.

import {
  F,
  fromData,
  gather,
  IndexError,
  nn,
  ones,
  OutOfMemoryError,
  randn,
  scatterAdd,
  tensor,
  use,
  zeros,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;

function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name: `webgpu index errors: ${name}`,
    ignore: reason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

const gpu = (t: Tensor): Tensor => t.to("webgpu");

// The message the cpu backend throws for `fn` on cpu inputs.
function cpuMessage(fn: () => Tensor): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof IndexError)) throw new Error(`cpu threw ${e} instead of an IndexError`);
    return e.message;
  }
  throw new Error("cpu did not throw an IndexError");
}

// Awaits `p` and checks that it rejects with an IndexError carrying exactly `message`.
async function rejectsIndexError(p: Promise<unknown>, message: string): Promise<void> {
  let got: unknown = undefined;
  try {
    const v = await p;
    throw new Error(`expected IndexError "${message}", got the value ${JSON.stringify(v)}`);
  } catch (e) {
    got = e;
  }
  if (!(got instanceof IndexError)) throw got;
  if (got.message !== message) {
    throw new Error(`IndexError message\n  got:  ${got.message}\n  want: ${message}`);
  }
}

async function expectClose(label: string, got: Tensor, want: Tensor, tol = 1e-5): Promise<void> {
  const g = Array.from(await got.data(), Number);
  const w = Array.from(want.dataSync(), Number);
  if (g.length !== w.length) throw new Error(`${label}: ${g.length} vs ${w.length} elements`);
  for (let i = 0; i < g.length; i++) {
    if (!(Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i])))) {
      throw new Error(`${label}: element ${i} is ${g[i]}, expected ${w[i]}`);
    }
  }
}

test("crossEntropy with a class index >= C raises at readback", async () => {
  const logits = randn([4, 3]);
  const target = tensor([0, 5, 1, 2], { dtype: "int32" });
  const want = cpuMessage(() => F.crossEntropy(logits, target));
  const loss = F.crossEntropy(gpu(logits), gpu(target));
  await rejectsIndexError(loss.toArray(), want);
});

test("nllLoss with a negative class index raises at readback", async () => {
  const logp = randn([5, 4]).logSoftmax(1);
  const target = tensor([1, 0, -2, 3, 2], { dtype: "int32" });
  const want = cpuMessage(() => F.nllLoss(logp, target));
  await rejectsIndexError(F.nllLoss(gpu(logp), gpu(target)).item(), want);
});

test("nllLoss and crossEntropy skip ignoreIndex and match cpu", async () => {
  const logits = randn([5, 4]);
  const target = tensor([1, -100, 3, 0, -100], { dtype: "int32" });
  await expectClose(
    "crossEntropy",
    F.crossEntropy(gpu(logits), gpu(target)),
    F.crossEntropy(logits, target),
  );
  const t2 = tensor([1, 7, 3, 0, 7], { dtype: "int32" });
  await expectClose(
    "nllLoss ignoreIndex 7",
    F.nllLoss(gpu(logits.logSoftmax(1)), gpu(t2), { ignoreIndex: 7 }),
    F.nllLoss(logits.logSoftmax(1), t2, { ignoreIndex: 7 }),
  );
});

test("gather with an out-of-range index raises; valid indices match cpu", async () => {
  const x = randn([3, 5]);
  const bad = tensor([[0, 4], [7, 1], [2, 2]], { dtype: "int32" });
  const want = cpuMessage(() => gather(x, 1, bad));
  await rejectsIndexError(gather(gpu(x), 1, gpu(bad)).toArray(), want);
  const badDim0 = tensor([[0, 1, 2, 3, 4], [1, 1, -1, 0, 2]], { dtype: "int32" });
  const want0 = cpuMessage(() => gather(x, 0, badDim0));
  await rejectsIndexError(gather(gpu(x), 0, gpu(badDim0)).toArray(), want0);
  const good = tensor([[0, 4], [3, 1], [2, 2]], { dtype: "int32" });
  await expectClose("gather", gather(gpu(x), 1, gpu(good)), gather(x, 1, good));
});

test("scatterAdd with an index >= size raises; valid indices match cpu", async () => {
  const src = randn([3, 4]);
  const bad = tensor([[0, 1, 2, 3], [4, 0, 5, 1], [1, 1, 1, 1]], { dtype: "int32" });
  const want = cpuMessage(() => scatterAdd([3, 5], 1, bad, src));
  await rejectsIndexError(scatterAdd([3, 5], 1, gpu(bad), gpu(src)).toArray(), want);
  const good = tensor([[0, 1, 2, 3], [4, 0, 4, 1], [1, 1, 1, 1]], { dtype: "int32" });
  await expectClose(
    "scatterAdd",
    scatterAdd([3, 5], 1, gpu(good), gpu(src)),
    scatterAdd([3, 5], 1, good, src),
  );
  // An index tensor larger than the output along dim 0 (every element is still validated).
  const tall = tensor([[0, 1], [2, 0], [1, 2], [0, 0]], { dtype: "int32" });
  const s4 = randn([4, 2]);
  await expectClose(
    "scatterAdd dim 0",
    scatterAdd([3, 2], 0, gpu(tall), gpu(s4)),
    scatterAdd([3, 2], 0, tall, s4),
  );
});

test("scatterAdd with a negative index raises", async () => {
  const src = randn([2, 3]);
  const bad = tensor([[0, 1, 1], [2, -1, 0]], { dtype: "int32" });
  const want = cpuMessage(() => scatterAdd([4, 3], 0, bad, src));
  await rejectsIndexError(scatterAdd([4, 3], 0, gpu(bad), gpu(src)).toArray(), want);
});

test("scatterAdd into an empty dimension raises for any index", async () => {
  const src = randn([2, 1]);
  const idx = tensor([[0], [0]], { dtype: "int32" });
  const want = cpuMessage(() => scatterAdd([2, 0], 1, idx, src));
  await rejectsIndexError(scatterAdd([2, 0], 1, gpu(idx), gpu(src)).toArray(), want);
});

test("oneHot (through scatterAdd) with a class index >= numClasses raises", async () => {
  const idx = tensor([0, 3, 1], { dtype: "int32" });
  // cpu wraps scatterAdd's error synchronously ("oneHot: class index out of range [0, 3): ...");
  // on webgpu it surfaces at the readback, as scatterAdd's (the cause of cpu's error).
  let cause = "";
  try {
    F.oneHot(idx, 3);
  } catch (e) {
    if (!(e instanceof IndexError)) throw e;
    cause = e.cause instanceof IndexError ? e.cause.message : e.message;
  }
  await rejectsIndexError(F.oneHot(gpu(idx), 3).toArray(), cause);
  await expectClose(
    "oneHot",
    F.oneHot(gpu(tensor([2, 0], { dtype: "int32" })), 3),
    tensor([[0, 0, 1], [1, 0, 0]], { dtype: "int32" }),
  );
});

test("the error surfaces at the readback of a tensor computed later", async () => {
  const x = randn([4, 6]);
  const bad = tensor([[9], [0], [1], [2]], { dtype: "int32" });
  const want = cpuMessage(() => gather(x, 1, bad));
  const unread = gather(gpu(x), 1, gpu(bad)); // never read back
  const later = gpu(x).mul(2).sum(1);
  await rejectsIndexError(later.toArray(), want);
  unread.dispose();
  // The record was cleared: the same tensor now reads back, and new work is correct.
  await expectClose("later", later, x.mul(2).sum(1));
  const good = tensor([[5], [0], [1], [2]], { dtype: "int32" });
  await expectClose("gather after the error", gather(gpu(x), 1, gpu(good)), gather(x, 1, good));
});

test("the first error wins; later readbacks are clean", async () => {
  const x = randn([2, 3]);
  const badGather = tensor([[3], [0]], { dtype: "int32" });
  const badScatter = tensor([[0, 1, 2], [8, 0, 0]], { dtype: "int32" });
  const want = cpuMessage(() => gather(x, 1, badGather));
  const a = gather(gpu(x), 1, gpu(badGather));
  const b = scatterAdd([2, 3], 1, gpu(badScatter), gpu(x));
  await rejectsIndexError(b.toArray(), want);
  // The readback that reported the error consumed it: a's data is what the kernel wrote.
  const xa = x.toArraySync() as number[][];
  await expectClose("a", a, tensor([[0], [xa[1][0]]]));
  await expectClose("valid op", gpu(x).add(1), x.add(1));
});

test("concurrent readbacks report a pending error once", async () => {
  const x = randn([2, 4]);
  const bad = tensor([[1], [4]], { dtype: "int32" });
  const want = cpuMessage(() => gather(x, 1, bad));
  gather(gpu(x), 1, gpu(bad));
  const a = gpu(x).add(1), b = gpu(x).mul(3);
  const results = await Promise.allSettled([a.data(), b.data()]);
  const rejected = results.filter((r) => r.status === "rejected");
  if (rejected.length !== 1) throw new Error(`${rejected.length} readbacks rejected, expected 1`);
  await rejectsIndexError(Promise.reject((rejected[0] as PromiseRejectedResult).reason), want);
  await expectClose("a", a, x.add(1));
  await expectClose("b", b, x.mul(3));
});

test("sync() raises a pending index error, then the device keeps working", async () => {
  const x = randn([3, 3]);
  const bad = tensor([[0], [1], [-5]], { dtype: "int32" });
  const want = cpuMessage(() => gather(x, 1, bad));
  gather(gpu(x), 1, gpu(bad));
  await rejectsIndexError(plugin.sync(), want);
  await plugin.sync();
  await expectClose("after sync", gpu(x).relu(), x.relu());
});

test("a training step with a bad target raises at the loss readback", async () => {
  const model = new nn.Linear(4, 3);
  const xs = randn([6, 4]);
  const target = tensor([0, 1, 2, 3, 1, 0], { dtype: "int32" });
  const want = cpuMessage(() => F.crossEntropy(model.forward(xs), target));
  model.to("webgpu");
  const loss = F.crossEntropy(model.forward(gpu(xs)), gpu(target));
  loss.backward();
  await rejectsIndexError(loss.item(), want);
  model.zeroGrad();
  // A valid step afterwards computes the cpu loss and gradients.
  const good = tensor([0, 1, 2, 2, 1, 0], { dtype: "int32" });
  const l2 = F.crossEntropy(model.forward(gpu(xs)), gpu(good));
  l2.backward();
  const cpuModel = new nn.Linear(4, 3);
  cpuModel.loadStateDict(
    Object.fromEntries(
      await Promise.all(
        Object.entries(model.stateDict()).map(async ([k, v]) => [k, await v.toAsync("cpu")]),
      ),
    ),
  );
  const lc = F.crossEntropy(cpuModel.forward(xs), good);
  lc.backward();
  await expectClose("loss", l2, lc);
  await expectClose("weight grad", model.weight.grad!, cpuModel.weight.grad!);
});

test("maxPool2d and its backward still match cpu (pooled-index gather)", async () => {
  const x = randn([2, 2, 5, 5], { requiresGrad: true });
  const xg = gpu(x.detach()).requiresGrad_(true);
  const y = F.maxPool2d(x, 2), yg = F.maxPool2d(xg, 2);
  await expectClose("maxPool2d", yg, y);
  y.sum().backward();
  yg.sum().backward();
  await expectClose("maxPool2d grad", xg.grad!, x.grad!);
});

test("an oversized allocation raises OutOfMemoryError naming the op, shape and bytes", async () => {
  let e: unknown = null;
  try {
    zeros([1e6, 1e6], { device: "webgpu" });
  } catch (err) {
    e = err;
  }
  if (!(e instanceof OutOfMemoryError)) {
    throw new Error(`zeros: expected OutOfMemoryError, got ${e}`);
  }
  const limit = plugin.gpu!.maxBinding;
  const n = Math.floor(limit / 4) + 1024;
  e = null;
  try {
    ones([1], { device: "webgpu" }).expand([n]).contiguous();
  } catch (err) {
    e = err;
  }
  if (!(e instanceof OutOfMemoryError)) {
    throw new Error(`contiguous: expected OutOfMemoryError, got ${e}`);
  }
  for (const part of ["contiguous", `[${n}] float32 tensor`, `${n * 4} bytes`, `${limit} bytes`]) {
    if (!e.message.includes(part)) throw new Error(`message lacks "${part}": ${e.message}`);
  }
  // The device keeps working.
  await expectClose("after OOM", gpu(tensor([1, 2])).add(1), tensor([2, 3]));
  if (limit <= 256 * 1024 * 1024) {
    e = null;
    try {
      fromData(new Float32Array(n), [n], { device: "webgpu" });
    } catch (err) {
      e = err;
    }
    if (!(e instanceof OutOfMemoryError) || !e.message.includes(`${n * 4} bytes`)) {
      throw new Error(`upload: expected OutOfMemoryError, got ${e}`);
    }
    // The creating op and the shape are named, not only the backend's upload.
    if (!e.message.startsWith(`fromData: cannot create a [${n}] float32 tensor on webgpu`)) {
      throw new Error(`upload: message does not name fromData and the shape: ${e.message}`);
    }
  }
});

releaseDeviceAtEnd(plugin, "webgpu index errors");
