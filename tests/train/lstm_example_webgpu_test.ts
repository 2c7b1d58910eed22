/**
 * examples/lstm.ts on webgpu: the quick mode run with the model and batches on the device takes
 * the same 40 steps as on the cpu — same seed, same batches, so the same losses to float
 * rounding — and ends with the same held-out accuracy. Skipped, with the reason printed, where no
 * adapter exists.
 */

import assert from "node:assert/strict";
import { use } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { trainLstm } from "../../examples/lstm.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu lstm example");

const test = webgpuTest(reason);

test("the quick mode trains on the device as on the cpu", async () => {
  // A small model keeps lavapipe's share short: the cost is in the 28 steps' dispatches.
  const options = { quick: true, batchSize: 16, hidden: 32, lr: 0.01, log: null };
  const cpu = await trainLstm({ ...options, device: "cpu" });
  const gpu = await trainLstm({ ...options, device: "webgpu" });
  assert.equal(gpu.losses.length, 40);
  for (let i = 0; i < 40; i++) {
    assert.ok(
      Math.abs(gpu.losses[i] - cpu.losses[i]) < 1e-3,
      `step ${i + 1}: webgpu loss ${gpu.losses[i]}, cpu ${cpu.losses[i]}`,
    );
  }
  const first = gpu.losses.slice(0, 10).reduce((s, x) => s + x, 0) / 10;
  const last = gpu.losses.slice(-10).reduce((s, x) => s + x, 0) / 10;
  assert.ok(last < first - 0.2, `the loss falls: ${first} -> ${last}`);
  assert.ok(Math.abs(gpu.accuracy - cpu.accuracy) <= 0.01, `${gpu.accuracy} vs ${cpu.accuracy}`);
  assert.ok(gpu.accuracy > 0.25, `held-out accuracy ${gpu.accuracy} (chance is 0.1)`);
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
