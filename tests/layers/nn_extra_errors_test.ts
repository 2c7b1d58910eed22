/**
 * Every argument of the issue-12 layers and functional forms is honoured or refused with a named
 * error (exact class, message naming the layer or function, the value and what was expected):
 * constructor options, forward inputs, and F arguments, including the PyTorch options denn does
 * not implement (Embedding's scaleGradByFreq / sparse, interpolate's other modes and antialias,
 * padding modes, AdaptiveMaxPool2d's returnIndices on the module).
 */

import assert from "node:assert/strict";
import "../../plugins/cpu/mod.ts";
import {
  AutogradError,
  DTypeError,
  IndexError,
  ones,
  randn,
  ShapeError,
  tensor,
  ValueError,
  zeros,
} from "../../core/mod.ts";
import * as F from "../../layers/functional.ts";
import * as L from "../../layers/mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

type Cls = new (...args: never[]) => Error;
// deno-lint-ignore no-explicit-any
const loose = (f: any, ...a: unknown[]): unknown => f(...a);
const ids = (v: number[]) => tensor(v, { dtype: "int32" });

function each(cases: [() => unknown, Cls, ...(string | RegExp)[]][]): void {
  for (const [f, cls, ...parts] of cases) assertThrowsNamed(f, cls, ...parts);
}

Deno.test("Embedding and F.embedding: arguments, ids and out-of-range ids", () => {
  const w = randn([5, 3]);
  each([
    [
      () => new L.Embedding(0, 3),
      ValueError,
      "Embedding: numEmbeddings must be a positive integer, got 0",
    ],
    [
      () => new L.Embedding(5, 2.5),
      ValueError,
      "Embedding: embeddingDim must be a positive integer, got 2.5",
    ],
    [
      () => new L.Embedding(5, 3, { paddingIdx: 5 }),
      ValueError,
      "Embedding: paddingIdx must be within [-5, 5)",
    ],
    [() => new L.Embedding(5, 3, { paddingIdx: -6 }), ValueError, "got -6"],
    [
      () => new L.Embedding(5, 3, { maxNorm: -1 }),
      ValueError,
      "Embedding: maxNorm must be a positive finite number or null, got -1",
    ],
    [
      () => new L.Embedding(5, 3, { normType: 0 }),
      ValueError,
      "Embedding: normType must be a positive finite number, got 0",
    ],
    [() => new L.Embedding(5, 3, { normType: Infinity }), ValueError, "normType"],
    [
      () => new L.Embedding(5, 3, { scaleGradByFreq: true }),
      ValueError,
      "Embedding: scaleGradByFreq is not supported (only false)",
    ],
    [
      () => new L.Embedding(5, 3, { sparse: true }),
      ValueError,
      "Embedding: sparse is not supported",
    ],
    [
      () => new L.Embedding(5, 3, { padding: 1 } as never),
      ValueError,
      'Embedding: unknown option "padding"',
    ],
    [
      () => new L.Embedding(5, 3).forward(tensor([1, 2])),
      DTypeError,
      "Embedding: expected int32 ids, got float32",
    ],
    [
      () => new L.Embedding(5, 3).forward(ids([1, 5])),
      IndexError,
      "Embedding: id out of range [0, 5)",
      "index 5",
    ],
    [
      () => new L.Embedding(5, 3).forward(ids([-1])),
      IndexError,
      "Embedding: id out of range [0, 5)",
    ],
    [
      () => new L.Embedding(5, 3, { maxNorm: 1 }).forward(ids([9])),
      IndexError,
      "Embedding: id out of range",
    ],
    [() => F.embedding(ids([0]), randn([5])), ShapeError, "embedding: expected a 2-D weight"],
    [
      () => F.embedding(ids([0]), ids([1, 2]).reshape([1, 2])),
      DTypeError,
      "embedding: expected a floating-point weight, got int32",
    ],
    [
      () => F.embedding(ids([0]), w, "1" as never),
      ValueError,
      "embedding: options must be an object",
    ],
    [
      () => F.embedding(ids([0]), w, { paddingIdx: 1.5 }),
      ValueError,
      "embedding: paddingIdx must be an integer, got 1.5",
    ],
    [
      () => loose(L.Embedding.fromPretrained, [[1]]),
      ValueError,
      "Embedding.fromPretrained: expected a Tensor as embeddings",
    ],
    [() => L.Embedding.fromPretrained(randn([3])), ShapeError, "must be 2-D, got [3]"],
    [
      () => L.Embedding.fromPretrained(w, { freeze: 1 } as never),
      ValueError,
      "freeze must be a boolean",
    ],
  ]);
  // PyTorch's positional padding_idx, and null, are accepted.
  assert.deepEqual(F.embedding(ids([0, 1]), w, 1).shape, [2, 3]);
  assert.deepEqual(F.embedding(ids([0, 1]), w, null).shape, [2, 3]);
});

