// float16 on the webgpu backend (f16 storage and kernels where the adapter has shader-f16) against
// the cpu float32 oracle on the same float16-rounded inputs, within float16 tolerance; and the
// reason float16 kernels give where the device lacks shader-f16. Skipped without an adapter, except
// under CI=true, where webgpu_test.ts already fails the run.

import assert from "node:assert/strict";
import {
  DispatchError,
  F,
  manualSeed,
  noGrad,
  randn,
  registerBackend,
  route,
  setStrict,
  tensor,
  unregisterBackend,
  use,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { conv2dRaw } from "../../layers/mod.ts";
import type { Conv2dAttrs } from "../../layers/mod.ts";
import { lenet5 } from "../../plugins/models/mod.ts";
import { Gpu, webgpu, webgpuBackend } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";
import { NO_F16_REASON } from "../../plugins/webgpu/limits.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason ??
  (plugin.gpu!.f16 ? null : "the adapter has no shader-f16 (float16 kernels decline)");
reportSkip(reason, "webgpu float16");

const test = webgpuTest(reason, "webgpu float16");

/** Compares a float16 webgpu result with a float32 cpu reference: |a − b| ≤ tol · (1 + |b|). */
async function expectClose(label: string, got: Tensor, want: Tensor, tol = 2e-3): Promise<void> {
  assert.equal(got.device, "webgpu", `${label}: device`);
  assert.equal(got.dtype, "float16", `${label}: dtype`);
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  const g = await got.data(), w = want.dataSync();
  assert.ok(g instanceof Float16Array, `${label}: readback is a Float16Array`);
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(g[i]) && Number.isNaN(w[i])) continue;
    if (g[i] === w[i]) continue;
    assert.ok(
      Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i])),
      `${label}: element ${i}: webgpu float16 ${g[i]} vs cpu float32 ${w[i]}`,
    );
  }
}

/** Runs `fn` on float16 webgpu copies and on the same values as float32 on cpu. */
async function same(
  label: string,
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  tol?: number,
): Promise<void> {
  const half = inputs.map((t) => t.half());
  await expectClose(
    label,
    fn(...half.map((t) => t.to("webgpu"))),
    fn(...half.map((t) => t.float())),
    tol,
  );
}

test("upload and readback, odd sizes, cast round trip with overflow", async () => {
  const h = tensor([1, -2.5, 0.1, 65504, 3], { dtype: "float16" });
  const g = h.to("webgpu");
  assert.deepEqual([...(await g.data())], [...h.dataSync()]);
  assert.deepEqual(await g.toArray(), h.toArraySync());
  const big = tensor([70000, -1e6, 65519, 1 + 2 ** -11, NaN, 2 ** -24]).to("webgpu").half();
  const v = [...(await big.data())];
  assert.deepEqual(v.slice(0, 4), [Infinity, -Infinity, 65504, 1]);
  assert.ok(Number.isNaN(v[4]));
  assert.equal(v[5], 2 ** -24);
  assert.deepEqual([...(await g.float().data())], [...h.float().dataSync()]);
  assert.deepEqual([...(await g.int().data())], [1, -2, 0, 65504, 3]);
  assert.deepEqual([...(await g.bool().data())], [1, 1, 1, 1, 1]);
  const i = tensor([3, -4], { dtype: "int32" }).to("webgpu").half();
  assert.deepEqual([...(await i.data())], [3, -4]);
});

test("elementwise ops with broadcasting", async () => {
  manualSeed(1);
  const a = randn([4, 1, 6]), b = randn([5, 1]).add(3), p = randn([3, 7]).abs().add(0.1);
  for (const op of ["add", "sub", "mul", "div", "maximum", "minimum"] as const) {
    await same(`${op} broadcast`, (x, y) => x[op](y), [a, b]);
    await same(`${op} number`, (x) => x[op](2.5), [b]);
  }
  await same("pow", (x, y) => x.pow(y), [p, randn([7])]);
  for (
    const op of [
      "neg",
      "exp",
      "abs",
      "sign",
      "relu",
      "sigmoid",
      "tanh",
      "erf",
      "sin",
      "round",
    ] as const
  ) await same(op, (x) => x[op](), [a]);
  for (const op of ["log", "sqrt", "rsqrt", "reciprocal"] as const) {
    await same(op, (x) => x[op](), [p]);
  }
  await same("where", (x, y) => x.gt(0).float().half().mul(x).add(y), [a, b]);
  const c = randn([3, 4]).half();
  const cmp = await c.to("webgpu").gt(tensor(0.25, { dtype: "float16" }).to("webgpu")).data();
  assert.deepEqual([...cmp], [...c.gt(0.25).dataSync()]);
  await same("transpose, slice, expand", (x) => x.t().slice(null, { start: 1 }).expand(2, 5, 2), [
    randn([3, 5]),
  ]);
});

test("reductions accumulate in f32", async () => {
  manualSeed(2);
  const x = randn([6, 50, 7]);
  await same("sum dim", (t) => t.sum(1), [x]);
  await same("sum all (long)", (t) => t.sum(), [randn([5000])], 3e-3);
  await same("mean", (t) => t.mean([0, 2]), [x]);
  await same("max", (t) => t.amax(2), [x]);
  await same("min", (t) => t.amin(0), [x]);
  const h = x.half();
  assert.deepEqual([...(await h.to("webgpu").argmax(1).data())], [...h.argmax(1).dataSync()]);
});

