/**
 * The lecture's special cases of the general structured loss
 * ε·ln Σ_ŷ exp((L(y, ŷ) + F(x, ŷ))/ε) − F(x, y), shown numerically.
 *
 * Two-class forms. Label y ∈ {−1, +1} is class index (y + 1)/2, and the scores are
 * F(x, ŷ) = ŷ·s/2, i.e. the row [−s/2, +s/2]; the margin is m = y·s.
 *  - Logistic regression: ε = 1, L = 0 gives ln(e^(s/2) + e^(−s/2)) − y·s/2 = ln(1 + e^(−y·s)).
 *  - Binary SVM: ε = 0, L(y, ŷ) = 1[y ≠ ŷ] gives max(y·s/2, 1 − y·s/2) − y·s/2 = max(0, 1 − y·s).
 * The half-scores matter: with F(x, ±1) = ±s the two cases become ln(1 + e^(−2m)) and
 * max(0, 1 − 2m).
 */

import assert from "node:assert/strict";
import { CrossEntropyLoss, StructuredLoss, structuredLoss } from "../../losses/mod.ts";
import { tensor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import { assertClose } from "./helpers.ts";

const scores = [
  [2.0, -0.5, 1.2, 0.3],
  [-1.1, 0.4, 0.9, 3.0],
  [0.2, 0.1, -2.2, -0.7],
  [1.5, 1.4, 1.3, -1.0],
  [-0.3, 2.5, 0.0, 0.8],
];
const labels = [0, 3, 2, 1, 1];
const cls = (): Tensor => tensor(Int32Array.from(labels));
const leaf = (rows: number[][]): Tensor => tensor(rows, { requiresGrad: true });

Deno.test("ε = 1, L = 0 is the cross-entropy (values and gradients)", () => {
  for (const reduction of ["mean", "sum", "none"] as const) {
    const a = leaf(scores), b = leaf(scores);
    const s = new StructuredLoss({ epsilon: 1, taskLoss: () => 0, reduction }).forward(a, cls());
    const ce = new CrossEntropyLoss({ reduction }).forward(b, cls());
    assertClose(s.dataSync(), ce.dataSync(), `forward ${reduction}`);
    const g = tensor(Float32Array.from({ length: ce.numel() }, (_, i) => 1 + i), {
      shape: [...ce.shape],
    });
    s.backward(g);
    ce.backward(g);
    assertClose(a.grad!.dataSync(), b.grad!.dataSync(), `grad ${reduction}`);
  }
});

Deno.test("ε = 0 with the 0/1 loss is the Crammer–Singer multiclass SVM", () => {
  const got = structuredLoss(tensor(scores), cls(), { epsilon: 0, reduction: "none" }).dataSync();
  const want = scores.map((f, i) => {
    const y = labels[i];
    return Math.max(...f.map((v, h) => v + (h === y ? 0 : 1))) - f[y];
  });
  assertClose(got, want, "Crammer–Singer");
  // The default task loss is the 0/1 loss.
  const explicit = structuredLoss(tensor(scores), cls(), {
    epsilon: 0,
    taskLoss: tensor([[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]]),
    reduction: "none",
  });
  assertClose(explicit.dataSync(), want, "explicit 0/1 matrix");
});

const margins = [-3, -1.2, -0.4, 0, 0.3, 0.99, 1.5, 4, 30];
function twoClass(): { f: Tensor; y: Tensor; m: number[] } {
  const rows: number[][] = [], ys: number[] = [], m: number[] = [];
  margins.forEach((s, i) => {
    const y = i % 2 === 0 ? 1 : -1;
    rows.push([-s / 2, s / 2]); // F(x, −1), F(x, +1)
    ys.push((y + 1) / 2);
    m.push(y * s);
  });
  return { f: tensor(rows), y: tensor(Int32Array.from(ys)), m };
}

Deno.test("two classes, ε = 1, L = 0: the logistic loss ln(1 + e^(−m))", () => {
  const { f, y, m } = twoClass();
  const got = structuredLoss(f, y, { epsilon: 1, taskLoss: () => 0, reduction: "none" });
  assertClose(got.dataSync(), m.map((v) => Math.log1p(Math.exp(-v))), "logistic");
});

Deno.test("two classes, ε = 0, 0/1 loss: the binary hinge max(0, 1 − m)", () => {
  const { f, y, m } = twoClass();
  const got = structuredLoss(f, y, { epsilon: 0, reduction: "none" });
  assertClose(got.dataSync(), m.map((v) => Math.max(0, 1 - v)), "hinge");
});

Deno.test("ε → 0 approaches the max, and the log-sum-exp trick keeps huge scores finite", () => {
  const big = scores.map((r) => r.map((v) => v * 1e4));
  const hard = structuredLoss(tensor(big), cls(), { epsilon: 0, reduction: "none" }).dataSync();
  const soft = structuredLoss(tensor(big), cls(), { epsilon: 1e-3, reduction: "none" }).dataSync();
  for (let i = 0; i < hard.length; i++) {
    assert.ok(Number.isFinite(soft[i]), `row ${i} finite`);
    // 0 <= soft − hard <= ε·ln C.
    assert.ok(soft[i] - hard[i] >= -1e-2 && soft[i] - hard[i] <= 1e-3 * Math.log(4) + 1e-2);
  }
});

Deno.test("a function task loss equals its matrix; bad task losses are rejected", () => {
  const fn = (y: number, h: number): number => (y - h) ** 2 / 4;
  const mat = tensor([0, 1, 2, 3].map((y) => [0, 1, 2, 3].map((h) => fn(y, h))));
  const a = new StructuredLoss({ epsilon: 0.5, taskLoss: fn }).forward(tensor(scores), cls());
  const b = structuredLoss(tensor(scores), cls(), { epsilon: 0.5, taskLoss: mat });
  assertClose(a.dataSync(), b.dataSync(), "function vs matrix");
  assert.throws(
    () => structuredLoss(tensor(scores), cls(), { taskLoss: tensor([[0, 1]]) }),
    /4, 4/,
  );
  assert.throws(
    () => structuredLoss(tensor(scores), cls(), { taskLoss: () => NaN }),
    /structuredLoss: taskLoss\(0, 0\) is NaN/,
  );
  assert.throws(() => structuredLoss(tensor(scores), tensor([0, 1, 2, 3, 1])), /int32/);
  assert.throws(() => structuredLoss(tensor([1, 2]), tensor(Int32Array.from([0]))), /\[N, C\]/);
});
