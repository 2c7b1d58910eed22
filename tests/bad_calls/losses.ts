/**
 * The "losses" group of the bad-call catalogue (./mod.ts): losses.
 *
 * @module
 */

import { DTypeError, F, nn, ones, ShapeError, tensor, ValueError } from "../../mod.ts";
import { bad, call, f32, i32, make } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const losses: Omit<BadCall, "group">[] = [
  {
    name: "mseLoss with shapes that differ",
    run: (d) => F.mseLoss(f32(d, [1, 2]), f32(d, [[1, 2]])),
    error: ShapeError,
    message: "mseLoss: target [1, 2] must have the input's shape [2]",
  },
  {
    name: "mseLoss with an unknown reduction",
    run: (d) => F.mseLoss(f32(d, [1, 2]), f32(d, [1, 2]), { reduction: bad("avg") }),
    error: ValueError,
    message: 'mseLoss: unknown reduction "avg" (expected mean, sum, none)',
  },
  {
    name: "mseLoss with a positional reduction",
    run: (d) => F.mseLoss(f32(d, [1, 2]), f32(d, [1, 2]), bad("sum")),
    error: ValueError,
    message:
      'mseLoss: options must be an object like { reduction }, got "sum" (pass { reduction: "sum" })',
  },
  {
    name: "mseLoss with PyTorch's old reduce keyword",
    run: (d) => F.mseLoss(f32(d, [1, 2]), f32(d, [1, 2]), bad({ reduce: "sum" })),
    error: ValueError,
    message: 'mseLoss: unknown option "reduce" (expected reduction)',
  },
  {
    name: "mseLoss with an int32 target",
    run: (d) => F.mseLoss(f32(d, [1, 2]), i32(d, [1, 2])),
    error: DTypeError,
    message: "mseLoss: target must be floating-point, got int32",
  },
  {
    name: "mseLoss with a plain-array target",
    run: (d) => F.mseLoss(f32(d, [1, 2]), bad([1, 2])),
    error: ValueError,
    message: "mseLoss: expected a Tensor as target, got [1, 2]",
  },
  {
    name: "l1Loss with shapes that differ",
    run: (d) => F.l1Loss(f32(d, [1, 2]), f32(d, [1, 2, 3])),
    error: ShapeError,
    message: "l1Loss: target [3] must have the input's shape [2]",
  },
  {
    name: "smoothL1Loss with a negative beta",
    run: (d) => F.smoothL1Loss(f32(d, [1, 2]), f32(d, [1, 2]), { beta: -1 }),
    error: ValueError,
    message: "smoothL1Loss: beta must be non-negative, got -1",
  },
  {
    name: "smoothL1Loss with a string beta",
    run: (d) => F.smoothL1Loss(f32(d, [1, 2]), f32(d, [1, 2]), { beta: bad("1") }),
    error: ValueError,
    message: 'smoothL1Loss: beta must be a number, got "1"',
  },
  {
    name: "nllLoss with a float target",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), f32(d, [0, 1])),
    error: DTypeError,
    message:
      "nllLoss: class-index target must be int32, got float32 (for probabilities pass a float32 target of the",
  },
  {
    name: "nllLoss with a target of the wrong batch",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, 1, 2])),
    error: ShapeError,
    message: "nllLoss: input [2, 3] expects target of shape [2], got [3]",
  },
  {
    name: "nllLoss with a weight of the wrong shape",
    run: (d) =>
      F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, 1]), { weight: ones([2], { device: d }) }),
    error: ShapeError,
    message: "nllLoss: weight [2] must have shape [3]",
  },
  {
    name: "nllLoss with a fractional ignoreIndex",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, 1]), bad({ ignoreIndex: 0.5 })),
    error: ValueError,
    message: "nllLoss: ignoreIndex must be a integer, got 0.5",
  },
  {
    name: "nllLoss with a plain-array weight",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, 1]), bad({ weight: [1, 1, 1] })),
    error: ValueError,
    message: "nllLoss: weight must be a tensor, got Array",
  },
  {
    name: "nllLoss of [N, C, d] with a target of another shape",
    run: (d) => F.nllLoss(ones([2, 3, 4], { device: d }), i32(d, [[0, 1, 2], [0, 1, 2]])),
    error: ShapeError,
    message: "nllLoss: input [2, 3, 4] expects target of shape [2, 4], got [2, 3]",
  },
  {
    name: "nllLoss of a 1-D input with a 1-D target",
    run: (d) => F.nllLoss(f32(d, [1, 2]), i32(d, [0])),
    error: ShapeError,
    message: "nllLoss: input [2] expects target of shape [], got [1]",
  },
  {
    name: "crossEntropy with ignore_index (snake case)",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), bad({ ignore_index: 1 })),
    error: ValueError,
    message:
      'crossEntropy: unknown option "ignore_index" (expected reduction, weight, ignoreIndex, labelSmoothing)',
  },
  {
    name: "crossEntropy with label_smoothing (snake case)",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), bad({ label_smoothing: 0.1 })),
    error: ValueError,
    message:
      'crossEntropy: unknown option "label_smoothing" (expected reduction, weight, ignoreIndex, labelSmoothing)',
  },
  {
    name: "crossEntropy with a positional weight",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), bad(ones([3], { device: d }))),
    error: ValueError,
    message:
      "crossEntropy: options must be an object like { reduction, weight, ignoreIndex, labelSmoothing }, got a",
  },
  {
    name: "crossEntropy with labelSmoothing 1.5",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), { labelSmoothing: 1.5 }),
    error: ValueError,
    message: "crossEntropy: labelSmoothing must be in [0, 1], got 1.5",
  },
  {
    name: "crossEntropy with a negative labelSmoothing",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), { labelSmoothing: -0.1 }),
    error: ValueError,
    message: "crossEntropy: labelSmoothing must be in [0, 1], got -0.1",
  },
  {
    name: "crossEntropy of a 0-d input",
    run: (d) => F.crossEntropy(tensor(1, { device: d }), tensor(0, { dtype: "int32", device: d })),
    error: ShapeError,
    message: "crossEntropy: input must have at least 1 dimension (classes)",
  },
  {
    name: "crossEntropy with a target of the wrong batch",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0])),
    error: ShapeError,
    message: "nllLoss: input [2, 3] expects target of shape [2], got [1]",
  },
  {
    name: "crossEntropy with a 2-D class target",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [[0], [1]])),
    error: ShapeError,
    message: "nllLoss: input [2, 3] expects target of shape [2], got [2, 1]",
  },
  {
    name: "crossEntropy with a probability target of another shape",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), ones([2, 4], { device: d })),
    error: ShapeError,
    message: "crossEntropy: probability target [2, 4] must have the input's shape [2, 3]",
  },
  {
    name: "crossEntropy with a float class-index target",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), f32(d, [0, 1])),
    error: ShapeError,
    message: "crossEntropy: probability target [2] must have the input's shape [2, 3]",
  },
  {
    name: "crossEntropy with reduction 'batchmean'",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), { reduction: bad("batchmean") }),
    error: ValueError,
    message: 'crossEntropy: unknown reduction "batchmean" (expected mean, sum, none)',
  },
  {
    name: "crossEntropy with a weight of the wrong size",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 1]), {
        weight: ones([2], { device: d }),
      }),
    error: ShapeError,
    message: "crossEntropy: weight [2] must have shape [3] (one per class)",
  },
  {
    name: "crossEntropy with a bool target",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), tensor([true, false], { device: d })),
    error: DTypeError,
    message:
      "nllLoss: class-index target must be int32, got bool (for probabilities pass a float32 target of the input's",
  },
  {
    name: "bceLoss with inputs above 1",
    run: (d) => F.bceLoss(f32(d, [1.5, 0.5]), f32(d, [1, 0])),
    error: ValueError,
    message:
      "bceLoss: all elements of input should be between 0 and 1, got 1.5 at element 0 of [2]; pass logits to",
    devices: ["cpu"],
  },
  {
    name: "bceLoss with negative inputs",
    run: (d) => F.bceLoss(f32(d, [-0.1]), f32(d, [1])),
    error: ValueError,
    message:
      "bceLoss: all elements of input should be between 0 and 1, got -0.10000000149011612 at element 0 of [1]; pass",
    devices: ["cpu"],
  },
  {
    name: "bceLoss with an int32 target",
    run: (d) => F.bceLoss(f32(d, [0.5]), i32(d, [1])),
    error: DTypeError,
    message: "bceLoss: target must be floating-point, got int32",
  },
  {
    name: "bceLoss with shapes that differ",
    run: (d) => F.bceLoss(f32(d, [0.5, 0.5]), f32(d, [1])),
    error: ShapeError,
    message: "bceLoss: target [1] must have the input's shape [2]",
  },
  {
    name: "bceWithLogits with a number posWeight",
    run: (d) => F.bceWithLogits(f32(d, [0.5]), f32(d, [1]), { posWeight: bad(2) }),
    error: ValueError,
    message: "bceWithLogits: posWeight must be a tensor, got 2",
  },
  {
    name: "bceWithLogits with pos_weight (snake case)",
    run: (d) => F.bceWithLogits(f32(d, [0.5]), f32(d, [1]), bad({ pos_weight: f32(d, [2]) })),
    error: ValueError,
    message: 'bceWithLogits: unknown option "pos_weight" (expected reduction, weight, posWeight)',
  },
  {
    name: "bceWithLogits with a weight that does not broadcast",
    run: (d) => F.bceWithLogits(f32(d, [0.5, 0.5]), f32(d, [1, 0]), { weight: f32(d, [1, 2, 3]) }),
    error: ShapeError,
    message:
      "mul: shapes [2] and [3] cannot be broadcast together (dimension 0 is 2 vs 3; sizes must match or one must be",
  },
  {
    name: "klDiv with reduction 'batch_mean'",
    run: (d) => F.klDiv(f32(d, [0.5]), f32(d, [1]), { reduction: bad("batch_mean") }),
    error: ValueError,
    message: 'klDiv: unknown reduction "batch_mean" (expected mean, sum, none, batchmean)',
  },
  {
    name: "klDiv with log_target (snake case)",
    run: (d) => F.klDiv(f32(d, [0.5]), f32(d, [1]), bad({ log_target: true })),
    error: ValueError,
    message: 'klDiv: unknown option "log_target" (expected reduction, logTarget)',
  },
  {
    name: "klDiv with logTarget 'yes'",
    run: (d) => F.klDiv(f32(d, [0.5]), f32(d, [1]), { logTarget: bad("yes") }),
    error: ValueError,
    message: 'klDiv: logTarget must be a boolean, got "yes"',
  },
  {
    name: "multiMarginLoss with p 3",
    run: (d) => F.multiMarginLoss(ones([2, 3], { device: d }), i32(d, [0, 1]), { p: bad(3) }),
    error: ValueError,
    message: "multiMarginLoss: p must be 1 or 2, got 3",
  },
  {
    name: "multiMarginLoss with a string margin",
    run: (d) =>
      F.multiMarginLoss(ones([2, 3], { device: d }), i32(d, [0, 1]), { margin: bad("1") }),
    error: ValueError,
    message: 'multiMarginLoss: margin must be a number, got "1"',
  },
  {
    name: "multiMarginLoss with a float target",
    run: (d) => F.multiMarginLoss(ones([2, 3], { device: d }), f32(d, [0, 1])),
    error: DTypeError,
    message:
      "multiMarginLoss: class-index target must be int32, got float32 (for probabilities pass a float32 target of",
  },
  {
    name: "multiMarginLoss of a 3-D input",
    run: (d) => F.multiMarginLoss(ones([2, 3, 2], { device: d }), i32(d, [[0, 1], [1, 0]])),
    error: ShapeError,
    message: "multiMarginLoss: expected input [N, C] or [C], got [2, 3, 2]",
  },
  {
    name: "multiMarginLoss with a weight of the wrong size",
    run: (d) =>
      F.multiMarginLoss(ones([2, 3], { device: d }), i32(d, [0, 1]), {
        weight: ones([2], { device: d }),
      }),
    error: ShapeError,
    message: "multiMarginLoss: weight [2] must have shape [3]",
  },
  {
    name: "mseLoss with a null target",
    run: (d) => F.mseLoss(f32(d, [1]), bad(null)),
    error: ValueError,
    message: "mseLoss: expected a Tensor as target, got null",
  },
  {
    name: "hingeEmbeddingLoss with shapes that differ",
    run: (d) => F.hingeEmbeddingLoss(f32(d, [0.5, 1]), f32(d, [1])),
    error: ShapeError,
    message: "hingeEmbeddingLoss: target [1] must have the input's shape [2]",
  },
  {
    name: "CrossEntropyLoss with label_smoothing",
    run: () => make(nn.CrossEntropyLoss, { label_smoothing: 0.1 }),
    error: ValueError,
    message:
      'CrossEntropyLoss: unknown option "label_smoothing" (expected reduction, weight, ignoreIndex, labelSmoothing)',
  },
  {
    name: "MSELoss with a positional reduction",
    run: () => make(nn.MSELoss, "sum"),
    error: ValueError,
    message:
      'MSELoss: options must be an object like { reduction }, got "sum" (pass { reduction: "sum" })',
  },
  {
    name: "NLLLoss with a plain-array weight",
    run: () => make(nn.NLLLoss, { weight: [1, 2] }),
    error: ValueError,
    message: "NLLLoss: weight must be a tensor, got Array",
  },
  {
    name: "L1Loss with an unknown reduction",
    run: () => make(nn.L1Loss, { reduction: "avg" }),
    error: ValueError,
    message: 'L1Loss: unknown reduction "avg" (expected mean, sum, none)',
  },
  {
    name: "CrossEntropyLoss forward with 3 arguments",
    run: (d) =>
      call(new nn.CrossEntropyLoss(), "forward", ones([2, 3], { device: d }), i32(d, [0, 1]), 1),
    error: ValueError,
    message: "CrossEntropyLoss.forward: takes at most 2 arguments, got 3 (Tensor, Tensor, 1)",
  },
  {
    name: "MSELoss forward with shapes that differ",
    run: (d) => new nn.MSELoss().forward(f32(d, [1, 2]), f32(d, [1])),
    error: ShapeError,
    message: "mseLoss: target [1] must have the input's shape [2]",
  },
];
