/**
 * cpu kernel of `fusedElementwise`: each expression compiles once (cached by its key) into one
 * JavaScript loop that computes every node per element, with the same expressions as the
 * single-op kernels (`elementwise.ts`) and each node rounded to its dtype as storing it would
 * (`Math.fround`, `Math.f16round`, `| 0`), so the result is bit-for-bit that of the unfused ops
 * (but for x³, multiplied rather than `Math.pow`ed: see `POWERS`).
 * Broadcast inputs are walked by strides over the merged output dims; same-shape and scalar
 * inputs take a flat loop. float16 is read and written as `Float16Array` directly.
 *
 * @module
 */

import { allocHost, broadcastStrides, coalesce, kernelFor, sizeOf } from "../../core/mod.ts";
import type { DType, TypedArray } from "../../core/mod.ts";
import { fusedElementwiseOp } from "../../layers/ops/fused.ts";
import type { FusedExpr, FusedNode } from "../../layers/ops/fused_expr.ts";
import { BINARY, erf, rint, UNARY } from "./elementwise.ts";
import { hostArray } from "./kit.ts";
import type { CpuKernelTable } from "./kit.ts";

type Loop = (
  ins: readonly TypedArray[],
  o: TypedArray,
  n: number,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
) => void;

const loops = new Map<string, Loop>();
let compiles = 0;

/** How many fused loops the cpu backend has compiled (each distinct expression compiles once). */
export function fusedCpuStats(): { compiles: number; cached: number } {
  return { compiles, cached: loops.size };
}

const FLOAT_EXTRA: Record<string, string> = {
  relu: "(a > 0 || a !== a ? a : 0)",
  reluBackward: "(b <= 0 ? 0 : a)",
  where: "(a !== 0 ? b : c)",
};
const INT_EXTRA: Record<string, string> = { ...FLOAT_EXTRA, relu: "(a > 0 ? a : 0)" };

const isFloatType = (d: DType): boolean => d === "float32" || d === "float16";

function round(dtype: DType, e: string): string {
  if (dtype === "float32") return `Math.fround(${e})`;
  if (dtype === "float16") return `Math.f16round(${e})`;
  if (dtype === "int32") return `((${e}) | 0)`;
  return e; // bool results are already 0 or 1
}

function castExpr(to: DType): string {
  if (to === "float32") return "Math.fround(a)";
  if (to === "float16") return "Math.f16round(a)";
  if (to === "int32") return "(a | 0)";
  return "(a !== 0 ? 1 : 0)";
}

function literal(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

// Math.pow costs about fifteen multiplications: small integer powers (x³ in GELU, x² in its
// gradient) multiply instead. x·x is exact in double precision for float32 and float16 x, so
// rounding it gives pow's result; x·x·x rounds once in double precision before the float rounding.
const POWERS: Record<number, string> = { 1: "a", 2: "a * a", 3: "a * a * a" };

function statement(n: FusedNode, i: number, nodes: readonly FusedNode[]): string {
  const args = (n as { args: readonly number[] }).args;
  const names = args.map((a, k) => `${"abc"[k]} = v${a}`).join(", ");
  const exponent = n.op === "pow" && isFloatType(n.dtype) && nodes[args[1]].op === "const"
    ? POWERS[(nodes[args[1]] as { value: number }).value]
    : undefined;
  let e: string;
  if (n.op === "cast") e = castExpr(n.dtype);
  else if (exponent) e = round(n.dtype, exponent);
  else {
    const extra = isFloatType(n.dtype) ? FLOAT_EXTRA : INT_EXTRA;
    const x = extra[n.op] ?? UNARY[n.op] ?? BINARY[n.op];
    e = round(n.dtype, x);
  }
  return `let v${i}; { const ${names}; v${i} = ${e}; }`;
}

function compile(expr: FusedExpr): Loop {
  const nodes = expr.nodes, k = expr.inputs.length, out = nodes.length - 1;
  const consts: string[] = [];
  const body = (index: (j: number) => string): string => {
    const lines: string[] = [];
    nodes.forEach((n, i) => {
      if (n.op === "input") {
        const j = (n as { index: number }).index;
        lines.push(`const v${i} = I${j}[${index(j)}];`);
      } else if (n.op !== "const") lines.push(statement(n, i, nodes));
    });
    return lines.join("\n      ");
  };
  nodes.forEach((n, i) => {
    if (n.op === "const") consts.push(`const v${i} = ${literal((n as { value: number }).value)};`);
  });
  const js = (f: (j: number) => string) => Array.from({ length: k }, (_, j) => f(j)).join(" ");
  const src = `
    ${js((j) => `const I${j} = ins[${j}];`)}
    ${consts.join("\n    ")}
    const d = shape.length, last = d - 1;
    if (d === 1) {
      ${js((j) => `const m${j} = strides[${j}][0] === 0 ? 0 : -1;`)}
      for (let i = 0; i < n; i++) {
        ${body((j) => `i & m${j}`)}
        O[i] = v${out};
      }
      return;
    }
    const inner = shape[last];
    ${js((j) => `const s${j} = strides[${j}], t${j} = s${j}[last]; let p${j} = 0;`)}
    const idx = new Int32Array(d);
    let o = 0;
    while (o < n) {
      for (let q = 0; q < inner; q++) {
        ${body((j) => `p${j} + q * t${j}`)}
        O[o + q] = v${out};
      }
      o += inner;
      let r = last - 1;
      for (; r >= 0; r--) {
        idx[r]++;
        ${js((j) => `p${j} += s${j}[r];`)}
        if (idx[r] < shape[r]) break;
        ${js((j) => `p${j} -= s${j}[r] * shape[r];`)}
        idx[r] = 0;
      }
      if (r < 0) break;
    }`;
  compiles++;
  return new Function("erf", "rint", `return function (ins, O, n, shape, strides) {${src}\n};`)(
    erf,
    rint,
  ) as Loop;
}

/** The cpu `fusedElementwise` kernel (all dtypes; float16 natively). */
export const fusedKernels: CpuKernelTable = kernelFor(fusedElementwiseOp, {
  run(inputs, { expr }, out): TypedArray[] {
    const shape = out[0].shape, n = sizeOf(shape);
    const o = allocHost(out[0].dtype, n);
    if (n === 0) return [o];
    let loop = loops.get(expr.key);
    if (!loop) loops.set(expr.key, loop = compile(expr));
    const [s, st] = coalesce(shape, inputs.map((t) => broadcastStrides(t.shape, shape)));
    loop(inputs.map((t) => hostArray(t)), o, n, s, st);
    return [o];
  },
});
