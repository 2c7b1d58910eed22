/**
 * The "linalg" group of the bad-call catalogue (./mod.ts): matmul, mm and linear.
 *
 * @module
 */

import { DTypeError, F, matmul, mm, ones, ShapeError, tensor, ValueError } from "../../mod.ts";
import { bad, f32, i32, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const linalg: Omit<BadCall, "group">[] = [
  {
    name: "matmul with inner sizes that differ",
    run: (d) => m23(d).matmul(m23(d)),
    error: ShapeError,
    message: "matmul: shapes [2, 3] and [2, 3] cannot be multiplied (inner sizes 3 and 2 differ)",
  },
  {
    name: "matmul of int32 matrices",
    run: (d) => i32(d, [[1, 2]]).matmul(i32(d, [[1], [2]])),
    error: DTypeError,
    message: "matmul: expected floating-point operands of one dtype, got int32 and int32",
  },
  {
    name: "matmul of int32 and float32",
    run: (d) => i32(d, [[1, 2]]).matmul(ones([2, 2], { device: d })),
    error: DTypeError,
    message: "matmul: expected floating-point operands of one dtype, got int32 and float32",
  },
  {
    name: "matmul of bool matrices",
    run: (d) => tensor([[true]], { device: d }).matmul(tensor([[true]], { device: d })),
    error: DTypeError,
    message: "matmul: expected floating-point operands of one dtype, got bool and bool",
  },
  {
    name: "matmul of 0-d tensors",
    run: (d) => tensor(2, { device: d }).matmul(tensor(3, { device: d })),
    error: ShapeError,
    message: "matmul: both arguments need at least 1 dimension, got [] and []",
  },
  {
    name: "matmul of vectors of different lengths",
    run: (d) => f32(d, [1, 2, 3]).matmul(f32(d, [1, 2])),
    error: ShapeError,
    message: "matmul: shapes [1, 3] and [2, 1] cannot be multiplied (inner sizes 3 and 2 differ)",
  },
  {
    name: "matmul with batch sizes that do not broadcast",
    run: (d) => matmul(ones([2, 2, 3], { device: d }), ones([3, 3, 2], { device: d })),
    error: ShapeError,
    message:
      "matmul: shapes [2] and [3] cannot be broadcast together (dimension 0 is 2 vs 3; sizes must match or one must",
  },
  {
    name: "matmul with a number",
    run: (d) => m23(d).matmul(bad(2)),
    error: ValueError,
    message: "matmul: the second argument must be a Tensor, got 2",
  },
  {
    name: "matmul with a nested array",
    run: (d) => m23(d).matmul(bad([[1], [2], [3]])),
    error: ValueError,
    message: "matmul: the second argument must be a Tensor, got [[1], [2], [3]]",
  },
  {
    name: "mm of a 3-D tensor",
    run: (d) => mm(ones([2, 2, 2], { device: d }), ones([2, 2], { device: d })),
    error: ShapeError,
    message: "mm",
  },
  {
    name: "mm with a string transpose flag",
    run: (d) => mm(m23(d), m23(d), bad("yes")),
    error: ValueError,
    message: "mm",
  },
  {
    name: "mm with inner sizes that differ",
    run: (d) => mm(m23(d), m23(d)),
    error: ShapeError,
    message: "matmul: shapes [2, 3] and [2, 3] cannot be multiplied (inner sizes 3 and 2 differ)",
  },
  {
    name: "linear with a 1-D weight",
    run: (d) => F.linear(m23(d), f32(d, [1, 2, 3])),
    error: ShapeError,
    message: "linear: weight must be 2-D [out, in], got [3]",
  },
  {
    name: "linear with features that differ",
    run: (d) => F.linear(m23(d), ones([4, 5], { device: d })),
    error: ShapeError,
    message: "linear: input [2, 3] has 3 features in its last dimension, weight [4, 5] expects 5",
  },
  {
    name: "linear with a bias of the wrong size",
    run: (d) => F.linear(m23(d), ones([4, 3], { device: d }), ones([5], { device: d })),
    error: ShapeError,
    message:
      "add: shapes [2, 4] and [5] cannot be broadcast together (dimension 1 is 4 vs 5; sizes must match or one must",
  },
  {
    name: "linear of a 0-d input",
    run: (d) => F.linear(tensor(1, { device: d }), ones([4, 1], { device: d })),
    error: ShapeError,
    message: "linear: input [] has 0 features in its last dimension, weight [4, 1] expects 1",
  },
  {
    name: "linear with int32 input",
    run: (d) => F.linear(i32(d, [[1, 2, 3]]), ones([4, 3], { device: d })),
    error: DTypeError,
    message: "matmul: expected floating-point operands of one dtype, got int32 and float32",
  },
];
