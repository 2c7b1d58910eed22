/**
 * An adversarial-user catalogue of bad calls: the first guesses a PyTorch user makes (PyTorch's
 * argument forms, snake_case option names, wrong dtypes and shapes, out-of-range dims and indices,
 * strings, null and arrays where numbers go, disposed tensors, mixed devices, autograd misuse, bad
 * layer, loss and optimizer options). Each case names the error class denn must raise and text of
 * its message, which names the op. Not a test file: tests/core/bad_calls_test.ts runs it on cpu and
 * tests/webgpu/bad_calls_webgpu_test.ts on webgpu, and both print {@linkcode summary}'s table.
 *
 * A case creates its tensors on the device it is given. When `run` returns a Tensor (or an array of
 * them) the runner reads it back, so errors that GPU backends record on the device (IndexError)
 * surface there. A case marked `known` describes a silent wrong answer still to fix: it is skipped
 * and listed in the summary.
 *
 * @module
 */

import {
  arange,
  autograd,
  AutogradError,
  cat,
  DeviceError,
  DisposedError,
  DTypeError,
  eye,
  F,
  fromData,
  full,
  gather,
  Generator,
  IndexError,
  init,
  linspace,
  manualSeed,
  matmul,
  mm,
  nn,
  noGrad,
  ones,
  onesLike,
  optim,
  OutOfMemoryError,
  pad,
  rand,
  randint,
  randn,
  randperm,
  scatterAdd,
  scope,
  ShapeError,
  stack,
  Tensor,
  tensor,
  ValueError,
  where,
  zeros,
  zerosLike,
} from "../mod.ts";

/** An error class exported from mod.ts. */
export type ErrorClass = new (...args: never[]) => Error;

/** One bad call and the error it must raise. */
export interface BadCall {
  /** The catalogue group (creation, elementwise, ...). */
  group: string;
  /** What the call gets wrong. */
  name: string;
  /** Makes the call with its tensors on `device`; a returned Tensor (or Tensor[]) is read back. */
  run: (device: string) => unknown | Promise<unknown>;
  /** The class the error must be (exactly, not a subclass). */
  error: ErrorClass;
  /** Text the message must contain (naming the op), or a pattern it must match. */
  message: string | RegExp;
  /** The devices the case applies to (default: every device). */
  devices?: string[];
  /** A silent wrong answer not yet fixed: the case is skipped and this description printed. */
  known?: string;
}

// ------------------------------------------------------------------ helpers

/** Calls `o[m](...a)` with arguments the types would refuse. */
function call(o: object, m: string, ...a: unknown[]): unknown {
  return (o as Record<string, (...b: unknown[]) => unknown>)[m](...a);
}
/** Calls `f(...a)` with arguments the types would refuse. */
function loose(f: unknown, ...a: unknown[]): unknown {
  return (f as (...b: unknown[]) => unknown)(...a);
}
/** `new C(...a)` with arguments the types would refuse. */
function make(C: unknown, ...a: unknown[]): unknown {
  return new (C as new (...b: unknown[]) => unknown)(...a);
}
const bad = (v: unknown): never => v as never;

const f32 = (d: string, v: unknown): Tensor => tensor(v as number[], { device: d });
const i32 = (d: string, v: unknown): Tensor => tensor(v as number[], { dtype: "int32", device: d });
const m23 = (d: string): Tensor => tensor([[1, 2, 3], [4, 5, 6]], { device: d });
const leaf = (d: string, v: number[] = [1, 2, 3]): Tensor =>
  tensor(v, { device: d, requiresGrad: true });
const img = (d: string, shape = [1, 1, 4, 4]): Tensor => ones(shape, { device: d });
const params = (d: string): Tensor[] => new nn.Linear(2, 2, { device: d }).parameters();
const disposed = (d: string): Tensor => {
  const t = tensor([1, 2, 3], { device: d });
  t.dispose();
  return t;
};
const sgd = (d: string): optim.SGD => new optim.SGD(params(d), { lr: 0.1 });

// ------------------------------------------------------------------ the catalogue

