/**
 * Finite-difference gradient checks: central differences (float64 arithmetic over float32
 * evaluations, eps 1e-2) against backward, with a loose 2e-2 tolerance that float32 evaluation
 * noise (~1e-7 / eps) and the O(eps²) truncation error stay well inside.
 */

import "../../plugins/cpu/mod.ts";
import { Generator, randn } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import * as L from "../../layers/mod.ts";
import { gradCheck, values } from "./_helpers.ts";

function data(shape: number[], seed: number): number[] {
  return values(randn(shape, { generator: new Generator(seed) }));
}

// A fixed random projection makes the scalar loss depend on every output element differently.
function loss(m: L.Sequential | { forward(x: Tensor): Tensor }, outShape: number[], seed: number) {
  const w = randn(outShape, { generator: new Generator(seed) });
  return (x: Tensor) => m.forward(x).mul(w).sum();
}

Deno.test("gradcheck Conv2d (stride, padding, dilation, groups)", () => {
  const conv = new L.Conv2d(4, 4, 3, { stride: 2, padding: 1, dilation: 1, groups: 2 });
  gradCheck(loss(conv, [1, 4, 3, 3], 1), data([1, 4, 5, 5], 2), [1, 4, 5, 5], {
    label: "Conv2d",
  });
});

Deno.test("gradcheck BatchNorm2d in training", () => {
  const bn = new L.BatchNorm2d(2);
  gradCheck(loss(bn, [3, 2, 2, 2], 3), data([3, 2, 2, 2], 4), [3, 2, 2, 2], {
    label: "BatchNorm2d",
  });
});

Deno.test("gradcheck LocalResponseNorm, GELU and LogSoftmax", () => {
  gradCheck(
    loss(new L.LocalResponseNorm(3, { alpha: 0.1 }), [1, 5, 2, 2], 5),
    data([1, 5, 2, 2], 6),
    [1, 5, 2, 2],
    { label: "LocalResponseNorm" },
  );
  gradCheck(loss(new L.GELU(), [3, 4], 7), data([3, 4], 8), [3, 4], { label: "GELU" });
  gradCheck(loss(new L.LogSoftmax(1), [3, 4], 9), data([3, 4], 10), [3, 4], {
    label: "LogSoftmax",
  });
});

Deno.test("gradcheck AvgPool2d and a Residual block", () => {
  gradCheck(
    loss(new L.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), [1, 1, 3, 3], 11),
    data([1, 1, 5, 5], 12),
    [1, 1, 5, 5],
    { label: "AvgPool2d" },
  );
  const block = new L.Residual(
    new L.Sequential(new L.Conv2d(2, 2, 3, { padding: 1 }), new L.Tanh()),
  );
  gradCheck(loss(block, [1, 2, 3, 3], 13), data([1, 2, 3, 3], 14), [1, 2, 3, 3], {
    label: "Residual",
  });
});
