// A LeNet-5 initialised and run in PyTorch (tools/gen_lenet_safetensors.py) loads into denn's
// LeNet-5 unchanged and gives the same logits within 1e-5.

import assert from "node:assert/strict";
import { fromData, noGrad } from "../../mod.ts";
import { lenet5 } from "../../plugins/models/mod.ts";
import { loadWithMetadata } from "../../plugins/train/mod.ts";

Deno.test("PyTorch LeNet-5 safetensors: same logits within 1e-5", async () => {
  const { tensors, metadata } = await loadWithMetadata(
    new URL("../fixtures/lenet5.safetensors", import.meta.url).pathname,
  );
  assert.equal(metadata.source, "pytorch");
  const io = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/lenet5_io.json", import.meta.url)),
  );
  const model = lenet5();
  const r = model.loadStateDict(tensors);
  assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [] });
  const x = fromData(Float32Array.from(io.input), io.input_shape);
  const logits = noGrad(() => model.eval().forward(x)).toArraySync() as number[][];
  const want = io.logits as number[][];
  assert.equal(logits.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    for (let j = 0; j < want[i].length; j++) {
      worst = Math.max(worst, Math.abs(logits[i][j] - want[i][j]));
    }
  }
  assert.ok(worst <= 1e-5, `max |denn - torch| = ${worst}`);
});