const creation: Omit<BadCall, "group">[] = [
  {
    name: "zeros with a fractional size",
    run: (d) => zeros([2.5], { device: d }),
    error: ShapeError,
    message: "zeros: invalid shape [2.5]; sizes must be non-negative integers",
  },
  {
    name: "zeros with PyTorch's varargs shape",
    run: (d) => loose(zeros, 2, 3, { device: d }),
    error: ShapeError,
    message:
      "zeros: shape must be an array of sizes like [2, 3], got 2 (denn takes the shape as one array: zeros([2, ...]))",
  },
  {
    name: "ones with a negative size",
    run: (d) => ones([-1], { device: d }),
    error: ShapeError,
    message: "ones: invalid shape [-1]; sizes must be non-negative integers",
  },
  {
    name: "full with a NaN size",
    run: (d) => full([NaN], 1, { device: d }),
    error: ShapeError,
    message: "full: invalid shape [NaN]; sizes must be non-negative integers",
  },
  {
    name: "full with a string fill value",
    run: (d) => loose(full, [2], "1", { device: d }),
    error: ValueError,
    message: 'full: fill value must be a number or boolean, got "1"',
  },
  {
    name: "full with a null fill value",
    run: (d) => loose(full, [2], null, { device: d }),
    error: ValueError,
    message: "full: fill value must be a number or boolean, got null",
  },
  {
    name: "zeros with a string size",
    run: (d) => loose(zeros, ["2"], { device: d }),
    error: ShapeError,
    message: 'zeros: invalid shape ["2"]; sizes must be non-negative integers',
  },
  {
    name: "zeros with a null shape",
    run: (d) => loose(zeros, null, { device: d }),
    error: ShapeError,
    message: "zeros: shape must be an array of sizes like [2, 3], got null",
  },
  {
    name: "zeros with dtype float64",
    run: (d) => loose(zeros, [2], { dtype: "float64", device: d }),
    error: DTypeError,
    message:
      'zeros: unknown dtype "float64"; denn has float32, float16, int32, bool (use "float32")',
  },
  {
    name: "tensor with dtype int64",
    run: (d) => loose(tensor, [1, 2], { dtype: "int64", device: d }),
    error: DTypeError,
    message: 'tensor: unknown dtype "int64"; denn has float32, float16, int32, bool (use "int32")',
  },
  {
    name: "ones with dtype 'float' (PyTorch alias)",
    run: (d) => loose(ones, [2], { dtype: "float", device: d }),
    error: DTypeError,
    message: 'ones: unknown dtype "float"; denn has float32, float16, int32, bool',
  },
  {
    name: "zeros with a typed-array constructor as dtype",
    run: (d) => loose(zeros, [2], { dtype: Float32Array, device: d }),
    error: DTypeError,
    message:
      "zeros: unknown dtype function Float32Array() { [native code] }; denn has float32, float16, int32, bool",
  },
  {
    name: "tensor with a string element",
    run: (d) => loose(tensor, [1, "2"], { device: d }),
    error: ValueError,
    message: 'tensor: element 1 is "2"; elements must be numbers or booleans',
  },
  {
    name: "tensor with an undefined element",
    run: (d) => loose(tensor, [1, undefined], { device: d }),
    error: ValueError,
    message: "tensor: element 1 is undefined; elements must be numbers or booleans",
  },
  {
    name: "tensor with a null element",
    run: (d) => loose(tensor, [1, null], { device: d }),
    error: ValueError,
    message: "tensor: element 1 is null; elements must be numbers or booleans",
  },
  {
    name: "tensor with ragged rows",
    run: (d) => loose(tensor, [[1, 2], [3]], { device: d }),
    error: ShapeError,
    message: "tensor: ragged nested array at depth 1 (expected length 2 for shape [2, 2])",
  },
  {
    name: "tensor from a string",
    run: (d) => loose(tensor, "abc", { device: d }),
    error: ValueError,
    message: 'tensor: data must be a number, boolean, nested array or typed array, got "abc"',
  },
  {
    name: "tensor from a plain object",
    run: (d) => loose(tensor, { a: 1 }, { device: d }),
    error: ValueError,
    message: "tensor: data must be a number, boolean, nested array or typed array, got Object",
  },
  {
    name: "tensor from undefined",
    run: (d) => loose(tensor, undefined, { device: d }),
    error: ValueError,
    message: "tensor: data must be a number, boolean, nested array or typed array, got undefined",
  },
  {
    name: "tensor from a Float64Array",
    run: (d) => loose(tensor, new Float64Array(2), { device: d }),
    error: DTypeError,
    message:
      "tensor: a Float64Array is not a dtype denn has (Float32Array, Float16Array, Int32Array, Uint8Array); convert",
  },
  {
    name: "tensor with a shape option",
    run: (d) => loose(tensor, [[1, 2]], { shape: [2], device: d }),
    error: ValueError,
    message: "tensor: the shape option is for typed-array data; nested arrays carry their shape",
  },
  {
    name: "tensor int32 value that wraps",
    run: (d) => tensor([3e9], { dtype: "int32", device: d }),
    error: ValueError,
    message: "tensor: value 3000000000 cannot be converted to int32 without overflow",
  },
  {
    name: "tensor int32 with NaN",
    run: (d) => tensor([1, NaN], { dtype: "int32", device: d }),
    error: ValueError,
    message: "tensor: value NaN cannot be converted to int32 without overflow",
  },
  {
    name: "full int32 value that wraps",
    run: (d) => full([2], -(2 ** 31) - 1, { dtype: "int32", device: d }),
    error: ValueError,
    message: "full: value -2147483649 cannot be converted to int32 without overflow",
  },
  {
    name: "zeros with a misspelt dtype key",
    run: (d) => loose(zeros, [2], { dtpye: "int32", device: d }),
    error: ValueError,
    message: 'zeros: unknown option "dtpye" (expected dtype, device, requiresGrad)',
  },
  {
    name: "zeros with requires_grad (snake case)",
    run: (d) => loose(zeros, [2], { requires_grad: true, device: d }),
    error: ValueError,
    message: 'zeros: unknown option "requires_grad" (expected dtype, device, requiresGrad)',
  },
  {
    name: "ones with requiresGrad 'yes'",
    run: (d) => loose(ones, [2], { requiresGrad: "yes", device: d }),
    error: ValueError,
    message: 'ones: requiresGrad must be a boolean, got "yes"',
  },
  {
    name: "tensor int32 with requiresGrad",
    run: (d) => tensor([1, 2], { dtype: "int32", requiresGrad: true, device: d }),
    error: DTypeError,
    message: "requiresGrad_: only floating-point tensors can require grad, got int32",
  },
  {
    name: "zeros with a numeric device",
    run: () => loose(zeros, [2], { device: 0 }),
    error: ValueError,
    message: 'zeros: device must be a backend name like "cpu", got 0',
  },
  {
    name: "zeros on device cuda",
    run: () => zeros([2], { device: "cuda" }),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "tensor on device cuda:0",
    run: () => tensor([1], { device: "cuda:0" }),
    error: DeviceError,
    message: 'device "cuda:0" is not available',
  },
  {
    name: "zeros with positional dtype (PyTorch form)",
    run: () => loose(zeros, [2], "int32"),
    error: ValueError,
    message: 'zeros: options must be an object like { dtype: ... }, got "int32"',
  },
  {
    name: "eye with a negative size",
    run: (d) => eye(-1, -1, { device: d }),
    error: ValueError,
    message: "eye: n must be a non-negative integer, got -1",
  },
  {
    name: "eye with a fractional m",
    run: (d) => eye(2, 1.5, { device: d }),
    error: ValueError,
    message: "eye: m must be a non-negative integer, got 1.5",
  },
  {
    name: "eye with a string n",
    run: (d) => loose(eye, "3", 3, { device: d }),
    error: ValueError,
    message: 'eye: n must be a non-negative integer, got "3"',
  },
  {
    name: "arange to Infinity",
    run: (d) => arange(0, Infinity, 1, { device: d }),
    error: ValueError,
    message: "arange: end must be a finite number, got Infinity",
  },
  {
    name: "arange with step 0",
    run: (d) => arange(0, 5, 0, { device: d }),
    error: ShapeError,
    message: "arange: step must be non-zero",
  },
  {
    name: "arange with a step of the wrong sign",
    run: (d) => arange(0, 5, -1, { device: d }),
    error: ValueError,
    message: "arange",
  },
  {
    name: "arange with a string end",
    run: (d) => loose(arange, 0, "5", 1, { device: d }),
    error: ValueError,
    message: 'arange: end must be a finite number, got "5"',
  },
  {
    name: "arange with options before the step",
    run: (d) => loose(arange, 0, { device: d }, 1),
    error: ValueError,
    message: "arange: the options object must be the last argument",
  },
  {
    name: "linspace with fractional steps",
    run: (d) => linspace(0, 1, 2.5, { device: d }),
    error: ValueError,
    message: "linspace: steps must be a non-negative integer, got 2.5",
  },
  {
    name: "linspace with negative steps",
    run: (d) => linspace(0, 1, -1, { device: d }),
    error: ValueError,
    message: "linspace: steps must be a non-negative integer, got -1",
  },
  {
    name: "linspace to NaN",
    run: (d) => linspace(0, NaN, 3, { device: d }),
    error: ValueError,
    message: "linspace: end must be a finite number, got NaN",
  },
  {
    name: "rand with dtype int32",
    run: (d) => rand([2], { dtype: "int32", device: d }),
    error: DTypeError,
    message: "rand: dtype must be floating-point (float32 or float16), got int32",
  },
  {
    name: "randn with a seed option",
    run: (d) => loose(randn, [2], { seed: 1, device: d }),
    error: ValueError,
    message: 'randn: unknown option "seed" (expected dtype, device, requiresGrad, generator)',
  },
  {
    name: "randn with PyTorch's varargs shape",
    run: () => loose(randn, 2, 3),
    error: ShapeError,
    message:
      "randn: shape must be an array of sizes like [2, 3], got 2 (denn takes the shape as one array: randn([2, ...]))",
  },
  {
    name: "randn with a numeric generator",
    run: (d) => loose(randn, [2], { generator: 5, device: d }),
    error: ValueError,
    message: "randn: generator must be a Generator (new Generator(seed)), got 5",
  },
  {
    name: "randint with low > high",
    run: (d) => randint(5, 2, [3], { device: d }),
    error: ValueError,
    message: "randint: expected low < high <= 2^31 (samples from [low, high)), got low 5, high 2",
  },
  {
    name: "randint with a fractional low",
    run: (d) => randint(0.5, 2, [3], { device: d }),
    error: ValueError,
    message: "randint: low must be an integer >= -2147483648, got 0.5",
  },
  {
    name: "randint with dtype float32",
    run: (d) => randint(0, 3, [2], { dtype: "float32", device: d }),
    error: DTypeError,
    message: "randint: dtype must be int32, got float32",
  },
  {
    name: "randint with PyTorch's (high, size) form",
    run: (d) => loose(randint, 10, [3], { device: d }),
    error: ShapeError,
    message: "randint: shape must be an array of sizes like [2, 3], got Object",
  },
  {
    name: "randperm with a negative n",
    run: (d) => randperm(-2, { device: d }),
    error: ValueError,
    message: "randperm: n must be a non-negative integer, got -2",
  },
  {
    name: "randperm with a fractional n",
    run: (d) => randperm(2.5, { device: d }),
    error: ValueError,
    message: "randperm: n must be a non-negative integer, got 2.5",
  },
  {
    name: "fromData with too few elements",
    run: (d) => fromData(new Float32Array(3), [2, 2], { device: d }),
    error: ShapeError,
    message: "fromData: 3 elements do not fill shape [2, 2]",
  },
  {
    name: "fromData with a plain array",
    run: (d) => loose(fromData, [1, 2], [2], { device: d }),
    error: ValueError,
    message: "fromData: data must be a typed array, got [1, 2]",
  },
  {
    name: "zeros too large to allocate",
    run: (d) => zeros([1e6, 1e6], { device: d }),
    error: OutOfMemoryError,
    message:
      "zeros: cannot allocate a [1000000, 1000000] float32 tensor (1000000000000 elements, 4000000000000 bytes): out",
  },
  {
    name: "zerosLike of an array",
    run: (d) => loose(zerosLike, [1, 2], { device: d }),
    error: ValueError,
    message: "zerosLike: expected a Tensor to take the shape of, got [1, 2]",
  },
  {
    name: "onesLike with an unknown dtype",
    run: (d) => loose(onesLike, m23(d), { dtype: "double" }),
    error: DTypeError,
    message:
      'onesLike: unknown dtype "double"; denn has float32, float16, int32, bool (use "float32")',
  },
  {
    name: "fromData with a typed array of another dtype",
    run: (d) => fromData(new Int32Array(4), [2, 2], { dtype: "float32", device: d }),
    error: DTypeError,
    message: "fromData: a Int32Array cannot hold dtype float32",
  },
  {
    name: "zeros on an empty device name",
    run: () => zeros([2], { device: "" }),
    error: DeviceError,
    message: 'device "" is not available',
  },
  {
    name: "tensor int32 with Infinity",
    run: (d) => tensor([Infinity], { dtype: "int32", device: d }),
    error: ValueError,
    message: "tensor: value Infinity cannot be converted to int32 without overflow",
  },
  {
    name: "full int32 with NaN",
    run: (d) => full([1], NaN, { dtype: "int32", device: d }),
    error: ValueError,
    message: "full: value NaN cannot be converted to int32 without overflow",
  },
  {
    name: "randperm with a string n",
    run: (d) => loose(randperm, "3", { device: d }),
    error: ValueError,
    message: 'randperm: n must be a non-negative integer, got "3"',
  },
  {
    name: "manualSeed with a string",
    run: () => loose(manualSeed, "1"),
    error: ValueError,
    message: "manualSeed: seed must be an integer, got 1",
  },
  {
    name: "Generator with a fractional seed",
    run: () => new Generator(1.5),
    error: ValueError,
    message: "manualSeed: seed must be an integer, got 1.5",
  },
];

