/**
 * Arguments the layers and their functional forms used to accept and then ignore, coerce or trip
 * over with a raw TypeError: each is now a named error (or, where PyTorch accepts the form, works).
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { ones, randn, Tensor, tensor, ValueError, zeros } from "../../core/mod.ts";
import type { Module } from "../../core/mod.ts";
import * as F from "../../layers/functional.ts";
import * as L from "../../layers/mod.ts";
import { assertClose } from "./_helpers.ts";
import { loose, throwsNamed } from "../throws_exact.ts";

Deno.test("layer forward of a non-tensor names the layer and the input", () => {
  const layers: [Module, number[]][] = [
    [new L.Linear(3, 2), [2, 3]],
    [new L.Conv2d(1, 2, 3), [1, 1, 4, 4]],
    [new L.MaxPool2d(2), [1, 1, 4, 4]],
    [new L.AvgPool2d(2), [1, 1, 4, 4]],
    [new L.AdaptiveAvgPool2d(1), [1, 1, 4, 4]],
    [new L.BatchNorm1d(3), [2, 3]],
    [new L.BatchNorm2d(1), [2, 1, 2, 2]],
    [new L.Dropout(0.5), [2, 3]],
    [new L.ReLU(), [2, 3]],
    [new L.LeakyReLU(), [2, 3]],
    [new L.Sigmoid(), [2, 3]],
    [new L.Tanh(), [2, 3]],
    [new L.GELU(), [2, 3]],
    [new L.Softmax(1), [2, 3]],
    [new L.LogSoftmax(1), [2, 3]],
    [new L.Flatten(), [2, 3]],
    [new L.LocalResponseNorm(2), [1, 3, 2, 2]],
  ];
  for (const [m, shape] of layers) {
    const name = m.constructor.name;
    for (const bad of [[[1, 2, 3]], undefined, null, 5, "x"]) {
      throwsNamed(
        () => loose(m.forward.bind(m), ...(bad === undefined ? [] : [bad])),
        "ValueError",
        new RegExp(`^${name}\\.forward: expected a Tensor as input, got `),
        `${name}.forward(${JSON.stringify(bad)})`,
      );
    }
    // A tensor still goes through.
    assert.ok(m.forward(ones(shape)) instanceof Tensor, name);
  }
  throwsNamed(
    () => loose(new L.Linear(3, 2).forward.bind(new L.Linear(3, 2)), [[1, 2, 3]]),
    "ValueError",
    "Linear.forward: expected a Tensor as input, got [[1, 2, 3]] (wrap values with tensor(...))",
  );
  const pool = new L.MaxPool2d(2);
  throwsNamed(
    () => loose(pool.forwardWithIndices.bind(pool), [1]),
    "ValueError",
    /^MaxPool2d\.forwardWithIndices: expected a Tensor as input, got \[1\]/,
  );
  // Sequential hands the input to its first module, which names itself.
  const seq = new L.Sequential(new L.Linear(3, 2), new L.ReLU());
  throwsNamed(
    () => loose(seq.forward.bind(seq), [[1, 2, 3]]),
    "ValueError",
    /^Linear\.forward: expected a Tensor as input, got \[\[1, 2, 3\]\]/,
  );
});

Deno.test("F.gelu validates approximate and accepts PyTorch's keyword form", () => {
  const x = tensor([-2, -0.5, 0, 0.7, 3]);
  const exact = F.gelu(x).toArraySync() as number[];
  const approx = F.gelu(x, "tanh").toArraySync() as number[];
  assert.ok(Math.abs(exact[3] - approx[3]) > 1e-5, "the two formulas differ");
  assertClose(F.gelu(x, { approximate: "tanh" }).dataSync(), approx, "keyword tanh");
  assertClose(F.gelu(x, { approximate: "none" }).dataSync(), exact, "keyword none");
  assertClose(F.gelu(x, {}).dataSync(), exact, "keyword default");
  throwsNamed(
    () => loose(F.gelu, x, "fast"),
    "ValueError",
    'gelu: approximate must be one of "none", "tanh", got "fast"',
  );
  throwsNamed(
    () => loose(F.gelu, x, { approximate: "fast" }),
    "ValueError",
    'gelu: approximate must be one of "none", "tanh", got "fast"',
  );
  throwsNamed(
    () => loose(F.gelu, x, { approx: "tanh" }),
    "ValueError",
    'gelu: unknown option "approx" (expected one of approximate)',
  );
  throwsNamed(
    () => loose(F.gelu, x, true),
    "ValueError",
    'gelu: approximate must be one of "none", "tanh", got true',
  );
  // The layer still uses the formula it was built with.
  assertClose(new L.GELU({ approximate: "tanh" }).forward(x).dataSync(), approx, "GELU layer");
});

Deno.test("F.adaptiveAvgPool2d takes an int or a pair, nulls allowed", () => {
  const x = randn([1, 2, 4, 6]);
  const what = "must be a positive integer or a pair of positive integers or nulls";
  for (const bad of [[1, 1, 1], [2], [[2, 2]], null, "2", []]) {
    throwsNamed(
      () => loose(F.adaptiveAvgPool2d, x, bad),
      "ValueError",
      new RegExp(`^adaptiveAvgPool2d: outputSize ${what}, got `),
      JSON.stringify(bad),
    );
  }
  // undefined is not PyTorch's None: refused rather than read as "keep the input size".
  throwsNamed(
    () => loose(F.adaptiveAvgPool2d, x, [1, undefined]),
    "ValueError",
    /^adaptiveAvgPool2d: invalid options for input \[1, 2, 4, 6\]: 1: /,
  );
  assert.deepEqual(F.adaptiveAvgPool2d(x, [1, null]).shape, [1, 2, 1, 6]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, [null, 3]).shape, [1, 2, 4, 3]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, 2).shape, [1, 2, 2, 2]);
});

Deno.test("F.linear and F.conv2d require a Tensor or null bias", () => {
  const x = ones([2, 3]), w = ones([2, 3]);
  for (const bad of [2, [1, 2], false, "b"]) {
    throwsNamed(
      () => loose(F.linear, x, w, bad),
      "ValueError",
      /^linear: expected a Tensor or null as bias, got /,
      `linear bias ${JSON.stringify(bad)}`,
    );
    throwsNamed(
      () => loose(F.conv2d, ones([1, 1, 4, 4]), ones([1, 1, 3, 3]), bad),
      "ValueError",
      /^conv2d: expected a Tensor or null as bias, got /,
      `conv2d bias ${JSON.stringify(bad)}`,
    );
  }
  // A bias that would broadcast the output to more dimensions (or a larger size) is refused.
  throwsNamed(
    () => F.linear(x, w, ones([3, 1, 2])),
    "ShapeError",
    "linear: bias [3, 1, 2] must broadcast to the output [2, 2]",
  );
  throwsNamed(
    () => F.linear(ones([1, 3]), w, ones([4, 2])),
    "ShapeError",
    "linear: bias [4, 2] must broadcast to the output [1, 2]",
  );
  assert.deepEqual(F.linear(x, w, null).toArraySync(), [[3, 3], [3, 3]]);
  assert.deepEqual(F.linear(x, w, undefined).toArraySync(), [[3, 3], [3, 3]]);
  assert.deepEqual(F.linear(x, w, tensor([1, 2])).toArraySync(), [[4, 5], [4, 5]]);
  assert.deepEqual(F.linear(ones([2, 2, 3]), w, tensor([1, 2])).shape, [2, 2, 2]);
  assert.deepEqual(F.conv2d(ones([1, 1, 3, 3]), ones([1, 1, 3, 3]), null).toArraySync(), [[[[
    9,
  ]]]]);
});

Deno.test("F.batchNorm refuses non-tensor statistics, weights and PyTorch's positional weight", () => {
  const x = randn([4, 3]), rm = zeros([3]), rv = ones([3]);
  throwsNamed(
    () => loose(F.batchNorm, x, rm, rv, ones([3])),
    "ValueError",
    "batchNorm: options must be an object like { weight, bias, training, momentum, eps }, " +
      "got a Tensor (PyTorch's positional weight: pass { weight })",
  );
  throwsNamed(
    () => loose(F.batchNorm, x, [0, 0, 0], rv),
    "ValueError",
    "batchNorm: expected a Tensor or null as runningMean, got [0, 0, 0] (wrap values with tensor(...))",
  );
  throwsNamed(
    () => loose(F.batchNorm, x, rm, "v"),
    "ValueError",
    'batchNorm: expected a Tensor or null as runningVar, got "v"',
  );
  throwsNamed(
    () => loose(F.batchNorm, x, rm, rv, { weight: [1, 1, 1] }),
    "ValueError",
    "batchNorm: expected a Tensor or null as weight, got [1, 1, 1] (wrap values with tensor(...))",
  );
  throwsNamed(
    () => loose(F.batchNorm, x, rm, rv, { bias: 0 }),
    "ValueError",
    "batchNorm: expected a Tensor or null as bias, got 0 (wrap values with tensor(...))",
  );
  for (const eps of [Infinity, "1e-5", 0, -1]) {
    throwsNamed(
      () => loose(F.batchNorm, x, rm, rv, { eps }),
      "ValueError",
      /^batchNorm: eps must be a positive finite number, got /,
      `eps ${eps}`,
    );
  }
  throwsNamed(
    () => loose(F.batchNorm, [[1, 2, 3]], rm, rv),
    "ValueError",
    /^batchNorm: expected a Tensor as input/,
  );
  // The accepted forms still work, and weight and bias are applied.
  const y = F.batchNorm(x, rm, rv, { weight: tensor([2, 2, 2]), bias: tensor([1, 1, 1]) });
  const ref = x.div(Math.sqrt(1 + 1e-5)).mul(2).add(1);
  assertClose(y.dataSync(), ref.dataSync(), "eval batchNorm with weight and bias");
  assert.deepEqual(F.batchNorm(x, null, null, { training: true }).shape, [4, 3]);
  assert.deepEqual(F.batchNorm(x, undefined as unknown as null, null, { training: true }).shape, [
    4,
    3,
  ]);
});

Deno.test("F.localResponseNorm checks alpha, beta and k like the layer", () => {
  const x = randn([1, 4, 2, 2]);
  const cases: [unknown[], string][] = [
    [[2, "0.1"], 'localResponseNorm: alpha must be a finite number, got "0.1"'],
    [[2, 1e-4, NaN], "localResponseNorm: beta must be a finite number, got NaN"],
    [[2, 1e-4, 0.75, true], "localResponseNorm: k must be a finite number, got true"],
    [[2, 1e-4, 0.75, Infinity], "localResponseNorm: k must be a finite number, got Infinity"],
    [["2"], 'localResponseNorm: size must be a positive integer, got "2"'],
  ];
  for (const [args, message] of cases) {
    throwsNamed(() => loose(F.localResponseNorm, x, ...args), "ValueError", message);
  }
  const layer = new L.LocalResponseNorm(3, { alpha: 1e-3, beta: 0.5, k: 2 });
  assertClose(
    F.localResponseNorm(x, 3, 1e-3, 0.5, 2).dataSync(),
    layer.forward(x).dataSync(),
    "F and layer agree",
  );
});

Deno.test("F.dropout names a non-tensor input", () => {
  throwsNamed(
    () => loose(F.dropout, [1, 2], 0.5),
    "ValueError",
    "dropout: expected a Tensor as input, got [1, 2] (wrap values with tensor(...))",
  );
  throwsNamed(
    () => loose(F.dropout, ones([2]), 0.5, true, false, 1),
    "ValueError",
    "dropout: takes at most 4 arguments, got 5 (Tensor, 0.5, true, false, 1)",
  );
});

Deno.test("a long or nested bad argument is shown elided", () => {
  const long = Array.from({ length: 20 }, (_, i) => i);
  assert.throws(() => loose(F.relu, long), (e: unknown) => {
    assert.ok(e instanceof ValueError);
    assert.match(
      e.message,
      /^relu: expected a Tensor as input, got \[0, 1, 2, 3, 4, 5, 6, 7, \.\.\. 12 more\]/,
    );
    return true;
  });
});
