// Printing on a device without synchronous readback: console.log of a webgpu tensor shows its
// shape, dtype and device and how to read it (never throws, never waits), formatTensorAsync reads
// and prints the values, modules print the same as on cpu, and summary() runs on the model's device
// and frees what the pass created. Skipped without an adapter, except under CI=true, where
// webgpu_test.ts already fails the run.

import assert from "node:assert/strict";
import { formatTensorAsync, Module, summary, tensor, use } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { lenet5 } from "../../plugins/models/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "./_release.ts";
import { webgpuTest } from "./_harness.ts";

const plugin = await webgpu();
use(plugin);

const test = webgpuTest(plugin.unavailableReason, "webgpu format");

const HINT = "<async readback only: use await t.toArray()>";

test("console.log of a webgpu tensor shows shape, dtype, device and how to read it", () => {
  const g = tensor([[1, 2, 3], [4, 5, 6]]).to("webgpu");
  // Suffixes wrap at 80 columns as PyTorch's do.
  const want = `tensor(${HINT}, device='webgpu',\n       size=(2, 3), dtype=float32)`;
  assert.equal(String(g), want);
  assert.equal(Deno.inspect(g), want);
  const i = tensor([1, 2], { dtype: "int32" }).to("webgpu");
  assert.equal(String(i), `tensor(${HINT}, device='webgpu',\n       size=(2,), dtype=int32)`);
  const leaf = tensor([1, 2], { requiresGrad: true }).to("webgpu");
  assert.equal(
    String(leaf.mul(3)),
    `tensor(${HINT}, device='webgpu',\n       size=(2,), dtype=float32, gradFn=<MulBackward>)`,
  );
});

test("a disposed webgpu tensor prints as such", () => {
  const g = tensor([1, 2]).to("webgpu");
  g.dispose();
  assert.equal(String(g), "tensor(<disposed>, device='webgpu', size=(2,), dtype=float32)");
});

test("formatTensorAsync reads the values and prints them as on cpu, with the device", async () => {
  const cases: [Tensor, string][] = [
    [
      tensor([[0.1234, 1], [2.5, 3]]),
      "tensor([[0.1234, 1.0000],\n        [2.5000, 3.0000]], device='webgpu')",
    ],
    [tensor([true, false]), "tensor([ true, false], device='webgpu')"],
    [tensor(7, { dtype: "int32" }), "tensor(7, device='webgpu')"],
    [tensor([1e-5, 1, 123456]), "tensor([1.0000e-05, 1.0000e+00, 1.2346e+05], device='webgpu')"],
  ];
  for (const [t, want] of cases) assert.equal(await formatTensorAsync(t.to("webgpu")), want);
  // A strided view is read through its layout.
  const v = tensor([[1, 2, 3], [4, 5, 6]]).to("webgpu").t();
  assert.equal(
    await formatTensorAsync(v),
    "tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]], device='webgpu')",
  );
  // Summarised: the size follows the device.
  const big = tensor(Array.from({ length: 2000 }, (_, i) => i), { dtype: "int32" });
  assert.equal(
    await formatTensorAsync(big.to("webgpu")),
    "tensor([   0,    1,    2,  ..., 1997, 1998, 1999], device='webgpu',\n       size=(2000,))",
  );
});

test("a model on webgpu prints the same tree as on cpu", () => {
  const cpu = String(lenet5());
  const m = lenet5().to("webgpu");
  assert.equal(String(m), cpu);
  assert.equal(Deno.inspect(m), cpu);
});

test("summary runs on the model's device, matches cpu, and frees the pass's tensors", async () => {
  const onCpu = summary(lenet5(), [2, 1, 28, 28]);
  const m = lenet5().to("webgpu");
  let input: Tensor | null = null;
  const forward = m.features.forward;
  class Spy extends Module {
    net = m;
    forward(x: Tensor): Tensor {
      input = x;
      return this.net.forward(x);
    }
  }
  const s = summary(new Spy(), [2, 1, 28, 28]);
  assert.deepEqual(
    s.rows.slice(1).map((r) => [r.name.slice(4), r.type, r.outputShape]),
    onCpu
      .rows.map((r) => [r.name, r.type, r.outputShape]),
  );
  assert.equal(s.totalParams, 61706);
  assert.equal((input as Tensor | null)?.device, "webgpu");
  assert.ok((input as unknown as Tensor).disposed, "the zero input is freed at once");
  assert.equal(m.features.forward, forward);
  assert.ok(m.parameters().every((p) => p.device === "webgpu"));
  await plugin.sync();
});

// Last test of the file.
releaseDeviceAtEnd(plugin, "webgpu format");