const elementwise: Omit<BadCall, "group">[] = [
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

const reductions: Omit<BadCall, "group">[] = [
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

const views: Omit<BadCall, "group">[] = [
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

const movement: Omit<BadCall, "group">[] = [
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

const linalg: Omit<BadCall, "group">[] = [
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

const functional: Omit<BadCall, "group">[] = [
  {
    name: "conv2d of a 3-D input",
    run: (d) => F.conv2d(ones([2, 3, 3], { device: d }), ones([1, 3, 1, 1], { device: d })),
    error: ShapeError,
    message: "conv2d: expected a 4-D input [N, C, H, W], got [2, 3, 3]",
  },
  {
    name: "conv2d with a channel mismatch",
    run: (d) => F.conv2d(ones([1, 2, 3, 3], { device: d }), ones([1, 3, 1, 1], { device: d })),
    error: ShapeError,
    message:
      "conv2d: weight [1, 3, 1, 1] expects 3 input channels (groups=1), but input [1, 2, 3, 3] has 2",
  },
  {
    name: "conv2d of an int32 input",
    run: (d) =>
      F.conv2d(
        zeros([1, 1, 3, 3], { dtype: "int32", device: d }),
        ones([1, 1, 1, 1], { device: d }),
      ),
    error: DTypeError,
    message:
      "conv2d: expected floating-point input, weight and bias of one dtype, got int32, float32",
  },
  {
    name: "conv2d with negative padding",
    run: (d) => F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { padding: -1 }),
    error: ValueError,
    message:
      "conv2d: invalid options for input [1, 1, 4, 4]: padding: Too small: expected number to be >=0",
  },
  {
    name: "conv2d with stride 0",
    run: (d) => F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { stride: 0 }),
    error: ValueError,
    message:
      "conv2d: invalid options for input [1, 1, 4, 4]: stride: Too small: expected number to be >0",
  },
  {
    name: "conv2d with padding 'same' and stride 2",
    run: (d) =>
      F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { stride: 2, padding: "same" }),
    error: ValueError,
    message: 'conv2d: padding "same" requires stride 1, got [2,2]',
  },
  {
    name: "conv2d with padding 'full'",
    run: (d) => F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { padding: bad("full") }),
    error: ValueError,
    message: "conv2d: invalid options for input [1, 1, 4, 4]: padding: Invalid input",
  },
  {
    name: "conv2d with a 3-element stride",
    run: (d) =>
      F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { stride: bad([1, 1, 1]) }),
    error: ValueError,
    message: "conv2d: invalid options for input [1, 1, 4, 4]: stride: Invalid input",
  },
  {
    name: "conv2d with a misspelt option",
    run: (d) => F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, bad({ strid: 2 })),
    error: ValueError,
    message: 'conv2d: invalid options for input [1, 1, 4, 4]: options: Unrecognized key: "strid"',
  },
  {
    name: "conv2d with a kernel larger than the input",
    run: (d) => F.conv2d(ones([1, 1, 3, 3], { device: d }), ones([1, 1, 5, 5], { device: d })),
    error: ShapeError,
    message:
      "conv2d: kernel 5x5 (dilated 5x5) is larger than the padded input 3x3 (input [1, 1, 3, 3], padding [0, 0])",
  },
  {
    name: "conv2d with a dilated kernel larger than the input",
    run: (d) => F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { dilation: 3 }),
    error: ShapeError,
    message:
      "conv2d: kernel 3x3 (dilated 7x7) is larger than the padded input 4x4 (input [1, 1, 4, 4], padding [0, 0])",
  },
  {
    name: "conv2d with groups that do not divide the channels",
    run: (d) =>
      F.conv2d(ones([1, 4, 3, 3], { device: d }), ones([2, 2, 1, 1], { device: d }), null, {
        groups: 3,
      }),
    error: ShapeError,
    message: "conv2d: groups=3 must divide input channels 4 and output channels 2",
  },
  {
    name: "conv2d with a bias of the wrong size",
    run: (d) => F.conv2d(img(d), ones([2, 1, 3, 3], { device: d }), ones([3], { device: d })),
    error: ShapeError,
    message: "conv2d: bias [3] must have shape [2]",
  },
  {
    name: "conv2d with a zero-size kernel",
    run: (d) => F.conv2d(img(d), zeros([1, 1, 0, 0], { device: d })),
    error: ShapeError,
    message:
      "conv2d: weight [1, 1, 0, 0] has a zero-size dimension; expected [O, C/groups, KH, KW] all at least 1",
  },
  {
    name: "conv2d with PyTorch's positional stride",
    run: (d) => loose(F.conv2d, img(d), ones([1, 1, 3, 3], { device: d }), null, 2),
    error: ValueError,
    message:
      "conv2d: invalid options for input [1, 1, 4, 4]: options: Invalid input: expected object, received number",
  },
  {
    name: "conv2d with groups 0",
    run: (d) => F.conv2d(img(d), ones([1, 1, 3, 3], { device: d }), null, { groups: 0 }),
    error: ValueError,
    message:
      "conv2d: invalid options for input [1, 1, 4, 4]: groups: Too small: expected number to be >0",
  },
  {
    name: "maxPool2d with a kernel larger than the input",
    run: (d) => F.maxPool2d(ones([1, 1, 3, 3], { device: d }), 5),
    error: ShapeError,
    message:
      "maxPool2d: kernel 5x5 is larger than the padded input 3x3 (input [1, 1, 3, 3]); output would be 0x0",
  },
  {
    name: "maxPool2d with padding over half the kernel",
    run: (d) => F.maxPool2d(img(d), 2, { padding: 2 }),
    error: ValueError,
    message:
      "maxPool2d: padding 2 must be at most half the kernel size 2 (dimension H, input [1, 1, 4, 4])",
  },
  {
    name: "maxPool2d with kernel 0",
    run: (d) => F.maxPool2d(img(d), 0),
    error: ValueError,
    message:
      "maxPool2d: invalid options for input [1, 1, 4, 4]: kernelSize: Too small: expected number to be >0",
  },
  {
    name: "maxPool2d with a fractional kernel",
    run: (d) => F.maxPool2d(img(d), 2.5),
    error: ValueError,
    message: "maxPool2d: invalid options for input [1, 1, 4, 4]: kernelSize: Invalid input",
  },
  {
    name: "maxPool2d with stride 0",
    run: (d) => F.maxPool2d(img(d), 2, { stride: 0 }),
    error: ValueError,
    message:
      "maxPool2d: invalid options for input [1, 1, 4, 4]: stride: Too small: expected number to be >0",
  },
  {
    name: "maxPool2d with ceil_mode (snake case)",
    run: (d) => F.maxPool2d(img(d), 2, bad({ ceil_mode: true })),
    error: ValueError,
    message:
      'maxPool2d: invalid options for input [1, 1, 4, 4]: options: Unrecognized key: "ceil_mode"',
  },
  {
    name: "maxPool2d of a 2-D input",
    run: (d) => F.maxPool2d(ones([4, 4], { device: d }), 2),
    error: ShapeError,
    message: "maxPool2d: expected a 4-D input [N, C, H, W], got [4, 4]",
  },
  {
    name: "maxPool2d with dilation 0",
    run: (d) => F.maxPool2d(img(d), 2, { dilation: 0 }),
    error: ValueError,
    message:
      "maxPool2d: invalid options for input [1, 1, 4, 4]: dilation: Too small: expected number to be >0",
  },
  {
    name: "avgPool2d with negative padding",
    run: (d) => F.avgPool2d(img(d), 2, { padding: -1 }),
    error: ValueError,
    message:
      "avgPool2d: invalid options for input [1, 1, 4, 4]: padding: Too small: expected number to be >=0",
  },
  {
    name: "avgPool2d with a misspelt option",
    run: (d) => F.avgPool2d(img(d), 2, bad({ strid: 1 })),
    error: ValueError,
    message:
      'avgPool2d: invalid options for input [1, 1, 4, 4]: options: Unrecognized key: "strid"',
  },
  {
    name: "avgPool2d with divisorOverride 0",
    run: (d) => F.avgPool2d(img(d), 2, { divisorOverride: 0 }),
    error: ValueError,
    message:
      "avgPool2d: invalid options for input [1, 1, 4, 4]: divisorOverride: Too small: expected number to be >0",
  },
  {
    name: "adaptiveAvgPool2d to size 0",
    run: (d) => F.adaptiveAvgPool2d(img(d), 0),
    error: ValueError,
    message:
      "adaptiveAvgPool2d: invalid options for input [1, 1, 4, 4]: 0: Too small: expected number to be >0; 1: Too",
  },
  {
    name: "adaptiveAvgPool2d to a negative size",
    run: (d) => F.adaptiveAvgPool2d(img(d), -1),
    error: ValueError,
    message:
      "adaptiveAvgPool2d: invalid options for input [1, 1, 4, 4]: 0: Too small: expected number to be >0; 1: Too",
  },
  {
    name: "adaptiveAvgPool2d to a 3-element size",
    run: (d) => F.adaptiveAvgPool2d(img(d), bad([1, 1, 1])),
    error: ValueError,
    message:
      "adaptiveAvgPool2d: outputSize must be a positive integer or a pair of positive integers or nulls, got [1, 1, 1]",
  },
  {
    name: "batchNorm with runningMean of the wrong shape",
    run: (d) =>
      F.batchNorm(ones([2, 3], { device: d }), zeros([2], { device: d }), ones([3], { device: d })),
    error: ShapeError,
    message: "batchNorm: runningMean [2] must have shape [3] for input [2, 3]",
  },
  {
    name: "batchNorm with a string momentum",
    run: (d) =>
      F.batchNorm(
        ones([2, 3], { device: d }),
        zeros([3], { device: d }),
        ones([3], { device: d }),
        bad({ momentum: "x" }),
      ),
    error: ValueError,
    message: 'batchNorm: momentum must be a probability between 0 and 1, got "x"',
  },
  {
    name: "batchNorm with epsilon (misspelt eps)",
    run: (d) =>
      F.batchNorm(
        ones([2, 3], { device: d }),
        zeros([3], { device: d }),
        ones([3], { device: d }),
        bad({ epsilon: 1 }),
      ),
    error: ValueError,
    message:
      'batchNorm: unknown option "epsilon" (expected one of weight, bias, training, momentum, eps, numBatchesTracked)',
  },
  {
    name: "batchNorm training with one value per channel",
    run: (d) =>
      F.batchNorm(
        ones([1, 3], { device: d }),
        zeros([3], { device: d }),
        ones([3], { device: d }),
        { training: true },
      ),
    error: ValueError,
    message: "batchNorm: expected more than 1 value per channel when training, got input [1, 3]",
  },
  {
    name: "batchNorm of a 1-D input",
    run: (d) =>
      F.batchNorm(ones([3], { device: d }), zeros([3], { device: d }), ones([3], { device: d })),
    error: ShapeError,
    message: "batchNorm: expected input with at least 2 dims [N, C, ...], got [3]",
  },
  {
    name: "batchNorm with a weight of the wrong shape",
    run: (d) =>
      F.batchNorm(
        ones([2, 3], { device: d }),
        zeros([3], { device: d }),
        ones([3], { device: d }),
        { weight: ones([2], { device: d }) },
      ),
    error: ShapeError,
    message: "batchNorm: weight [2] must have shape [3] for input [2, 3]",
  },
  {
    name: "batchNorm with training 'yes'",
    run: (d) =>
      F.batchNorm(
        ones([2, 3], { device: d }),
        zeros([3], { device: d }),
        ones([3], { device: d }),
        { training: bad("yes") },
      ),
    error: ValueError,
    message: 'batchNorm: training must be a boolean, got "yes"',
  },
  {
    name: "dropout with p 1.5",
    run: (d) => F.dropout(m23(d), 1.5),
    error: ValueError,
    message: "dropout: probability has to be between 0 and 1, but got 1.5",
  },
  {
    name: "dropout with p -0.1",
    run: (d) => F.dropout(m23(d), -0.1),
    error: ValueError,
    message: "dropout: probability has to be between 0 and 1, but got -0.1",
  },
  {
    name: "dropout with options as p",
    run: (d) => F.dropout(m23(d), bad({ p: 0.5 })),
    error: ValueError,
    message:
      "dropout: probability has to be between 0 and 1, but got an object (the form is dropout(x, p, training))",
  },
  {
    name: "dropout with training 'yes'",
    run: (d) => F.dropout(m23(d), 0.5, bad("yes")),
    error: ValueError,
    message: 'dropout: training must be a boolean, got "yes"',
  },
  {
    name: "dropout with a seed option",
    run: (d) => F.dropout(m23(d), 0.5, true, bad({ seed: 1 })),
    error: ValueError,
    message: 'dropout: unknown option "seed" (expected one of generator, inplace)',
  },
  {
    name: "dropout with p NaN",
    run: (d) => F.dropout(m23(d), NaN),
    error: ValueError,
    message: "dropout: probability has to be between 0 and 1, but got NaN",
  },
  {
    name: "dropout with inplace 'yes'",
    run: (d) => F.dropout(m23(d), 0.5, true, { inplace: bad("yes") }),
    error: ValueError,
    message: 'dropout: inplace must be a boolean, got "yes"',
  },
  {
    name: "F.softmax with no dim",
    run: (d) => loose(F.softmax, m23(d)),
    error: ShapeError,
    message:
      "softmax: dimension undefined is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "logSoftmax over dim 5",
    run: (d) => F.logSoftmax(m23(d), 5),
    error: ShapeError,
    message:
      "logSoftmax: dimension 5 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "leakyRelu with a string slope",
    run: (d) => F.leakyRelu(m23(d), bad("0.1")),
    error: ValueError,
    message: 'leakyRelu: negativeSlope must be a finite number, got "0.1"',
  },
  {
    name: "relu with inplace 1",
    run: (d) => F.relu(m23(d), bad(1)),
    error: ValueError,
    message: "relu: inplace must be a boolean, got 1",
  },
  {
    name: "gelu with approximate 'fast'",
    run: (d) => F.gelu(m23(d), bad("fast")),
    error: ValueError,
    message: 'gelu: approximate must be one of "none", "tanh", got "fast"',
  },
  {
    name: "sigmoid with an extra argument",
    run: (d) => loose(F.sigmoid, m23(d), 1),
    error: ValueError,
    message: "sigmoid: takes at most 1 argument, got 2 (Tensor, 1)",
  },
  {
    name: "localResponseNorm with size 0",
    run: (d) => F.localResponseNorm(img(d), 0),
    error: ValueError,
    message: "localResponseNorm: size must be a positive integer, got 0",
  },
  {
    name: "localResponseNorm of a 2-D input",
    run: (d) => F.localResponseNorm(ones([2, 3], { device: d }), 2),
    error: ShapeError,
    message: "localResponseNorm: expected at least 3-D input [N, C, ...], got [2, 3]",
  },
  {
    name: "oneHot of float indices",
    run: (d) => F.oneHot(f32(d, [0, 1]), 3),
    error: ValueError,
    message: "oneHot: expected int32 class indices, got float32",
  },
  {
    name: "oneHot with numClasses 0",
    run: (d) => F.oneHot(i32(d, [1]), 0),
    error: ValueError,
    message: "oneHot: numClasses must be a positive integer, got 0",
  },
  {
    name: "oneHot with fractional numClasses",
    run: (d) => F.oneHot(i32(d, [1]), 2.5),
    error: ValueError,
    message: "oneHot: numClasses must be a positive integer, got 2.5",
  },
  {
    name: "oneHot with no numClasses",
    run: (d) => loose(F.oneHot, i32(d, [1])),
    error: ValueError,
    message: "oneHot: numClasses must be a positive integer, got undefined",
  },
  {
    name: "relu with no input",
    run: () => loose(F.relu),
    error: ValueError,
    message: "relu: expected a Tensor as input, got undefined",
  },
];

