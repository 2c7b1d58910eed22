/**
 * `F`: PyTorch's `torch.nn.functional` for the lecture's layers. Options are validated here, once
 * per call at the API boundary, with zod; the ops below run with trusted attributes.
 *
 * @module
 */

import { z } from "zod";
import { allocHost, isFloating } from "./dtype.ts";
import { ShapeError, ValueError } from "./errors.ts";
import { cast, unary, where } from "./ops/elementwise.ts";
import { mm } from "./ops/linalg.ts";
import { pad, reshape } from "./ops/movement.ts";
import {
  adaptiveAvgPool2dRaw,
  avgPool2dRaw,
  batchNormRaw,
  batchNormStats,
  conv2dRaw,
  logSoftmax as logSoftmaxOp,
  maxPool2dRaw,
  softmax as softmaxOp,
} from "./ops/nn.ts";
import type { Pool2dAttrs } from "./ops/nn.ts";
import { defaultGenerator } from "./random.ts";
import type { Generator } from "./random.ts";
import { shapeStr } from "./shape.ts";
import { arange, fromData, full } from "./creation.ts";
import type { Tensor } from "./tensor.ts";
import { noGrad } from "./autograd.ts";

/** An int or an (height, width) pair. */
export type Pair = number | readonly [number, number];

// `x` (the input) is named in the message so a bad option is tied to the call that passed it.
function parse<T>(op: string, schema: z.ZodType<T>, v: unknown, x?: Tensor): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  throw new ValueError(
    `${op}: invalid options${x ? ` for input ${shapeStr(x.shape)}` : ""}: ${
      r.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ")
    }`,
  );
}

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const pairOf = (s: z.ZodNumber) => z.union([s, z.tuple([s, s])]);

function pair(v: Pair): [number, number] {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

// ------------------------------------------------------------------ linear

/** y = x Wᵀ + b with W of shape [out, in] (PyTorch layout). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) {
    throw new ShapeError(`linear: weight must be 2-D [out, in], got ${shapeStr(weight.shape)}`);
  }
  const inF = weight.shape[1];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(
      `linear: input ${shapeStr(x.shape)} has ${
        x.shape[x.ndim - 1] ?? 0
      } features in its last dimension, ` +
        `weight ${shapeStr(weight.shape)} expects ${inF}`,
    );
  }
  const lead = x.shape.slice(0, -1);
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, inF]);
  let y = mm(x2, weight, false, true);
  if (bias) y = y.add(bias);
  return x.ndim === 2 ? y : reshape(y, [...lead, weight.shape[0]]);
}

// ------------------------------------------------------------------ conv

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Stride (default 1). */
  stride?: Pair;
  /** Zero padding per side, or "same" (stride 1 only) or "valid" (default 0). */
  padding?: Pair | "same" | "valid";
  /** Spacing between kernel taps (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1). */
  groups?: number;
}

const conv2dSchema = z.object({
  stride: pairOf(posInt).default(1),
  padding: z.union([pairOf(nonNegInt), z.literal("same"), z.literal("valid")]).default(0),
  dilation: pairOf(posInt).default(1),
  groups: posInt.default(1),
});

/**
 * 2-D convolution over NCHW input with an OIHW weight.
 *
 * @example
 * ```ts
 * import { F, randn } from "../mod.ts";
 * const y = F.conv2d(randn([1, 3, 8, 8]), randn([4, 3, 3, 3]), null, { padding: 1 });
 * console.log(y.shape); // [1, 4, 8, 8]
 * ```
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  const o = parse("conv2d", conv2dSchema, options, x);
  const stride = pair(o.stride), dilation = pair(o.dilation);
  let padding: [number, number];
  if (o.padding === "valid") padding = [0, 0];
  else if (o.padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new ValueError(`conv2d: padding "same" requires stride 1, got [${stride}]`);
    }
    if (weight.ndim !== 4) {
      throw new ShapeError(`conv2d: expected a 4-D weight, got ${shapeStr(weight.shape)}`);
    }
    const tot = [dilation[0] * (weight.shape[2] - 1), dilation[1] * (weight.shape[3] - 1)];
    padding = [Math.floor(tot[0] / 2), Math.floor(tot[1] / 2)];
    // An odd total pads one extra row/column at the end, as PyTorch does.
    if (tot[0] % 2 || tot[1] % 2) x = pad(x, [0, tot[1] % 2, 0, tot[0] % 2]);
  } else padding = pair(o.padding);
  return conv2dRaw(x, weight, bias ?? null, { stride, padding, dilation, groups: o.groups });
}

// ------------------------------------------------------------------ pooling

/** Options of {@linkcode maxPool2d}. */
export interface MaxPool2dOptions {
  /** Stride (default: the kernel size). */
  stride?: Pair | null;
  /** Implicit −∞ padding per side (at most half the kernel). */
  padding?: Pair;
  /** Spacing between window taps. */
  dilation?: Pair;
  /** Use ceil for the output size. */
  ceilMode?: boolean;
}