Deno.test("Embedding: init, padding row, fromPretrained and maxNorm", () => {
  const e = new L.Embedding(6, 4, { paddingIdx: -2 });
  assert.equal(e.paddingIdx, 4);
  assert.deepEqual((e.weight.toArraySync() as number[][])[4], [0, 0, 0, 0]);
  assert.ok(e.weight.requiresGrad);
  const frozen = L.Embedding.fromPretrained(tensor([[1, 2], [3, 4]]));
  assert.equal(frozen.weight.requiresGrad, false);
  assert.deepEqual(frozen.forward(ids([1, 1, 0])).toArraySync(), [[3, 4], [3, 4], [1, 2]]);
  assert.deepEqual(frozen.parameters().length, 1);
  const open = L.Embedding.fromPretrained(tensor([[1, 2], [3, 4]]), {
    freeze: false,
    paddingIdx: 0,
  });
  assert.ok(open.weight.requiresGrad);
  assert.deepEqual((open.weight.toArraySync() as number[][])[0], [1, 2], "kept as given");
  // maxNorm rescales the rows looked up (in place), not the others.
  const m = L.Embedding.fromPretrained(tensor([[3, 4], [0.3, 0.4], [6, 8]]), { maxNorm: 1 });
  m.forward(ids([0, 1]));
  const rows = m.weight.toArraySync() as number[][];
  assert.ok(Math.abs(Math.hypot(...rows[0]) - 1) < 1e-5);
  assert.deepEqual(rows[1].map((v) => Math.round(v * 1e6) / 1e6), [0.3, 0.4]);
  assert.deepEqual(rows[2], [6, 8]);
  // An empty batch of ids gives an empty batch of rows.
  assert.deepEqual(new L.Embedding(3, 2).forward(zeros([0, 4], { dtype: "int32" })).shape, [
    0,
    4,
    2,
  ]);
});