const losses: Omit<BadCall, "group">[] = [
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

const layers: Omit<BadCall, "group">[] = [
  {
    name: "Linear with 0 input features",
    run: (d) => new nn.Linear(0, 3, { device: d }),
    error: ValueError,
    message: "Linear: inFeatures must be a positive integer, got 0",
  },
  {
    name: "Linear with fractional features",
    run: (d) => new nn.Linear(2.5, 3, { device: d }),
    error: ValueError,
    message: "Linear: inFeatures must be a positive integer, got 2.5",
  },
  {
    name: "Linear with string features",
    run: (d) => make(nn.Linear, "2", 3, { device: d }),
    error: ValueError,
    message: "Linear: inFeatures must be a positive integer, got 2",
  },
  {
    name: "Linear with negative out features",
    run: (d) => new nn.Linear(2, -3, { device: d }),
    error: ValueError,
    message: "Linear: outFeatures must be a positive integer, got -3",
  },
  {
    name: "Linear with a misspelt bias option",
    run: (d) => new nn.Linear(2, 3, bad({ bais: false, device: d })),
    error: ValueError,
    message: 'Linear: unknown option "bais" (expected one of bias, init, device)',
  },
  {
    name: "Linear with bias 0",
    run: (d) => new nn.Linear(2, 3, bad({ bias: 0, device: d })),
    error: ValueError,
    message: "Linear: bias must be a boolean, got 0",
  },
  {
    name: "Linear with an unknown init scheme",
    run: (d) => new nn.Linear(2, 3, { init: bad("xavier"), device: d }),
    error: ValueError,
    message: 'init: unknown scheme "xavier"',
  },
  {
    name: "Linear with a string as options",
    run: () => new nn.Linear(2, 3, bad("x")),
    error: ValueError,
    message: 'Linear: options must be an object, got "x"',
  },
  {
    name: "Linear on device cuda",
    run: () => new nn.Linear(2, 3, { device: "cuda" }),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "Linear forward with the wrong features",
    run: (d) => new nn.Linear(2, 3, { device: d }).forward(m23(d)),
    error: ShapeError,
    message: "linear: input [2, 3] has 3 features in its last dimension, weight [3, 2] expects 2",
  },
  {
    name: "Linear forward with 2 arguments",
    run: (d) => call(new nn.Linear(3, 2, { device: d }), "forward", m23(d), m23(d)),
    error: ValueError,
    message: "Linear.forward: takes at most 1 argument, got 2 (Tensor, Tensor)",
  },
  {
    name: "Linear forward of a plain array",
    run: (d) => new nn.Linear(3, 2, { device: d }).forward(bad([[1, 2, 3]])),
    error: ValueError,
    message: "Linear.forward: expected a Tensor as input, got [[1, 2, 3]]",
  },
  {
    name: "Conv2d with 0 output channels",
    run: (d) => new nn.Conv2d(3, 0, 3, { device: d }),
    error: ValueError,
    message: "Conv2d: outChannels must be a positive integer, got 0",
  },
  {
    name: "Conv2d with kernel 0",
    run: (d) => new nn.Conv2d(3, 8, 0, { device: d }),
    error: ValueError,
    message: "Conv2d: kernelSize must be a positive integer or a pair of them, got 0",
  },
  {
    name: "Conv2d with strides (misspelt)",
    run: (d) => new nn.Conv2d(3, 8, 3, bad({ strides: 2, device: d })),
    error: ValueError,
    message:
      'Conv2d: unknown option "strides" (expected one of stride, padding, dilation, groups, bias, paddingMode, init',
  },
  {
    name: "Conv2d with padding 'full'",
    run: (d) => new nn.Conv2d(3, 8, 3, { padding: bad("full"), device: d }),
    error: ValueError,
    message: 'Conv2d: padding must be an int, a pair, "same" or "valid", got "full"',
  },
  {
    name: "Conv2d with groups that do not divide outChannels",
    run: (d) => new nn.Conv2d(4, 6, 3, { groups: 4, device: d }),
    error: ValueError,
    message: "Conv2d: groups must divide outChannels (6), got 4",
  },
  {
    name: "Conv2d with paddingMode 'reflect'",
    run: (d) => new nn.Conv2d(1, 1, 3, { paddingMode: bad("reflect"), device: d }),
    error: ValueError,
    message:
      'Conv2d: paddingMode supports only "zeros" (reflect, replicate and circular padding are not implemented), got',
  },
  {
    name: "Conv2d forward with a channel mismatch",
    run: (d) => new nn.Conv2d(3, 2, 1, { device: d }).forward(img(d)),
    error: ShapeError,
    message: "Conv2d: expected input [N, 3, H, W], got [1, 1, 4, 4]",
  },
  {
    name: "Conv2d forward of a 2-D input",
    run: (d) => new nn.Conv2d(1, 2, 1, { device: d }).forward(ones([4, 4], { device: d })),
    error: ShapeError,
    message: "Conv2d: expected input [N, 1, H, W], got [4, 4]",
  },
  {
    name: "Conv2d with PyTorch's positional stride",
    run: (d) => make(nn.Conv2d, 1, 1, 3, 2, { device: d }),
    error: ValueError,
    message: "Conv2d: options must be an object, got 2",
  },
  {
    name: "BatchNorm2d with 0 features",
    run: (d) => new nn.BatchNorm2d(0, { device: d }),
    error: ValueError,
    message: "BatchNorm2d: numFeatures must be a positive integer, got 0",
  },
  {
    name: "BatchNorm2d with momentum 2",
    run: (d) => new nn.BatchNorm2d(3, { momentum: 2, device: d }),
    error: ValueError,
    message: "BatchNorm2d: momentum must be a number in [0, 1] or null, got 2",
  },
  {
    name: "BatchNorm2d with a negative eps",
    run: (d) => new nn.BatchNorm2d(3, { eps: -1, device: d }),
    error: ValueError,
    message: "BatchNorm2d: eps must be positive, got -1",
  },
  {
    name: "BatchNorm2d with track_running_stats",
    run: (d) => new nn.BatchNorm2d(3, bad({ track_running_stats: false, device: d })),
    error: ValueError,
    message:
      'BatchNorm2d: unknown option "track_running_stats" (expected one of eps, momentum, affine, trackRunningStats',
  },
  {
    name: "BatchNorm2d with affine 'no'",
    run: (d) => new nn.BatchNorm2d(3, { affine: bad("no"), device: d }),
    error: ValueError,
    message: 'BatchNorm2d: affine must be a boolean, got "no"',
  },
  {
    name: "BatchNorm2d forward with a channel mismatch",
    run: (d) => new nn.BatchNorm2d(3, { device: d }).forward(ones([2, 2, 2, 2], { device: d })),
    error: ShapeError,
    message: "BatchNorm2d: expected 3 channels in dim 1, got input [2, 2, 2, 2]",
  },
  {
    name: "BatchNorm2d forward of a 2-D input",
    run: (d) => new nn.BatchNorm2d(3, { device: d }).forward(ones([2, 3], { device: d })),
    error: ShapeError,
    message: "BatchNorm2d: expected 4-D input, got [2, 3]",
  },
  {
    name: "BatchNorm1d forward of a 4-D input",
    run: (d) => new nn.BatchNorm1d(3, { device: d }).forward(ones([2, 3, 2, 2], { device: d })),
    error: ShapeError,
    message: "BatchNorm1d: expected 2-D or 3-D input, got [2, 3, 2, 2]",
  },
  {
    name: "Dropout with p 1.5",
    run: () => new nn.Dropout(1.5),
    error: ValueError,
    message: "Dropout: p must be a probability between 0 and 1, got 1.5",
  },
  {
    name: "Dropout with p -0.5",
    run: () => new nn.Dropout(-0.5),
    error: ValueError,
    message: "Dropout: p must be a probability between 0 and 1, got -0.5",
  },
  {
    name: "Dropout with inplace 'x'",
    run: () => new nn.Dropout(0.5, bad({ inplace: "x" })),
    error: ValueError,
    message: 'Dropout: unknown option "inplace" (expected one of generator)',
  },
  {
    name: "Dropout with PyTorch's positional inplace",
    run: () => make(nn.Dropout, 0.5, true),
    error: ValueError,
    message: "Dropout: options must be an object, got true",
  },
  {
    name: "MaxPool2d with kernel 0",
    run: () => new nn.MaxPool2d(0),
    error: ValueError,
    message: "MaxPool2d: kernelSize must be a positive integer or a pair of them, got 0",
  },
  {
    name: "MaxPool2d with a string kernel",
    run: () => make(nn.MaxPool2d, "2"),
    error: ValueError,
    message: 'MaxPool2d: kernelSize must be a positive integer or a pair of them, got "2"',
  },
  {
    name: "AvgPool2d with a misspelt stride",
    run: () => new nn.AvgPool2d(2, bad({ strid: 1 })),
    error: ValueError,
    message:
      'AvgPool2d: unknown option "strid" (expected one of stride, padding, ceilMode, countIncludePad',
  },
  {
    name: "AdaptiveAvgPool2d to size 0",
    run: () => new nn.AdaptiveAvgPool2d(0),
    error: ValueError,
    message:
      "AdaptiveAvgPool2d: outputSize must be a positive integer or a pair of positive integers or nulls, got 0",
  },
  {
    name: "LeakyReLU with a string slope",
    run: () => make(nn.LeakyReLU, "0.1"),
    error: ValueError,
    message: 'LeakyReLU: negativeSlope must be a finite number, got "0.1"',
  },
  {
    name: "LeakyReLU with a string inplace",
    run: () => new nn.LeakyReLU(0.2, bad("yes")),
    error: ValueError,
    message: 'LeakyReLU: inplace must be a boolean, got "yes"',
  },
  {
    name: "ReLU with PyTorch's positional inplace",
    run: () => make(nn.ReLU, true),
    error: ValueError,
    message: "ReLU: options must be an object, got true",
  },
  {
    name: "Softmax with a fractional dim",
    run: () => new nn.Softmax(1.5),
    error: ValueError,
    message: "Softmax: dim must be an integer (PyTorch's implicit dim is not supported), got 1.5",
  },
  {
    name: "Softmax with no dim",
    run: () => make(nn.Softmax),
    error: ValueError,
    message:
      "Softmax: dim must be an integer (PyTorch's implicit dim is not supported), got undefined",
  },
  {
    name: "LogSoftmax forward over dim 2 of a 2-D input",
    run: (d) => new nn.LogSoftmax(2).forward(m23(d)),
    error: ShapeError,
    message:
      "logSoftmax: dimension 2 is out of range for a 2-D tensor (expected an integer from -2 to 1)",
  },
  {
    name: "GELU with approximate 'fast'",
    run: () => new nn.GELU({ approximate: bad("fast") }),
    error: ValueError,
    message: 'GELU: approximate must be one of "none", "tanh", got "fast"',
  },
  {
    name: "Flatten with a fractional startDim",
    run: () => new nn.Flatten(1.5),
    error: ValueError,
    message: "Flatten: startDim must be an integer, got 1.5",
  },
  {
    name: "Flatten forward from dim 1 of a 1-D input",
    run: (d) => new nn.Flatten().forward(f32(d, [1, 2])),
    error: ShapeError,
    message:
      "flatten: dimension 1 is out of range for a 1-D tensor (expected an integer from -1 to 0)",
  },
  {
    name: "LocalResponseNorm with size 0",
    run: () => new nn.LocalResponseNorm(0),
    error: ValueError,
    message: "LocalResponseNorm: size must be a positive integer, got 0",
  },
  {
    name: "Sequential of a non-module",
    run: () => make(nn.Sequential, "relu"),
    error: ValueError,
    message: "Sequential: module 0 must be a Module, got string",
  },
  {
    name: "Sequential of a function",
    run: () => make(nn.Sequential, (x: Tensor) => x),
    error: ValueError,
    message: "Sequential: module 0 must be a Module, got function",
  },
  {
    name: "Concat of no branches",
    run: () => new nn.Concat([]),
    error: ValueError,
    message: "Concat: branches must be a non-empty array of Modules",
  },
  {
    name: "loadStateDict with a missing key",
    run: (d) =>
      new nn.Linear(2, 2, { device: d }).loadStateDict({ weight: zeros([2, 2], { device: d }) }),
    error: ValueError,
    message: "loadStateDict: Linear: missing keys: bias",
  },
  {
    name: "loadStateDict with an unexpected key",
    run: (d) => {
      const m = new nn.Linear(2, 2, { device: d });
      return m.loadStateDict({ ...m.stateDict(), extra: zeros([1], { device: d }) });
    },
    error: ValueError,
    message: "loadStateDict: Linear: unexpected keys: extra",
  },
  {
    name: "loadStateDict with a size mismatch",
    run: (d) =>
      new nn.Linear(2, 2, { device: d }).loadStateDict({
        weight: zeros([3, 2], { device: d }),
        bias: zeros([2], { device: d }),
      }),
    error: ShapeError,
    message:
      "loadStateDict: Linear: size mismatch: weight: checkpoint has [3, 2], module has [2, 2]",
  },
  {
    name: "loadStateDict of null",
    run: (d) => new nn.Linear(2, 2, { device: d }).loadStateDict(bad(null)),
    error: ValueError,
    message: "loadStateDict: expected a state dict (name → Tensor), got null",
  },
  {
    name: "loadStateDict with a misspelt strict",
    run: (d) => {
      const m = new nn.Linear(2, 2, { device: d });
      return m.loadStateDict(m.stateDict(), bad({ strcit: false }));
    },
    error: ValueError,
    message: 'loadStateDict: unknown option "strcit" (expected strict)',
  },
  {
    name: "loadStateDict with strict 'no'",
    run: (d) => {
      const m = new nn.Linear(2, 2, { device: d });
      return m.loadStateDict(m.stateDict(), bad({ strict: "no" }));
    },
    error: ValueError,
    message: 'loadStateDict: strict must be a boolean, got "no"',
  },
  {
    name: "loadStateDict with plain-array values",
    run: (d) =>
      new nn.Linear(2, 2, { device: d }).loadStateDict(
        bad({ weight: [[1, 2], [3, 4]], bias: [0, 0] }),
      ),
    error: ValueError,
    message: 'loadStateDict: Linear: "weight" is [[1, 2], [3, 4]], expected a Tensor',
  },
  {
    name: "loadStateDict with PyTorch's positional strict",
    run: (d) => {
      const m = new nn.Linear(2, 2, { device: d });
      return m.loadStateDict(m.stateDict(), bad(false));
    },
    error: ValueError,
    message: "loadStateDict: options must be an object like { strict: ... }, got false",
  },
  {
    name: "train('x')",
    run: (d) => new nn.Linear(2, 2, { device: d }).train(bad("x")),
    error: ValueError,
    message: 'Linear.train: mode must be a boolean, got "x"',
  },
  {
    name: "module to cuda",
    run: (d) => new nn.Linear(2, 2, { device: d }).to("cuda"),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "eval(true)",
    run: (d) => call(new nn.Linear(2, 2, { device: d }), "eval", true),
    error: ValueError,
    message: "Module.eval: takes at most 0 arguments, got 1 (true)",
  },
  {
    name: "zeroGrad(true)",
    run: (d) => call(new nn.Linear(2, 2, { device: d }), "zeroGrad", true),
    error: ValueError,
    message: "Module.zeroGrad: takes at most 0 arguments, got 1 (true)",
  },
  {
    name: "forward with no input",
    run: (d) => call(new nn.Linear(2, 2, { device: d }), "forward"),
    error: ValueError,
    message: "Linear.forward: expected a Tensor as input, got undefined",
  },
  {
    name: "init.kaimingUniform_ of a 1-D tensor",
    run: (d) => init.kaimingUniform_(zeros([3], { device: d })),
    error: ShapeError,
    message: "init: fan in and fan out need a tensor with at least 2 dimensions, got 1",
  },
  {
    name: "init.xavierUniform_ of a 1-D tensor",
    run: (d) => init.xavierUniform_(zeros([3], { device: d })),
    error: ShapeError,
    message: "init: fan in and fan out need a tensor with at least 2 dimensions, got 1",
  },
  {
    name: "init.constant_ with a string",
    run: (d) => init.constant_(zeros([3], { device: d }), bad("x")),
    error: ValueError,
    message: 'full: fill value must be a number or boolean, got "x"',
  },
  {
    name: "init.uniform_ with low > high",
    run: (d) => init.uniform_(zeros([3], { device: d }), 1, 0),
    error: ValueError,
    message: "init.uniform_: low must be <= high, got low 1 > high 0",
  },
  {
    name: "init.normal_ with a negative std",
    run: (d) => init.normal_(zeros([3], { device: d }), 0, -1),
    error: ValueError,
    message: "init.normal_: std must be a finite number >= 0, got -1",
  },
  {
    name: "init.calculateGain of an unknown nonlinearity",
    run: () => init.calculateGain(bad("relu6")),
    error: ValueError,
    message: 'init.calculateGain: unsupported nonlinearity "relu6" (expected one of linear,',
  },
];

const optimizers: Omit<BadCall, "group">[] = [
  {
    name: "SGD without options",
    run: (d) => new optim.SGD(params(d), bad(undefined)),
    error: ValueError,
    message: "SGD: lr is required, e.g. new SGD(params, { lr: 0.1 })",
  },
  {
    name: "SGD with a positional lr",
    run: (d) => new optim.SGD(params(d), bad(0.1)),
    error: ValueError,
    message: "SGD: options must be an object like { lr: 0.1 }, got 0.1",
  },
  {
    name: "SGD with a misspelt momentum",
    run: (d) => new optim.SGD(params(d), bad({ lr: 0.1, momentm: 0.9 })),
    error: ValueError,
    message:
      'SGD: unknown option "momentm" (expected lr, momentum, dampening, weightDecay, nesterov, maximize)',
  },
  {
    name: "SGD with a string momentum",
    run: (d) => new optim.SGD(params(d), bad({ lr: 0.1, momentum: "0.9" })),
    error: ValueError,
    message: 'SGD: momentum must be a number, got "0.9"',
  },
  {
    name: "SGD with weight_decay (snake case)",
    run: (d) => new optim.SGD(params(d), bad({ lr: 0.1, weight_decay: 1e-4 })),
    error: ValueError,
    message:
      'SGD: unknown option "weight_decay" (expected lr, momentum, dampening, weightDecay, nesterov, maximize)',
  },
  {
    name: "SGD with a negative lr",
    run: (d) => new optim.SGD(params(d), { lr: -1 }),
    error: ValueError,
    message: "SGD: invalid learning rate -1 (must be >= 0)",
  },
  {
    name: "SGD with lr NaN",
    run: (d) => new optim.SGD(params(d), { lr: NaN }),
    error: ValueError,
    message: "SGD: invalid learning rate NaN (must be >= 0)",
  },
  {
    name: "SGD with a negative momentum",
    run: (d) => new optim.SGD(params(d), { lr: 0.1, momentum: -1 }),
    error: ValueError,
    message: "SGD: invalid momentum -1 (must be >= 0)",
  },
  {
    name: "SGD with a negative weightDecay",
    run: (d) => new optim.SGD(params(d), { lr: 0.1, weightDecay: -1 }),
    error: ValueError,
    message: "SGD: invalid weightDecay -1 (must be >= 0)",
  },
  {
    name: "SGD with nesterov and no momentum",
    run: (d) => new optim.SGD(params(d), { lr: 0.1, nesterov: true }),
    error: ValueError,
    message: "SGD: nesterov momentum requires a momentum and zero dampening",
  },
  {
    name: "SGD with an empty parameter list",
    run: () => new optim.SGD([], { lr: 0.1 }),
    error: ValueError,
    message: "SGD: got an empty parameter list",
  },
  {
    name: "SGD given a module instead of its parameters",
    run: (d) => new optim.SGD(bad(new nn.Linear(2, 2, { device: d })), { lr: 0.1 }),
    error: ValueError,
    message:
      "SGD: params must be an iterable of Tensors or parameter groups, got a Linear (a Module); pass model.parameters()",
  },
  {
    name: "SGD given a single tensor",
    run: (d) => new optim.SGD(bad(leaf(d)), { lr: 0.1 }),
    error: ValueError,
    message:
      "SGD: params must be an iterable of Tensors or parameter groups, got a single [3] Tensor; pass a list: [w]",
  },
  {
    name: "SGD given numbers as parameters",
    run: () => new optim.SGD(bad([1, 2]), { lr: 0.1 }),
    error: ValueError,
    message: "SGD: parameter group 0 must be { params: [...], ...options }",
  },
  {
    name: "SGD with a parameter in two groups",
    run: (d) => {
      const p = params(d);
      return new optim.SGD([{ params: p }, { params: p }], { lr: 0.1 });
    },
    error: ValueError,
    message: "SGD: a parameter appears in more than one group",
  },
  {
    name: "SGD with a non-leaf parameter",
    run: (d) => new optim.SGD([leaf(d).mul(2)], { lr: 0.1 }),
    error: ValueError,
    message: "SGD: can't optimize a non-leaf Tensor (parameter 0, [3] computed by mul)",
  },
  {
    name: "SGD with a misspelt group option",
    run: (d) => new optim.SGD([{ params: params(d), lrr: 1 } as never], { lr: 0.1 }),
    error: ValueError,
    message:
      'SGD: parameter group 0 has unknown option "lrr" (expected momentum, dampening, weightDecay, nesterov',
  },
  {
    name: "SGD with a string group lr",
    run: (d) => new optim.SGD([{ params: params(d), lr: bad("1") }], { lr: 0.1 }),
    error: ValueError,
    message: 'SGD: parameter group 0 option lr must be like 0.1, got "1"',
  },
  {
    name: "SGD with a group lacking params",
    run: () => new optim.SGD([bad({ lr: 1 })], { lr: 0.1 }),
    error: ValueError,
    message: "SGD: parameter group 0 must be { params: [...], ...options }",
  },
  {
    name: "Adam with one beta",
    run: (d) => new optim.Adam(params(d), bad({ betas: [0.9] })),
    error: ValueError,
    message: "Adam: betas must be 2 numbers, got [0.9]",
  },
  {
    name: "Adam with beta2 1",
    run: (d) => new optim.Adam(params(d), { betas: [0.9, 1] }),
    error: ValueError,
    message: "Adam: invalid beta at index 1: 1 (must be in [0, 1))",
  },
  {
    name: "Adam with a negative eps",
    run: (d) => new optim.Adam(params(d), { eps: -1 }),
    error: ValueError,
    message: "Adam: invalid eps -1 (must be >= 0)",
  },
  {
    name: "Adam with a negative lr",
    run: (d) => new optim.Adam(params(d), { lr: -1e-3 }),
    error: ValueError,
    message: "Adam: invalid learning rate -0.001 (must be >= 0)",
  },
  {
    name: "Adam with a positional lr",
    run: (d) => new optim.Adam(params(d), bad(1e-3)),
    error: ValueError,
    message: "Adam: options must be an object like { lr: 0.01 }, got 0.001",
  },
  {
    name: "Adam with a NaN beta",
    run: (d) => new optim.Adam(params(d), { betas: [0.9, NaN] }),
    error: ValueError,
    message: "Adam: invalid beta at index 1: NaN (must be in [0, 1))",
  },
  {
    name: "AdamW with weight_decay (snake case)",
    run: (d) => new optim.AdamW(params(d), bad({ weight_decay: 0.1 })),
    error: ValueError,
    message:
      'AdamW: unknown option "weight_decay" (expected lr, betas, eps, weightDecay, amsgrad, maximize)',
  },
  {
    name: "AdamW with amsgrad 'yes'",
    run: (d) => new optim.AdamW(params(d), bad({ amsgrad: "yes" })),
    error: ValueError,
    message: 'AdamW: amsgrad must be a boolean, got "yes"',
  },
  {
    name: "RMSprop with rho (Keras name)",
    run: (d) => new optim.RMSprop(params(d), bad({ lr: 0.1, rho: 0.9 })),
    error: ValueError,
    message:
      'RMSprop: unknown option "rho" (expected lr, alpha, eps, weightDecay, momentum, centered, maximize)',
  },
  {
    name: "RMSprop with a negative alpha",
    run: (d) => new optim.RMSprop(params(d), { lr: 0.1, alpha: -1 }),
    error: ValueError,
    message: "RMSprop: invalid alpha -1 (must be >= 0)",
  },
  {
    name: "optimizer loadStateDict with another group count",
    run: (d) => {
      const o = sgd(d);
      return o.loadStateDict({ state: {}, paramGroups: [] });
    },
    error: ValueError,
    message: "SGD.loadStateDict: 0 parameter groups saved, 1 here",
  },
  {
    name: "optimizer loadStateDict with another parameter count",
    run: (d) => {
      const o = sgd(d);
      return o.loadStateDict({ state: {}, paramGroups: [{ lr: 0.1, params: [0] }] });
    },
    error: ValueError,
    message: "SGD.loadStateDict: group 0 has 1 parameters saved, 2 here",
  },
  {
    name: "optimizer loadStateDict with state for an unknown parameter",
    run: (d) => {
      const o = sgd(d);
      return o.loadStateDict({
        state: { 7: { step: 1 } },
        paramGroups: [{ lr: 0.1, params: [0, 1] }],
      });
    },
    error: ValueError,
    message: "SGD.loadStateDict: state for unknown parameter 7",
  },
  {
    name: "optimizer loadStateDict of null",
    run: (d) => sgd(d).loadStateDict(bad(null)),
    error: ValueError,
    message:
      "SGD.loadStateDict: expected an optimizer state dict { state, paramGroups } (from optimizer.stateDict()), got null",
  },
  {
    name: "optimizer loadStateDict of a module state dict",
    run: (d) => sgd(d).loadStateDict(bad(new nn.Linear(2, 2, { device: d }).stateDict())),
    error: ValueError,
    message:
      "SGD.loadStateDict: expected an optimizer state dict { state, paramGroups } (from optimizer.stateDict()), got an object with keys weight, bias (a module's state dict: load it with model.loadStateDict)",
  },
  {
    name: "StepLR with stepSize 0",
    run: (d) => new optim.StepLR(sgd(d), 0),
    error: ValueError,
    message: "StepLR: stepSize must be a positive integer, got 0",
  },
  {
    name: "StepLR with a fractional stepSize",
    run: (d) => new optim.StepLR(sgd(d), 1.5),
    error: ValueError,
    message: "StepLR: stepSize must be a positive integer, got 1.5",
  },
  {
    name: "StepLR with a misspelt gamma",
    run: (d) => new optim.StepLR(sgd(d), 2, bad({ gama: 0.5 })),
    error: ValueError,
    message: 'StepLR: unknown option "gama" (expected gamma, lastEpoch)',
  },
  {
    name: "StepLR of something not an optimizer",
    run: () => new optim.StepLR(bad({}), 2),
    error: ValueError,
    message:
      "StepLR: optimizer must be an optimizer (an object with paramGroups, such as new SGD(...)), got Object",
  },
  {
    name: "StepLR resumed without initialLr",
    run: (d) => new optim.StepLR(sgd(d), 2, { lastEpoch: 5 }),
    error: ValueError,
    message: "StepLR: resuming at lastEpoch 5 needs initialLr in parameter group 0",
  },
  {
    name: "MultiStepLR with a string milestone",
    run: (d) => new optim.MultiStepLR(sgd(d), bad(["2"])),
    error: ValueError,
    message:
      'MultiStepLR: milestones must be an array of increasing non-negative integers (epochs), got ["2"]',
  },
  {
    name: "MultiStepLR with a number for milestones",
    run: (d) => new optim.MultiStepLR(sgd(d), bad(3)),
    error: ValueError,
    message:
      "MultiStepLR: milestones must be an array of increasing non-negative integers (epochs), got 3",
  },
  {
    name: "CosineAnnealingLR with tMax 0",
    run: (d) => new optim.CosineAnnealingLR(sgd(d), 0),
    error: ValueError,
    message: "CosineAnnealingLR: tMax must be a positive integer, got 0",
  },
  {
    name: "CosineAnnealingLR with eta_min (snake case)",
    run: (d) => new optim.CosineAnnealingLR(sgd(d), 5, bad({ eta_min: 0.01 })),
    error: ValueError,
    message: 'CosineAnnealingLR: unknown option "eta_min" (expected etaMin, lastEpoch)',
  },
  {
    name: "LinearLR with startFactor 0",
    run: (d) => new optim.LinearLR(sgd(d), { startFactor: 0 }),
    error: ValueError,
    message: "LinearLR: startFactor must be in (0, 1], got 0",
  },
  {
    name: "LinearLR with endFactor 2",
    run: (d) => new optim.LinearLR(sgd(d), { endFactor: 2 }),
    error: ValueError,
    message: "LinearLR: endFactor must be in [0, 1], got 2",
  },
  {
    name: "LinearLR with totalIters 0",
    run: (d) => new optim.LinearLR(sgd(d), { totalIters: 0 }),
    error: ValueError,
    message: "LinearLR: totalIters must be a positive integer, got 0",
  },
  {
    name: "SequentialLR with too many milestones",
    run: (d) => {
      const o = sgd(d);
      return new optim.SequentialLR(o, [new optim.StepLR(o, 2)], [1]);
    },
    error: ValueError,
    message:
      "SequentialLR: expected one milestone fewer than schedulers, got 1 schedulers and 1 milestones",
  },
  {
    name: "SequentialLR with a scheduler of another optimizer",
    run: (d) => {
      const o = sgd(d);
      return new optim.SequentialLR(o, [new optim.StepLR(sgd(d), 2)], []);
    },
    error: ValueError,
    message: "SequentialLR: scheduler 0 drives a different optimizer than the one given",
  },
  {
    name: "scheduler step with a string epoch",
    run: (d) => {
      const o = sgd(d);
      new optim.StepLR(o, 2).step(bad("x"));
      return o.paramGroups[0].lr;
    },
    error: ValueError,
    message:
      'StepLR.step: epoch must be a non-negative integer (PyTorch\'s deprecated step(epoch)), or omitted to advance one epoch; got "x"',
  },
];

const autogradCases: Omit<BadCall, "group">[] = [
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

const devicesCases: Omit<BadCall, "group">[] = [
  {
    name: "add on a disposed tensor",
    run: (d) => disposed(d).add(1),
    error: DisposedError,
    message: /add: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "add of a disposed operand",
    run: (d) => f32(d, [1, 2, 3]).add(disposed(d)),
    error: DisposedError,
    message: /add: input 1 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "toArray of a disposed tensor",
    run: (d) => disposed(d).toArray(),
    error: DisposedError,
    message: /data: the \[3\] float32 tensor on \w+ was disposed/,
  },
  {
    name: "data of a disposed tensor",
    run: (d) => disposed(d).data(),
    error: DisposedError,
    message: /data: the \[3\] float32 tensor on \w+ was disposed/,
  },
  {
    name: "detach of a disposed tensor",
    run: (d) => disposed(d).detach(),
    error: DisposedError,
    message: /detach: the \[3\] float32 tensor on \w+ was disposed/,
  },
  {
    name: "reshape of a disposed tensor",
    run: (d) => disposed(d).reshape(3, 1),
    error: DisposedError,
    message: /reshape: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "matmul with a disposed tensor",
    run: (d) => disposed(d).matmul(f32(d, [1, 2, 3])),
    error: DisposedError,
    message: /reshape: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "sum of a disposed tensor",
    run: (d) => disposed(d).sum(),
    error: DisposedError,
    message: /sum: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "clone of a disposed tensor",
    run: (d) => disposed(d).clone(),
    error: DisposedError,
    message: /copy: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "to('cpu') of a disposed webgpu tensor",
    run: (d) => disposed(d).to("cpu"),
    error: DisposedError,
    message: "to: the [3] float32 tensor on webgpu was disposed",
    devices: ["webgpu"],
  },
  {
    name: "cast of a disposed tensor",
    run: (d) => disposed(d).cast("int32"),
    error: DisposedError,
    message: /cast: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "narrow of a disposed tensor",
    run: (d) => disposed(d).narrow(0, 0, 1),
    error: DisposedError,
    message: /slice: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "cat with a disposed tensor",
    run: (d) => cat([f32(d, [1]), disposed(d)]),
    error: DisposedError,
    message: /cat: input 1 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "a tensor used after its scope ended",
    run: (d) => {
      let t: Tensor | null = null;
      scope(() => {
        t = f32(d, [1, 2]).mul(2);
        return null;
      });
      return t!.add(1);
    },
    error: DisposedError,
    message:
      "add: input 0 ([2] float32 on webgpu) was disposed (by dispose(), a scope(), or zeroGrad() for a gradient) and",
    devices: ["webgpu"],
  },
  {
    name: "forward of a layer whose weight was disposed",
    run: (d) => {
      const m = new nn.Linear(2, 2, { device: d });
      m.weight.dispose();
      return m.forward(ones([1, 2], { device: d }));
    },
    error: DisposedError,
    message: /matmul: input 1 \(\[2, 2\] float32 on \w+\) was disposed/,
  },
  {
    name: "optimizer step on a disposed parameter",
    run: (d) => {
      const w = leaf(d);
      w.mul(w).sum().backward();
      const o = new optim.SGD([w], { lr: 0.1 });
      w.dispose();
      o.step();
      return w;
    },
    error: DisposedError,
    message: /sgdUpdate(Foreach)?: input 0 \(\[3\] float32 on \w+\) was disposed/,
  },
  {
    name: "x.to('cuda')",
    run: (d) => f32(d, [1]).to("cuda"),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "x.to('gpu')",
    run: (d) => f32(d, [1]).to("gpu"),
    error: DeviceError,
    message: 'device "gpu" is not available',
  },
  {
    name: "x.to(0) (a device index)",
    run: (d) => f32(d, [1]).to(bad(0)),
    error: DeviceError,
    message: "to: expected a device name or a dtype, got 0",
  },
  {
    name: "x.to(null)",
    run: (d) => f32(d, [1]).to(bad(null)),
    error: DeviceError,
    message: "to: expected a device name or a dtype, got null",
  },
  {
    name: "x.to with an options object",
    run: (d) => f32(d, [1]).to(bad({ device: "cpu" })),
    error: DeviceError,
    message: "to: expected a device name or a dtype, got Object",
  },
  {
    name: "toAsync('cuda')",
    run: (d) => f32(d, [1]).toAsync("cuda"),
    error: DeviceError,
    message: 'device "cuda" is not available',
  },
  {
    name: "add of a webgpu and a cpu tensor",
    run: (d) => f32(d, [1, 2]).add(f32("cpu", [1, 2])),
    error: DeviceError,
    message:
      "add: inputs are on different devices (input 0 [2] on webgpu, input 1 [2] on cpu); move them with .to(device)",
    devices: ["webgpu"],
  },
  {
    name: "matmul of a cpu and a webgpu tensor",
    run: (d) => m23("cpu").matmul(ones([3, 2], { device: d })),
    error: DeviceError,
    message:
      "matmul: inputs are on different devices (input 0 [2, 3] on cpu, input 1 [3, 2] on webgpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "cat of webgpu and cpu tensors",
    run: (d) => cat([f32(d, [1]), f32("cpu", [2])]),
    error: DeviceError,
    message:
      "cat: inputs are on different devices (input 0 [1] on webgpu, input 1 [1] on cpu); move them with .to(device)",
    devices: ["webgpu"],
  },
  {
    name: "crossEntropy with a cpu target for webgpu logits",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32("cpu", [0, 1])),
    error: DeviceError,
    message:
      "gather: inputs are on different devices (input 0 [2, 3] on webgpu, input 1 [2, 1] on cpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "gather with a cpu index",
    run: (d) => m23(d).gather(1, i32("cpu", [[0], [1]])),
    error: DeviceError,
    message:
      "gather: inputs are on different devices (input 0 [2, 3] on webgpu, input 1 [2, 1] on cpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "where with a cpu condition",
    run: (d) => where(tensor([true, false], { device: "cpu" }), f32(d, [1, 2]), f32(d, [3, 4])),
    error: DeviceError,
    message:
      "where: inputs are on different devices (input 0 [2] on cpu, input 1 [2] on webgpu, input 2 [2] on webgpu)",
    devices: ["webgpu"],
  },
  {
    name: "cpu Linear forward of a webgpu input",
    run: (d) => new nn.Linear(2, 2).forward(ones([1, 2], { device: d })),
    error: DeviceError,
    message:
      "matmul: inputs are on different devices (input 0 [1, 2] on webgpu, input 1 [2, 2] on cpu); move them with",
    devices: ["webgpu"],
  },
  {
    name: "dataSync on webgpu",
    run: (d) => f32(d, [1]).dataSync(),
    error: DeviceError,
    message: 'dataSync: webgpu cannot read synchronously; use "await tensor.data()"',
    devices: ["webgpu"],
  },
  {
    name: "itemSync on webgpu",
    run: (d) => f32(d, [1]).itemSync(),
    error: DeviceError,
    message: 'dataSync: webgpu cannot read synchronously; use "await tensor.data()"',
    devices: ["webgpu"],
  },
  {
    name: "toArraySync on webgpu",
    run: (d) => f32(d, [1]).toArraySync(),
    error: DeviceError,
    message: 'dataSync: webgpu cannot read synchronously; use "await tensor.data()"',
    devices: ["webgpu"],
  },
];

const indexValues: Omit<BadCall, "group">[] = [
  {
    name: "gather with an index past the end",
    run: (d) => gather(m23(d), 1, i32(d, [[0], [3]])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "gather with a negative index",
    run: (d) => gather(m23(d), 1, i32(d, [[-1], [0]])),
    error: IndexError,
    message: "gather: index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "gather along dim 0 past the end",
    run: (d) => gather(m23(d), 0, i32(d, [[0, 1, 2]])),
    error: IndexError,
    message: "gather: index 2 is out of bounds for dimension 0 with size 2 (tensor [2, 3])",
  },
  {
    name: "scatterAdd with an index past the end",
    run: (d) => scatterAdd([3], 0, i32(d, [5]), f32(d, [1])),
    error: IndexError,
    message: "scatterAdd: index 5 is out of bounds for dimension 0 with size 3 (tensor [3])",
  },
  {
    name: "scatterAdd with a negative index",
    run: (d) => scatterAdd([2, 3], 1, i32(d, [[0, -1]]), f32(d, [[1, 2]])),
    error: IndexError,
    message: "scatterAdd: index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "scatterAdd into an empty dimension",
    run: (d) => scatterAdd([2, 0], 1, i32(d, [[0], [0]]), f32(d, [[1], [2]])),
    error: IndexError,
    message: "scatterAdd: index 0 is out of bounds for dimension 1 with size 0 (tensor [2, 0])",
  },
  {
    name: "oneHot with a class equal to numClasses",
    run: (d) => F.oneHot(i32(d, [0, 3]), 3),
    error: IndexError,
    message:
      /^(oneHot: class index out of range \[0, 3\): )?scatterAdd: index 3 is out of bounds for dimension 1 with size 3/,
  },
  {
    name: "oneHot with a negative class",
    run: (d) => F.oneHot(i32(d, [-1]), 3),
    error: IndexError,
    message:
      /^(oneHot: class index out of range \[0, 3\): )?scatterAdd: index -1 is out of bounds for dimension 1 with size 3/,
  },
  {
    name: "crossEntropy with a class index >= C",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 5])),
    error: IndexError,
    message: "gather: index 5 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with a negative class index",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [-1, 0])),
    error: IndexError,
    message: "gather: index -1 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with 1-based labels",
    run: (d) => F.crossEntropy(ones([3, 3], { device: d }), i32(d, [1, 2, 3])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [3, 3])",
  },
  {
    name: "crossEntropy of a 1-D input with a class index >= C",
    run: (d) => F.crossEntropy(f32(d, [1, 2, 3]), tensor(3, { dtype: "int32", device: d })),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [1, 3])",
  },
  {
    name: "crossEntropy of [N, C, H, W] with a bad pixel target",
    run: (d) => F.crossEntropy(ones([1, 2, 2, 2], { device: d }), i32(d, [[[0, 1], [2, 0]]])),
    error: IndexError,
    message: "gather: index 2 is out of bounds for dimension 1 with size 2 (tensor [1, 2, 2, 2])",
  },
  {
    name: "crossEntropy with ignoreIndex set and -100 in the target",
    run: (d) => F.crossEntropy(ones([2, 3], { device: d }), i32(d, [-100, 0]), { ignoreIndex: 2 }),
    error: IndexError,
    message: "gather: index -100 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with labelSmoothing and a class index >= C",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 3]), { labelSmoothing: 0.1 }),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "crossEntropy with a weight and a class index >= C",
    run: (d) =>
      F.crossEntropy(ones([2, 3], { device: d }), i32(d, [0, 4]), {
        weight: ones([3], { device: d }),
      }),
    error: IndexError,
    message: "gather: index 4 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "nllLoss with a class index >= C",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [3, 0])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "nllLoss with a negative class index",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, -3])),
    error: IndexError,
    message: "gather: index -3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "nllLoss with reduction none and a bad index",
    run: (d) => F.nllLoss(ones([2, 3], { device: d }), i32(d, [0, 9]), { reduction: "none" }),
    error: IndexError,
    message: "gather: index 9 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "multiMarginLoss with a class index >= C",
    run: (d) => F.multiMarginLoss(ones([2, 3], { device: d }), i32(d, [0, 3])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "CrossEntropyLoss module with a class index >= C",
    run: (d) => new nn.CrossEntropyLoss().forward(ones([2, 3], { device: d }), i32(d, [0, 3])),
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "NLLLoss module with a negative class index",
    run: (d) => new nn.NLLLoss().forward(ones([2, 3], { device: d }), i32(d, [-2, 0])),
    error: IndexError,
    message: "gather: index -2 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "a training step with a class index >= C",
    run: (d) => {
      const m = new nn.Linear(2, 3, { device: d });
      const loss = F.crossEntropy(m.forward(ones([2, 2], { device: d })), i32(d, [0, 3]));
      loss.backward();
      return loss;
    },
    error: IndexError,
    message: "gather: index 3 is out of bounds for dimension 1 with size 3 (tensor [2, 3])",
  },
  {
    name: "gather through a Tensor method with an index past the end",
    run: (d) => m23(d).gather(0, i32(d, [[2, 0, 0]])),
    error: IndexError,
    message: "gather: index 2 is out of bounds for dimension 0 with size 2 (tensor [2, 3])",
  },
];

