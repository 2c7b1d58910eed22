/**
 * Finite-difference gradient checks (testing/mod.ts `gradcheck`) of every issue-12 layer's
 * functional form, with respect to the input and every weight, over argument combinations the
 * PyTorch fixtures do not all cover; and second derivatives (`autograd.grad` with `createGraph`,
 * checked by differences of the first derivative) where the gradient rule is written here.
 * Inputs of the piecewise functions stay clear of their kinks by more than the difference step.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { autograd, enableGrad, randn, randperm, tensor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import * as F from "../../layers/functional.ts";
import type * as L from "../../layers/mod.ts";
import { gradcheck } from "../../testing/mod.ts";

const r = (shape: number[], scale = 1): Tensor => randn(shape).mul(scale);
// Distinct values 0.1 apart: max pooling's winners cannot change within the difference step.
const spread = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return randperm(n).float().mul(0.1).reshape(shape);
};
// Fixed random weights of a tensor's shape, for second-derivative checks.
const weights = (y: Tensor): Tensor => r(y.shape as number[]);

// The padding row's zero gradient is by design not the derivative, so it is checked directly.
Deno.test("gradcheck: embedding (weight; the padding row gets none)", () => {
  const ids = tensor([[1, 3, 3], [0, 1, 4]], { dtype: "int32" });
  gradcheck((w) => F.embedding(ids, w), [r([5, 4])]);
  gradcheck((w) => F.embedding(ids, w, { maxNorm: 100 }), [r([5, 4])]);
  const w = r([5, 4]).requiresGrad_();
  F.embedding(ids, w, { paddingIdx: 3 }).sum().backward();
  const g = w.grad!.toArraySync() as number[][];
  assert.deepEqual(g[3], [0, 0, 0, 0]);
  assert.deepEqual(g[1], [2, 2, 2, 2]);
  assert.deepEqual(g[2], [0, 0, 0, 0]);
});

Deno.test("gradcheck: layerNorm, groupNorm, instanceNorm and rmsNorm with weights", () => {
  gradcheck(
    (x, w, b) => F.layerNorm(x, [3, 4], { weight: w, bias: b, eps: 1e-3 }),
    [r([2, 3, 4], 2), r([3, 4]), r([3, 4])],
  );
  gradcheck((x) => F.layerNorm(x, 5), [r([4, 5], 2)]);
  gradcheck(
    (x, w, b) => F.groupNorm(x, 2, { weight: w, bias: b }),
    [r([2, 6, 3], 2), r([6]), r([6])],
  );
  gradcheck(
    (x, w, b) => F.instanceNorm(x, { weight: w, bias: b }),
    [r([2, 3, 2, 3], 2), r([3]), r([3])],
  );
  // With running statistics (constants of the normalisation in eval).
  gradcheck(
    (x, w) =>
      F.instanceNorm(x, {
        weight: w,
        runningMean: tensor([0.1, -0.2]),
        runningVar: tensor([0.9, 1.4]),
        useInputStats: false,
      }),
    [r([2, 2, 3]), r([2])],
  );
  gradcheck((x, w) => F.rmsNorm(x, [4], { weight: w }), [r([3, 4], 2), r([4])]);
  gradcheck((x) => F.rmsNorm(x, [2, 3], { eps: 0.1 }), [r([2, 2, 3], 2)]);
});

Deno.test("gradcheck: conv1d (input, weight, bias) over strides, padding, dilation and groups", () => {
  const configs: L.Conv1dOptions[] = [
    {},
    { stride: 2, padding: 1 },
    { dilation: 2, groups: 2 },
    { padding: "same" },
    { padding: "same", dilation: 2 },
  ];
  for (const o of configs) {
    gradcheck((x, w, b) => F.conv1d(x, w, b, o), [
      r([2, 4, 7]),
      r([6, 4 / (o.groups ?? 1), 3]),
      r([6]),
    ]);
  }
  gradcheck((x, w) => F.conv1d(x, w), [r([2, 9]), r([3, 2, 4])]);
});

Deno.test("gradcheck: convTranspose2d (input, weight, bias), outputPadding up to dilation", () => {
  const configs: L.ConvTranspose2dOptions[] = [
    {},
    { stride: 2, padding: 1, outputPadding: 1 },
    { stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
    { groups: 2, stride: 2 },
    { stride: 2, dilation: 3, outputPadding: 2 },
    { stride: 1, dilation: 2, outputPadding: 1 },
  ];
  for (const o of configs) {
    const g = o.groups ?? 1;
    gradcheck(
      (x, w, b) => F.convTranspose2d(x, w, b, o),
      [r([2, 4, 3, 3]), r([4, 6 / g, 2, 3]), r([6])],
    );
  }
  gradcheck((x, w) => F.convTranspose2d(x, w), [r([2, 3, 3]), r([2, 3, 2, 2])]);
});

Deno.test("gradcheck: interpolate in every mode, up and down", () => {
  const x4 = r([1, 2, 3, 4]), x3 = r([2, 2, 5]), x5 = r([1, 1, 2, 3, 2]);
  const cases: [Tensor, L.InterpolateOptions][] = [
    [x4, { scaleFactor: 2 }],
    [x4, { size: [5, 3] }],
    [x4, { scaleFactor: 1.5, mode: "nearest-exact" }],
    [x4, { scaleFactor: 2, mode: "bilinear" }],
    [x4, { size: [5, 7], mode: "bilinear", alignCorners: true }],
    [x4, { scaleFactor: [0.7, 0.5], mode: "bilinear" }],
    [x4, { scaleFactor: 1.7, mode: "bilinear", recomputeScaleFactor: true }],
    [x3, { size: 8, mode: "linear" }],
    [x3, { scaleFactor: 0.5, mode: "linear", alignCorners: true }],
    [x3, { scaleFactor: 3 }],
    [x5, { scaleFactor: [2, 1, 2] }],
  ];
  for (const [x, o] of cases) gradcheck((t) => F.interpolate(t, o), [x]);
});

Deno.test("gradcheck: adaptiveMaxPool2d up and down (distinct values)", () => {
  for (const size of [2, [3, 2], [4, 5], [null, 3]] as const) {
    gradcheck((x) => F.adaptiveMaxPool2d(x, size as L.AdaptiveSize), [spread([2, 2, 4, 5])]);
  }
  gradcheck((x) => F.adaptiveMaxPool2d(x, 2), [spread([3, 5, 5])]);
});

Deno.test("gradcheck: the activations away from their kinks, and PReLU's weight", () => {
  const x = tensor([-25, -4.6, -2.2, -0.7, 0.4, 1.3, 2.6, 4.1, 7.3, 22.5]);
  const fns: [string, (t: Tensor) => Tensor][] = [
    ["silu", (t) => F.silu(t)],
    ["elu", (t) => F.elu(t, 0.7)],
    ["softplus", (t) => F.softplus(t)],
    ["softplus beta", (t) => F.softplus(t, 2, 10)],
    ["mish", (t) => F.mish(t)],
    ["relu6", (t) => F.relu6(t)],
    ["hardtanh", (t) => F.hardtanh(t, -2, 3)],
    ["hardswish", (t) => F.hardswish(t)],
    ["hardsigmoid", (t) => F.hardsigmoid(t)],
  ];
  for (const [name, f] of fns) {
    try {
      gradcheck(f, [x]);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }
  gradcheck((t, w) => F.prelu(t, w), [r([2, 3, 4]), tensor([0.2, -0.5, 1.5])]);
  gradcheck((t, w) => F.prelu(t, w), [r([5]), tensor([0.3])]);
});

Deno.test("second derivatives: convTranspose2d, norms, interpolate and adaptiveMaxPool2d", () => {
  // d/dx of Σ v·∂(Σ u·f(x))/∂x, checked by differences of the first derivative (which gradcheck
  // evaluates under noGrad, so the first derivative is taken with grad mode back on).
  const second = (f: (...t: Tensor[]) => Tensor, inputs: Tensor[]) => {
    const u = weights(f(...inputs)), v = inputs.map(weights);
    gradcheck((...xs: Tensor[]) =>
      enableGrad(() => {
        const leaves = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_()));
        const gs = autograd.grad(f(...leaves).mul(u).sum(), leaves, { createGraph: true });
        return gs.map((g, i) => g.mul(v[i]).sum()).reduce((a, b) => a.add(b));
      }), inputs);
  };
  second(
    (x, w) => F.convTranspose2d(x, w, null, { stride: 2, dilation: 3, outputPadding: 2 }),
    [r([1, 2, 3, 3]), r([2, 2, 2, 2])],
  );
  second((x, w) => F.layerNorm(x, 4, { weight: w }), [r([3, 4]), r([4])]);
  second((x) => F.groupNorm(x, 2), [r([2, 4, 3])]);
  second((x) => F.rmsNorm(x, 4), [r([3, 4])]);
  second((x) => F.interpolate(x, { scaleFactor: 2, mode: "bilinear" }).mul(x.sum()), [
    r([1, 1, 2, 3]),
  ]);
  second((x) => F.adaptiveMaxPool2d(x, 2).mul(x.sum()), [spread([1, 2, 3, 3])]);
  second((x) => F.elu(x).mul(x), [tensor([-1.5, -0.4, 0.6, 2])]);
});
