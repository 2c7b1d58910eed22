/**
 * The "layers/modules" group of the bad-call catalogue (./mod.ts): layers and modules.
 *
 * @module
 */

import { DeviceError, init, nn, ones, ShapeError, ValueError, zeros } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { bad, call, f32, img, m23, make } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const layers: Omit<BadCall, "group">[] = [
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
