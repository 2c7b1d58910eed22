/**
 * Regression tests for calls that used to give a silent wrong answer on cpu: each one now raises a
 * named error naming the op and what was expected, or (for PyTorch's argument forms) does what
 * PyTorch does. Every case here returned a value, or failed later with a raw TypeError, before.
 */

import assert from "node:assert/strict";
import {
  arange,
  DeviceError,
  DTypeError,
  eye,
  F,
  fromData,
  full,
  IndexError,
  linspace,
  ones,
  OutOfMemoryError,
  rand,
  randint,
  randn,
  randperm,
  scalar,
  scatterAdd,
  ShapeError,
  tensor,
  ValueError,
  zeros,
} from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { assertThrowsNamed } from "../../testing/mod.ts";

type ErrorClass = new (...args: never[]) => Error;

const fails = assertThrowsNamed;

// deno-lint-ignore no-explicit-any
const loose = (f: any) => f as (...a: unknown[]) => unknown;
const bad = (v: unknown) => v as never;
const i32 = (v: number[]) => tensor(v, { dtype: "int32" });

Deno.test("bad args: index values out of range raise IndexError on cpu", () => {
  fails(
    () => F.oneHot(i32([0, 3]), 3),
    IndexError,
    "oneHot",
    "index 3 is out of bounds for dimension 1 with size 3",
  );
  fails(() => F.oneHot(i32([-1]), 3), IndexError, "oneHot", "index -1");
  assert.deepEqual(F.oneHot(i32([2, 0]), 3).toArraySync(), [[0, 0, 1], [1, 0, 0]]);
  assert.equal(F.oneHot(i32([2, 0]), 3).dtype, "int32");
  fails(() => F.oneHot(i32([1]), 0), ValueError, "oneHot: numClasses must be a positive integer");
  fails(
    () => scatterAdd([3], 0, i32([5]), tensor([1])),
    IndexError,
    "scatterAdd: index 5 is out of bounds for dimension 0 with size 3",
  );
  fails(() => scatterAdd([3], 0, tensor([1]), tensor([1])), DTypeError, "must be int32");
  fails(
    () => scatterAdd([3], 0, i32([1, 2]), tensor([1])),
    ShapeError,
    "scatterAdd: index [2] and src [1] must have the same shape",
  );
  fails(
    () => F.crossEntropy(tensor([[1, 2]]), i32([5])),
    IndexError,
    "index 5 is out of bounds for dimension 1 with size 2",
  );
  fails(() => F.nllLoss(tensor([[1, 2]]), i32([-3])), IndexError, "index -3");
});

Deno.test("bad args: randint, bceLoss, narrow and conv2d", () => {
  fails(() => randint(5, 2, [3]), ValueError, "randint: expected low < high", "low 5, high 2");
  fails(() => randint(2, 2, [3]), ValueError, "randint");
  fails(() => randint(0.5, 2, [3]), ValueError, "randint: low must be an integer");
  const r = randint(-3, 2, [200]).toArraySync() as number[];
  assert.ok(r.every((v) => v >= -3 && v < 2) && r.includes(-3) && r.includes(1));
  fails(
    () => F.bceLoss(tensor([1.5, 0.5]), tensor([1, 0])),
    ValueError,
    "bceLoss: all elements of input should be between 0 and 1, got 1.5",
    "bceWithLogits",
  );
  fails(() => F.bceLoss(tensor([-0.1]), tensor([1])), ValueError, "got -0.1");
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  fails(
    () => x.narrow(1, 2, 5),
    ShapeError,
    "narrow: start 2 + length 5 exceeds dimension 1 of size 3",
  );
  fails(() => x.narrow(1, 0, -1), ShapeError, "narrow", "length -1");
  fails(() => x.narrow(1, 4, 0), ShapeError, "narrow: start 4 is out of range");
  fails(() => x.narrow(1, 0.5, 1), ShapeError, "narrow: start 0.5");
  assert.deepEqual(x.narrow(1, -2, 2).toArraySync(), [[2, 3], [5, 6]]);
  assert.deepEqual(x.narrow(1, 3, 0).shape, [2, 0]);
  fails(
    () => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 0, 0])),
    ShapeError,
    "conv2d: weight [1, 1, 0, 0] has a zero-size dimension",
  );
});

