/**
 * The "movement" group of the bad-call catalogue (./mod.ts): cat, stack, pad, gather, scatterAdd
 * and copies.
 *
 * @module
 */

import {
  cat,
  DTypeError,
  gather,
  ones,
  pad,
  scatterAdd,
  ShapeError,
  stack,
  ValueError,
  zeros,
} from "../../mod.ts";
import { bad, call, f32, i32, loose, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const movement: Omit<BadCall, "group">[] = [
  {
    name: "cat of an empty list",
    run: () => cat([]),
    error: ValueError,
    message: "cat: expected a non-empty list of tensors",
  },
  {
    name: "cat with mismatched shapes",
    run: (d) => cat([m23(d), ones([2, 2], { device: d })], 0),
    error: ShapeError,
    message: "cat: tensor 1 has shape [2, 2], expected [2, 3] except in dimension 0",
  },
  {
    name: "cat along dim 2 of 2-D tensors",
    run: (d) => cat([m23(d), m23(d)], 2),
    error: ShapeError,
    message: "cat: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "cat of tensors with different ndim",
    run: (d) => cat([m23(d), f32(d, [1, 2, 3])]),
    error: ShapeError,
    message: "cat: tensor 1 has shape [3], expected [2, 3] except in dimension 0",
  },
  {
    name: "cat with PyTorch's two tensors as arguments",
    run: (d) => loose(cat, m23(d), m23(d)),
    error: ValueError,
    message: "cat",
  },
  {
    name: "cat with a non-tensor element",
    run: (d) => loose(cat, [m23(d), [1, 2, 3]]),
    error: ValueError,
    message: "cat: element 1 of the list is [1, 2, 3], expected a Tensor",
  },
  {
    name: "cat with a fractional dim",
    run: (d) => cat([m23(d), m23(d)], 0.5),
    error: ShapeError,
    message:
      "cat: dimension 0.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "cat with a string dim",
    run: (d) => cat([m23(d), m23(d)], bad("0")),
    error: ShapeError,
    message: "cat: dimension 0 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "stack of different shapes",
    run: (d) => stack([m23(d), ones([3, 2], { device: d })]),
    error: ShapeError,
    message: "stack: all tensors must have the same shape, got [2, 3] and [3, 2]",
  },
  {
    name: "stack of an empty list",
    run: () => stack([]),
    error: ValueError,
    message: "stack: expected a non-empty list of tensors",
  },
  {
    name: "stack along dim 3 of 2-D tensors",
    run: (d) => stack([m23(d), m23(d)], 3),
    error: ShapeError,
    message:
      "stack: dimension 3 is out of range for a 3-D tensor (expected an integer from -3 to 2)",
  },
  {
    name: "stack along a fractional dim",
    run: (d) => stack([m23(d)], 1.5),
    error: ShapeError,
    message:
      "stack: dimension 1.5 is out of range for a 3-D tensor (expected an integer from -3 to 2)",
  },
  {
    name: "pad with negative padding",
    run: (d) => pad(m23(d), [-1, 1]),
    error: ValueError,
    message: "pad: padding must be non-negative integers, got [-1, 1] for a [2, 3] tensor",
  },
  {
    name: "pad with an odd-length padding list",
    run: (d) => pad(m23(d), [1]),
    error: ShapeError,
    message: "pad: padding of length 1 does not fit a 2-D tensor (pairs, at most 2)",
  },
  {
    name: "pad more dims than the tensor has",
    run: (d) => pad(m23(d), [1, 1, 1, 1, 1, 1]),
    error: ShapeError,
    message: "pad: padding of length 6 does not fit a 2-D tensor (pairs, at most 2)",
  },
  {
    name: "pad with a string value",
    run: (d) => pad(m23(d), [1, 1], bad("abc")),
    error: ValueError,
    message: "pad",
  },
  {
    name: "pad with a number instead of a list",
    run: (d) => pad(m23(d), bad(1)),
    error: ValueError,
    message: "pad: padding must be an array like [left, right, top, bottom], got 1",
  },
  {
    name: "gather along dim 2 of a 2-D tensor",
    run: (d) => gather(m23(d), 2, i32(d, [[0], [1]])),
    error: ShapeError,
    message:
      "gather: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "gather along a fractional dim",
    run: (d) => m23(d).gather(1.5, i32(d, [[0], [1]])),
    error: ShapeError,
    message:
      "gather: dimension 1.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "gather with a float index",
    run: (d) => m23(d).gather(1, f32(d, [[0], [1]])),
    error: DTypeError,
    message: "gather: index must be int32, got float32",
  },
  {
    name: "gather with an index of another ndim",
    run: (d) => m23(d).gather(1, i32(d, [0, 1])),
    error: ShapeError,
    message: "gather: index [2] must have as many dimensions as the input [2, 3]",
  },
  {
    name: "gather with an index larger than the input",
    run: (d) => m23(d).gather(1, i32(d, [[0], [1], [2]])),
    error: ShapeError,
    message: "gather: index [3, 1] is larger than the input [2, 3] at dimension 0",
  },
  {
    name: "scatterAdd with a float index",
    run: (d) => scatterAdd([3], 0, f32(d, [1]), f32(d, [1])),
    error: DTypeError,
    message: "scatterAdd: index must be int32, got float32",
  },
  {
    name: "scatterAdd with index and src shapes that differ",
    run: (d) => scatterAdd([3], 0, i32(d, [1, 2]), f32(d, [1])),
    error: ShapeError,
    message: "scatterAdd: index [2] and src [1] must have the same shape",
  },
  {
    name: "scatterAdd along dim 1 of a 1-D output",
    run: (d) => scatterAdd([3], 1, i32(d, [1]), f32(d, [1])),
    error: ShapeError,
    message:
      "scatterAdd: dimension 1 is out of range for a 1-D tensor (expected an integer from -1 to 0)",
  },
  {
    name: "scatterAdd with a bad output shape",
    run: (d) => scatterAdd([-3], 0, i32(d, [1]), f32(d, [1])),
    error: ShapeError,
    message: "scatterAdd: invalid shape [-3]; sizes must be non-negative integers",
  },
  {
    name: "copy_ from a shape that does not broadcast",
    run: (d) => zeros([2], { device: d }).copy_(zeros([3], { device: d })),
    error: ShapeError,
    message: "expand: the size 3 at dimension 0 of [3] must match 2 in [2] (or be 1)",
  },
  {
    name: "copy_ from a plain array",
    run: (d) => zeros([2], { device: d }).copy_(bad([1, 2])),
    error: ValueError,
    message: "copy_",
  },
  {
    name: "clone with an argument",
    run: (d) => call(m23(d), "clone", { memoryFormat: "contiguous" }),
    error: ValueError,
    message: "Tensor.clone: takes at most 0 arguments, got 1 (Object)",
  },
];
