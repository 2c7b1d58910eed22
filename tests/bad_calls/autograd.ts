/**
 * The "autograd" group of the bad-call catalogue (./mod.ts): autograd misuse.
 *
 * @module
 */

import { autograd, AutogradError, DTypeError, noGrad, ShapeError, ValueError } from "../../mod.ts";
import { bad, f32, i32, leaf } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const autogradCases: Omit<BadCall, "group">[] = [
  {
    name: "backward of a tensor that does not require grad",
    run: (d) => f32(d, [1, 2]).sum().backward(),
    error: AutogradError,
    message:
      "backward: the [] tensor does not require grad and has no grad_fn (did you compute it under noGrad, or from",
  },
  {
    name: "backward of a non-scalar without a gradient",
    run: (d) => leaf(d).mul(2).backward(),
    error: ShapeError,
    message:
      "backward: grad can be implicitly created only for scalar outputs, got shape [3]; pass a gradient tensor of",
  },
  {
    name: "backward with a gradient of the wrong shape",
    run: (d) => leaf(d).mul(2).backward(f32(d, [1, 1])),
    error: ShapeError,
    message: "backward: gradient shape [2] does not match the tensor's [3]",
  },
  {
    name: "backward twice through a freed graph",
    run: (d) => {
      const y = leaf(d).exp().sum();
      y.backward();
      y.backward();
    },
    error: AutogradError,
    message:
      "sum: trying to backward through the graph a second time; its saved tensors were freed after the first",
  },
  {
    name: "backward after a saved tensor changed in place",
    run: (d) => {
      const x = leaf(d);
      const h = x.mul(2);
      const y = h.mul(h);
      h.add_(1);
      y.sum().backward();
    },
    error: AutogradError,
    message:
      "mul: a [3] tensor it saved for backward was modified by an in-place operation (version 1, saved at 0)",
  },
  {
    name: "add_ on a leaf that requires grad",
    run: (d) => leaf(d).add_(1),
    error: AutogradError,
    message:
      "in-place op on a leaf [3] tensor that requires grad; wrap it in noGrad() or clone it first",
  },
  {
    name: "relu_ on a leaf that requires grad",
    run: (d) => leaf(d).relu_(),
    error: AutogradError,
    message:
      "in-place op on a leaf [3] tensor that requires grad; wrap it in noGrad() or clone it first",
  },
  {
    name: "fill_ on a leaf that requires grad",
    run: (d) => leaf(d).fill_(0),
    error: AutogradError,
    message:
      "in-place op on a leaf [3] tensor that requires grad; wrap it in noGrad() or clone it first",
  },
  {
    name: "copy_ into a view of a leaf that requires grad",
    run: (d) => leaf(d).narrow(0, 0, 1).copy_(f32(d, [5])),
    error: AutogradError,
    message:
      "in-place op on a [1] view of a [3] tensor while recording gradients: autograd cannot rewrite the base",
  },
  {
    name: "requiresGrad_ on an int32 tensor",
    run: (d) => i32(d, [1]).requiresGrad_(),
    error: DTypeError,
    message: "requiresGrad_: only floating-point tensors can require grad, got int32",
  },
  {
    name: "requiresGrad_(false) on a non-leaf",
    run: (d) => leaf(d).mul(2).requiresGrad_(false),
    error: AutogradError,
    message: "requiresGrad_: only leaf tensors can stop requiring grad",
  },
  {
    name: "requiresGrad_('yes')",
    run: (d) => f32(d, [1]).requiresGrad_(bad("yes")),
    error: ValueError,
    message: "requiresGrad_",
  },
  {
    name: "backward with retain_graph (snake case)",
    run: (d) => leaf(d).sum().backward(undefined, bad({ retain_graph: true })),
    error: ValueError,
    message: 'backward: unknown option "retain_graph" (expected retainGraph, createGraph)',
  },
  {
    name: "backward with PyTorch's positional retainGraph",
    run: (d) => leaf(d).sum().backward(bad(true)),
    error: ValueError,
    message:
      "backward: gradient must be a Tensor of the output's shape [] (or omitted for a one-element output), got true",
  },
  {
    name: "autograd.grad with no outputs",
    run: (d) => autograd.grad([], [leaf(d)]),
    error: ValueError,
    message: "grad: expected at least one output, got none",
  },
  {
    name: "autograd.grad with gradOutputs of another count",
    run: (d) => {
      const x = leaf(d);
      return autograd.grad(x.mul(2), [x], { gradOutputs: [f32(d, [1, 1, 1]), f32(d, [1, 1, 1])] });
    },
    error: ValueError,
    message: "grad: got 2 gradOutputs for 1 outputs (one per output expected)",
  },
  {
    name: "autograd.grad of an output without grad",
    run: (d) => autograd.grad(f32(d, [1]).sum(), [leaf(d)]),
    error: AutogradError,
    message:
      "grad: output 0 ([]) does not require grad and has no grad_fn (computed under noGrad, or from tensors without",
  },
  {
    name: "autograd.grad wrt an input without grad",
    run: (d) => autograd.grad(leaf(d).sum(), [f32(d, [1])]),
    error: AutogradError,
    message:
      "grad: input 0 ([1] float32) does not require grad, so it has no gradient (create it with requiresGrad: true",
  },
  {
    name: "autograd.grad wrt an unused input",
    run: (d) => autograd.grad(leaf(d).sum(), [leaf(d)]),
    error: AutogradError,
    message:
      "grad: input 0 ([3]) was not used to compute the outputs, so it has no gradient (pass allowUnused: true to get",
  },
  {
    name: "autograd.grad with create_graph (snake case)",
    run: (d) => {
      const x = leaf(d);
      return autograd.grad(x.mul(x).sum(), [x], bad({ create_graph: true }));
    },
    error: ValueError,
    message:
      'grad: unknown option "create_graph" (expected gradOutputs, createGraph, retainGraph, allowUnused)',
  },
  {
    name: "autograd.grad of a non-scalar without gradOutputs",
    run: (d) => {
      const x = leaf(d);
      return autograd.grad(x.mul(2), [x]);
    },
    error: ShapeError,
    message:
      "grad: output 0: grad can be implicitly created only for scalar outputs, got shape [3]; pass a gradient tensor",
  },
  {
    name: "noGrad of a non-function",
    run: () => noGrad(bad(5)),
    error: ValueError,
    message: "noGrad: expected a function to run without gradient recording, got 5",
  },
  {
    name: "backward with a number gradient",
    run: (d) => leaf(d).mul(2).sum().backward(bad(1)),
    error: ValueError,
    message:
      "backward: gradient must be a Tensor of the output's shape [] (or omitted for a one-element output), got 1",
  },
];
