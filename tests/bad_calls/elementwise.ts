/**
 * The "elementwise" group of the bad-call catalogue (./mod.ts): elementwise ops.
 *
 * @module
 */

import { DTypeError, ones, ShapeError, tensor, ValueError, where } from "../../mod.ts";
import { bad, call, f32, i32, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const elementwise: Omit<BadCall, "group">[] = [
  {
    name: "add with shapes that do not broadcast",
    run: (d) => m23(d).add(f32(d, [1, 2, 3, 4])),
    error: ShapeError,
    message:
      "add: shapes [2, 3] and [4] cannot be broadcast together (dimension 1 is 3 vs 4; sizes must match or one must",
  },
  {
    name: "mul with shapes that do not broadcast",
    run: (d) => m23(d).mul(ones([3, 2], { device: d })),
    error: ShapeError,
    message:
      "mul: shapes [2, 3] and [3, 2] cannot be broadcast together (dimension 0 is 2 vs 3; sizes must match or one",
  },
  {
    name: "add a string",
    run: (d) => m23(d).add(bad("1")),
    error: ValueError,
    message: 'add: expected a Tensor or a number, got "1"',
  },
  {
    name: "add null",
    run: (d) => m23(d).add(bad(null)),
    error: ValueError,
    message: "add: expected a Tensor or a number, got null",
  },
  {
    name: "add undefined",
    run: (d) => m23(d).add(bad(undefined)),
    error: ValueError,
    message: "add: expected a Tensor or a number, got undefined",
  },
  {
    name: "add a plain array",
    run: (d) => m23(d).add(bad([1, 2, 3])),
    error: ValueError,
    message: "add: expected a Tensor or a number, got [1, 2, 3]",
  },
  {
    name: "mul with an extra argument",
    run: (d) => call(m23(d), "mul", 2, 3),
    error: ValueError,
    message: "Tensor.mul: takes at most 1 argument, got 2 (2, 3)",
  },
  {
    name: "add with a string alpha",
    run: (d) => m23(d).add(1, bad("2")),
    error: ValueError,
    message: 'add: alpha must be a finite number, got "2"',
  },
  {
    name: "add with an alpha object (PyTorch keyword)",
    run: (d) => m23(d).add(1, bad({ alpha: 2 })),
    error: ValueError,
    message: "add: alpha must be a finite number, got Object",
  },
  {
    name: "exp with an argument",
    run: (d) => call(m23(d), "exp", 2),
    error: ValueError,
    message: "Tensor.exp: takes at most 0 arguments, got 1 (2)",
  },
  {
    name: "relu with inplace true (method)",
    run: (d) => call(m23(d), "relu", true),
    error: ValueError,
    message: "Tensor.relu: takes at most 0 arguments, got 1 (true)",
  },
  {
    name: "neg of a bool tensor",
    run: (d) => tensor([true, false], { device: d }).neg(),
    error: DTypeError,
    message: "neg: not defined for bool tensors (cast to float32 or int32 first)",
  },
  {
    name: "sub of two bool tensors",
    run: (d) => tensor([true], { device: d }).sub(tensor([false], { device: d })),
    error: DTypeError,
    message: "sub",
  },
  {
    name: "int32 to a negative integer power",
    run: (d) => i32(d, [2, 3]).pow(-1),
    error: ValueError,
    message: "pow",
  },
  {
    name: "add_ of a float into an int32 tensor",
    run: (d) => i32(d, [1, 2]).add_(0.5),
    error: DTypeError,
    message: "add_",
  },
  {
    name: "add_ that would broadcast the destination",
    run: (d) => f32(d, [1, 2, 3]).add_(m23(d)),
    error: ShapeError,
    message: "add_: result shape [2, 3] does not match the tensor's [3]",
  },
  {
    name: "mul_ with shapes that do not broadcast",
    run: (d) => m23(d).mul_(f32(d, [1, 2])),
    error: ShapeError,
    message:
      "mul: shapes [2, 3] and [2] cannot be broadcast together (dimension 1 is 3 vs 2; sizes must match or one must",
  },
  {
    name: "fill_ with a string",
    run: (d) => m23(d).fill_(bad("1")),
    error: ValueError,
    message: 'full: fill value must be a number or boolean, got "1"',
  },
  {
    name: "fill_ int32 with NaN",
    run: (d) => i32(d, [1, 2]).fill_(NaN),
    error: ValueError,
    message: "full: value NaN cannot be converted to int32 without overflow",
  },
  {
    name: "clamp with no bounds",
    run: (d) => m23(d).clamp(),
    error: ValueError,
    message: "clamp: at least one of min and max must be given",
  },
  {
    name: "clamp with both an object and a max",
    run: (d) => m23(d).clamp({ min: 1 }, 3),
    error: ValueError,
    message: "clamp: give the bounds as clamp({ min, max }) or clamp(min, max), not both",
  },
  {
    name: "clamp with a misspelt bound",
    run: (d) => m23(d).clamp(bad({ lo: 1 })),
    error: ValueError,
    message: 'clamp: unknown option "lo" (expected min, max)',
  },
  {
    name: "clamp with a string bound",
    run: (d) => m23(d).clamp(bad("1")),
    error: ValueError,
    message: 'clamp: min must be a number, a tensor or null, got "1"',
  },
  {
    name: "clamp with a tensor bound that does not broadcast",
    run: (d) => m23(d).clamp(f32(d, [1, 2])),
    error: ShapeError,
    message:
      "maximum: shapes [2, 3] and [2] cannot be broadcast together (dimension 1 is 3 vs 2; sizes must match or one",
  },
  {
    name: "where with a float condition",
    run: (d) => where(f32(d, [1, 0]), f32(d, [1, 2]), f32(d, [3, 4])),
    error: DTypeError,
    message: "where",
  },
  {
    name: "where with shapes that do not broadcast",
    run: (d) => where(tensor([true, false], { device: d }), m23(d), 0),
    error: ShapeError,
    message:
      "where: shapes [2] and [2, 3] cannot be broadcast together (dimension 1 is 2 vs 3; sizes must match or one",
  },
  {
    name: "cast to float64",
    run: (d) => m23(d).cast(bad("float64")),
    error: DTypeError,
    message:
      'cast: unknown dtype "float64"; denn has float32, float16, int32, bool (use "float32")',
  },
  {
    name: "to('int64')",
    run: (d) => m23(d).to("int64"),
    error: DTypeError,
    message: 'to: unknown dtype "int64"; denn has float32, float16, int32, bool (use "int32")',
  },
  {
    name: "eq with a string",
    run: (d) => m23(d).eq(bad("1")),
    error: ValueError,
    message: 'eq: expected a Tensor or a number, got "1"',
  },
  {
    name: "maximum with shapes that do not broadcast",
    run: (d) => m23(d).maximum(f32(d, [1, 2])),
    error: ShapeError,
    message:
      "maximum: shapes [2, 3] and [2] cannot be broadcast together (dimension 1 is 3 vs 2; sizes must match or one",
  },
  {
    name: "logicalAnd with shapes that do not broadcast",
    run: (d) =>
      tensor([true, false], { device: d }).logicalAnd(tensor([true, false, true], { device: d })),
    error: ShapeError,
    message:
      "logicalAnd: shapes [2] and [3] cannot be broadcast together (dimension 0 is 2 vs 3; sizes must match or one",
  },
  {
    name: "div with a Tensor-like object",
    run: (d) => m23(d).div(bad({ data: [1] })),
    error: ValueError,
    message: "div: expected a Tensor or a number, got Object",
  },
  {
    name: "where with a boolean condition",
    run: (d) => where(bad(true), m23(d), 0),
    error: ValueError,
    message: "where: condition must be a bool Tensor, got true",
  },
];
