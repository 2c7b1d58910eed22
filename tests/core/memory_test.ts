// A training loop written the obvious way (no scope(), no dispose()) keeps host memory flat on the
// cpu backend: after garbage collection, the memory held by tensors does not grow with the steps.
// (The webgpu counterpart, with the allocator's counters, is tests/webgpu/ownership_webgpu_test.ts.)

import assert from "node:assert/strict";
import { F, manualSeed, nn, optim, randn, tensor } from "../../mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;

async function settledBytes(): Promise<number> {
  if (!gc) throw new Error("run with --v8-flags=--expose-gc (deno task test does)");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 0));
  }
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

Deno.test("memory: 2,000 cpu training steps without scope() or dispose() stay flat", async () => {
  manualSeed(3);
  const model = new nn.Sequential(
    new nn.Linear(32, 64),
    new nn.ReLU({ inplace: true }),
    new nn.Linear(64, 10),
  );
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = randn([16, 32]);
  const y = tensor(Array.from({ length: 16 }, (_, i) => i % 10), { dtype: "int32" });
  const step = () => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  for (let i = 0; i < 200; i++) step();
  const before = await settledBytes();
  for (let i = 0; i < 2000; i++) step();
  const after = await settledBytes();
  // One step's tensors are about 20 KB; 2,000 leaked steps would be tens of MB.
  assert.ok(after - before < 1 << 20, `memory grew by ${after - before} bytes`);
});