Deno.test("bad args: creation functions check sizes, dtypes and options", () => {
  fails(() => zeros([1.5, 2]), ShapeError, "zeros: invalid shape [1.5, 2]");
  fails(() => ones([-1]), ShapeError, "ones: invalid shape [-1]");
  fails(() => full([NaN], 1), ShapeError, "full: invalid shape [NaN]");
  fails(() => eye(-1), ValueError, "eye: n must be a non-negative integer, got -1");
  fails(() => eye(2, 1.5), ValueError, "eye: m must be");
  fails(() => linspace(0, 1, 2.5), ValueError, "linspace: steps must be a non-negative integer");
  fails(() => linspace(0, NaN, 3), ValueError, "linspace: end must be a finite number");
  fails(() => arange(0, Infinity), ValueError, "arange: end must be a finite number");
  fails(() => randperm(-2), ValueError, "randperm: n must be");
  fails(() => rand([2], { dtype: "int32" }), DTypeError, "rand: dtype must be floating-point");
  fails(() => randint(0, 3, [2], { dtype: "float32" }), DTypeError, "randint: dtype must be int32");
  // PyTorch's dtype names that denn does not have: a DTypeError listing the ones it has.
  fails(
    () => loose(zeros)([2], { dtype: "float64" }),
    DTypeError,
    'zeros: unknown dtype "float64"; denn has float32, float16, int32, bool (use "float32")',
  );
  fails(
    () => loose(tensor)([1, 2], { dtype: "int64" }),
    DTypeError,
    'tensor: unknown dtype "int64"',
  );
  fails(() => loose(tensor)(new Float64Array(2)), DTypeError, "Float64Array");
  // Options are never ignored: a misspelt key is an error, not the default.
  fails(() => loose(zeros)([2], { dtpye: "int32" }), ValueError, 'zeros: unknown option "dtpye"');
  fails(() => loose(randn)([2], { seed: 1 }), ValueError, 'randn: unknown option "seed"');
  fails(
    () => loose(ones)([2], { requiresGrad: "yes" }),
    ValueError,
    "requiresGrad must be a boolean",
  );
  fails(() => loose(zeros)([2], { device: 1 }), ValueError, "device must be a backend name");
  // PyTorch's varargs shape: the error shows denn's array form.
  fails(() => loose(randn)(2, 3), ShapeError, "randn: shape must be an array", "randn([2, ...])");
  fails(() => loose(zeros)(2), ShapeError, "zeros: shape must be an array");
  // Elements that are not numbers used to become NaN.
  fails(() => loose(tensor)([1, "2"]), ValueError, 'tensor: element 1 is "2"');
  fails(() => loose(tensor)([1, undefined]), ValueError, "element 1 is undefined");
  fails(() => loose(tensor)("abc"), ValueError, "tensor: data must be");
  fails(() => loose(tensor)([[1, 2]], { shape: [2] }), ValueError, "the shape option");
  fails(() => fromData(new Float32Array(3), [2, 2]), ShapeError, "3 elements do not fill");
  fails(() => loose(fromData)([1, 2], [2]), ValueError, "fromData: data must be a typed array");
  fails(() => loose(full)([2], "1"), ValueError, "full: fill value");
});

Deno.test("bad args: an allocation that cannot be made is an OutOfMemoryError", () => {
  fails(
    () => zeros([1e6, 1e6]),
    OutOfMemoryError,
    "zeros: cannot allocate a [1000000, 1000000] float32 tensor",
    "4000000000000 bytes",
  );
  fails(() => randn([1e9, 1e9, 1e9]), OutOfMemoryError, "randn");
});