Deno.test("norm layers: options, shapes and dtypes", () => {
  const x = randn([2, 4, 3]);
  each([
    [
      () => new L.LayerNorm(0),
      ValueError,
      "LayerNorm: normalizedShape must be a positive integer or a non-empty array of them, got 0",
    ],
    [() => new L.LayerNorm([]), ValueError, "LayerNorm: normalizedShape"],
    [
      () => new L.LayerNorm(3, { eps: -1 }),
      ValueError,
      "LayerNorm: eps must be a non-negative finite number, got -1",
    ],
    [
      () => new L.LayerNorm(3, { elementwiseAffine: "yes" } as never),
      ValueError,
      "LayerNorm: elementwiseAffine must be a boolean",
    ],
    [
      () => new L.LayerNorm(3, { elementwise: true } as never),
      ValueError,
      'LayerNorm: unknown option "elementwise"',
    ],
    [
      () => new L.LayerNorm(4).forward(x),
      ShapeError,
      "LayerNorm: expected input with shape [*, 4], got [2, 4, 3]",
    ],
    [
      () => new L.LayerNorm(3).forward(ids([1, 2, 3])),
      DTypeError,
      "LayerNorm: expected a floating-point input, got int32",
    ],
    [
      () => F.layerNorm(x, 3, { weight: randn([4]) }),
      ShapeError,
      "layerNorm: weight [4] must have shape [3]",
    ],
    [
      () => F.layerNorm(x, 3, { bias: [1, 2, 3] } as never),
      ValueError,
      "layerNorm: expected a Tensor or null as bias",
    ],
    [
      () => new L.GroupNorm(3, 4),
      ValueError,
      "GroupNorm: numGroups must divide numChannels (4), got 3",
    ],
    [
      () => new L.GroupNorm(2, 4, { affine: 1 } as never),
      ValueError,
      "GroupNorm: affine must be a boolean",
    ],
    [
      () => new L.GroupNorm(2, 6).forward(x),
      ShapeError,
      "GroupNorm: expected input [N, 6, *], got [2, 4, 3]",
    ],
    [
      () => F.groupNorm(x, 3),
      ShapeError,
      "groupNorm: 3 groups must divide the 4 channels of input [2, 4, 3]",
    ],
    [() => F.groupNorm(x, 0), ValueError, "groupNorm: numGroups must be a positive integer, got 0"],
    [
      () => F.groupNorm(randn([4]), 2),
      ShapeError,
      "groupNorm: expected input [N, C, *] with at least 2 dims",
    ],
    [
      () => new L.InstanceNorm2d(3, { momentum: 2 }),
      ValueError,
      "InstanceNorm2d: momentum must be a number in [0, 1], got 2",
    ],
    [
      () => new L.InstanceNorm2d(3, { momentum: null } as never),
      ValueError,
      "InstanceNorm2d: momentum must be a number in [0, 1], got null",
    ],
    [
      () => new L.InstanceNorm2d(3).forward(randn([2, 3])),
      ShapeError,
      "InstanceNorm2d: expected 3-D (unbatched) or 4-D input, got [2, 3]",
    ],
    [
      () => new L.InstanceNorm2d(3, { affine: true }).forward(randn([2, 4, 3, 3])),
      ShapeError,
      "InstanceNorm2d: expected 3 channels",
    ],
    [
      () => new L.InstanceNorm1d(3).forward(randn([2, 3, 1])),
      ValueError,
      "InstanceNorm1d: expected more than 1 spatial element",
    ],
    [
      () => F.instanceNorm(randn([2, 3])),
      ShapeError,
      "instanceNorm: expected input [N, C, *] with at least 3 dims",
    ],
    [
      () => F.instanceNorm(x, { useInputStats: false }),
      ValueError,
      "instanceNorm: running statistics are required",
    ],
    [
      () => F.instanceNorm(x, { runningMean: zeros([3]) }),
      ShapeError,
      "instanceNorm: runningMean [3] must have shape [4]",
    ],
    [
      () => new L.RMSNorm(3, { eps: "1" } as never),
      ValueError,
      "RMSNorm: eps must be a non-negative finite number",
    ],
    [
      () => new L.RMSNorm(4).forward(x),
      ShapeError,
      "RMSNorm: expected input with shape [*, 4], got [2, 4, 3]",
    ],
    [
      () => F.rmsNorm(x, 3, { weight: randn([3, 1]) }),
      ShapeError,
      "rmsNorm: weight [3, 1] must have shape [3]",
    ],
  ]);
  // InstanceNorm with neither affine nor running stats takes any channel count, as PyTorch.
  assert.deepEqual(new L.InstanceNorm2d(3).forward(randn([1, 5, 2, 2])).shape, [1, 5, 2, 2]);
  // RMSNorm's default eps is the input dtype's machine epsilon; LayerNorm's bias option.
  assert.equal(new L.RMSNorm(2).eps, null);
  assert.deepEqual(Object.keys(new L.LayerNorm(3, { bias: false }).stateDict()), ["weight"]);
  assert.deepEqual(Object.keys(new L.LayerNorm(3, { elementwiseAffine: false }).stateDict()), []);
});

