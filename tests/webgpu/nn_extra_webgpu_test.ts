// The issue-12 layers on the webgpu backend against the cpu oracle (testing/mod.ts
// `checkBackendConformance`: outputs and input gradients agree, every op ran on webgpu, and the
// kernels named ran there; decompositions only where listed): the adaptiveMaxPool2d kernel, the
// transposed convolution (conv2dBackwardInput kernel), interpolate (gather / scatterAdd), the norms
// (the batch-norm ops decompose: webgpu has no batch-norm kernels), embedding, the activations,
// Dropout2d's edge cases, and modules with hooks. Out-of-range embedding ids raise the cpu
// backend's IndexError at the next readback. Skipped without an adapter, except under CI=true,
// where webgpu_test.ts already fails the run.

import assert from "node:assert/strict";
import { IndexError, nn, randn, randperm, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import * as F from "../../layers/functional.ts";
import { checkBackendConformance } from "../../testing/mod.ts";
import type { ConformanceOptions } from "../../testing/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { reportSkip, webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu nn extra");

const test = webgpuTest(reason, "webgpu nn extra");

const TOL = { atol: 1e-4, rtol: 1e-4 };
const NORM: ConformanceOptions = {
  ...TOL,
  allowDecomposition: ["batchNormStats", "batchNorm", "batchNormBackward"],
};

