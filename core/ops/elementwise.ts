/**
 * Elementwise ops: unary math, binary arithmetic with NumPy broadcasting, comparisons, `where` and
 * `cast`, each with its gradient rule beside it. The op names and the factories that define a unary
 * or binary op are in elementwise_kinds.ts.
 *
 * @module
 */

import { z } from "zod";
import { isFloating, promoteTypes } from "../dtype.ts";
import type { DType } from "../dtype.ts";
import { DTypeError, ValueError } from "../errors.ts";
import { dtypeArg, show } from "../args.ts";
import { apply1 } from "../registry.ts";
import { defineOp } from "../catalogue.ts";
import type { GradContext, OpDef, TensorSpec } from "../registry.ts";
import { broadcastShapes, sameShape } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { scalar, scalarLike } from "../creation.ts";
import { sumToShape } from "./reduce.ts";
import { binaryOp, FLOAT_ONLY, inferBinary, unaryOp } from "./elementwise_kinds.ts";
import type { BinaryOpName, CompareOpName, NoAttrs, UnaryOpName } from "./elementwise_kinds.ts";

/** A tensor or a plain number (broadcast as a 0-d tensor). */
export type TensorLike = Tensor | number | boolean;

const NONE: NoAttrs = {};

// ---------------------------------------------------------------- unary

const U = {
  neg: unaryOp("neg", "same", (g) => g.neg(), "none"),
  exp: unaryOp("exp", "float", (g, _x, y) => g.mul(y), "output"),
  log: unaryOp("log", "float", (g, x) => g.div(x), "input"),
  log1p: unaryOp("log1p", "float", (g, x) => g.div(x.add(1)), "input"),
  sqrt: unaryOp("sqrt", "float", (g, _x, y) => g.div(y.mul(2)), "output"),
  rsqrt: unaryOp("rsqrt", "float", (g, _x, y) => g.mul(y.pow(3)).mul(-0.5), "output"),
  abs: unaryOp("abs", "same", (g, x) => g.mul(x.sign()), "input"),
  sign: unaryOp("sign", "same", null, "none"),
  relu: unaryOp("relu", "same", (g, _x, y) => reluBackward(g, y), "output"),
  sigmoid: unaryOp("sigmoid", "float", (g, _x, y) => g.mul(y.mul(y.neg().add(1))), "output"),
  tanh: unaryOp("tanh", "float", (g, _x, y) => g.mul(y.mul(y).neg().add(1)), "output"),
  erf: unaryOp(
    "erf",
    "float",
    (g, x) => g.mul(x.mul(x).neg().exp().mul(2 / Math.sqrt(Math.PI))),
    "input",
  ),
  sin: unaryOp("sin", "float", (g, x) => g.mul(x.cos()), "input"),
  cos: unaryOp("cos", "float", (g, x) => g.mul(x.sin()).neg(), "input"),
  reciprocal: unaryOp("reciprocal", "float", (g, _x, y) => g.mul(y.mul(y)).neg(), "output"),
  floor: unaryOp("floor", "same", null, "none"),
  ceil: unaryOp("ceil", "same", null, "none"),
  round: unaryOp("round", "same", null, "none"),
  logicalNot: unaryOp("logicalNot", "bool", null, "none"),
};

const reluBackwardOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "reluBackward",
  family: "relu",
  infer(inputs): TensorSpec[] {
    const [g, y] = inputs;
    if (!isFloating(g.dtype) || g.dtype !== y.dtype || !sameShape(g.shape, y.shape)) {
      throw new DTypeError(
        `reluBackward: expected floating gradient and output of one dtype and shape, got ${g.dtype} ` +
          `[${g.shape.join(", ")}] and ${y.dtype} [${y.shape.join(", ")}]`,
      );
    }
    return [{ shape: g.shape as number[], dtype: g.dtype }];
  },
  // Linear in g with the same mask; zero almost everywhere in y.
  grad: (ctx, gg) => [ctx.needsInputGrad[0] ? reluBackward(gg, ctx.inputs[1]) : null, null],
  // As PyTorch's threshold_backward: the gradient passes where y > 0 (and where y is NaN).
  decompose: ([g, y]) => [where(y.le(0), 0, g)],
});

/** ReLU's gradient from its output: `g` where `y > 0`, else 0 (one fused kernel where available). */
export function reluBackward(g: Tensor, y: Tensor): Tensor {
  return apply1(reluBackwardOp, [g, y], NONE);
}

/** Applies a unary elementwise op (int inputs of float-only ops are promoted to float32). */
export function unary(name: UnaryOpName, x: Tensor): Tensor {
  if (FLOAT_ONLY.has(name) && !isFloating(x.dtype)) x = cast(x, "float32");
  if (name === "logicalNot" && x.dtype !== "bool") x = cast(x, "bool");
  return apply1(U[name], [x], NONE);
}

// ---------------------------------------------------------------- binary