const maxPoolSchema = z.object({
  stride: pairOf(posInt).nullable().default(null),
  padding: pairOf(nonNegInt).default(0),
  dilation: pairOf(posInt).default(1),
  ceilMode: z.boolean().default(false),
});

function poolAttrs(
  op: string,
  x: Tensor,
  kernelSize: Pair,
  o: z.infer<typeof maxPoolSchema>,
  avg?: {
    countIncludePad: boolean;
    divisorOverride: number | null;
  },
): Pool2dAttrs {
  const k = parse(op, z.object({ kernelSize: pairOf(posInt) }), { kernelSize }, x).kernelSize;
  const ks = pair(k);
  return {
    kernelSize: ks,
    stride: o.stride === null ? ks : pair(o.stride),
    padding: pair(o.padding),
    dilation: pair(o.dilation),
    ceilMode: o.ceilMode,
    countIncludePad: avg?.countIncludePad ?? true,
    divisorOverride: avg?.divisorOverride ?? null,
  };
}

/** Max pooling over NCHW input. */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: MaxPool2dOptions = {}): Tensor {
  return maxPool2dWithIndices(x, kernelSize, options)[0];
}

/** Max pooling returning the values and the flat argmax index in each input plane. */
export function maxPool2dWithIndices(
  x: Tensor,
  kernelSize: Pair,
  options: MaxPool2dOptions = {},
): [Tensor, Tensor] {
  const o = parse("maxPool2d", maxPoolSchema, options, x);
  return maxPool2dRaw(x, poolAttrs("maxPool2d", x, kernelSize, o));
}

/** Options of {@linkcode avgPool2d}. */
export interface AvgPool2dOptions {
  /** Stride (default: the kernel size). */
  stride?: Pair | null;
  /** Implicit zero padding per side (at most half the kernel). */
  padding?: Pair;
  /** Use ceil for the output size. */
  ceilMode?: boolean;
  /** Count padding in the divisor (default true). */
  countIncludePad?: boolean;
  /** Fixed divisor. */
  divisorOverride?: number | null;
}

const avgPoolSchema = z.object({
  stride: pairOf(posInt).nullable().default(null),
  padding: pairOf(nonNegInt).default(0),
  ceilMode: z.boolean().default(false),
  countIncludePad: z.boolean().default(true),
  divisorOverride: posInt.nullable().default(null),
});

/** Average pooling over NCHW input. */
export function avgPool2d(x: Tensor, kernelSize: Pair, options: AvgPool2dOptions = {}): Tensor {
  const o = parse("avgPool2d", avgPoolSchema, options, x);
  return avgPool2dRaw(
    x,
    poolAttrs("avgPool2d", x, kernelSize, { ...o, dilation: 1 }, {
      countIncludePad: o.countIncludePad,
      divisorOverride: o.divisorOverride,
    }),
  );
}

/** Adaptive average pooling to `outputSize` (null keeps that input size). */
export function adaptiveAvgPool2d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null],
): Tensor {
  if (x.ndim !== 4) {
    throw new ShapeError(
      `adaptiveAvgPool2d: expected a 4-D input [N, C, H, W], got ${shapeStr(x.shape)}`,
    );
  }
  const [a, b] = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
  const os: [number, number] = [a ?? x.shape[2], b ?? x.shape[3]];
  parse("adaptiveAvgPool2d", z.tuple([posInt, posInt]), os, x);
  return adaptiveAvgPool2dRaw(x, os);
}

// ------------------------------------------------------------------ activations

/** max(0, x). */
export function relu(x: Tensor): Tensor {
  return unary("relu", x);
}

/** Logistic sigmoid. */
export function sigmoid(x: Tensor): Tensor {
  return unary("sigmoid", x);
}

/** tanh. */
export function tanh(x: Tensor): Tensor {
  return unary("tanh", x);
}

/** x for x ≥ 0, slope·x otherwise. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return where(x.gt(0), x, x.mul(negativeSlope));
}

/** GELU: exact (erf) or the tanh approximation. */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  if (approximate === "tanh") {
    const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}

/** x·sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return x.mul(x.sigmoid());
}

/** Softmax along `dim` (stable). */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxOp(x, dim);
}

/** Log-softmax along `dim` (log-sum-exp trick). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return logSoftmaxOp(x, dim);
}

// ------------------------------------------------------------------ dropout / normalisation

/** Options of {@linkcode dropout}. */
export interface DropoutOptions {
  /** Generator for the mask. */
  generator?: Generator;
}

