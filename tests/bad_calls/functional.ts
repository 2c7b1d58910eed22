/**
 * The "nn functional" group of the bad-call catalogue (./mod.ts): the functional API, F.
 *
 * @module
 */

import { DTypeError, F, ones, ShapeError, ValueError, zeros } from "../../mod.ts";
import { bad, f32, i32, img, loose, m23 } from "./_helpers.ts";
import type { BadCall } from "./mod.ts";

export const functional: Omit<BadCall, "group">[] = [
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
    name: "maxPool2d with a kernel past the safe integers",
    run: (d) => F.maxPool2d(img(d), 2 ** 53),
    error: ValueError,
    message:
      "maxPool2d: invalid options for input [1, 1, 4, 4]: kernelSize: Too big: expected int to be <=9007199254740991",
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