Deno.test("bad args: PyTorch's argument forms do what PyTorch does", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  // keepdim as the second positional argument (x.sum(1, True) in PyTorch).
  assert.deepEqual(x.sum(1, true).toArraySync(), [[6], [15]]);
  assert.deepEqual(x.mean(0, true).shape, [1, 3]);
  assert.deepEqual(x.max(1, true).values.shape, [2, 1]);
  assert.deepEqual(x.min(1, false).values.shape, [2]);
  assert.deepEqual(x.argmax(1, true).toArraySync(), [[2], [2]]);
  // PyTorch's var(dim, unbiased, keepdim): the boolean after dim is unbiased (issue 12).
  assert.deepEqual(x.var(1, true).shape, [2]);
  assert.deepEqual(x.var(1, true, true).shape, [2, 1]);
  assert.deepEqual(x.logsumexp(1, true).shape, [2, 1]);
  fails(() => x.sum(1, bad({ keepDim: true })), ValueError, 'sum: unknown option "keepDim"');
  fails(() => x.sum(1, bad({ keepdim: 1 })), ValueError, "sum: keepdim must be a boolean");
  fails(() => x.var(1, { correction: NaN }), ValueError, "var: correction must be a finite number");
  // clamp with PyTorch's keyword form, and tensor bounds.
  assert.deepEqual(x.clamp({ min: 2 }).toArraySync(), [[2, 2, 3], [4, 5, 6]]);
  assert.deepEqual(x.clamp({ max: 2 }).toArraySync(), [[1, 2, 2], [2, 2, 2]]);
  assert.deepEqual(x.clamp(null, 4).toArraySync(), [[1, 2, 3], [4, 4, 4]]);
  assert.deepEqual(x.clamp(tensor([2, 0, 0]), 5).toArraySync(), [[2, 2, 3], [4, 5, 5]]);
  fails(() => x.clamp(), ValueError, "clamp: at least one of min and max");
  fails(() => x.clamp({ min: 1 }, 3), ValueError, "not both");
  fails(() => x.clamp(bad({ lo: 1 })), ValueError, 'clamp: unknown option "lo"');
  fails(() => x.clamp(bad("1")), ValueError, "clamp: min must be a number");
  // slice takes ranges; a plain number is ambiguous (rows 0..8? element [0][8]?) and is refused.
  const t = arange(100).reshape(10, 10);
  fails(
    () => loose(t.slice.bind(t))(0, 8),
    ValueError,
    "slice: spec 0 is the number 0",
    "select(0, 0)",
  );
  assert.deepEqual(t.slice({ start: 0, end: 8 }).shape, [8, 10]);
  fails(() => t.slice(bad({ begin: 1 })), ValueError, 'slice: unknown option "begin"');
  fails(() => t.slice({ start: 1.5 }), ValueError, "slice: start must be an integer");
  fails(() => t.slice(bad([1, 2])), ValueError, "slice: spec 0 must be");
});

Deno.test("bad args: a kernel whose output cannot be allocated raises OutOfMemoryError", () => {
  fails(
    () => zeros([200000, 1]).add(zeros([1, 200000])),
    OutOfMemoryError,
    "add: the cpu kernel",
    "outputs: [200000, 200000] float32, 160000000000 bytes",
  );
});

Deno.test("bad args: no argument is dropped silently", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  // Extra arguments to a Tensor method are refused (JavaScript would ignore them).
  fails(
    () => loose(x.mul.bind(x))(2, 3),
    ValueError,
    "Tensor.mul: takes at most 1 argument, got 2",
  );
  fails(
    () => loose(x.softmax.bind(x))(1, "float16"),
    ValueError,
    "Tensor.softmax: takes at most 1",
  );
  fails(() => loose(x.relu.bind(x))(true), ValueError, "Tensor.relu: takes at most 0 arguments");
  // PyTorch's alpha: x.add(y, alpha) is x + alpha·y, for tensors and numbers, in place too.
  assert.deepEqual(x.add(1, 2).toArraySync(), [[3, 4, 5], [6, 7, 8]]);
  assert.deepEqual(x.sub(x, 2).toArraySync(), [[-1, -2, -3], [-4, -5, -6]]);
  assert.deepEqual(x.clone().add_(1, 2).toArraySync(), [[3, 4, 5], [6, 7, 8]]);
  assert.deepEqual(x.clone().sub_(tensor([1, 1, 1]), 3).toArraySync(), [[-2, -1, 0], [1, 2, 3]]);
  fails(() => x.add(1, bad("2")), ValueError, "add: alpha must be a finite number");
  fails(() => loose(x.sum.bind(x))("1"), ShapeError, "sum: dims must be a number or a list");
  fails(
    () => x.softmax(bad({ dim: 1 })),
    ShapeError,
    'softmax: dimension {"dim":1} is out of range',
  );
  // Functional forms with PyTorch's positional flags.
  const r = tensor([-1, 2]);
  F.relu(r, true);
  assert.deepEqual(r.toArraySync(), [0, 2]);
  const l = tensor([-1, 2]);
  F.leakyRelu(l, 0.5, true);
  assert.deepEqual(l.toArraySync(), [-0.5, 2]);
  const o = ones([64]);
  F.dropout(o, 0.5, true, true);
  assert.ok((o.toArraySync() as number[]).every((v) => v === 0 || v === 2));
  assert.ok((o.toArraySync() as number[]).includes(0));
  fails(() => F.dropout(x, bad({ p: 0.5 })), ValueError, "dropout: probability", "an object");
  fails(
    () => F.dropout(x, 0.5, true, bad({ seed: 1 })),
    ValueError,
    'dropout: unknown option "seed"',
  );
  fails(() => F.relu(x, bad(1)), ValueError, "relu: inplace must be a boolean");
  // dtype names: cast checks them; to() with a dtype casts as PyTorch's x.to(dtype).
  fails(() => loose(x.to.bind(x))(1), DeviceError, "to: expected a device name or a dtype");
  assert.equal(x.to("float16").dtype, "float16");
  assert.equal(x.to("int32").dtype, "int32");
});