/** Zeroes elements with probability p during training and scales the rest by 1/(1−p). */
export function dropout(x: Tensor, p = 0.5, training = true, options: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) {
    throw new ValueError(`dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const g = options.generator ?? defaultGenerator;
  const keepP = 1 - p;
  const m = allocHost(isFloating(x.dtype) ? x.dtype : "float32", x.size);
  const scale = 1 / keepP;
  for (let i = 0; i < m.length; i++) m[i] = g.uniform() < keepP ? scale : 0;
  return x.mul(fromData(m, x.shape, { device: x.device }));
}

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** Learnable scale γ. */
  weight?: Tensor | null;
  /** Learnable shift β. */
  bias?: Tensor | null;
  /** Use batch statistics and update running ones (default false). */
  training?: boolean;
  /** Running-average momentum (default 0.1; null means a cumulative average). */
  momentum?: number | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Batches seen so far, for momentum null (cumulative average). */
  numBatchesTracked?: number;
}

/**
 * Batch normalisation over dim 1 of [N, C] or [N, C, ...] input. In training it normalises with the
 * batch mean and biased variance and updates the running statistics in place (unbiased variance),
 * as PyTorch does. It runs as the fused `batchNormStats` and `batchNorm` ops (gradient: one
 * `batchNormBackward`), which decompose into elementwise ops and reductions on backends without
 * kernels for them.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  if (x.ndim < 2) {
    throw new ShapeError(
      `batchNorm: expected input with at least 2 dims [N, C, ...], got ${shapeStr(x.shape)}`,
    );
  }
  const c = x.shape[1];
  const eps = options.eps ?? 1e-5;
  for (
    const [name, t] of [["weight", options.weight], ["bias", options.bias], [
      "runningMean",
      runningMean,
    ], ["runningVar", runningVar]] as const
  ) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(
        `batchNorm: ${name} ${shapeStr(t.shape)} must have shape [${c}] for input ${
          shapeStr(x.shape)
        }`,
      );
    }
  }
  const training = options.training ?? false;
  const weight = options.weight ?? full([c], 1, { device: x.device, dtype: x.dtype });
  const bias = options.bias ?? full([c], 0, { device: x.device, dtype: x.dtype });
  if (!training) {
    if (!runningMean || !runningVar) {
      throw new ValueError("batchNorm: running statistics are required when not training");
    }
    return batchNormRaw(x, runningMean, runningVar, weight, bias, { training, eps });
  }
  const n = x.size / c;
  if (n <= 1) {
    throw new ValueError(
      `batchNorm: expected more than 1 value per channel when training, got input ${
        shapeStr(x.shape)
      }`,
    );
  }
  const [mean, variance] = batchNormStats(x);
  if (runningMean && runningVar) {
    const momentum = options.momentum === null
      ? 1 / ((options.numBatchesTracked ?? 0) + 1)
      : (options.momentum ?? 0.1);
    noGrad(() => {
      runningMean.mul_(1 - momentum).add_(mean.mul(momentum));
      runningVar.mul_(1 - momentum).add_(variance.mul(n / (n - 1)).mul(momentum));
    });
  }
  return batchNormRaw(x, mean, variance, weight, bias, { training, eps });
}

/** Local response normalisation across channels (AlexNet, GoogLeNet), as PyTorch's. */
export function localResponseNorm(
  x: Tensor,
  size: number,
  alpha = 1e-4,
  beta = 0.75,
  k = 1,
): Tensor {
  if (x.ndim < 3) {
    throw new ShapeError(
      `localResponseNorm: expected at least 3-D input [N, C, ...], got ${shapeStr(x.shape)}`,
    );
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new ValueError(`localResponseNorm: size must be a positive integer, got ${size}`);
  }
  const [n, c] = x.shape;
  const rest = x.size / (n * c);
  const sq = reshape(x.mul(x), [n, 1, c, rest]);
  const padded = pad(sq, [0, 0, Math.floor(size / 2), Math.floor((size - 1) / 2)]);
  const avg = avgPool2dRaw(padded, {
    kernelSize: [size, 1],
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    ceilMode: false,
    countIncludePad: true,
    divisorOverride: null,
  });
  const div = reshape(avg, x.shape as number[]).mul(alpha).add(k).pow(beta);
  return x.div(div);
}

// ------------------------------------------------------------------ misc

/** One-hot encoding of int32 class indices: shape [..., numClasses], int32. */
export function oneHot(index: Tensor, numClasses: number): Tensor {
  if (index.dtype !== "int32") {
    throw new ValueError(`oneHot: expected int32 class indices, got ${index.dtype}`);
  }
  const classes = arange(numClasses, undefined, 1, { device: index.device });
  return cast(index.unsqueeze(-1).eq(classes), "int32");
}
