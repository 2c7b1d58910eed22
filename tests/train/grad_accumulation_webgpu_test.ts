/**
 * examples/grad_accumulation.ts on webgpu: the gradient accumulated over micro-batches equals the
 * big-batch gradient with the model and batches on the device, and a short run of the example
 * with `device: "webgpu"` trains. Skipped, with the reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { use } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { trainWithAccumulation } from "../../examples/grad_accumulation.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";
import { checkAccumulation } from "./_accumulation.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu accumulation");

const test = webgpuTest(reason);

test("accumulated micro-batch gradients equal the big-batch gradient", async () => {
  await checkAccumulation("webgpu", [16, 16, 16]);
  await checkAccumulation("webgpu", [20, 20, 8]);
});

test("a short run of the example trains on the device", async () => {
  const r = await trainWithAccumulation({
    steps: 30,
    accumulate: 2,
    microBatch: 8,
    test: 200,
    device: "webgpu",
    log: null,
  });
  assert.equal(r.losses.length, 30);
  assert.ok(r.losses.every(Number.isFinite));
  assert.ok(r.accuracy > 0.3, `accuracy ${r.accuracy}`);
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