/** The catalogue, in group order. */
export const badCalls: readonly BadCall[] = [
  ...creation.map((c) => ({ ...c, group: "creation" })),
  ...elementwise.map((c) => ({ ...c, group: "elementwise" })),
  ...reductions.map((c) => ({ ...c, group: "reductions" })),
  ...views.map((c) => ({ ...c, group: "views/indexing" })),
  ...movement.map((c) => ({ ...c, group: "movement" })),
  ...linalg.map((c) => ({ ...c, group: "linalg" })),
  ...functional.map((c) => ({ ...c, group: "nn functional" })),
  ...losses.map((c) => ({ ...c, group: "losses" })),
  ...layers.map((c) => ({ ...c, group: "layers/modules" })),
  ...optimizers.map((c) => ({ ...c, group: "optimizers" })),
  ...autogradCases.map((c) => ({ ...c, group: "autograd" })),
  ...devicesCases.map((c) => ({ ...c, group: "devices/dispose" })),
  ...indexValues.map((c) => ({ ...c, group: "index values" })),
];

// ------------------------------------------------------------------ the runner

/** The outcome of one case on one device. */
export interface CaseResult {
  /** The case. */
  call: BadCall;
  /** The device it ran on. */
  device: string;
  /** "passed", "failed", or "known" (skipped: a silent wrong answer still to fix). */
  status: "passed" | "failed" | "known";
  /** Why it failed (empty when it passed). */
  detail: string;
}

