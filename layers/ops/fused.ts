/**
 * The `fusedElementwise` op: a chain of elementwise ops (unary math, broadcasting arithmetic,
 * comparisons, `where`, casts, scalar constants) held as a small expression graph and run as one
 * op, so a backend can compile it into one loop or shader. The graph is a list of nodes in
 * evaluation order; each node names a primitive elementwise op of the core catalogue, its
 * arguments (earlier nodes) and its result dtype, so the op's decomposition replays exactly those
 * primitives, and a backend kernel computes each node as that primitive would (rounded to the
 * node's dtype). Every input is broadcast to the output's shape, the broadcast of all inputs.
 *
 * The gradient is generated, not recomputed op by op: for each input that needs one, the graph is
 * differentiated symbolically with the core ops' own rules into another expression over the inputs
 * and the upstream gradient, which runs as one more `fusedElementwise` (so it is differentiable
 * again). `layers/fuse.ts` builds these graphs by tracing a function; this file has no tracer.
 * The expression graph itself (node types, the checks of {@linkcode fusedExpr}, the builder,
 * pruning) is in `fused_expr.ts`; this file holds its gradient and the op.
 *
 * @example
 * ```ts
 * import "../../plugins/cpu/mod.ts";
 * import "../fuse.ts";
 * import { tensor } from "../../core/mod.ts";
 * import { fusedElementwise } from "./fused.ts";
 * import { fusedExpr } from "./fused_expr.ts";
 * // x · 2 + 1 over one float32 input.
 * const expr = fusedExpr([
 *   { op: "input", index: 0, dtype: "float32" },
 *   { op: "const", value: 2, dtype: "float32" },
 *   { op: "mul", args: [0, 1], dtype: "float32" },
 *   { op: "const", value: 1, dtype: "float32" },
 *   { op: "add", args: [2, 3], dtype: "float32" },
 * ], ["float32"]);
 * console.log(fusedElementwise([tensor([1, 2])], expr).toArraySync()); // [3, 5]
 * ```
 *
 * @module
 */

import {
  apply,
  apply1,
  broadcastShapes,
  DTypeError,
  getOp,
  isFloating,
  scalar,
  sumToShape,
} from "../../core/mod.ts";
import type { DType, OpDef, Tensor, TensorSpec } from "../../core/mod.ts";
import { bad, checkAttrs, ExprBuilder, pruneInputs } from "./fused_expr.ts";
import type { FusedExpr } from "./fused_expr.ts";

/** Attributes of `fusedElementwise`. */
export interface FusedAttrs {
  /** The expression, made by {@linkcode fusedExpr}. */
  expr: FusedExpr;
}

// ---------------------------------------------------------------- gradient

type Rule = (
  b: ExprBuilder,
  g: number,
  args: readonly number[],
  self: number,
  d: DType,
) => (number | null)[];

