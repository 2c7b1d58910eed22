/** Every layer rejects invalid options at construction, naming the layer and the option. */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import { ValueError, zeros } from "../../core/mod.ts";
import * as L from "../../layers/mod.ts";

const bad: [string, () => unknown, RegExp][] = [
  ["Conv2d zero channels", () => new L.Conv2d(0, 4, 3), /^Conv2d: inChannels must be a positive/],
  ["Conv2d out channels", () => new L.Conv2d(3, 2.5, 3), /^Conv2d: outChannels must be/],
  ["Conv2d kernel < 1", () => new L.Conv2d(3, 4, 0), /^Conv2d: kernelSize must be/],
  ["Conv2d kernel pair", () => new L.Conv2d(3, 4, [3, -1]), /^Conv2d: kernelSize must be/],
  ["Conv2d stride", () => new L.Conv2d(3, 4, 3, { stride: 0 }), /^Conv2d: stride must be/],
  ["Conv2d padding", () => new L.Conv2d(3, 4, 3, { padding: -1 }), /^Conv2d: padding must be/],
  [
    "Conv2d padding string",
    () => new L.Conv2d(3, 4, 3, { padding: "full" as "same" }),
    /^Conv2d: padding must be an int, a pair, "same" or "valid"/,
  ],
  [
    "Conv2d same strided",
    () => new L.Conv2d(3, 4, 3, { padding: "same", stride: 2 }),
    /^Conv2d: padding "same" is not supported for strided convolutions/,
  ],
  ["Conv2d dilation", () => new L.Conv2d(3, 4, 3, { dilation: 0 }), /^Conv2d: dilation must be/],
  [
    "Conv2d groups in",
    () => new L.Conv2d(3, 4, 3, { groups: 2 }),
    /^Conv2d: groups must divide inChannels \(3\), got 2/,
  ],
  [
    "Conv2d groups out",
    () => new L.Conv2d(4, 6, 3, { groups: 4 }),
    /^Conv2d: groups must divide outChannels \(6\), got 4/,
  ],
  ["Conv2d groups 0", () => new L.Conv2d(4, 6, 3, { groups: 0 }), /^Conv2d: groups must be/],
  [
    "Conv2d paddingMode",
    () => new L.Conv2d(3, 4, 3, { paddingMode: "reflect" as "zeros" }),
    /^Conv2d: paddingMode supports only "zeros".*got "reflect"/,
  ],
  [
    "Conv2d init",
    () => new L.Conv2d(3, 4, 3, { init: "he" as "kaiming" }),
    /^Conv2d: init must be one of/,
  ],
  [
    "Conv2d unknown option",
    () => new L.Conv2d(3, 4, 3, { strides: 2 } as L.Conv2dLayerOptions),
    /^Conv2d: unknown option "strides"/,
  ],
  [
    "ReLU inplace",
    () => new L.ReLU({ inplace: 1 as unknown as boolean }),
    /^ReLU: inplace must be a boolean/,
  ],
  ["LeakyReLU slope", () => new L.LeakyReLU(NaN), /^LeakyReLU: negativeSlope must be a finite/],
  [
    "GELU approximate",
    () => new L.GELU({ approximate: "erf" as "none" }),
    /^GELU: approximate must be one of "none", "tanh"/,
  ],
  ["Softmax dim", () => new L.Softmax(1.5), /^Softmax: dim must be an integer/],
  [
    "LogSoftmax dim",
    () => new L.LogSoftmax(undefined as unknown as number),
    /^LogSoftmax: dim must be an integer/,
  ],
  ["MaxPool2d kernel", () => new L.MaxPool2d(0), /^MaxPool2d: kernelSize must be a positive/],
  ["MaxPool2d stride", () => new L.MaxPool2d(2, { stride: 0 }), /^MaxPool2d: stride must be/],
  [
    "MaxPool2d padding",
    () => new L.MaxPool2d(2, { padding: 2 }),
    /^MaxPool2d: padding must be at most half the kernel size/,
  ],
  ["MaxPool2d dilation", () => new L.MaxPool2d(2, { dilation: 0 }), /^MaxPool2d: dilation must/],
  [
    "AvgPool2d padding",
    () => new L.AvgPool2d(3, { padding: [0, 2] }),
    /^AvgPool2d: padding must be at most half/,
  ],
  [
    "AvgPool2d divisor",
    () => new L.AvgPool2d(3, { divisorOverride: 0 }),
    /^AvgPool2d: divisorOverride must be a positive integer/,
  ],
  [
    "AvgPool2d ceilMode",
    () => new L.AvgPool2d(3, { ceilMode: "yes" as unknown as boolean }),
    /^AvgPool2d: ceilMode must be a boolean/,
  ],
  [
    "AdaptiveAvgPool2d size",
    () => new L.AdaptiveAvgPool2d(0),
    /^AdaptiveAvgPool2d: outputSize must be/,
  ],
  ["Dropout negative p", () => new L.Dropout(-0.1), /^Dropout: p must be a probability/],
  ["Dropout p > 1", () => new L.Dropout(1.5), /^Dropout: p must be a probability/],
  [
    "Dropout generator",
    () => new L.Dropout(0.5, { generator: {} as never }),
    /^Dropout: generator must be a Generator/,
  ],
  ["BatchNorm1d zero", () => new L.BatchNorm1d(0), /^BatchNorm1d: numFeatures must be a positive/],
  ["BatchNorm2d eps", () => new L.BatchNorm2d(3, { eps: 0 }), /^BatchNorm2d: eps must be positive/],
  [
    "BatchNorm2d momentum",
    () => new L.BatchNorm2d(3, { momentum: 2 }),
    /^BatchNorm2d: momentum must be a number in \[0, 1\] or null/,
  ],
  [
    "BatchNorm2d affine",
    () => new L.BatchNorm2d(3, { affine: "no" as unknown as boolean }),
    /^BatchNorm2d: affine must be a boolean/,
  ],
  ["LocalResponseNorm size", () => new L.LocalResponseNorm(0), /^LocalResponseNorm: size must/],
  [
    "LocalResponseNorm beta",
    () => new L.LocalResponseNorm(3, { beta: Infinity }),
    /^LocalResponseNorm: beta must be a finite number/,
  ],
  ["Flatten startDim", () => new L.Flatten(0.5), /^Flatten: startDim must be an integer/],
  ["Linear features", () => new L.Linear(0, 3), /^Linear: inFeatures must be a positive/],
  ["Concat empty", () => new L.Concat([]), /^Concat: branches must be a non-empty array/],
  ["Concat dim", () => new L.Concat([new L.Identity()], { dim: 0.5 }), /^Concat: dim must be/],
  [
    "Residual body",
    () => new L.Residual(null as unknown as L.Identity),
    /^Residual: body must be a Module/,
  ],
];

Deno.test("invalid options are rejected with the layer and option named", async (t) => {
  for (const [name, make, message] of bad) {
    await t.step(name, () => {
      assert.throws(make, (e: unknown) => {
        assert.ok(e instanceof ValueError, `${name}: expected a ValueError, got ${e}`);
        assert.match((e as Error).message, message);
        return true;
      });
    });
  }
});

Deno.test("forward rejects inputs of the wrong rank or channel count", () => {
  assert.throws(
    () => new L.Conv2d(3, 4, 3).forward(zeros([1, 2, 5, 5])),
    /Conv2d: expected input \[N, 3, H, W\], got \[1, 2, 5, 5\]/,
  );
  assert.throws(() => new L.BatchNorm2d(3).forward(zeros([2, 3, 4])), /BatchNorm2d: expected 4-D/);
  assert.throws(
    () => new L.BatchNorm1d(3).forward(zeros([2, 4])),
    /BatchNorm1d: expected 3 channels in dim 1, got input \[2, 4\]/,
  );
});
