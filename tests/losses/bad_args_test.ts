/**
 * Every loss requires tensors for its input and target (a plain array or null is a named
 * ValueError, not a raw TypeError) and checks its weights as PyTorch does: per-class weights are
 * floating-point [C], the binary losses' weights broadcast to the input's shape.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { ones, randn, tensor } from "../../core/mod.ts";
import type { Tensor } from "../../core/mod.ts";
import * as F from "../../losses/functional.ts";
import * as nn from "../../losses/mod.ts";
import { structuredLoss } from "../../losses/structured.ts";
import { assertClose } from "./helpers.ts";
import { loose, throwsNamed } from "../throws_exact.ts";
import type { AnyFn } from "../throws_exact.ts";

const idx = (v: number[]): Tensor => tensor(v, { dtype: "int32" });

// Each loss with a valid (input, target) pair.
const losses: [string, AnyFn, () => [Tensor, Tensor]][] = [
  ["mseLoss", F.mseLoss as AnyFn, () => [randn([2, 3]), randn([2, 3])]],
  ["l1Loss", F.l1Loss as AnyFn, () => [randn([2, 3]), randn([2, 3])]],
  ["smoothL1Loss", F.smoothL1Loss as AnyFn, () => [randn([2, 3]), randn([2, 3])]],
  ["nllLoss", F.nllLoss as AnyFn, () => [randn([2, 3]), idx([0, 2])]],
  ["crossEntropy", F.crossEntropy as AnyFn, () => [randn([2, 3]), idx([0, 2])]],
  ["bceLoss", F.bceLoss as AnyFn, () => [tensor([0.2, 0.7]), tensor([0, 1])]],
  ["bceWithLogits", F.bceWithLogits as AnyFn, () => [randn([2]), tensor([0, 1])]],
  ["klDiv", F.klDiv as AnyFn, () => [randn([2, 3]), ones([2, 3]).div(3)]],
  ["multiMarginLoss", F.multiMarginLoss as AnyFn, () => [randn([2, 3]), idx([0, 2])]],
  ["hingeEmbeddingLoss", F.hingeEmbeddingLoss as AnyFn, () => [randn([2]), tensor([1, -1])]],
  ["structuredLoss", structuredLoss as AnyFn, () => [randn([2, 3]), idx([0, 2])]],
];

Deno.test("every loss names a non-tensor input or target", () => {
  for (const [name, fn, make] of losses) {
    const [input, target] = make();
    assert.equal((fn(input, target) as Tensor).ndim, 0, `${name} accepts tensors`);
    for (const bad of [[1, 2], null, undefined, 1]) {
      throwsNamed(
        () => fn(input, bad),
        "ValueError",
        new RegExp(`^${name}: expected a Tensor as target, got `),
        `${name} target ${JSON.stringify(bad)}`,
      );
      throwsNamed(
        () => fn(bad, target),
        "ValueError",
        new RegExp(`^${name}: expected a Tensor as input, got `),
        `${name} input ${JSON.stringify(bad)}`,
      );
    }
    throwsNamed(
      () => fn(input, target, {}, "mean"),
      "ValueError",
      `${name}: takes at most 3 arguments, got 4 (Tensor, Tensor, Object, "mean")`,
    );
  }
  throwsNamed(
    () => loose(F.mseLoss, tensor([1, 2]), [1, 2]),
    "ValueError",
    "mseLoss: expected a Tensor as target, got [1, 2] (wrap values with tensor(...))",
  );
  throwsNamed(
    () => loose(F.mseLoss, tensor([1, 2]), null),
    "ValueError",
    "mseLoss: expected a Tensor as target, got null",
  );
});

Deno.test("loss modules name a non-tensor input or target", () => {
  throwsNamed(
    () => loose(new nn.MSELoss().forward.bind(new nn.MSELoss()), tensor([1]), [1]),
    "ValueError",
    /^mseLoss: expected a Tensor as target, got \[1\]/,
  );
  const ce = new nn.CrossEntropyLoss();
  throwsNamed(
    () => loose(ce.forward.bind(ce), null, idx([0])),
    "ValueError",
    "crossEntropy: expected a Tensor as input, got null",
  );
  const s = new nn.StructuredLoss();
  throwsNamed(
    () => loose(s.forward.bind(s), [[1, 2]], idx([0])),
    "ValueError",
    /^StructuredLoss\.forward: expected a Tensor as input, got \[\[1, 2\]\]/,
  );
  throwsNamed(
    () => loose(s.forward.bind(s), ones([1, 2]), [0]),
    "ValueError",
    /^structuredLoss: expected a Tensor as target, got \[0\]/,
  );
});

Deno.test("multiMarginLoss requires a floating-point weight of C elements", () => {
  const x = tensor([[0.1, 0.5, -0.3], [1, 0.2, 0.4]]), t = idx([0, 1]);
  throwsNamed(
    () => F.multiMarginLoss(ones([2, 3]), t, { weight: ones([2]) }),
    "ShapeError",
    "multiMarginLoss: weight [2] must have shape [3]",
  );
  throwsNamed(
    () => F.multiMarginLoss(x, t, { weight: ones([1, 3]) }),
    "ShapeError",
    "multiMarginLoss: weight [1, 3] must have shape [3]",
  );
  throwsNamed(
    () => F.multiMarginLoss(x, t, { weight: ones([3], { dtype: "int32" }) }),
    "DTypeError",
    "multiMarginLoss: weight must be floating-point, got int32",
  );
  throwsNamed(
    () => new nn.MultiMarginLoss({ weight: ones([2]) }).forward(x, t),
    "ShapeError",
    "multiMarginLoss: weight [2] must have shape [3]",
  );
  // A correct weight scales each example's terms by the weight of its target class.
  const w = tensor([2, 0.5, 1]);
  const got = F.multiMarginLoss(x, t, { weight: w, reduction: "none" }).dataSync();
  const rows = [[0.1, 0.5, -0.3], [1, 0.2, 0.4]];
  const expected = rows.map((r, i) => {
    const y = [0, 1][i];
    let s = 0;
    for (let j = 0; j < 3; j++) if (j !== y) s += Math.max(0, 1 - r[y] + r[j]);
    return ([2, 0.5, 1][y] * s) / 3;
  });
  assertClose(got, expected, "weighted multiMarginLoss");
});

Deno.test("nllLoss and crossEntropy require a floating-point 1-D weight [C]", () => {
  const x = randn([2, 3]), t = idx([0, 2]);
  throwsNamed(
    () => F.nllLoss(x, t, { weight: ones([3], { dtype: "int32" }) }),
    "DTypeError",
    "nllLoss: weight must be floating-point, got int32",
  );
  throwsNamed(
    () => F.nllLoss(x, t, { weight: ones([1, 3]) }),
    "ShapeError",
    "nllLoss: weight [1, 3] must have shape [3]",
  );
  throwsNamed(
    () => F.crossEntropy(x, t, { weight: ones([3], { dtype: "int32" }) }),
    "DTypeError",
    "crossEntropy: weight must be floating-point, got int32",
  );
  // With probability targets the 2-D weight used to be reshaped silently.
  for (const target of [t, ones([2, 3]).div(3)]) {
    throwsNamed(
      () => F.crossEntropy(x, target, { weight: ones([1, 3]) }),
      "ShapeError",
      "crossEntropy: weight [1, 3] must have shape [3] (one per class)",
    );
  }
  const w = tensor([1, 2, 0.5]);
  assert.equal(F.crossEntropy(x, ones([2, 3]).div(3), { weight: w }).ndim, 0);
  assert.equal(F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 }).ndim, 0);
});

Deno.test("the binary losses' weights must broadcast to the input's shape", () => {
  const p = tensor([0.2, 0.7]), y = tensor([0, 1]);
  throwsNamed(
    () => F.bceLoss(p, y, { weight: ones([2, 1]) }),
    "ShapeError",
    "bceLoss: weight [2, 1] must broadcast to the input's shape [2]",
  );
  throwsNamed(
    () => F.bceWithLogits(p, y, { weight: ones([3, 2]) }),
    "ShapeError",
    "bceWithLogits: weight [3, 2] must broadcast to the input's shape [2]",
  );
  throwsNamed(
    () => F.bceWithLogits(p, y, { posWeight: ones([2, 1]) }),
    "ShapeError",
    "bceWithLogits: posWeight [2, 1] must broadcast to the input's shape [2]",
  );
  throwsNamed(
    () => F.bceLoss(p, y, { weight: ones([2], { dtype: "int32" }) }),
    "DTypeError",
    "bceLoss: weight must be floating-point, got int32",
  );
  throwsNamed(
    () => F.bceWithLogits(p, y, { posWeight: ones([1], { dtype: "int32" }) }),
    "DTypeError",
    "bceWithLogits: posWeight must be floating-point, got int32",
  );
  // Weights that broadcast to the input are applied.
  const plain = F.bceLoss(p, y, { reduction: "none" }).dataSync();
  const w = tensor([2, 3]);
  assertClose(
    F.bceLoss(p, y, { weight: w, reduction: "none" }).dataSync(),
    [plain[0] * 2, plain[1] * 3],
    "bce weight [2]",
  );
  assertClose(
    F.bceLoss(p, y, { weight: tensor([2]), reduction: "none" }).dataSync(),
    [plain[0] * 2, plain[1] * 2],
    "bce weight [1]",
  );
  const x2 = randn([4, 3]), y2 = ones([4, 3]);
  assert.deepEqual(
    F.bceWithLogits(x2, y2, { posWeight: tensor([1, 2, 3]), reduction: "none" }).shape,
    [4, 3],
  );
});