/** The groups, in catalogue order. */
export function groups(): string[] {
  return [...new Set(badCalls.map((c) => c.group))];
}

/** The cases that apply to `device`. */
export function casesFor(device: string, group?: string): BadCall[] {
  return badCalls.filter((c) =>
    (!c.devices || c.devices.includes(device)) && (group === undefined || c.group === group)
  );
}

function tensorsIn(v: unknown): Tensor[] {
  if (v instanceof Tensor) return [v];
  if (Array.isArray(v)) return v.flatMap(tensorsIn);
  return [];
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return v.toString();
  if (Array.isArray(v)) return `[${v.map(describe).join(", ")}]`;
  if (v !== null && typeof v === "object") return `a ${v.constructor?.name ?? "object"}`;
  return String(v);
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : `the non-error ${String(e)}`;
}

/**
 * Runs one case on `device`: calls it, reads back a returned tensor, and checks the error's class
 * and message. `settle` (e.g. the webgpu plugin's `sync`) runs afterwards; an error it raises is a
 * device error the case left behind, and fails the case.
 */
export async function runCase(
  call: BadCall,
  device: string,
  settle?: () => Promise<void>,
): Promise<CaseResult> {
  if (call.known) return { call, device, status: "known", detail: call.known };
  let detail = "";
  try {
    const v = await call.run(device);
    for (const t of tensorsIn(v)) await t.toArray();
    detail = `returned ${describe(v)} instead of throwing ${call.error.name}`;
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== call.error) {
      detail = `expected ${call.error.name}, got ${describeError(e)}`;
    } else {
      const m = call.message;
      const ok = typeof m === "string" ? e.message.includes(m) : m.test(e.message);
      if (!ok) detail = `${call.error.name} message lacks ${String(m)}:\n    ${e.message}`;
    }
  }
  if (settle) {
    try {
      await settle();
    } catch (e) {
      detail ||= `left a pending device error: ${describeError(e)}`;
    }
  }
  return { call, device, status: detail ? "failed" : "passed", detail };
}