Deno.test("Conv1d and ConvTranspose2d: options, shapes and dtypes", () => {
  each([
    [
      () => new L.Conv1d(3, 4, 0),
      ValueError,
      "Conv1d: kernelSize must be a positive integer, got 0",
    ],
    [
      () => new L.Conv1d(3, 4, 3, { groups: 2 }),
      ValueError,
      "Conv1d: groups must divide inChannels (3), got 2",
    ],
    [
      () => new L.Conv1d(4, 3, 3, { groups: 2 }),
      ValueError,
      "Conv1d: groups must divide outChannels (3), got 2",
    ],
    [
      () => new L.Conv1d(3, 4, 3, { padding: "full" } as never),
      ValueError,
      'Conv1d: padding must be a non-negative integer, "same" or "valid", got "full"',
    ],
    [
      () => new L.Conv1d(3, 4, 3, { padding: "same", stride: 2 }),
      ValueError,
      'Conv1d: padding "same" requires stride 1, got 2',
    ],
    [
      () => new L.Conv1d(3, 4, 3, { paddingMode: "reflect" } as never),
      ValueError,
      'Conv1d: paddingMode supports only "zeros"',
    ],
    [
      () => new L.Conv1d(3, 4, 3, { stride: [1, 2] } as never),
      ValueError,
      "Conv1d: stride must be a positive integer, got [1, 2]",
    ],
    [
      () => new L.Conv1d(3, 4, 3, { init: "he" } as never),
      ValueError,
      "Conv1d: init must be one of",
    ],
    [
      () => new L.Conv1d(3, 4, 3).forward(randn([2, 4, 8])),
      ShapeError,
      "Conv1d: expected input [N, 3, L] or [3, L], got [2, 4, 8]",
    ],
    [
      () => new L.Conv1d(3, 4, 5).forward(randn([1, 3, 4])),
      ShapeError,
      "Conv1d: kernel 5 (dilated 5) is larger than the padded input 4",
    ],
    [
      () => F.conv1d(randn([1, 3, 5]), randn([4, 2, 3])),
      ShapeError,
      "conv1d: weight [4, 2, 3] with groups=1 expects 2 input channels",
    ],
    [
      () => F.conv1d(randn([1, 3, 5]), randn([4, 3, 3]), randn([3])),
      ShapeError,
      "conv1d: bias [3] must have shape [4]",
    ],
    [
      () => F.conv1d(randn([1, 3, 5]), randn([4, 3, 3, 1])),
      ShapeError,
      "conv1d: expected a 3-D weight",
    ],
    [
      () => F.conv1d(ids([1, 2, 3]).reshape([1, 1, 3]), randn([1, 1, 1])),
      DTypeError,
      "conv1d: expected floating-point input",
    ],
    [
      () => new L.ConvTranspose2d(3, 4, 3, { outputPadding: 1 }),
      ValueError,
      "ConvTranspose2d: outputPadding must be smaller than stride [1, 1] or dilation [1, 1]",
    ],
    [
      () => new L.ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: [1, 2] }),
      ValueError,
      "ConvTranspose2d: outputPadding",
    ],
    [
      () => new L.ConvTranspose2d(3, 4, 3, { padding: -1 }),
      ValueError,
      "ConvTranspose2d: padding must be a non-negative integer or a pair of them, got -1",
    ],
    [
      () => new L.ConvTranspose2d(4, 3, 3, { groups: 2 }),
      ValueError,
      "ConvTranspose2d: groups must divide outChannels (3), got 2",
    ],
    [
      () => new L.ConvTranspose2d(3, 4, 3, { paddingMode: "circular" } as never),
      ValueError,
      'ConvTranspose2d: paddingMode supports only "zeros"',
    ],
    [
      () => new L.ConvTranspose2d(3, 4, 3).forward(randn([1, 4, 3, 3])),
      ShapeError,
      "ConvTranspose2d: expected input [N, 3, H, W] or [3, H, W], got [1, 4, 3, 3]",
    ],
    [
      () => new L.ConvTranspose2d(3, 4, 3, { padding: 3 }).forward(randn([1, 3, 1, 1])),
      ShapeError,
      "convTranspose2d: output size -3x-3 is too small",
    ],
    [
      () => F.convTranspose2d(randn([1, 3, 2, 2]), randn([2, 4, 3, 3])),
      ShapeError,
      "convTranspose2d: weight [2, 4, 3, 3] expects 2 input channels",
    ],
    [
      () => F.convTranspose2d(randn([1, 3, 2, 2]), randn([3, 4, 3, 3]), randn([3])),
      ShapeError,
      "convTranspose2d: bias [3] must have shape [4]",
    ],
    [
      () => F.convTranspose2d(randn([3, 2, 2]).reshape([1, 3, 2, 2]), randn([3, 4, 3, 3]).half()),
      DTypeError,
      "convTranspose2d: expected floating-point input and weight of one dtype",
    ],
    [
      () => F.convTranspose2d(randn([1, 3, 2, 2]), randn([3, 4, 3, 3]), null, { stride: 0 }),
      ValueError,
      "convTranspose2d: stride must be a positive integer or a pair of them, got 0",
    ],
    [
      () =>
        F.convTranspose2d(
          randn([1, 3, 2, 2]),
          randn([3, 4, 3, 3]),
          null,
          { outpadding: 1 } as never,
        ),
      ValueError,
      'convTranspose2d: unknown option "outpadding"',
    ],
  ]);
});

