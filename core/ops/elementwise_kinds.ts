/**
 * How the elementwise ops are declared: the names of the unary, binary and comparison ops, which
 * unary ops are float-only, and the factories that define a unary or binary op with its dtype rule
 * and gradient rule. The ops themselves and their functions (`unary`, `binary`, `compare`) are in
 * elementwise.ts.
 *
 * @module
 */

import { isFloating } from "../dtype.ts";
import { DTypeError } from "../errors.ts";
import { defineOp } from "../catalogue.ts";
import type { GradContext, OpDef, TensorSpec } from "../registry.ts";
import { broadcastShapes, sameShape } from "../shape.ts";
import type { Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { scalarLike } from "../creation.ts";

export type NoAttrs = Record<string, never>;

/** Names of the unary elementwise ops. */
export type UnaryOpName =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "sqrt"
  | "rsqrt"
  | "abs"
  | "sign"
  | "relu"
  | "sigmoid"
  | "tanh"
  | "erf"
  | "sin"
  | "cos"
  | "reciprocal"
  | "floor"
  | "ceil"
  | "round"
  | "logicalNot";

/** The unary elementwise ops, in the order of {@linkcode UnaryOpName}. */
export const UNARY_OPS: readonly UnaryOpName[] = [
  "neg",
  "exp",
  "log",
  "log1p",
  "sqrt",
  "rsqrt",
  "abs",
  "sign",
  "relu",
  "sigmoid",
  "tanh",
  "erf",
  "sin",
  "cos",
  "reciprocal",
  "floor",
  "ceil",
  "round",
  "logicalNot",
];

/** How the output dtype of a unary op follows its input. */
type UnaryKind = "float" | "same" | "bool";

export function unaryOp(
  name: UnaryOpName,
  kind: UnaryKind,
  grad: ((g: Tensor, x: Tensor, y: Tensor) => Tensor) | null,
  uses: "input" | "output" | "none",
): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    infer(inputs): TensorSpec[] {
      const x = inputs[0];
      if (kind === "float" && !isFloating(x.dtype)) {
        throw new DTypeError(`${name}: expected a floating-point tensor, got ${x.dtype}`);
      }
      if (kind === "same" && x.dtype === "bool") {
        throw new DTypeError(
          `${name}: not defined for bool tensors (cast to float32 or int32 first)`,
        );
      }
      return [{ shape: x.shape as number[], dtype: kind === "bool" ? "bool" : x.dtype }];
    },
    savesInputs: uses === "input",
    savesOutputs: uses === "output",
    differentiable: kind !== "bool",
    grad: grad
      ? (ctx, g) => [grad(g, ctx.inputs[0], ctx.outputs[0])]
      : (ctx, g) => [zerosOf(ctx.inputShapes[0], g)],
  });
}

// Ops that save nothing (sign, floor, ...) still know the gradient's dtype and device.
function zerosOf(shape: Shape, like: Tensor): Tensor {
  return scalarLike(0, like).expand(shape as number[]).clone();
}

export const FLOAT_ONLY = new Set<UnaryOpName>([
  "exp",
  "log",
  "log1p",
  "sqrt",
  "rsqrt",
  "sigmoid",
  "tanh",
  "erf",
  "sin",
  "cos",
  "reciprocal",
]);

/** Names of the binary arithmetic ops. */
export type BinaryOpName = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
/** Names of the comparison ops (bool results). */
export type CompareOpName = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "logicalAnd" | "logicalOr";

export function inferBinary(name: string, compare: boolean) {
  return (inputs: readonly Tensor[]): TensorSpec[] => {
    const [a, b] = inputs;
    if (a.dtype !== b.dtype) {
      throw new DTypeError(
        `${name}: kernel inputs must share a dtype, got ${a.dtype} and ${b.dtype}`,
      );
    }
    const shape = sameShape(a.shape, b.shape)
      ? a.shape as number[]
      : broadcastShapes(name, a.shape, b.shape);
    return [{ shape, dtype: compare ? "bool" : a.dtype }];
  };
}

export function binaryOp(
  name: BinaryOpName,
  grad: (ctx: GradContext<NoAttrs>, g: Tensor) => (Tensor | null)[],
  savesInputs = true,
  savesOutputs = false,
): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    infer: inferBinary(name, false),
    grad,
    savesInputs,
    savesOutputs,
  });
}