Deno.test("bad args: layer and optimizer options are checked, PyTorch's positional forms accepted", async () => {
  const { nn, optim, manualSeed, Generator } = await import("../../mod.ts");
  fails(
    () => new nn.Linear(2, 3, bad({ bais: false })),
    ValueError,
    'Linear: unknown option "bais"',
  );
  assert.equal(new nn.Linear(2, 3, false).bias, null);
  assert.notEqual(new nn.Linear(2, 3, true).bias, null);
  fails(() => new nn.Linear(2, 3, bad({ bias: 0 })), ValueError, "Linear: bias must be a boolean");
  const lr = new nn.LeakyReLU(0.2, true);
  const z = tensor([-1, 1]);
  lr.forward(z);
  assert.deepEqual(z.toArraySync(), [-0.20000000298023224, 1]);
  const P = () => new nn.Linear(2, 2).parameters();
  fails(() => new optim.SGD(P(), bad(undefined)), ValueError, "SGD: lr is required");
  fails(
    () => new optim.SGD(P(), bad(0.1)),
    ValueError,
    "SGD: options must be an object like { lr: 0.1 }",
  );
  fails(
    () => new optim.SGD(P(), bad({ lr: 0.1, momentm: 0.9 })),
    ValueError,
    'SGD: unknown option "momentm"',
  );
  fails(
    () => new optim.SGD(P(), bad({ lr: 0.1, momentum: "0.9" })),
    ValueError,
    "momentum must be a number",
  );
  fails(
    () => new optim.Adam(P(), bad({ betas: [0.9] })),
    ValueError,
    "Adam: betas must be 2 numbers",
  );
  fails(
    () => new optim.AdamW(P(), bad({ weight_decay: 0.1 })),
    ValueError,
    'AdamW: unknown option "weight_decay"',
  );
  fails(
    () => new optim.RMSprop(P(), bad({ lr: 0.1, rho: 0.9 })),
    ValueError,
    'RMSprop: unknown option "rho"',
  );
  fails(
    () => new optim.Adam([{ params: P(), lrr: 1 } as never]),
    ValueError,
    'Adam: parameter group 0 has unknown option "lrr"',
  );
  const groups =
    new optim.Adam([{ params: P(), lr: 1 }, { params: P(), lr: undefined }]).paramGroups;
  assert.deepEqual(groups.map((g) => g.lr), [1, 1e-3]);
  // Seeds: non-integers are refused; seeds beyond 32 bits do not collide with small ones.
  fails(() => manualSeed(1.5), ValueError, "manualSeed: seed must be an integer, got 1.5");
  const first = (s: number) => new Generator(s).nextUint32();
  assert.notEqual(first(2 ** 32), first(0));
  assert.notEqual(first(-1), first(2 ** 32 - 1));
});

