/**
 * Bad input gets a clear error naming the op, the shapes (or dtypes, devices) involved and what was
 * expected — never a wrong answer.
 */

import assert from "node:assert/strict";
import {
  definePlugin,
  DeviceError,
  DTypeError,
  F,
  pad,
  randn,
  ShapeError,
  tensor,
  use,
  ValueError,
  zeros,
} from "../../mod.ts";

type ErrorClass = new (...args: never[]) => Error;

function fails(fn: () => unknown, cls: ErrorClass, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("errors: mismatched shapes", () => {
  fails(
    () => randn([2, 3]).add(randn([4])),
    ShapeError,
    "add: shapes [2, 3] and [4] cannot be broadcast together",
    "sizes must match or one must be 1",
  );
  fails(
    () => randn([2, 3]).matmul(randn([4, 5])),
    ShapeError,
    "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (inner sizes 3 and 4 differ)",
  );
  fails(
    () => randn([2, 3]).reshape(4, 4),
    ShapeError,
    "reshape: shape [4, 4] is invalid for input of size 6 [2, 3]",
  );
  fails(
    () => randn([2, 3]).expand(4, 3),
    ShapeError,
    "expand: the size 2 at dimension 0 of [2, 3] must match 4 in [4, 3]",
  );
  fails(
    () => F.linear(randn([2, 3]), randn([4, 5])),
    ShapeError,
    "linear: input [2, 3] has 3 features",
    "weight [4, 5] expects 5",
  );
  fails(
    () => F.conv2d(randn([1, 2, 3, 3]), randn([1, 3, 1, 1])),
    ShapeError,
    "conv2d: weight [1, 3, 1, 1] expects 3 input channels",
    "input [1, 2, 3, 3] has 2",
  );
  fails(
    () => F.conv2d(randn([2, 3, 3]), randn([1, 3, 1, 1])),
    ShapeError,
    "conv2d: expected a 4-D input [N, C, H, W], got [2, 3, 3]",
  );
  fails(
    () => F.batchNorm(randn([2, 3]), zeros([2]), zeros([3])),
    ShapeError,
    "batchNorm: runningMean [2] must have shape [3] for input [2, 3]",
  );
  fails(
    () => F.crossEntropy(randn([2, 3]), randn([2, 4])),
    ShapeError,
    "crossEntropy",
    "[2, 4]",
    "[2, 3]",
  );
});

Deno.test("errors: wrong dtype", () => {
  fails(
    () => tensor([[1, 2]], { dtype: "int32" }).matmul(randn([2, 2])),
    DTypeError,
    "matmul: expected floating-point operands of one dtype, got int32 and float32",
  );
  fails(
    () => F.conv2d(zeros([1, 1, 3, 3], { dtype: "int32" }), randn([1, 1, 1, 1])),
    DTypeError,
    "conv2d: expected floating-point input, weight and bias of one dtype, got int32, float32",
  );
  fails(
    () => randn([2, 4]).gather(1, tensor([[1]])),
    DTypeError,
    "gather: index must be int32, got float32",
  );
  fails(
    () => tensor([1, 2], { dtype: "int32", requiresGrad: true }),
    DTypeError,
    "requiresGrad_: only floating-point tensors can require grad, got int32",
  );
  fails(() => tensor([true]).neg(), DTypeError, "neg: not defined for bool tensors");
});

Deno.test("errors: bad axis", () => {
  fails(
    () => randn([2, 3]).sum(3),
    ShapeError,
    "sum: dimension 3 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  );
  fails(
    () => randn([2, 3]).softmax(-3),
    ShapeError,
    "softmax: dimension -3 is out of range for a 2-D tensor",
  );
  fails(() => randn([2, 3]).transpose(0, 2), ShapeError, "transpose: dimension 2 is out of range");
  fails(() => randn([2, 3]).argmax(2), ShapeError, "argmax: dimension 2 is out of range");
  fails(
    () => randn([2, 3]).permute(0),
    ShapeError,
    "permute: got 1 dims [0] for a 2-D tensor [2, 3]",
  );
  fails(() => randn([2, 3]).sum([1, -1]), ShapeError, "sum: dimension list [1, -1] repeats");
});

Deno.test("errors: negative or oversized padding", () => {
  fails(
    () => pad(randn([2, 3]), [-1, 1]),
    ValueError,
    "pad: padding must be non-negative integers, got [-1, 1] for a [2, 3] tensor",
  );
  fails(
    () => F.conv2d(randn([1, 1, 4, 4]), randn([1, 1, 3, 3]), null, { padding: -1 }),
    ValueError,
    "conv2d: invalid options for input [1, 1, 4, 4]: padding:",
  );
  fails(
    () => F.avgPool2d(randn([1, 1, 4, 4]), 2, { padding: -1 }),
    ValueError,
    "avgPool2d: invalid options for input [1, 1, 4, 4]: padding:",
  );
  fails(
    () => F.maxPool2d(randn([1, 1, 4, 4]), 2, { padding: 2 }),
    ValueError,
    "maxPool2d: padding 2 must be at most half the kernel size 2 (dimension H, input [1, 1, 4, 4])",
  );
  fails(
    () => F.conv2d(randn([1, 1, 4, 4]), randn([1, 1, 3, 3]), null, { stride: 2, padding: "same" }),
    ValueError,
    'conv2d: padding "same" requires stride 1',
  );
});

Deno.test("errors: a kernel larger than the padded input", () => {
  fails(
    () => F.conv2d(randn([1, 1, 3, 3]), randn([1, 1, 5, 5]), null, { padding: 0 }),
    ShapeError,
    "conv2d: kernel 5x5 (dilated 5x5) is larger than the padded input 3x3",
    "input [1, 1, 3, 3], padding [0, 0]",
  );
  fails(
    () => F.conv2d(randn([1, 1, 4, 4]), randn([1, 1, 3, 3]), null, { dilation: 3 }),
    ShapeError,
    "conv2d: kernel 3x3 (dilated 7x7) is larger than the padded input 4x4",
  );
  fails(
    () => F.maxPool2d(randn([1, 1, 3, 3]), 5),
    ShapeError,
    "maxPool2d: kernel 5x5 is larger than the padded input 3x3 (input [1, 1, 3, 3])",
  );
});

Deno.test("errors: out-of-range values", () => {
  fails(
    () => randn([2, 4]).gather(1, tensor([[5], [0]], { dtype: "int32" })),
    Error,
    "gather: index 5 is out of bounds for dimension 1 with size 4 (tensor [2, 4])",
  );
  fails(
    () => F.dropout(randn([2]), 1.5),
    ValueError,
    "dropout: probability has to be between 0 and 1, but got 1.5",
  );
  fails(
    () => randn([2, 3]).slice({ step: -1 }),
    ValueError,
    "slice: step must be a positive integer, got -1",
  );
  fails(
    () => randn([2, 3]).select(0, 2),
    ShapeError,
    "select: index 2 is out of range for dimension 0 of size 2 in [2, 3]",
  );
});

Deno.test("errors: mixing devices without a route names the op, shapes and devices", () => {
  use(definePlugin({
    name: "@test/elsewhere",
    kind: "backend",
    version: "1.0.0",
    apiVersion: 1,
    backend: {
      name: "elsewhere",
      hostMemory: true,
      upload: (d) => d,
      download: (h) => Promise.resolve(h as Float32Array),
      kernels: {},
    },
  }));
  fails(
    () => randn([2, 3]).matmul(randn([3, 2]).to("elsewhere")),
    DeviceError,
    "matmul: inputs are on different devices",
    "input 0 [2, 3] on cpu",
    "input 1 [3, 2] on elsewhere",
    "move them with .to(device) or route the op",
  );
  fails(
    () => tensor([1], { device: "nowhere" }),
    DeviceError,
    'device "nowhere" is not available',
    "registered: cpu",
  );
});
