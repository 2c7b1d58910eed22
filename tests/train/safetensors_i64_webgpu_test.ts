/**
 * The PyTorch BatchNorm state dict of safetensors_i64_test.ts (with its I64 num_batches_tracked)
 * loaded straight onto webgpu: the int32 counter lives on the device, the model gives PyTorch's
 * eval-mode output there, and a training step increments the counter on the device. Skipped,
 * with the reason printed, where no adapter exists.
 */

import assert from "node:assert/strict";
import { nn, noGrad, tensor, use } from "../../mod.ts";
import { deserialize } from "../../plugins/train/mod.ts";
import { webgpu } from "../../plugins/webgpu/mod.ts";
import { releaseDeviceAtEnd } from "../webgpu/_release.ts";
import { reportSkip } from "../webgpu/_harness.ts";

const plugin = await webgpu();
use(plugin);
const reason = plugin.unavailableReason;
reportSkip(reason, "webgpu safetensors");

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/training_utils.json", import.meta.url)),
).safetensors.batchnorm as {
  bytes: string;
  input: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
};
const bytes = Uint8Array.from(atob(fixture.bytes), (c) => c.charCodeAt(0));

Deno.test({
  name: "webgpu: a PyTorch BatchNorm state dict with I64 num_batches_tracked loads onto the device",
  ignore: reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { tensors } = deserialize(bytes, { device: "webgpu" });
    const nbt = tensors["1.num_batches_tracked"];
    assert.equal(nbt.device, "webgpu");
    assert.equal(nbt.dtype, "int32");
    assert.equal(await nbt.item(), 3);
    const model = new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1 }), new nn.BatchNorm2d(3))
      .to("webgpu");
    model.loadStateDict(tensors);
    const bn = model.at(1) as nn.BatchNorm2d;
    assert.equal(bn.numBatchesTracked?.device, "webgpu");
    model.eval();
    const x = tensor(Float32Array.from(fixture.input.values), {
      shape: fixture.input.shape,
      device: "webgpu",
    });
    const y = noGrad(() => model.forward(x));
    const got = await y.data();
    fixture.output.values.forEach((want, i) =>
      assert.ok(Math.abs(got[i] - want) <= 1e-5 * (1 + Math.abs(want)), `output[${i}]`)
    );
    model.train();
    model.forward(x);
    assert.equal(await bn.numBatchesTracked!.item(), 4);
  },
});

// Last test of the file.
releaseDeviceAtEnd(plugin);
