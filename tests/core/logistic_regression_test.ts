/**
 * The lecture's single fully connected layer trained with cross-entropy is multiclass logistic
 * regression: it must separate three Gaussian blobs through the public API alone.
 */

import assert from "node:assert/strict";
import { F, fromData, Generator, manualSeed, nn, noGrad, optim } from "../../mod.ts";

Deno.test("logistic regression: nn.Linear + F.crossEntropy + optim.SGD converges on 3 classes", () => {
  manualSeed(0);
  const gen = new Generator(42);
  const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const n = 300;
  const xs = new Float32Array(n * 2), ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    ys[i] = c;
    xs[2 * i] = centers[c][0] + 0.5 * gen.normal();
    xs[2 * i + 1] = centers[c][1] + 0.5 * gen.normal();
  }
  const x = fromData(xs, [n, 2]), y = fromData(ys, [n]);
  const model = new nn.Linear(2, 3);
  const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
  let first = NaN, last = NaN;
  for (let epoch = 0; epoch < 60; epoch++) {
    const loss = F.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    last = loss.itemSync();
    if (epoch === 0) first = last;
  }
  const accuracy = noGrad(() => model.forward(x).argmax(1).eq(y).float().mean().itemSync());
  assert.ok(last < first / 4, `loss fell from ${first} to ${last}`);
  assert.ok(accuracy > 0.95, `accuracy ${accuracy}`);
});