// The core ops' gradient rules (core/ops/elementwise.ts), written over expression nodes.
const RULES: Record<string, Rule> = {
  neg: (b, g) => [b.op("neg", [g])],
  exp: (b, g, _a, y) => [b.op("mul", [g, y])],
  log: (b, g, [x]) => [b.op("div", [g, x])],
  log1p: (b, g, [x], _y, d) => [b.op("div", [g, b.op("add", [x, b.c(1, d)])])],
  sqrt: (b, g, _a, y, d) => [b.op("div", [g, b.op("mul", [y, b.c(2, d)])])],
  rsqrt: (b, g, _a, y, d) => [
    b.op("mul", [b.op("mul", [g, b.op("pow", [y, b.c(3, d)])]), b.c(-0.5, d)]),
  ],
  abs: (b, g, [x]) => [b.op("mul", [g, b.op("sign", [x])])],
  relu: (b, g, _a, y) => [b.op("reluBackward", [g, y])],
  sigmoid: (b, g, _a, y, d) => [
    b.op("mul", [g, b.op("mul", [y, b.op("add", [b.op("neg", [y]), b.c(1, d)])])]),
  ],
  tanh: (b, g, _a, y, d) => [
    b.op("mul", [g, b.op("add", [b.op("neg", [b.op("mul", [y, y])]), b.c(1, d)])]),
  ],
  erf: (b, g, [x], _y, d) => [
    b.op("mul", [
      g,
      b.op("mul", [
        b.op("exp", [b.op("neg", [b.op("mul", [x, x])])]),
        b.c(2 / Math.sqrt(Math.PI), d),
      ]),
    ]),
  ],
  sin: (b, g, [x]) => [b.op("mul", [g, b.op("cos", [x])])],
  cos: (b, g, [x]) => [b.op("neg", [b.op("mul", [g, b.op("sin", [x])])])],
  reciprocal: (b, g, _a, y) => [b.op("neg", [b.op("mul", [g, b.op("mul", [y, y])])])],
  add: (_b, g) => [g, g],
  sub: (b, g) => [g, b.op("neg", [g])],
  mul: (b, g, [x, y]) => [b.op("mul", [g, y]), b.op("mul", [g, x])],
  div: (b, g, [x, y]) => [
    b.op("div", [g, y]),
    b.op("neg", [b.op("div", [b.op("mul", [g, x]), b.op("mul", [y, y])])]),
  ],
  pow: (b, g, [x, e], y, d) => [
    b.op("mul", [b.op("mul", [g, e]), b.op("pow", [x, b.op("sub", [e, b.c(1, d)])])]),
    b.op("mul", [
      g,
      b.op("where", [b.op("eq", [x, b.c(0, d)]), b.c(0, d), b.op("mul", [y, b.op("log", [x])])]),
    ]),
  ],
  maximum: (b, g, [x, y], _s, d) => minMax(b, g, x, y, d, "gt"),
  minimum: (b, g, [x, y], _s, d) => minMax(b, g, x, y, d, "lt"),
  where: (b, g, [c], _y, d) => [
    null,
    b.op("where", [c, g, b.c(0, d)]),
    b.op("where", [c, b.c(0, d), g]),
  ],
  reluBackward: (b, g, [, y]) => [b.op("reluBackward", [g, y]), null],
  cast: () => [], // handled in gradExpr: the gradient returns in the argument's dtype
};

// Ties split the gradient evenly, as PyTorch (and core's rule) do.
function minMax(b: ExprBuilder, g: number, x: number, y: number, d: DType, cmp: string) {
  const wa = b.op("where", [
    b.op(cmp, [x, y]),
    b.c(1, d),
    b.op("where", [b.op("eq", [x, y]), b.c(0.5, d), b.c(0, d)]),
  ]);
  return [b.op("mul", [g, wa]), b.op("mul", [g, b.op("add", [b.op("neg", [wa]), b.c(1, d)])])];
}

const GRADS = new WeakMap<FusedExpr, (FusedExpr | null | undefined)[]>();

/**
 * The gradient of `expr` with respect to input `wrt`, as an expression over the original inputs
 * followed by the upstream gradient (the result's dtype), in input `wrt`'s dtype and broadcast to
 * the output's shape (sum it to the input's shape). Null where the gradient is zero everywhere
 * (no differentiable path). Cached per expression.
 */
