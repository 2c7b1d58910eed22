/**
 * examples/grad_accumulation.ts: the gradient accumulated over k micro-batches equals the
 * gradient of one backward over the big batch (equal and unequal micro-batch sizes), optimizer
 * steps with accumulation and clipping follow the big-batch steps, and a short run of the
 * example trains (finite losses that fall, accuracy above chance).
 */

import assert from "node:assert/strict";
import { F, nn, optim } from "../../mod.ts";
import { accumulateGradients, trainWithAccumulation } from "../../examples/grad_accumulation.ts";
import {
  assertSameGrads,
  bigBatch,
  checkAccumulation,
  seededModel,
  split,
} from "./_accumulation.ts";

Deno.test("accumulated micro-batch gradients equal the big-batch gradient", async () => {
  await checkAccumulation("cpu", [16, 16, 16]);
  await checkAccumulation("cpu", [20, 20, 8]);
  await checkAccumulation("cpu", [5, 1, 30]);
});

Deno.test("steps with accumulation and clipping follow the big-batch steps", async () => {
  const batch = await bigBatch(64, "cpu");
  const a = seededModel("cpu"), b = seededModel("cpu");
  const optA = new optim.SGD(a.parameters(), { lr: 0.1, momentum: 0.9 });
  const optB = new optim.SGD(b.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let step = 0; step < 3; step++) {
    optA.zeroGrad();
    accumulateGradients(a, split(batch, [16, 16, 16, 16]));
    const na = nn.utils.clipGradNorm_(a.parameters(), 0.5);
    optA.step();
    optB.zeroGrad();
    F.crossEntropy(b.forward(batch.x), batch.y).backward();
    const nb = nn.utils.clipGradNorm_(b.parameters(), 0.5);
    optB.step();
    assert.ok(Math.abs(na.itemSync() - nb.itemSync()) < 1e-5 * (1 + nb.itemSync()));
    assert.ok(nb.itemSync() > 0.5, "the clipping is active");
    const pa = a.parameters().map((p) => p.dataSync() as Float32Array);
    const pb = b.parameters().map((p) => p.dataSync() as Float32Array);
    assertSameGrads(pa, pb, `parameters after step ${step + 1}`, 1e-5);
  }
});

Deno.test("a short run of the example trains", async () => {
  const lines: string[] = [];
  const r = await trainWithAccumulation({
    steps: 50,
    accumulate: 3,
    microBatch: 8,
    test: 300,
    log: (l) => lines.push(l),
  });
  assert.equal(r.effectiveBatch, 24);
  assert.equal(r.losses.length, 50);
  assert.ok(r.losses.every(Number.isFinite) && r.gradNorms.every((n) => n > 0));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean(r.losses.slice(-10)) < mean(r.losses.slice(0, 10)), "the loss falls");
  assert.ok(r.accuracy > 0.5, `accuracy ${r.accuracy} above chance`);
  assert.deepEqual(lines.length, 1);
  assert.match(lines[0], /^step 50\/50: loss \d\.\d{4} \(mean of the last 50\), grad norm/);
  await assert.rejects(
    trainWithAccumulation({ steps: 0, log: null }),
    /steps must be a positive integer/,
  );
});

Deno.test("examples/grad_accumulation.ts runs with deno run", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      new URL("../../examples/grad_accumulation.ts", import.meta.url).pathname,
      "--steps",
      "10",
      "--accumulate",
      "2",
      "--micro-batch",
      "8",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /step 10\/10: loss/);
  assert.match(text, /effective batch 16: held-out accuracy \d+\.\d\d%/);
});