Deno.test("bad args: loss, layer and module options are never ignored", async () => {
  const { nn } = await import("../../mod.ts");
  const logits = zeros([2, 3]);
  const y = i32([0, 1]);
  fails(
    () => F.crossEntropy(logits, y, bad({ ignore_index: 1 })),
    ValueError,
    'crossEntropy: unknown option "ignore_index"',
  );
  fails(
    () => F.crossEntropy(logits, y, bad(ones([3]))),
    ValueError,
    "got a float32 tensor (pass { weight })",
  );
  fails(
    () => F.mseLoss(zeros([2]), zeros([2]), bad("sum")),
    ValueError,
    'pass { reduction: "sum" }',
  );
  fails(
    () => F.mseLoss(zeros([2]), zeros([2]), bad({ reduce: "sum" })),
    ValueError,
    'unknown option "reduce"',
  );
  fails(
    () => F.nllLoss(logits, y, bad({ ignoreIndex: 0.5 })),
    ValueError,
    "ignoreIndex must be a integer",
  );
  fails(
    () => new nn.CrossEntropyLoss(bad({ label_smoothing: 0.1 })),
    ValueError,
    "CrossEntropyLoss: unknown option",
  );
  fails(() => new nn.MSELoss(bad("sum")), ValueError, "MSELoss: options must be an object");
  // crossEntropy with every option still works (its nllLoss call passes only nllLoss's options).
  const ce = F.crossEntropy(logits, y, { labelSmoothing: 0.1, weight: ones([3]), ignoreIndex: 1 });
  assert.ok(Math.abs(ce.itemSync() - Math.log(3)) < 1e-6);
  // The functional layers' zod schemas are strict.
  fails(
    () => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3]), null, bad({ strid: 2 })),
    ValueError,
    'conv2d: invalid options for input [1, 1, 4, 4]: options: Unrecognized key: "strid"',
  );
  fails(() => F.avgPool2d(zeros([1, 1, 4, 4]), 2, bad({ strid: 1 })), ValueError, '"strid"');
  fails(
    () => F.batchNorm(zeros([2, 3]), zeros([3]), ones([3]), bad({ momentum: "x" })),
    ValueError,
    "batchNorm: momentum must be a probability",
  );
  fails(
    () => F.batchNorm(zeros([2, 3]), zeros([3]), ones([3]), bad({ epsilon: 1 })),
    ValueError,
    'unknown option "epsilon"',
  );
  // Modules: extra forward arguments, train's mode, loadStateDict's options.
  const m = new nn.Linear(2, 2);
  const x = zeros([3, 2]);
  fails(
    () => loose(m.forward.bind(m))(x, x),
    ValueError,
    "Linear.forward: takes at most 1 argument, got 2",
  );
  fails(() => m.train(bad("x")), ValueError, "Linear.train: mode must be a boolean");
  fails(
    () => m.loadStateDict(m.stateDict(), bad({ strcit: false })),
    ValueError,
    'loadStateDict: unknown option "strcit"',
  );
  fails(() => m.loadStateDict(bad(null)), ValueError, "loadStateDict: expected a state dict");
  class Twice extends nn.Linear {
    override forward(a: Tensor): Tensor {
      return super.forward(a).mul(2);
    }
  }
  const t = new Twice(2, 2);
  assert.deepEqual(t.forward(x).shape, [3, 2]);
  fails(
    () => loose(t.forward.bind(t))(x, 1),
    ValueError,
    "Twice.forward: takes at most 1 argument",
  );
  // int32 values that would wrap around.
  fails(
    () => tensor([3e9], { dtype: "int32" }),
    ValueError,
    "tensor: value 3000000000 cannot be converted to int32",
  );
  fails(() => full([2], -(2 ** 31) - 1, { dtype: "int32" }), ValueError, "full: value -2147483649");
  assert.deepEqual(tensor([2 ** 31 - 1, -(2 ** 31)], { dtype: "int32" }).toArraySync(), [
    2147483647,
    -2147483648,
  ]);
});

Deno.test("bad args: PyTorch's readings of mixed booleans and empty dim lists", () => {
  // Booleans mixed with numbers count as 0/1 (float32), not as a bool tensor of all-true.
  const m = tensor([true, 2]);
  assert.equal(m.dtype, "float32");
  assert.deepEqual(m.toArraySync(), [1, 2]);
  assert.equal(tensor([true, false]).dtype, "bool");
  // x.sum([]) reduces every dimension, as in PyTorch.
  const x = tensor([[1, 2], [3, 4]]);
  assert.equal(x.sum([]).itemSync(), 10);
  assert.equal(x.mean([]).itemSync(), 2.5);
  assert.deepEqual(x.sum([], true).shape, [1, 1]);
});

Deno.test("scalar: PyTorch's scalar_tensor defaults (float32, bool for a boolean, cpu); bad dtype or device named", () => {
  assert.deepEqual([scalar(2).dtype, scalar(2).device, scalar(2).itemSync()], [
    "float32",
    "cpu",
    2,
  ]);
  assert.equal(scalar(true).dtype, "bool");
  assert.equal(scalar(3, "int32").dtype, "int32");
  assertThrowsNamed(
    () => scalar(2, "float64" as "float32"),
    DTypeError,
    'scalar: unknown dtype "float64"',
  );
  assertThrowsNamed(
    () => scalar(2, undefined, 5 as unknown as string),
    ValueError,
    "scalar: device",
  );
});
