/**
 * webgpu kernel of `fusedElementwise`: the expression becomes one WGSL function computing every
 * node from the inputs of one output element, run through the kit's {@linkcode elementwise}
 * (broadcasting by strides, contiguous dims merged), so the whole chain is one dispatch. Pipelines
 * are cached by the expression's code, dtypes and rank. Values are computed in f32 (float32 and
 * float16; float16 nodes are rounded through `f16` as each unfused op stores them) and i32 (int32
 * and bool), with the same WGSL expressions as the single-op kernels (`elementwise.ts`).
 *
 * @module
 */

import { broadcastShapes, broadcastStrides, kernelFor } from "../../core/mod.ts";
import type { DType, Tensor } from "../../core/mod.ts";
import { fusedElementwiseOp } from "../../layers/ops/fused.ts";
import type { FusedExpr } from "../../layers/ops/fused_expr.ts";
import { MAX_PARAMS } from "./device.ts";
import { coalesce } from "./wgsl.ts";
import { withinLimits } from "./limits.ts";
import type { Gpu, GpuBuffer } from "./device.ts";
import { elementwise } from "./kit.ts";
import { ARITH, MATH, UNARY_F, UNARY_I } from "./elementwise.ts";
import type { WebGpuKernelTable } from "./kit_launch.ts";

// The single-op kernels' expressions (elementwise.ts), plus what only a fused graph holds.
const WHERE = "select(c, b, a != 0)";
const FLOAT: Record<string, string> = {
  ...UNARY_F,
  ...Object.fromEntries(Object.entries(ARITH).map(([op, [fl]]) => [op, fl])),
  // As the reluBackward kernel: g passes where y > 0 or y is NaN, tested on y's bits.
  reluBackward: "select(0.0, a, bitcast<i32>(b) > 0 || (bitcast<u32>(b) & 0x7fffffffu) > " +
    "0x7f800000u)",
  where: WHERE,
};

const INT: Record<string, string> = {
  ...UNARY_I,
  ...Object.fromEntries(Object.entries(ARITH).map(([op, [, int]]) => [op, int])),
  where: WHERE,
};

// Comparisons over f32 or i32 arguments (the argument dtype decides); results are i32 0/1.
const COMPARE: Record<string, string> = {
  eq: "a == b",
  ne: "a != b",
  lt: "a < b",
  le: "a <= b",
  gt: "a > b",
  ge: "a >= b",
  logicalAnd: "a != 0 && b != 0",
  logicalOr: "a != 0 || b != 0",
};

const isFloat = (d: DType): boolean => d === "float32" || d === "float16";
const wtype = (d: DType): string => (isFloat(d) ? "f32" : "i32");

function literal(v: number, d: DType): string {
  if (!isFloat(d)) return `i32(${v})`;
  if (Number.isNaN(v)) return "nanf()";
  if (v === Infinity) return "inff()";
  if (v === -Infinity) return "(-inff())";
  return `f32(${Object.is(v, -0) ? "-0.0" : String(v)})`;
}

function castExpr(from: DType, to: DType): string {
  if (to === "bool") return isFloat(from) ? "select(0, 1, a != 0.0)" : "select(0, 1, a != 0)";
  if (isFloat(to)) return "f32(a)";
  return "i32(a)";
}

// The WGSL function `fused(a, b, ...)` computing the expression's last node.
function fusedFunction(expr: FusedExpr): string {
  const nodes = expr.nodes;
  const params = expr.inputs.map((d, j) => `x${j}: ${wtype(d)}`).join(", ");
  const lines = nodes.map((n, i) => {
    const t = wtype(n.dtype);
    if (n.op === "input") return `let v${i} = x${(n as { index: number }).index};`;
    if (n.op === "const") return `let v${i} = ${literal((n as { value: number }).value, n.dtype)};`;
    const args = (n as { args: readonly number[] }).args;
    const argType = nodes[args[args.length - 1]].dtype;
    let e: string;
    if (n.op === "cast") e = castExpr(nodes[args[0]].dtype, n.dtype);
    else if (n.op in COMPARE) {
      const c = n.op === "ne" && isFloat(argType)
        ? "isnanf(a) || isnanf(b) || a != b"
        : COMPARE[n.op];
      e = `select(0, 1, ${c})`;
    } else e = (isFloat(n.dtype) ? FLOAT : INT)[n.op];
    if (n.dtype === "float16") e = `f32(f16(${e}))`;
    const names = args.map((a, k) => `let ${"abc"[k]} = v${a};`).join(" ");
    return `var v${i}: ${t}; { ${names} v${i} = ${e}; }`;
  });
  return `fn fused(${params}) -> ${wtype(nodes[nodes.length - 1].dtype)} {
  ${lines.join("\n  ")}
  return v${nodes.length - 1};
}`;
}

const FUNCTIONS = new WeakMap<FusedExpr, string>();
const LETTERS = "abcdefgh";

/** The webgpu `fusedElementwise` kernel (up to 7 inputs; declines more, which then decompose). */
export function fusedKernels(gpu: Gpu): WebGpuKernelTable {
  return kernelFor(fusedElementwiseOp, {
    supports(inputs: readonly Tensor[], { expr }, _c: unknown): true | string {
      if (inputs.length > 7) return `fusedElementwise takes at most 7 inputs, got ${inputs.length}`;
      const f16Node = expr.nodes.some((n) => n.dtype === "float16");
      const f16Binding = inputs.some((t) => t.dtype === "float16") ||
        expr.nodes[expr.nodes.length - 1].dtype === "float16";
      if (f16Node && !f16Binding) {
        return "float16 intermediate values need a float16 input or output";
      }
      const shape = inputs.reduce<number[]>(
        (s, t) => broadcastShapes("fusedElementwise", s, t.shape),
        [],
      );
      const [s] = coalesce(shape, inputs.map((t) => broadcastStrides(t.shape, shape)));
      if (1 + s.length * (inputs.length + 1) > MAX_PARAMS) {
        return `a rank-${s.length} walk over ${inputs.length} inputs exceeds the parameter block`;
      }
      return withinLimits(gpu, inputs);
    },
    run(inputs, { expr }, out): GpuBuffer[] {
      let fn = FUNCTIONS.get(expr);
      if (!fn) FUNCTIONS.set(expr, fn = fusedFunction(expr));
      return [
        elementwise(gpu, {
          name: "fusedElementwise",
          expr: `fused(${inputs.map((_, j) => LETTERS[j]).join(", ")})`,
          inputs,
          output: out[0],
          helpers: `${MATH}\n${fn}`,
        }),
      ];
    },
  });
}