/** Runs every case of `group` on `device`, in order. */
export async function runGroup(
  group: string,
  device: string,
  settle?: () => Promise<void>,
): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of casesFor(device, group)) out.push(await runCase(c, device, settle));
  return out;
}

/** The failures among `results`, one line each, or "" when there are none. */
export function failures(results: readonly CaseResult[]): string {
  return results
    .filter((r) => r.status === "failed")
    .map((r) => `  [${r.call.group}] ${r.call.name}: ${r.detail}`)
    .join("\n");
}

/**
 * The table both runners print: per group, the cases that apply to the device, those run (all but
 * the `known` ones), those passed, those skipped as known, and the error classes the group's cases
 * expect; then the known gaps, if any.
 */
export function summary(results: readonly CaseResult[], device: string): string {
  const rows: string[][] = [["group", "cases", "run", "passed", "known", "errors"]];
  const totals = [0, 0, 0, 0];
  const all = new Set<string>();
  for (const g of groups()) {
    const rs = results.filter((r) => r.call.group === g);
    if (rs.length === 0) continue;
    const known = rs.filter((r) => r.status === "known").length;
    const counts = [
      rs.length,
      rs.length - known,
      rs.filter((r) => r.status === "passed").length,
      known,
    ];
    counts.forEach((n, i) => (totals[i] += n));
    const errs = [...new Set(rs.map((r) => r.call.error.name))].sort();
    errs.forEach((e) => all.add(e));
    rows.push([g, ...counts.map(String), errs.join(", ")]);
  }
  rows.push(["total", ...totals.map(String), [...all].sort().join(", ")]);
  const numeric = (i: number) => i >= 1 && i <= 4;
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    `| ${
      r.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => (numeric(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")
  }|`;
  const out = [`bad calls on ${device}:`, line(rows[0]), rule, ...rows.slice(1).map(line)];
  const known = results.filter((r) => r.status === "known");
  if (known.length) {
    out.push("", "known gaps, skipped (silent wrong answers and raw errors still to fix):");
    for (const r of known) out.push(`  [${r.call.group}] ${r.call.name}: ${r.detail}`);
  }
  return out.join("\n");
}