Deno.test("interpolate and Upsample: modes, sizes, scale factors and their combinations", () => {
  const x = randn([1, 2, 3, 4]);
  each([
    [
      () => F.interpolate(x, {}),
      ValueError,
      "interpolate: one of size or scaleFactor must be given",
    ],
    [
      () => F.interpolate(x, { size: 2, scaleFactor: 2 }),
      ValueError,
      "interpolate: only one of size or scaleFactor must be given",
    ],
    [
      () => loose(F.interpolate, x),
      ValueError,
      "interpolate: options with size or scaleFactor are required",
    ],
    [
      () => F.interpolate(x, { size: 0 }),
      ValueError,
      "interpolate: size must be a positive integer or a non-empty array of them, got 0",
    ],
    [() => F.interpolate(x, { size: [2, 2.5] }), ValueError, "interpolate: size must be"],
    [
      () => F.interpolate(x, { scaleFactor: -1 }),
      ValueError,
      "interpolate: scaleFactor must be a positive finite number or a non-empty array of them, got -1",
    ],
    [() => F.interpolate(x, { scaleFactor: NaN }), ValueError, "interpolate: scaleFactor must be"],
    [
      () => F.interpolate(x, { size: [4] }),
      ShapeError,
      "interpolate: size has 1 entries but the input [1, 2, 3, 4] has 2 spatial dimensions",
    ],
    [
      () => F.interpolate(x, { scaleFactor: [2, 2, 2] }),
      ShapeError,
      "interpolate: scaleFactor has 3 entries",
    ],
    [
      () => F.interpolate(x, { scaleFactor: 2, mode: "bicubic" } as never),
      ValueError,
      'interpolate: mode "bicubic" is not supported (supported: nearest, nearest-exact, linear, bilinear)',
    ],
    [
      () => F.interpolate(x, { scaleFactor: 2, mode: "cubic" } as never),
      ValueError,
      "interpolate: mode must be one of",
    ],
    [
      () => F.interpolate(x, { scaleFactor: 2, mode: "linear" }),
      ShapeError,
      'interpolate: mode "linear" needs a 3-D input [N, C, L], got [1, 2, 3, 4]',
    ],
    [
      () => F.interpolate(randn([1, 2, 3]), { scaleFactor: 2, mode: "bilinear" }),
      ShapeError,
      'interpolate: mode "bilinear" needs a 4-D input',
    ],
    [
      () => F.interpolate(randn([2, 3]), { scaleFactor: 2 }),
      ShapeError,
      "interpolate: expected a 3-D, 4-D or 5-D input",
    ],
    [
      () => F.interpolate(x, { scaleFactor: 2, alignCorners: true }),
      ValueError,
      'interpolate: alignCorners can only be set with the linear modes (linear, bilinear), got mode "nearest"',
    ],
    [
      () => F.interpolate(x, { scaleFactor: 2, mode: "bilinear", alignCorners: 1 } as never),
      ValueError,
      "interpolate: alignCorners must be a boolean, got 1",
    ],
    [
      () => F.interpolate(x, { size: 2, recomputeScaleFactor: true }),
      ValueError,
      "interpolate: recomputeScaleFactor is not meaningful with an explicit size",
    ],
    [
      () => F.interpolate(x, { scaleFactor: 2, antialias: true }),
      ValueError,
      "interpolate: antialias is not supported (only false)",
    ],
    [
      () => F.interpolate(x, { scaleFactor: 0.1 }),
      ShapeError,
      "interpolate: input and output sizes must be positive",
    ],
    [
      () => F.interpolate(ids([1, 2]).reshape([1, 1, 2]), { scaleFactor: 2, mode: "linear" }),
      DTypeError,
      'interpolate: mode "linear" expects a floating-point input, got int32',
    ],
    [
      () => F.interpolate(x, { scale: 2 } as never),
      ValueError,
      'interpolate: unknown option "scale"',
    ],
    [
      () => loose((o: unknown) => new L.Upsample(o as never)),
      ValueError,
      "Upsample: options with size or scaleFactor are required",
    ],
    [
      () => new L.Upsample({ scaleFactor: 2, antialias: false } as never),
      ValueError,
      'Upsample: unknown option "antialias"',
    ],
    [
      () => new L.Upsample({ scaleFactor: 2, mode: "linear" }).forward(x),
      ShapeError,
      'Upsample: mode "linear" needs a 3-D input',
    ],
    [
      () => new L.UpsamplingNearest2d({ scaleFactor: 2, mode: "bilinear" } as never),
      ValueError,
      'UpsamplingNearest2d: unknown option "mode"',
    ],
    [
      () => new L.UpsamplingNearest2d({ scaleFactor: 2 }).forward(randn([1, 2, 3])),
      ShapeError,
      "UpsamplingNearest2d: expected a 4-D input",
    ],
    [
      () => new L.UpsamplingBilinear2d({}),
      ValueError,
      "UpsamplingBilinear2d: one of size or scaleFactor must be given",
    ],
  ]);
  // nearest works on int32, as PyTorch's does on integer tensors.
  assert.deepEqual(
    F.interpolate(ids([1, 2]).reshape([1, 1, 2]), { scaleFactor: 2 }).toArraySync(),
    [[[1, 1, 2, 2]]],
  );
});