export function gradExpr(expr: FusedExpr, wrt: number): FusedExpr | null {
  let cache = GRADS.get(expr);
  if (!cache) GRADS.set(expr, cache = []);
  if (cache[wrt] !== undefined) return cache[wrt]!;
  const nodes = expr.nodes, out = nodes.length - 1;
  const b = new ExprBuilder();
  // Forward nodes keep their indices in the builder (they are already unique).
  const at: number[] = [];
  for (const n of nodes) {
    at.push("args" in n ? b.op(n.op, n.args.map((a) => at[a]), n.dtype) : b.node(n));
  }
  const needs = nodes.map(() => false);
  nodes.forEach((n, i) => {
    if (!isFloating(n.dtype)) return;
    if (n.op === "input") needs[i] = (n as { index: number }).index === wrt;
    else if ("args" in n) needs[i] = n.args.some((a) => needs[a]);
  });
  const outDtype = nodes[out].dtype;
  const adj: (number | undefined)[] = [];
  if (needs[out]) adj[out] = b.input(expr.inputs.length, outDtype);
  for (let i = out; i >= 0; i--) {
    const n = nodes[i], g = adj[i];
    if (g === undefined || !("args" in n)) continue;
    const contribs = n.op === "cast"
      ? [b.op("cast", [g], nodes[n.args[0]].dtype)]
      : RULES[n.op]?.(b, g, n.args.map((a) => at[a]), at[i], n.dtype) ?? [];
    n.args.forEach((a, k) => {
      const c = contribs[k];
      if (c === null || c === undefined || !needs[a]) return;
      adj[a] = adj[a] === undefined ? c : b.op("add", [adj[a]!, c]);
    });
  }
  const inputNode = nodes.findIndex((n) =>
    n.op === "input" && (n as { index: number }).index === wrt
  );
  const g = inputNode < 0 ? undefined : adj[inputNode];
  const r = g === undefined ? null : b.finish(g, [...expr.inputs, outDtype]);
  cache[wrt] = r;
  return r;
}

// ---------------------------------------------------------------- op

/**
 * `fusedElementwise`: one output, the expression's last node, of the broadcast shape of all inputs
 * and the last node's dtype. Inputs must have the expression's input dtypes.
 */
export const fusedElementwiseOp: OpDef<FusedAttrs> = {
  name: "fusedElementwise",
  infer(inputs, a): TensorSpec[] {
    const e = checkAttrs(a);
    if (inputs.length !== e.inputs.length || inputs.length === 0) {
      bad(`expected ${e.inputs.length} input(s) (at least one), got ${inputs.length}`);
    }
    let shape: number[] = [...inputs[0].shape];
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i].dtype !== e.inputs[i]) {
        throw new DTypeError(
          `fusedElementwise: input ${i} is ${inputs[i].dtype}, the expression expects ${
            e.inputs[i]
          }`,
        );
      }
      if (i) shape = broadcastShapes("fusedElementwise", shape, inputs[i].shape);
    }
    return [{ shape, dtype: e.nodes[e.nodes.length - 1].dtype }];
  },
  grad(ctx, g) {
    const e = ctx.attrs.expr;
    return ctx.inputs.map((x, i) => {
      if (!ctx.needsInputGrad[i] || !isFloating(x.dtype)) return null;
      const ge = gradExpr(e, i);
      const shape = ctx.inputShapes[i] as number[];
      if (!ge) return scalar(0, x.dtype, g.device).expand(shape).clone();
      return sumToShape(runExpr(ge, [...ctx.inputs, g]), shape);
    });
  },
  // Replays the primitives the expression names, with its dtypes: the unfused computation.
  decompose(inputs, a) {
    const nodes = a.expr.nodes, vals: Tensor[] = [];
    const device = inputs[0].device;
    for (const n of nodes) {
      if (n.op === "input") vals.push(inputs[(n as { index: number }).index]);
      else if (n.op === "const") vals.push(scalar((n as { value: number }).value, n.dtype, device));
      else {
        const args = (n as { args: readonly number[] }).args.map((k) => vals[k]);
        const op = getOp(n.op)!;
        vals.push(apply1(op, args, n.op === "cast" ? { dtype: n.dtype } : {}));
      }
    }
    return [vals[vals.length - 1]];
  },
};

/** The fused ops, for a plugin manifest's `ops`. */
// deno-lint-ignore no-explicit-any
export const fusedOps: readonly OpDef<any>[] = [fusedElementwiseOp];

/** Runs an expression over `inputs`, passing the op only the inputs the expression reads. */
export function runExpr(expr: FusedExpr, inputs: readonly Tensor[]): Tensor {
  const p = pruneInputs(expr);
  return apply(fusedElementwiseOp, p.used.map((u) => inputs[u]), { expr: p.expr })[0];
}

/**
 * Runs `fusedElementwise` over `inputs` (one per expression input, broadcast together) and
 * returns its output.
 */
export function fusedElementwise(inputs: readonly Tensor[], expr: FusedExpr): Tensor {
  return apply1(fusedElementwiseOp, inputs, { expr });
}
