/**
 * The "reductions" group of the bad-call catalogue (./mod.ts): reductions.
 *
 * @module
 */

import { DTypeError, ShapeError, ValueError, zeros } from "../../mod.ts";
import { bad, call, f32, i32, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const reductions: Omit<BadCall, "group">[] = [
  {
    name: "sum over dim 3 of a 2-D tensor",
    run: (d) => m23(d).sum(3),
    error: ShapeError,
    message: "sum: dimension 3 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "sum over dim -3 of a 2-D tensor",
    run: (d) => m23(d).sum(-3),
    error: ShapeError,
    message:
      "sum: dimension -3 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "sum over a repeated dim",
    run: (d) => m23(d).sum([1, -1]),
    error: ShapeError,
    message: "sum: dimension list [1, -1] repeats a dimension",
  },
  {
    name: "sum over a string dim",
    run: (d) => call(m23(d), "sum", "1"),
    error: ShapeError,
    message: 'sum: dims must be a number or a list of numbers, got "1"',
  },
  {
    name: "sum over null",
    run: (d) => m23(d).sum(bad(null)),
    error: ShapeError,
    message: "sum: dims must be a number or a list of numbers, got null",
  },
  {
    name: "sum over a fractional dim",
    run: (d) => m23(d).sum(1.5),
    error: ShapeError,
    message:
      "sum: dimension 1.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "sum with keepDim (wrong case)",
    run: (d) => m23(d).sum(1, bad({ keepDim: true })),
    error: ValueError,
    message: 'sum: unknown option "keepDim" (expected keepdim)',
  },
  {
    name: "sum with keepdim 1",
    run: (d) => m23(d).sum(1, bad({ keepdim: 1 })),
    error: ValueError,
    message: "sum: keepdim must be a boolean, got 1",
  },
  {
    name: "sum with keepdim 'true'",
    run: (d) => m23(d).sum(1, bad("true")),
    error: ValueError,
    message: 'sum: options must be an object like { keepdim: ... }, got "true"',
  },
  {
    name: "sum with a dtype option",
    run: (d) => m23(d).sum(1, bad({ dtype: "float32" })),
    error: ValueError,
    message: 'sum: unknown option "dtype" (expected keepdim)',
  },
  {
    name: "mean over dim 2",
    run: (d) => m23(d).mean(2),
    error: ShapeError,
    message:
      "mean: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "max over dim 5",
    run: (d) => m23(d).max(5),
    error: ShapeError,
    message: "max: dimension 5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "max of an empty tensor",
    run: (d) => zeros([0], { device: d }).max(),
    error: DTypeError,
    message: "max: cannot reduce an empty [0] tensor (no identity)",
  },
  {
    name: "min over an empty dimension",
    run: (d) => zeros([2, 0], { device: d }).min(1),
    error: DTypeError,
    message: "min: cannot reduce an empty [2, 0] tensor (no identity)",
  },
  {
    name: "argmax of an empty tensor",
    run: (d) => zeros([0], { device: d }).argmax(),
    error: DTypeError,
    message: "argmax: cannot reduce an empty [0] tensor",
  },
  {
    name: "argmax over dim 2",
    run: (d) => m23(d).argmax(2),
    error: ShapeError,
    message:
      "argmax: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "argmax over a list of dims",
    run: (d) => m23(d).argmax(bad([0, 1])),
    error: ShapeError,
    message:
      "argmax: dimension [0,1] is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "argmin over a fractional dim",
    run: (d) => m23(d).argmin(0.5),
    error: ShapeError,
    message:
      "argmin: dimension 0.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "var with correction NaN",
    run: (d) => m23(d).var(1, { correction: NaN }),
    error: ValueError,
    message: "var: correction must be a finite number, got NaN",
  },
  {
    name: "var with both unbiased and correction",
    run: (d) => m23(d).var(1, bad({ unbiased: true, correction: 1 })),
    error: ValueError,
    message: "var: give either unbiased or correction, not both",
  },
  {
    name: "std with a string correction",
    run: (d) => m23(d).std(1, bad({ correction: "1" })),
    error: ValueError,
    message: 'std: correction must be a finite number, got "1"',
  },
  {
    name: "softmax over dim -3",
    run: (d) => m23(d).softmax(-3),
    error: ShapeError,
    message:
      "softmax: dimension -3 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "softmax with PyTorch's dim keyword",
    run: (d) => m23(d).softmax(bad({ dim: 1 })),
    error: ShapeError,
    message:
      'softmax: dimension {"dim":1} is out of range for a 2-D tensor (expected an integer from -2 to 1)',
  },
  {
    name: "softmax with no dim",
    run: (d) => call(m23(d), "softmax"),
    error: ShapeError,
    message:
      "softmax: dimension undefined is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "softmax over a fractional dim",
    run: (d) => m23(d).softmax(1.5),
    error: ShapeError,
    message:
      "softmax: dimension 1.5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "softmax with a dtype argument",
    run: (d) => call(m23(d), "softmax", 1, "float16"),
    error: ValueError,
    message: 'Tensor.softmax: takes at most 1 argument, got 2 (1, "float16")',
  },
  {
    name: "logSoftmax over dim 2",
    run: (d) => m23(d).logSoftmax(2),
    error: ShapeError,
    message:
      "logSoftmax: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "softmax of an int32 tensor",
    run: (d) => i32(d, [1, 2]).softmax(0),
    error: DTypeError,
    message: "softmax: expected a floating-point tensor, got int32",
  },
  {
    name: "item of a 2-element tensor",
    run: (d) => f32(d, [1, 2]).item(),
    error: ShapeError,
    message: "item: expected a tensor with 1 element, got shape [2]",
  },
  {
    name: "itemSync of an empty tensor",
    run: (d) => zeros([0], { device: d }).item(),
    error: ShapeError,
    message: "item: expected a tensor with 1 element, got shape [0]",
  },
];