const B = {
  add: binaryOp("add", (ctx, g) => [
    ctx.needsInputGrad[0] ? sumToShape(g, ctx.inputShapes[0]) : null,
    ctx.needsInputGrad[1] ? sumToShape(g, ctx.inputShapes[1]) : null,
  ], false),
  sub: binaryOp("sub", (ctx, g) => [
    ctx.needsInputGrad[0] ? sumToShape(g, ctx.inputShapes[0]) : null,
    ctx.needsInputGrad[1] ? sumToShape(g.neg(), ctx.inputShapes[1]) : null,
  ], false),
  mul: binaryOp("mul", (ctx, g) => {
    const [a, b] = ctx.inputs;
    return [
      ctx.needsInputGrad[0] ? sumToShape(g.mul(b), ctx.inputShapes[0]) : null,
      ctx.needsInputGrad[1] ? sumToShape(g.mul(a), ctx.inputShapes[1]) : null,
    ];
  }),
  div: binaryOp("div", (ctx, g) => {
    const [a, b] = ctx.inputs;
    return [
      ctx.needsInputGrad[0] ? sumToShape(g.div(b), ctx.inputShapes[0]) : null,
      ctx.needsInputGrad[1] ? sumToShape(g.mul(a).div(b.mul(b)).neg(), ctx.inputShapes[1]) : null,
    ];
  }),
  pow: binaryOp(
    "pow",
    (ctx, g) => {
      const [a, b] = ctx.inputs;
      const y = ctx.outputs[0];
      return [
        ctx.needsInputGrad[0]
          ? sumToShape(g.mul(b).mul(a.pow(b.sub(1))), ctx.inputShapes[0])
          : null,
        // d/db a^b = a^b ln a; PyTorch defines it as 0 where a == 0 (and b >= 0).
        ctx.needsInputGrad[1]
          ? sumToShape(g.mul(where(a.eq(0), 0, y.mul(a.log()))), ctx.inputShapes[1])
          : null,
      ];
    },
    true,
    true,
  ),
  maximum: binaryOp("maximum", (ctx, g) => minMaxGrad(ctx, g, "gt")),
  minimum: binaryOp("minimum", (ctx, g) => minMaxGrad(ctx, g, "lt")),
};

// Ties split the gradient evenly between both inputs, as PyTorch does.
function minMaxGrad(ctx: GradContext<NoAttrs>, g: Tensor, cmp: "gt" | "lt"): (Tensor | null)[] {
  const [a, b] = ctx.inputs;
  const wins = cmp === "gt" ? a.gt(b) : a.lt(b);
  const tie = a.eq(b);
  const wa = where(wins, 1, where(tie, 0.5, 0));
  return [
    ctx.needsInputGrad[0] ? sumToShape(g.mul(wa), ctx.inputShapes[0]) : null,
    ctx.needsInputGrad[1] ? sumToShape(g.mul(wa.neg().add(1)), ctx.inputShapes[1]) : null,
  ];
}

const C: Record<CompareOpName, OpDef<NoAttrs>> = {} as Record<CompareOpName, OpDef<NoAttrs>>;
for (const name of ["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"] as const) {
  C[name] = defineOp<NoAttrs>({ name, infer: inferBinary(name, true), differentiable: false });
}

function scalarDType(v: number | boolean, t: DType): DType {
  if (typeof v === "boolean" || isFloating(t)) return t;
  if (!Number.isInteger(v)) return "float32";
  return t === "bool" ? "int32" : t;
}

// PyTorch's promotion: tensors promote by dtype; a plain number adopts the tensor's dtype unless it
// needs a wider one (a fraction makes an integer tensor float32; a float16 tensor stays float16).
function coerce(
  name: string,
  a: TensorLike,
  b: TensorLike,
  floatResult: boolean,
): [Tensor, Tensor] {
  let ta: Tensor, tb: Tensor, dt: DType;
  for (const v of [a, b]) {
    if (!(v instanceof Tensor) && typeof v !== "number" && typeof v !== "boolean") {
      throw new ValueError(`${name}: expected a Tensor or a number, got ${show(v)}`);
    }
  }
  if (a instanceof Tensor && b instanceof Tensor) {
    ta = a;
    tb = b;
    dt = promoteTypes(a.dtype, b.dtype);
  } else if (a instanceof Tensor) {
    ta = a;
    dt = scalarDType(b as number, a.dtype);
    if (floatResult && !isFloating(dt)) dt = "float32";
    tb = scalar(b as number, dt, a.device);
  } else if (b instanceof Tensor) {
    tb = b;
    dt = scalarDType(a, b.dtype);
    if (floatResult && !isFloating(dt)) dt = "float32";
    ta = scalar(a, dt, b.device);
  } else {
    throw new DTypeError(`${name}: at least one argument must be a Tensor`);
  }
  if (floatResult && !isFloating(dt)) dt = "float32";
  if (ta.dtype !== dt) ta = cast(ta, dt);
  if (tb.dtype !== dt) tb = cast(tb, dt);
  return [ta, tb];
}

