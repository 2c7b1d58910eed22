/**
 * The "views/indexing" group of the bad-call catalogue (./mod.ts): views and indexing.
 *
 * @module
 */

import { ones, ShapeError, ValueError, zeros } from "../../mod.ts";
import { bad, call, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const views: Omit<BadCall, "group">[] = [
  {
    name: "reshape to a size that does not match",
    run: (d) => m23(d).reshape(4, 4),
    error: ShapeError,
    message: "reshape: shape [4, 4] is invalid for input of size 6 [2, 3]",
  },
  {
    name: "reshape with two -1",
    run: (d) => m23(d).reshape(-1, -1),
    error: ShapeError,
    message: "reshape: only one dimension can be -1, got [-1, -1]",
  },
  {
    name: "reshape with a fractional size",
    run: (d) => m23(d).reshape(2.5, 2),
    error: ShapeError,
    message: "reshape: invalid shape [2.5, 2]; sizes must be non-negative integers",
  },
  {
    name: "reshape with -2",
    run: (d) => m23(d).reshape(-2, 3),
    error: ShapeError,
    message: "reshape: invalid shape [-2, 3]; sizes must be non-negative integers",
  },
  {
    name: "reshape with a string",
    run: (d) => call(m23(d), "reshape", "6"),
    error: ShapeError,
    message: "reshape: invalid shape [6]; sizes must be non-negative integers",
  },
  {
    name: "reshape to an empty shape",
    run: (d) => m23(d).reshape([]),
    error: ShapeError,
    message: "reshape: shape [] is invalid for input of size 6 [2, 3]",
  },
  {
    name: "view of a transposed tensor",
    run: (d) => m23(d).t().view(6),
    error: ShapeError,
    message:
      "view: shape [6] is not compatible with the [3, 2] tensor's strides [1, 3] (it spans non-contiguous dims); use",
  },
  {
    name: "expand a non-1 dimension",
    run: (d) => m23(d).expand(4, 3),
    error: ShapeError,
    message: "expand: the size 2 at dimension 0 of [2, 3] must match 4 in [4, 3] (or be 1)",
  },
  {
    name: "expand to fewer dims",
    run: (d) => m23(d).expand(3),
    error: ShapeError,
    message: "expand: target [3] has fewer dimensions than the tensor [2, 3]",
  },
  {
    name: "expand with a negative size in a new dim",
    run: (d) => m23(d).expand(-1, 2, 3),
    error: ShapeError,
    message: "expand: -1 is not allowed for a new leading dimension in [-1, 2, 3]",
  },
  {
    name: "expand to a fractional size",
    run: (d) => zeros([1], { device: d }).expand(2.5),
    error: ShapeError,
    message: "expand: invalid shape [2.5]; sizes must be non-negative integers",
  },
  {
    name: "expandAs a tensor it does not fit",
    run: (d) => m23(d).expandAs(ones([3, 2], { device: d })),
    error: ShapeError,
    message: "expand: the size 2 at dimension 0 of [2, 3] must match 3 in [3, 2] (or be 1)",
  },
  {
    name: "permute with too few dims",
    run: (d) => m23(d).permute(0),
    error: ShapeError,
    message: "permute: got 1 dims [0] for a 2-D tensor [2, 3]",
  },
  {
    name: "permute with a repeated dim",
    run: (d) => m23(d).permute(0, 0),
    error: ShapeError,
    message: "permute: dims [0, 0] repeat a dimension",
  },
  {
    name: "permute with an out-of-range dim",
    run: (d) => m23(d).permute(0, 2),
    error: ShapeError,
    message:
      "permute: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "transpose dim 2 of a 2-D tensor",
    run: (d) => m23(d).transpose(0, 2),
    error: ShapeError,
    message:
      "transpose: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "transpose a fractional dim",
    run: (d) => m23(d).transpose(0, 1.5),
    error: ShapeError,
    message:
      "transpose: dimension 1.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "t of a 3-D tensor",
    run: (d) => ones([2, 2, 2], { device: d }).t(),
    error: ShapeError,
    message: "t: expects a tensor with at most 2 dimensions, got [2, 2, 2]",
  },
  {
    name: "squeeze dim 2 of a 2-D tensor",
    run: (d) => m23(d).squeeze(2),
    error: ShapeError,
    message:
      "squeeze: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "squeeze a fractional dim",
    run: (d) => m23(d).squeeze(1.5),
    error: ShapeError,
    message:
      "squeeze: dimension 1.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "unsqueeze dim 3 of a 2-D tensor",
    run: (d) => m23(d).unsqueeze(3),
    error: ShapeError,
    message:
      "unsqueeze: dimension 3 is out of range for a 3-D tensor (expected an integer from -3 to 2)",
  },
  {
    name: "unsqueeze dim -4 of a 2-D tensor",
    run: (d) => m23(d).unsqueeze(-4),
    error: ShapeError,
    message:
      "unsqueeze: dimension -4 is out of range for a 3-D tensor (expected an integer from -3 to 2)",
  },
  {
    name: "unsqueeze with no dim",
    run: (d) => call(m23(d), "unsqueeze"),
    error: ShapeError,
    message:
      "unsqueeze: dimension undefined is out of range for a 3-D tensor (expected an integer from -3 to 2)",
  },
  {
    name: "flatten with startDim after endDim",
    run: (d) => ones([2, 3, 4], { device: d }).flatten(2, 0),
    error: ShapeError,
    message: "flatten: startDim 2 comes after endDim 0",
  },
  {
    name: "flatten from dim 3 of a 2-D tensor",
    run: (d) => m23(d).flatten(3),
    error: ShapeError,
    message:
      "flatten: dimension 3 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "select an index past the end",
    run: (d) => m23(d).select(0, 2),
    error: ShapeError,
    message: "select: index 2 is out of range for dimension 0 of size 2 in [2, 3]",
  },
  {
    name: "select an index before the start",
    run: (d) => m23(d).select(0, -3),
    error: ShapeError,
    message: "select: index -3 is out of range for dimension 0 of size 2 in [2, 3]",
  },
  {
    name: "select in dim 2 of a 2-D tensor",
    run: (d) => m23(d).select(2, 0),
    error: ShapeError,
    message:
      "select: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "select a fractional index",
    run: (d) => m23(d).select(0, 0.5),
    error: ShapeError,
    message: "select: index 0.5 is out of range for dimension 0 of size 2 in [2, 3]",
  },
  {
    name: "select index NaN",
    run: (d) => m23(d).select(0, NaN),
    error: ShapeError,
    message: "select: index NaN is out of range for dimension 0 of size 2 in [2, 3]",
  },
  {
    name: "narrow past the end",
    run: (d) => m23(d).narrow(1, 2, 5),
    error: ShapeError,
    message:
      "narrow: start 2 + length 5 exceeds dimension 1 of size 3 in [2, 3] (expected a non-negative integer length <=",
  },
  {
    name: "narrow with a negative length",
    run: (d) => m23(d).narrow(1, 0, -1),
    error: ShapeError,
    message:
      "narrow: start 0 + length -1 exceeds dimension 1 of size 3 in [2, 3] (expected a non-negative integer length",
  },
  {
    name: "narrow with a start out of range",
    run: (d) => m23(d).narrow(1, 4, 0),
    error: ShapeError,
    message:
      "narrow: start 4 is out of range for dimension 1 of size 3 in [2, 3] (expected an integer from -3 to 3)",
  },
  {
    name: "narrow with a fractional start",
    run: (d) => m23(d).narrow(1, 0.5, 1),
    error: ShapeError,
    message:
      "narrow: start 0.5 is out of range for dimension 1 of size 3 in [2, 3] (expected an integer from -3 to 3)",
  },
  {
    name: "narrow with a fractional length",
    run: (d) => m23(d).narrow(1, 0, 1.5),
    error: ShapeError,
    message:
      "narrow: start 0 + length 1.5 exceeds dimension 1 of size 3 in [2, 3] (expected a non-negative integer length",
  },
  {
    name: "narrow dim 2 of a 2-D tensor",
    run: (d) => m23(d).narrow(2, 0, 1),
    error: ShapeError,
    message:
      "narrow: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "slice with a plain number",
    run: (d) => call(m23(d), "slice", 0, 8),
    error: ValueError,
    message:
      "slice: spec 0 is the number 0; slice takes { start, end, step } or null per dimension (rows 0..7 are slice({",
  },
  {
    name: "slice with a misspelt key",
    run: (d) => m23(d).slice(bad({ begin: 1 })),
    error: ValueError,
    message: 'slice: unknown option "begin" (expected start, end, step)',
  },
  {
    name: "slice with a fractional start",
    run: (d) => m23(d).slice({ start: 1.5 }),
    error: ValueError,
    message: "slice: start must be an integer, got 1.5",
  },
  {
    name: "slice with a negative step",
    run: (d) => m23(d).slice({ step: -1 }),
    error: ValueError,
    message: "slice: step must be a positive integer, got -1",
  },
  {
    name: "slice with step 0",
    run: (d) => m23(d).slice({ step: 0 }),
    error: ValueError,
    message: "slice: step must be a positive integer, got 0",
  },
  {
    name: "slice with an array spec",
    run: (d) => m23(d).slice(bad([1, 2])),
    error: ValueError,
    message: "slice: spec 0 must be { start, end, step }, an index or null, got [1, 2]",
  },
  {
    name: "slice with more specs than dims",
    run: (d) => m23(d).slice(null, null, { start: 0 }),
    error: ShapeError,
    message: "slice: 3 indices for a 2-D tensor [2, 3]",
  },
  {
    name: "slice with a string start",
    run: (d) => m23(d).slice(bad({ start: "1" })),
    error: ValueError,
    message: 'slice: start must be an integer, got "1"',
  },
  {
    name: "dim(5) of a 2-D tensor",
    run: (d) => m23(d).dim(5),
    error: ShapeError,
    message: "dim",
  },
  {
    name: "contiguous with an argument",
    run: (d) => call(m23(d), "contiguous", 1),
    error: ValueError,
    message: "Tensor.contiguous: takes at most 0 arguments, got 1 (1)",
  },
  {
    name: "view with a shape and an extra array",
    run: (d) => call(m23(d), "view", [3, 2], [6]),
    error: ShapeError,
    message: "view: invalid shape [3,2, 6]; sizes must be non-negative integers",
  },
  {
    name: "setData_ from another shape",
    run: (d) => m23(d).setData_(zeros([3], { device: d })),
    error: ShapeError,
    message: "setData_: source [3] must have this tensor's shape [2, 3]",
  },
];