Deno.test("AdaptiveMaxPool2d and F.adaptiveMaxPool2d: sizes, inputs and returnIndices", () => {
  each([
    [
      () => new L.AdaptiveMaxPool2d(0),
      ValueError,
      "AdaptiveMaxPool2d: outputSize must be a positive integer or a pair of positive integers or nulls, got 0",
    ],
    [
      () => new L.AdaptiveMaxPool2d([2, 2, 2] as never),
      ValueError,
      "AdaptiveMaxPool2d: outputSize must be",
    ],
    [
      () => new L.AdaptiveMaxPool2d(2, { returnIndices: true } as never),
      ValueError,
      "AdaptiveMaxPool2d: returnIndices must be false: forward returns one Tensor; call forwardWithIndices(x)",
    ],
    [
      () => new L.AdaptiveMaxPool2d(2, { indices: true } as never),
      ValueError,
      'AdaptiveMaxPool2d: unknown option "indices"',
    ],
    [
      () => new L.AdaptiveMaxPool2d(2).forward(randn([4, 4])),
      ShapeError,
      "AdaptiveMaxPool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got [4, 4]",
    ],
    [
      () => F.adaptiveMaxPool2d(randn([1, 1, 4, 4]), 2, "yes" as never),
      ValueError,
      "adaptiveMaxPool2d: returnIndices must be a boolean",
    ],
    [
      () => F.adaptiveMaxPool2d(ids([1, 2, 3, 4]).reshape([1, 1, 2, 2]), 1),
      DTypeError,
      "adaptiveMaxPool2d: expected a floating-point tensor, got int32",
    ],
    [
      () => F.adaptiveMaxPool2d(zeros([1, 1, 0, 3]), 1),
      ShapeError,
      "adaptiveMaxPool2d: input [1, 1, 0, 3] has an empty plane",
    ],
  ]);
  const x = tensor([[[[1, 9, 2], [4, NaN, 3], [7, 8, -Infinity]]]]);
  const [v, i] = F.adaptiveMaxPool2d(x, [2, 2], true);
  assert.deepEqual(i.toArraySync(), [[[[4, 4], [4, 4]]]], "a NaN wins every window that holds it");
  assert.ok((v.toArraySync() as number[][][][])[0][0].flat().every(Number.isNaN));
  const [v2, i2] = new L.AdaptiveMaxPool2d(1).forwardWithIndices(
    tensor([[[-Infinity, -Infinity]]]),
  );
  assert.deepEqual([v2.toArraySync(), i2.toArraySync()], [[[[-Infinity]]], [[[0]]]]);
});

