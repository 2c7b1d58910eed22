/**
 * Gradient clipping on webgpu: the PyTorch cases of clip_grad_test.ts with parameters and
 * gradients on the device (the returned norm stays there, as PyTorch's stays on CUDA), the
 * errorIfNonfinite check (the synchronous form names the async one; the async form raises and
 * leaves the gradients alone), and gradients split across devices. Skipped, with the reason
 * printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { DeviceError, tensor, use, ValueError } from "../../mod.ts";
import { clipGradNorm_, clipGradNormAsync_ } from "../../layers/clip_grad.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";
import { clipFixture, runClipCase } from "./_clip_cases.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu clipping");

const test = webgpuTest(reason);

for (const c of clipFixture.cases) {
  test(`${c.fn} ${c.name} matches PyTorch`, async () => {
    await runClipCase(c, "webgpu");
  });
}

function nanGrad(): ReturnType<typeof tensor> {
  const w = tensor([1, 2, 3], { device: "webgpu", requiresGrad: true });
  w.grad = tensor([1, NaN, 2], { device: "webgpu" });
  return w;
}

test("errorIfNonfinite: the sync form needs host readback; the async form checks it", async () => {
  const w = nanGrad();
  assertThrowsNamed(
    () => clipGradNorm_([w], 1, { errorIfNonfinite: true }),
    DeviceError,
    'clipGradNorm_: errorIfNonfinite reads the norm on the host, and webgpu cannot read synchronously; use "await clipGradNormAsync_(...)"',
  );
  await assert.rejects(
    clipGradNormAsync_([w], 1, { errorIfNonfinite: true }),
    (e: Error) =>
      e instanceof ValueError &&
      e.message.startsWith("clipGradNormAsync_: the total norm of order 2 of the gradients is NaN"),
  );
  assert.deepEqual(await w.grad!.toArray(), [1, NaN, 2], "left untouched");
  const v = tensor([3, 4], { device: "webgpu", requiresGrad: true });
  v.grad = tensor([3, 4], { device: "webgpu" });
  const n = await clipGradNormAsync_([v], 1, { errorIfNonfinite: true });
  assert.equal(n.device, "webgpu");
  assert.ok(Math.abs((await n.item()) - 5) < 1e-5);
  const g = await v.grad!.data();
  assert.ok(Math.abs(g[0] - 0.6) < 1e-5 && Math.abs(g[1] - 0.8) < 1e-5);
});

test("gradients on several devices are a DeviceError", () => {
  const a = tensor([1], { requiresGrad: true });
  a.grad = tensor([1]);
  const b = nanGrad();
  assertThrowsNamed(
    () => clipGradNorm_([a, b], 1),
    DeviceError,
    "clipGradNorm_: the gradients are on several devices (cpu and webgpu); move the parameters to one device",
  );
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