test("matmul (plain, transposed, batched) accumulates in f32", async () => {
  manualSeed(3);
  await same("mm", (a, b) => a.matmul(b), [randn([37, 70]), randn([70, 45])]);
  await same("mm transposed", (a, b) => a.t().matmul(b.t()), [randn([33, 20]), randn([9, 33])]);
  await same("batched", (a, b) => a.matmul(b), [randn([3, 17, 24]), randn([3, 24, 5])]);
  await same("linear", (x, w, b) => F.linear(x, w, b), [
    randn([8, 30]),
    randn([10, 30]),
    randn([10]),
  ]);
});

test("conv2d and its gradients, pooling", async () => {
  manualSeed(4);
  const attrs: Conv2dAttrs = { stride: [2, 1], padding: [1, 2], dilation: [1, 1], groups: 1 };
  const x = randn([2, 4, 9, 8]), w = randn([6, 4, 3, 3]).mul(0.3), b = randn([6]);
  await same("conv2d", (x, w, b) => conv2dRaw(x, w, b, attrs), [x, w, b]);
  await same("conv2d groups", (x, w) => conv2dRaw(x, w, null, { ...attrs, groups: 2 }), [
    x,
    randn([6, 2, 3, 3]).mul(0.3),
  ]);
  // Gradients through conv2d on webgpu vs cpu, both in float16.
  const xh = x.half(), wh = w.half();
  const grads = async (device: string) => {
    const xi = xh.to(device).detach().requiresGrad_(), wi = wh.to(device).detach().requiresGrad_();
    conv2dRaw(xi, wi, null, attrs).mul(0.1).sum().backward();
    return [await xi.grad!.toAsync("cpu"), await wi.grad!.toAsync("cpu")];
  };
  const [gx, gw] = await grads("webgpu");
  const [cx, cw] = await grads("cpu");
  assert.equal(gx.dtype, "float16");
  const near = (label: string, a: Tensor, b: Tensor) => {
    const p = a.dataSync(), q = b.dataSync();
    for (let i = 0; i < p.length; i++) {
      assert.ok(
        Math.abs(p[i] - q[i]) <= 3e-3 * (1 + Math.abs(q[i])),
        `${label} ${i}: ${p[i]} vs ${q[i]}`,
      );
    }
  };
  near("dx", gx, cx);
  near("dw", gw, cw);
  await same("maxPool2d", (t) => F.maxPool2d(t, 2), [x]);
  await same("avgPool2d", (t) => F.avgPool2d(t, 3, { stride: 2, padding: 1 }), [x]);
  await same("adaptiveAvgPool2d", (t) => F.adaptiveAvgPool2d(t, [3, 3]), [x]);
});

test("softmax, logSoftmax and cross-entropy", async () => {
  manualSeed(5);
  const x = randn([7, 10]).mul(3);
  await same("softmax", (t) => t.softmax(1), [x]);
  await same("softmax dim 0", (t) => t.softmax(0), [x]);
  await same("logSoftmax", (t) => t.logSoftmax(1), [x]);
  const y = tensor([1, 0, 9, 3, 3, 2, 5], { dtype: "int32" });
  await same("crossEntropy", (t) => F.crossEntropy(t, y.to(t.device)), [x]);
});

test("a LeNet-5 forward in half on webgpu is close to float32 on cpu", async () => {
  manualSeed(6);
  const ref = lenet5();
  ref.eval();
  const half = lenet5();
  half.loadStateDict(ref.stateDict());
  half.eval().half().to("webgpu");
  const x = randn([8, 1, 28, 28]);
  const want = noGrad(() => ref.forward(x));
  const got = noGrad(() => half.forward(x.half().to("webgpu")));
  assert.equal(got.dtype, "float16");
  const g = await got.data(), w = want.dataSync();
  const scale = Math.max(...[...w].map(Math.abs));
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(g[i] - w[i]) <= 1e-2 * scale, `logit ${i}: ${g[i]} vs ${w[i]}`);
  }
  assert.deepEqual(
    [...(await got.argmax(1).data())],
    [...want.argmax(1).dataSync()],
    "same predictions",
  );
});

test("without shader-f16, float16 kernels decline with the reason", async () => {
  const gpu = new Gpu(plugin.gpu!.device, { f16: false });
  assert.equal(gpu.f16, false);
  registerBackend({ ...webgpuBackend(gpu), name: "webgpu-nof16", priority: 50 });
  try {
    const h = tensor([1, 2, 3], { dtype: "float16" });
    // Routed there in strict mode, the float16 add is refused with the reason.
    setStrict(true);
    try {
      assert.throws(
        () => route({ add: "webgpu-nof16" }, () => h.add(h)),
        (e: Error) => e instanceof DispatchError && e.message.includes(NO_F16_REASON),
      );
      assert.throws(
        () => route({ cast: "webgpu-nof16" }, () => tensor([1.5]).half()),
        (e: Error) => e instanceof DispatchError && e.message.includes("shader-f16"),
      );
    } finally {
      setStrict(false);
    }
    // float32 still runs there.
    const f = route({ add: "webgpu-nof16" }, () => tensor([1, 2]).add(tensor([3, 4])));
    assert.deepEqual([...(await f.data())], [4, 6]);
  } finally {
    unregisterBackend("webgpu-nof16");
  }
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