Deno.test("Dropout2d: arguments, channel-wise masks and their statistics", () => {
  each([
    [
      () => new L.Dropout2d(1.5),
      ValueError,
      "Dropout2d: p must be a probability between 0 and 1, got 1.5",
    ],
    [
      () => new L.Dropout2d(0.5, { generator: 1 } as never),
      ValueError,
      "Dropout2d: generator must be a Generator",
    ],
    [
      () => new L.Dropout2d(0.5, { inplace: 1 } as never),
      ValueError,
      "Dropout2d: inplace must be a boolean",
    ],
    [
      () => new L.Dropout2d(0.5).forward(randn([2, 3, 4])),
      ShapeError,
      "Dropout2d: expected a 4-D input [N, C, H, W], got [2, 3, 4]",
    ],
    [
      () => F.dropout2d(randn([2, 3, 2, 2]), -0.1),
      ValueError,
      "dropout2d: p must be a probability between 0 and 1, got -0.1",
    ],
    [
      () => F.dropout2d(randn([2, 3, 2, 2]), 0.5, "no" as never),
      ValueError,
      "dropout2d: training must be a boolean",
    ],
    [
      () => F.dropout2d(randn([2, 3, 2, 2]), 0.5, true, { seed: 1 } as never),
      ValueError,
      'dropout2d: unknown option "seed"',
    ],
    [
      () => F.dropout2d(randn([2, 3, 2, 2], { requiresGrad: true }), 0.5, true, true),
      AutogradError,
      "dropout2d: in-place on a leaf",
    ],
  ]);
  const y = F.dropout2d(ones([64, 32, 3, 3]), 0.25).toArraySync() as number[][][][];
  let dropped = 0;
  for (const sample of y) {
    for (const plane of sample) {
      const vals = new Set(plane.flat());
      assert.equal(vals.size, 1, "a plane is all dropped or all kept");
      const v = [...vals][0];
      assert.ok(v === 0 || Math.abs(v - 4 / 3) < 1e-6, `value ${v}`);
      if (v === 0) dropped++;
    }
  }
  const rate = dropped / (64 * 32);
  assert.ok(Math.abs(rate - 0.25) < 0.04, `drop rate ${rate}`);
  const layer = new L.Dropout2d(0.5).eval();
  const x = randn([2, 3, 2, 2]);
  assert.equal(layer.forward(x), x, "the identity in eval");
  // In place on a non-leaf, with a gradient through the mask.
  const a = randn([4, 8, 2, 2], { requiresGrad: true });
  const h = a.mul(1);
  const out = new L.Dropout2d(0.5, true).forward(h);
  assert.equal(out, h);
  out.sum().backward();
  const g = a.grad!.toArraySync() as number[][][][];
  for (const s of g) for (const p of s) assert.equal(new Set(p.flat()).size, 1);
});

