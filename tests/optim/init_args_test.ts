/**
 * Argument checks of the parameter initializers (layers/init.ts, PyTorch's `torch.nn.init`): the
 * bounds and scales PyTorch refuses (uniform_ with a > b, normal_ with std < 0), unknown
 * nonlinearities and modes, non-finite numbers, unknown option keys, non-tensors and integer
 * tensors, and tensors with too few dimensions for fan-in/fan-out. Each is a named error whose
 * message names the initializer, the argument and what is expected.
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { DTypeError, Generator, ShapeError, ValueError, zeros } from "../../core/mod.ts";
import * as init from "../../layers/init.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

type ErrorClass = new (...args: never[]) => Error;

const throwsNamed = assertThrowsNamed;

const bad = (v: unknown): never => v as never;

Deno.test("uniform_ needs finite bounds with low <= high (PyTorch: from <= to)", () => {
  throwsNamed(
    () => init.uniform_(zeros([3]), 1, 0),
    ValueError,
    "init.uniform_: low must be <= high, got low 1 > high 0",
  );
  throwsNamed(
    () => init.uniform_(zeros([3]), 0, Infinity),
    ValueError,
    "init.uniform_: high must be a finite number, got Infinity",
  );
  throwsNamed(
    () => init.uniform_(zeros([3]), bad("0"), 1),
    ValueError,
    'init.uniform_: low must be a finite number, got "0"',
  );
  assert.deepEqual([...init.uniform_(zeros([2]), 3, 3).dataSync()], [3, 3]);
});

Deno.test("normal_ needs a finite mean and std >= 0 (PyTorch: std >= 0.0)", () => {
  throwsNamed(
    () => init.normal_(zeros([3]), 0, -1),
    ValueError,
    "init.normal_: std must be a finite number >= 0, got -1",
  );
  throwsNamed(
    () => init.normal_(zeros([3]), NaN),
    ValueError,
    "init.normal_: mean must be a finite number, got NaN",
  );
  assert.deepEqual([...init.normal_(zeros([2]), 5, 0).dataSync()], [5, 5]);
});

Deno.test("calculateGain of an unknown nonlinearity lists the known ones; param is checked", () => {
  throwsNamed(
    () => init.calculateGain(bad("relu6")),
    ValueError,
    'init.calculateGain: unsupported nonlinearity "relu6" (expected one of linear, conv1d, conv2d, ' +
      "conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, " +
      "leaky_relu, selu)",
  );
  throwsNamed(
    () => init.calculateGain(bad(undefined)),
    ValueError,
    "init.calculateGain: unsupported nonlinearity undefined",
  );
  throwsNamed(
    () => init.calculateGain("leaky_relu", bad("0.2")),
    ValueError,
    'init.calculateGain: param must be a finite number, got "0.2"',
  );
  throwsNamed(
    () => init.calculateGain("leaky_relu", NaN),
    ValueError,
    "init.calculateGain: param must be a finite number, got NaN",
  );
  assert.equal(init.calculateGain("leaky_relu", 0.2), Math.sqrt(2 / 1.04));
  assert.equal(init.calculateGain("conv_transpose2d"), 1);
  assert.equal(init.calculateGain("relu"), Math.SQRT2);
});

Deno.test("kaiming initializers check mode, nonlinearity, a and their option keys", () => {
  const w = () => zeros([4, 3]);
  throwsNamed(
    () => init.kaimingUniform_(w(), bad({ mode: "fan_avg" })),
    ValueError,
    'init.kaimingUniform_: mode must be "fan_in" or "fan_out", got "fan_avg"',
  );
  throwsNamed(
    () => init.kaimingNormal_(w(), bad({ nonlinearity: "gelu" })),
    ValueError,
    'init.kaimingNormal_: unsupported nonlinearity "gelu" (expected one of linear,',
  );
  throwsNamed(
    () => init.kaimingUniform_(w(), { a: NaN }),
    ValueError,
    "init.kaimingUniform_: a must be a finite number, got NaN",
  );
  throwsNamed(
    () => init.kaimingUniform_(w(), bad({ negative_slope: 0.1 })),
    ValueError,
    'init.kaimingUniform_: unknown option "negative_slope" (expected a, mode, nonlinearity, generator)',
  );
  throwsNamed(
    () => init.kaimingNormal_(w(), bad({ generator: 42 })),
    ValueError,
    "init.kaimingNormal_: generator must be a Generator, got 42",
  );
  throwsNamed(
    () => init.kaimingUniform_(zeros([3])),
    ShapeError,
    "init: fan in and fan out need a tensor with at least 2 dimensions, got 1",
  );
  const a = init.kaimingUniform_(w(), { a: Math.sqrt(5), generator: new Generator(1) });
  const b = init.kaimingUniform_(w(), { a: Math.sqrt(5), generator: new Generator(1) });
  assert.deepEqual([...a.dataSync()], [...b.dataSync()]);
});

Deno.test("xavier, fanInUniform_ and truncNormal_ check their numbers", () => {
  throwsNamed(
    () => init.xavierUniform_(zeros([3, 3]), -1),
    ValueError,
    "init.xavierUniform_: gain must be a finite number >= 0, got -1",
  );
  throwsNamed(
    () => init.xavierNormal_(zeros([3, 3]), bad("1")),
    ValueError,
    'init.xavierNormal_: gain must be a finite number >= 0, got "1"',
  );
  throwsNamed(
    () => init.xavierNormal_(zeros([3])),
    ShapeError,
    "init: fan in and fan out need a tensor with at least 2 dimensions, got 1",
  );
  throwsNamed(
    () => init.fanInUniform_(zeros([3]), -1),
    ValueError,
    "init.fanInUniform_: fanIn must be a non-negative integer, got -1",
  );
  throwsNamed(
    () => init.truncNormal_(zeros([3]), 0, 1, 2, -2),
    ValueError,
    "init.truncNormal_: a must be <= b, got a 2 > b -2",
  );
  throwsNamed(
    () => init.truncNormal_(zeros([3]), 0, -1),
    ValueError,
    "init.truncNormal_: std must be a finite number >= 0, got -1",
  );
  // An interval holding (almost) none of the distribution would resample forever.
  throwsNamed(
    () => init.truncNormal_(zeros([3]), 0, 1, 10, 11),
    ValueError,
    "init.truncNormal_: [a, b] = [10, 11] holds too little of N(0, 1²) to sample by resampling",
  );
  const t = init.truncNormal_(zeros([100]), 0, 1, -0.5, 0.5);
  assert.ok([...t.dataSync()].every((v) => v >= -0.5 && v <= 0.5));
});

Deno.test("initializers need a tensor, and the random ones a floating-point tensor", () => {
  throwsNamed(
    () => init.uniform_(bad([1, 2])),
    ValueError,
    "init.uniform_: tensor must be a Tensor, got [1, 2]",
  );
  throwsNamed(
    () => init.zeros_(bad(null)),
    ValueError,
    "init.constant_: tensor must be a Tensor, got null",
  );
  throwsNamed(
    () => init.normal_(zeros([3], { dtype: "int32" })),
    DTypeError,
    "init.normal_: needs a floating-point tensor, got int32",
  );
  throwsNamed(
    () => init.uniform_(zeros([3]), 0, 1, bad({ seed: 1 })),
    ValueError,
    'init.uniform_: unknown option "seed" (expected generator)',
  );
  assert.deepEqual([...init.ones_(zeros([2], { dtype: "int32" })).dataSync()], [1, 1]);
});