/** Applies a binary arithmetic op with broadcasting and dtype promotion. */
export function binary(name: BinaryOpName, a: TensorLike, b: TensorLike): Tensor {
  if (name === "pow" && typeof b === "number" && b < 0 && isIntPow(a, b)) {
    throw new ValueError(
      `pow: integers to negative integer powers are not allowed (exponent ${b})`,
    );
  }
  const [ta, tb] = coerce(name, a, b, name === "div" || name === "pow" && !isIntPow(a, b));
  if (ta.dtype === "bool" && name === "sub") {
    throw new DTypeError(
      "sub: subtraction of bool tensors is not supported; use logicalXor or a cast",
    );
  }
  if (ta.dtype === "bool" && name !== "maximum" && name !== "minimum") {
    const [ia, ib] = [cast(ta, "int32"), cast(tb, "int32")];
    return apply1(B[name], [ia, ib], NONE);
  }
  return apply1(B[name], [ta, tb], NONE);
}

function isIntPow(a: TensorLike, b: TensorLike): boolean {
  const ai = a instanceof Tensor ? !isFloating(a.dtype) : Number.isInteger(a);
  const bi = b instanceof Tensor ? !isFloating(b.dtype) : Number.isInteger(b);
  return ai && bi;
}

/** Applies a comparison (bool result) with broadcasting. */
export function compare(name: CompareOpName, a: TensorLike, b: TensorLike): Tensor {
  let [ta, tb] = coerce(name, a, b, false);
  if (name === "logicalAnd" || name === "logicalOr") {
    if (ta.dtype !== "bool") ta = cast(ta, "bool");
    if (tb.dtype !== "bool") tb = cast(tb, "bool");
  }
  return apply1(C[name], [ta, tb], NONE);
}

// ---------------------------------------------------------------- where, cast

const whereOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "where",
  infer(inputs): TensorSpec[] {
    const [c, a, b] = inputs;
    if (c.dtype !== "bool") throw new DTypeError(`where: condition must be bool, got ${c.dtype}`);
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`where: branches must share a dtype, got ${a.dtype} and ${b.dtype}`);
    }
    const s = broadcastShapes("where", broadcastShapes("where", c.shape, a.shape), b.shape);
    return [{ shape: s, dtype: a.dtype }];
  },
  grad(ctx, g) {
    const c = ctx.inputs[0];
    const zero = scalarLike(0, g);
    return [
      null,
      ctx.needsInputGrad[1] ? sumToShape(where(c, g, zero), ctx.inputShapes[1]) : null,
      ctx.needsInputGrad[2] ? sumToShape(where(c, zero, g), ctx.inputShapes[2]) : null,
    ];
  },
});

/**
 * Picks `a` where `cond` is true and `b` elsewhere, with broadcasting.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import { tensor, where } from "../mod.ts";
 * const x = tensor([-1, 2]);
 * const y = where(x.gt(0), x, 0); // [0, 2]
 * ```
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) {
    throw new ValueError(`where: condition must be a bool Tensor, got ${show(cond)}`);
  }
  if (cond.dtype !== "bool") {
    throw new DTypeError(
      `where: condition must be a bool tensor, got ${cond.dtype} (compare it, e.g. cond.ne(0))`,
    );
  }
  let ta: Tensor, tb: Tensor;
  if (a instanceof Tensor || b instanceof Tensor) [ta, tb] = coerce("where", a, b, false);
  else {
    const dt: DType = Number.isInteger(a) && Number.isInteger(b) ? "int32" : "float32";
    ta = scalar(a, dt, cond.device);
    tb = scalar(b, dt, cond.device);
  }
  return apply1(whereOp, [cond, ta, tb], NONE);
}

/** Attributes of `cast`. */
export interface CastAttrs {
  /** Target dtype. */
  dtype: DType;
}

const castOp: OpDef<CastAttrs> = defineOp<CastAttrs>({
  name: "cast",
  attrs: z.object({
    dtype: z.enum(["float32", "float16", "int32", "bool"]),
  }) as unknown as z.ZodType<
    CastAttrs
  >,
  infer: (inputs, a) => [{ shape: inputs[0].shape as number[], dtype: a.dtype }],
  savesInputs: false,
  // The gradient returns in the input's dtype (float16 → float32 casts send float16 gradients back).
  grad: (ctx, g) => [isFloating(ctx.inputDtypes[0]) ? cast(g, ctx.inputDtypes[0]) : null],
});

/**
 * Converts a tensor to another dtype (float→int truncates toward zero, like PyTorch; float32→float16
 * rounds to nearest even, and magnitudes beyond float16's range become ±Infinity).
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  dtypeArg("cast", dtype);
  if (x.dtype === dtype) return x;
  return apply1(castOp, [x], { dtype });
}