Deno.test("activations: arguments, dtypes and in-place on leaves", () => {
  each([
    [() => new L.ELU("1" as never), ValueError, "ELU: alpha must be a finite number"],
    [
      () => new L.ELU(1, { inplace: 1 } as never),
      ValueError,
      "ELU: inplace must be a boolean, got 1",
    ],
    [() => new L.SiLU({ inPlace: true } as never), ValueError, 'SiLU: unknown option "inPlace"'],
    [() => new L.Softplus(0), ValueError, "Softplus: beta must be non-zero, got 0"],
    [
      () => new L.Softplus(1, Infinity),
      ValueError,
      "Softplus: threshold must be a finite number, got Infinity",
    ],
    [
      () => new L.Hardtanh(1, -1),
      ValueError,
      "Hardtanh: maxVal must be greater than minVal (1), got -1",
    ],
    [() => new L.PReLU(0), ValueError, "PReLU: numParameters must be a positive integer, got 0"],
    [() => new L.PReLU(1, NaN), ValueError, "PReLU: init must be a finite number, got NaN"],
    [
      () => new L.PReLU(1, 0.25, { dtype: "float16" } as never),
      ValueError,
      'PReLU: unknown option "dtype"',
    ],
    [
      () => new L.PReLU(3).forward(randn([2, 4])),
      ShapeError,
      "PReLU: weight [3] must have 1 element or one per channel (dim 1) of input [2, 4]",
    ],
    [() => new L.PReLU(3).forward(randn([3])), ShapeError, "PReLU: weight [3] must have 1 element"],
    [
      () => F.prelu(randn([2, 3]), randn([3, 1])),
      ShapeError,
      "prelu: weight must be 1-D, got [3, 1]",
    ],
    [
      () => F.prelu(randn([2, 3]), randn([3]).half()),
      DTypeError,
      "prelu: weight is float16, expected the input's float32",
    ],
    [() => F.elu(ids([1, 2])), DTypeError, "elu: expected a floating-point input, got int32"],
    [() => F.mish(ids([1])), DTypeError, "mish: expected a floating-point input, got int32"],
    [() => F.silu(ids([1]), true), DTypeError, "silu: expected a floating-point input, got int32"],
    [
      () => F.hardswish(randn([2], { requiresGrad: true }), true),
      AutogradError,
      "hardswish: in-place on a leaf [2] tensor that requires grad",
    ],
    [() => F.relu6(randn([2]), 1 as never), ValueError, "relu6: inplace must be a boolean, got 1"],
    [
      () => F.hardtanh(randn([2]), 2, 1),
      ValueError,
      "hardtanh: maxVal must be greater than minVal (2), got 1",
    ],
    [() => F.softplus(randn([2]), 0), ValueError, "softplus: beta must be non-zero, got 0"],
    [
      () => new L.ReLU6().forward([1] as never),
      ValueError,
      "ReLU6.forward: expected a Tensor as input, got [1]",
    ],
  ]);
  // PyTorch's positional inplace boolean, and in place under noGrad on a leaf.
  const x = tensor([-4, 1, 8]);
  assert.equal(new L.ReLU6(true).forward(x), x);
  assert.deepEqual(x.toArraySync(), [0, 1, 6]);
  // In place while recording: the result is written into the input and backward still works.
  const a = tensor([-1, 0.5, 2], { requiresGrad: true });
  const h = a.mul(2);
  const y = F.elu(h, 1, true);
  assert.equal(y, h);
  y.sum().backward();
  const grad = a.grad!.toArraySync() as number[];
  assert.ok(Math.abs(grad[0] - 2 * Math.exp(-2)) < 1e-6 && grad[1] === 2 && grad[2] === 2);
});