async function conform(
  label: string,
  fn: (...t: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  options: ConformanceOptions = TOL,
): Promise<void> {
  try {
    await checkBackendConformance("webgpu", fn, inputs, options);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
}

const spread = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return randperm(n).float().mul(0.1).reshape(shape);
};

test("adaptiveMaxPool2d kernel: values, indices and gradient", async () => {
  for (const size of [2, [3, 2], [5, 4], [1, 1]] as const) {
    await conform(`adaptiveMaxPool2d ${size}`, (x) => F.adaptiveMaxPool2d(x, size as never, true), [
      spread([2, 3, 7, 5]),
    ], { ...TOL, kernels: ["adaptiveMaxPool2d", "scatterAdd"] });
  }
  // NaN wins a window; a window of −∞ reports its first element.
  const x = tensor([[[[1, 9, 2], [4, NaN, 3], [-Infinity, -Infinity, -Infinity]]]]);
  const [v, i] = F.adaptiveMaxPool2d(x.to("webgpu"), [3, 1], true);
  const vals = await v.toArray() as number[][][][], idx = await i.toArray();
  assert.deepEqual(idx, [[[[1], [4], [6]]]]);
  assert.ok(Number.isNaN(vals[0][0][1][0]) && vals[0][0][2][0] === -Infinity);
});

test("convTranspose2d runs on the conv2dBackwardInput kernel, forward and backward", async () => {
  const configs = [
    {},
    { stride: 2, padding: 1, outputPadding: 1 },
    { stride: [2, 1], dilation: [1, 2], groups: 2 },
    { stride: 2, dilation: 3, outputPadding: 2 },
  ] as const;
  for (const o of configs) {
    const g = "groups" in o ? o.groups : 1;
    await conform(
      `convTranspose2d ${JSON.stringify(o)}`,
      (x, w, b) => F.convTranspose2d(x, w, b, o as never),
      [randn([2, 4, 3, 3]), randn([4, 6 / g, 3, 2]), randn([6])],
      {
        ...TOL,
        kernels: ["conv2dBackwardInput", "conv2d", "conv2dBackwardWeight"],
        allowDecomposition: ["convTranspose2d"],
      },
    );
  }
  await conform("conv1d", (x, w, b) => F.conv1d(x, w, b, { padding: "same", dilation: 2 }), [
    randn([2, 3, 9]),
    randn([4, 3, 3]),
    randn([4]),
  ], { ...TOL, kernels: ["conv2d"] });
});

test("interpolate: every mode on gather / scatterAdd", async () => {
  const cases = [
    [[1, 2, 3, 4], { scaleFactor: 2 }],
    [[1, 2, 5, 3], { scaleFactor: 1.5, mode: "nearest-exact" }],
    [[1, 2, 3, 4], { size: [5, 7], mode: "bilinear", alignCorners: true }],
    [[1, 2, 6, 7], { scaleFactor: 0.6, mode: "bilinear" }],
    [[2, 2, 5], { size: 8, mode: "linear" }],
    [[1, 1, 2, 3, 2], { scaleFactor: [2, 1, 3] }],
  ] as const;
  for (const [shape, o] of cases) {
    await conform(`interpolate ${JSON.stringify(o)}`, (x) => F.interpolate(x, o as never), [
      randn([...shape]),
    ], { ...TOL, kernels: ["gather", "scatterAdd"] });
  }
});

test("layerNorm, groupNorm, instanceNorm and rmsNorm", async () => {
  await conform("layerNorm", (x, w, b) => F.layerNorm(x, [3, 4], { weight: w, bias: b }), [
    randn([2, 3, 4]),
    randn([3, 4]),
    randn([3, 4]),
  ], NORM);
  await conform("groupNorm", (x, w, b) => F.groupNorm(x, 2, { weight: w, bias: b }), [
    randn([2, 4, 3, 3]),
    randn([4]),
    randn([4]),
  ], NORM);
  await conform("instanceNorm", (x, w) => F.instanceNorm(x, { weight: w }), [
    randn([2, 3, 4, 4]),
    randn([3]),
  ], NORM);
  await conform("rmsNorm", (x, w) => F.rmsNorm(x, 4, { weight: w }), [
    randn([3, 4]),
    randn([4]),
  ]);
});

test("embedding (with paddingIdx and maxNorm) and out-of-range ids", async () => {
  const ids = tensor([[1, 3, 3], [0, 4, 1]], { dtype: "int32" });
  await conform("embedding", (i, w) => F.embedding(i, w, { paddingIdx: 3 }), [ids, randn([5, 4])], {
    ...TOL,
    kernels: ["gather", "scatterAdd"],
  });
  await conform("embedding maxNorm", (i, w) => F.embedding(i, w, { maxNorm: 1 }).mul(1), [
    ids,
    randn([5, 4]),
  ], TOL);
  const w = randn([5, 4]).to("webgpu");
  const bad = F.embedding(tensor([1, 7], { dtype: "int32" }).to("webgpu"), w);
  await assert.rejects(() => bad.toArray(), IndexError);
});

test("activations", async () => {
  const x = tensor([-25, -4.6, -3, -2.2, -0.7, 0, 0.4, 1.3, 3, 4.1, 6, 7.3, 22.5]);
  const fns: [string, (t: Tensor) => Tensor][] = [
    ["silu", (t) => F.silu(t)],
    ["elu", (t) => F.elu(t, 0.7)],
    ["softplus", (t) => F.softplus(t, 2, 10)],
    ["mish", (t) => F.mish(t)],
    ["relu6", (t) => F.relu6(t)],
    ["hardtanh", (t) => F.hardtanh(t, -2, 3)],
    ["hardswish", (t) => F.hardswish(t)],
    ["hardsigmoid", (t) => F.hardsigmoid(t)],
  ];
  for (const [name, f] of fns) await conform(name, f, [x]);
  await conform("prelu", (t, w) => F.prelu(t, w), [randn([2, 3, 4]), tensor([0.2, -0.5, 1.5])]);
  // In place on a non-leaf while recording.
  await conform("hardswish inplace", (t) => F.hardswish(t.mul(1), true), [x]);
});

test("Dropout2d edge cases and channel masks", async () => {
  const x = randn([2, 3, 2, 2]);
  await conform("dropout2d p 0", (t) => F.dropout2d(t, 0), [x]);
  await conform("dropout2d p 1", (t) => F.dropout2d(t, 1), [x]);
  const y = await F.dropout2d(randn([8, 16, 2, 2]).to("webgpu"), 0.5).toArray() as number[][][][];
  for (const s of y) {
    for (const p of s) {
      assert.ok(p.flat().every((v) => v === 0) || p.flat().every((v) => v !== 0));
    }
  }
});

test("modules with hooks run on webgpu, and a full backward hook sees webgpu gradients", async () => {
  const fc = new nn.Linear(3, 2).to("webgpu");
  let gi: Tensor | null = null;
  const h1 = fc.registerFullBackwardHook((_m, g) => void (gi = g[0]));
  const h2 = fc.registerForwardHook((_m, _a, y) => y.mul(2));
  const x = randn([4, 3]).to("webgpu").requiresGrad_();
  fc.forward(x).sum().backward();
  assert.equal((gi as Tensor | null)?.device, "webgpu");
  assert.deepEqual(await (gi as unknown as Tensor).toArray(), await x.grad!.toArray());
  h1.remove();
  h2.remove();
});

Deno.test({
  name: "webgpu nn extra: float16 kernels and layers against cpu float32",
  ignore: reason !== null || !plugin.gpu?.f16,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const x = spread([2, 3, 5, 4]).sub(1.5), wt = spread([3, 2, 2, 2]).sub(1.2);
    const fns: [string, (t: Tensor) => Tensor][] = [
      ["adaptiveMaxPool2d", (t) => F.adaptiveMaxPool2d(t, [3, 2])],
      ["adaptiveMaxPool2d indices", (t) => F.adaptiveMaxPool2d(t, [2, 3], true)[1]],
      ["layerNorm", (t) => F.layerNorm(t, 4)],
      ["groupNorm", (t) => F.groupNorm(t, 3)],
      ["interpolate", (t) => F.interpolate(t, { scaleFactor: 2, mode: "bilinear" })],
      ["hardswish", (t) => F.hardswish(t)],
      ["elu", (t) => F.elu(t)],
      [
        "convTranspose2d",
        (t) => F.convTranspose2d(t, wt.to(t.device).cast(t.dtype), null, { stride: 2 }),
      ],
    ];
    for (const [name, f] of fns) {
      const want = f(x.half().float());
      const got = f(x.half().to("webgpu"));
      assert.equal(got.dtype, name.endsWith("indices") ? "int32" : "float16", name);
      const g = await got.data(), w = want.dataSync();
      for (let i = 0; i < w.length; i++) {
        assert.ok(
          Math.abs(g[i] - w[i]) <= 4e-3 * (1 + Math.abs(w[i])),
          `${name}: ${g[i]} vs ${w[i]}`,
        );
      }
    }
  },
});

releaseDeviceAtEnd(plugin, "webgpu nn extra");
