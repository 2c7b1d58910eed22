/**
 * examples/vit.ts on webgpu: the same seeded run on cpu and on webgpu (model, batches, AdamW and
 * the one-cycle schedule on the device) gives the same losses step by step, and the model's
 * forward agrees with the cpu one. Skipped, with the reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { manualSeed, noGrad, randn, use } from "../../mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { trainVit, VisionTransformer } from "../../examples/vit.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip, webgpuTest } from "../webgpu/_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu ViT example");

const test = webgpuTest(reason);

test("the ViT's forward matches cpu", async () => {
  manualSeed(3);
  const vit = new VisionTransformer({ dim: 32, depth: 2, heads: 4 }).eval();
  const x = randn([5, 1, 28, 28]);
  const want = noGrad(() => vit.forward(x)).dataSync() as Float32Array;
  vit.to("webgpu");
  const got = await noGrad(() => vit.forward(x.to("webgpu"))).data();
  got.forEach((v, i) => {
    assert.ok(
      Math.abs(v - want[i]) < 1e-4 + 1e-4 * Math.abs(want[i]),
      `logit ${i}: ${v} vs ${want[i]}`,
    );
  });
});

test("a seeded quick run gives the same losses on cpu and webgpu", async () => {
  const cpu = await trainVit({ quick: true, steps: 12, log: null });
  const gpu = await trainVit({ quick: true, steps: 12, device: "webgpu", log: null });
  assert.equal(gpu.losses.length, 12);
  gpu.losses.forEach((l, i) => {
    const w = cpu.losses[i];
    assert.ok(Math.abs(l - w) < 2e-3 * (1 + i), `step ${i + 1}: webgpu ${l}, cpu ${w}`);
  });
  assert.ok(Math.abs(gpu.accuracy - cpu.accuracy) <= 0.01, `${gpu.accuracy} vs ${cpu.accuracy}`);
  assert.equal(gpu.model.posEmbed.device, "webgpu");
});

releaseDeviceAtEnd(plugin);
