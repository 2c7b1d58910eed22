/**
 * Dropout masks come from denn's generator, not PyTorch's, so beyond the p = 0 / p = 1 / eval
 * goldens in layers_test.ts the random masks are checked statistically.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { Generator, manualSeed, ones, randn } from "../../core/mod.ts";
import { Dropout } from "../../layers/dropout.ts";
import { values } from "./_helpers.ts";

Deno.test("Dropout: drop rate, scaling and mean are right in training", () => {
  for (const p of [0.1, 0.5, 0.8]) {
    const n = 20000;
    const y = values(new Dropout(p, { generator: new Generator(7) }).forward(ones([n])));
    const zeros = y.filter((v) => v === 0).length;
    const scale = 1 / (1 - p);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - scale) < 1e-6), `p=${p}: values 0 or 1/(1-p)`);
    // 5 standard deviations of the binomial drop count.
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(zeros - n * p) < 5 * sd, `p=${p}: ${zeros} zeros of ${n}`);
    const mean = y.reduce((a, b) => a + b, 0) / n;
    assert.ok(Math.abs(mean - 1) < 5 * Math.sqrt(p / (1 - p) / n), `p=${p}: mean ${mean}`);
  }
});

Deno.test("Dropout: gradient uses the same mask and scale", () => {
  const x = randn([64, 32], { requiresGrad: true });
  const y = new Dropout(0.3, { generator: new Generator(3) }).forward(x);
  y.sum().backward();
  const xv = values(x), yv = values(y), gv = values(x.grad!);
  for (let i = 0; i < xv.length; i++) {
    const expectedGrad = yv[i] === 0 && xv[i] !== 0 ? 0 : 1 / 0.7;
    assert.ok(Math.abs(gv[i] - expectedGrad) < 1e-5, `grad[${i}] ${gv[i]}`);
  }
});

Deno.test("Dropout: generator makes masks reproducible; successive calls differ", () => {
  const x = ones([256]);
  const a = values(new Dropout(0.5, { generator: new Generator(11) }).forward(x));
  const b = values(new Dropout(0.5, { generator: new Generator(11) }).forward(x));
  assert.deepEqual(a, b);
  const d = new Dropout(0.5, { generator: new Generator(11) });
  assert.notDeepEqual(values(d.forward(x)), values(d.forward(x)));
  manualSeed(5);
  const c1 = values(new Dropout(0.5).forward(x));
  manualSeed(5);
  assert.deepEqual(values(new Dropout(0.5).forward(x)), c1);
});

Deno.test("Dropout: identity in eval mode and for p = 0; zeros for p = 1", () => {
  const x = randn([4, 5]);
  const d = new Dropout(0.9).eval();
  assert.equal(d.forward(x), x);
  assert.deepEqual(values(new Dropout(0).forward(x)), values(x));
  assert.ok(values(new Dropout(1).forward(x)).every((v) => v === 0));
});
