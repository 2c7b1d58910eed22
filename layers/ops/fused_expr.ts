/**
 * The expression graph of the `fusedElementwise` op (its gradient and the op itself are in
 * fused.ts): the primitives a graph may hold, its node and expression types, the checks that make
 * a node list an expression ({@linkcode fusedExpr}, the only form the op accepts), a builder that
 * shares identical nodes and drops unused ones, and input pruning.
 *
 * @module
 */

import { UNARY_OPS, ValueError } from "../../core/mod.ts";
import type { DType } from "../../core/mod.ts";
import type { FusedAttrs } from "./fused.ts";

/** Unary primitives a fused expression may hold (the core ops of the same names). */
export const FUSED_UNARY: readonly string[] = UNARY_OPS;

/** Binary primitives a fused expression may hold (arithmetic, comparisons, `reluBackward`). */
export const FUSED_BINARY: readonly string[] = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "logicalAnd",
  "logicalOr",
  "reluBackward",
];

const COMPARE = new Set(["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"]);
const ARITY = new Map<string, number>([
  ...FUSED_UNARY.map((o): [string, number] => [o, 1]),
  ...FUSED_BINARY.map((o): [string, number] => [o, 2]),
  ["where", 3],
  ["cast", 1],
]);
const DTYPE_SET = new Set<string>(["float32", "float16", "int32", "bool"]);

/** One node of a fused expression: an input, a scalar constant, or a primitive over earlier nodes. */
export type FusedNode =
  | { readonly op: "input"; readonly index: number; readonly dtype: DType }
  | { readonly op: "const"; readonly value: number; readonly dtype: DType }
  | { readonly op: string; readonly args: readonly number[]; readonly dtype: DType };

/** A checked fused expression: nodes in evaluation order, the last one the result. */
export interface FusedExpr {
  /** The nodes; arguments refer to earlier nodes by index. */
  readonly nodes: readonly FusedNode[];
  /** Dtype of each input (input nodes refer to these by index). */
  readonly inputs: readonly DType[];
  /** A canonical string of the graph: backends cache compiled code by it. */
  readonly key: string;
}

const CHECKED = new WeakSet<FusedExpr>();

/** Rounds a constant to what a `dtype` tensor holds (as `scalar(value, dtype)` stores it). */
export function roundTo(value: number, dtype: DType): number {
  if (dtype === "float32") return Math.fround(value);
  if (dtype === "float16") return Math.f16round(value);
  if (dtype === "int32") return value | 0;
  return value ? 1 : 0;
}

export function bad(msg: string): never {
  throw new ValueError(`fusedElementwise: ${msg}`);
}

function nodeKey(n: FusedNode): string {
  if (n.op === "input") return `i${(n as { index: number }).index}:${n.dtype}`;
  if (n.op === "const") {
    const v = (n as { value: number }).value;
    return `c${Object.is(v, -0) ? "-0" : v}:${n.dtype}`;
  }
  return `${n.op}(${(n as { args: readonly number[] }).args.join(",")}):${n.dtype}`;
}

/**
 * Checks a node list and returns it as a {@linkcode FusedExpr} (the only form the op accepts):
 * every op must be a supported elementwise primitive with its arity, arguments must refer to
 * earlier nodes, input indices to `inputs`, and constants must be finite or ±Infinity/NaN numbers
 * already representable in their dtype. A ValueError names the first bad node.
 */
export function fusedExpr(nodes: readonly FusedNode[], inputs: readonly DType[]): FusedExpr {
  if (!Array.isArray(nodes) || nodes.length === 0) bad("an expression needs at least one node");
  if (!Array.isArray(inputs) || inputs.some((d) => !DTYPE_SET.has(d))) {
    bad(`input dtypes must be dtype names, got ${JSON.stringify(inputs)}`);
  }
  const frozen: FusedNode[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (!n || typeof n !== "object" || !DTYPE_SET.has(n.dtype)) {
      bad(`node ${i} is not a node with a dtype: ${JSON.stringify(n)}`);
    }
    if (n.op === "input") {
      const k = (n as { index: number }).index;
      if (!Number.isInteger(k) || k < 0 || k >= inputs.length || inputs[k] !== n.dtype) {
        bad(`node ${i} reads input ${k}, which is not a ${n.dtype} input of ${inputs.length}`);
      }
      frozen.push(Object.freeze({ op: "input", index: k, dtype: n.dtype }));
    } else if (n.op === "const") {
      const v = (n as { value: number }).value;
      if (typeof v !== "number" || (!Number.isNaN(v) && !Object.is(roundTo(v, n.dtype), v))) {
        bad(`node ${i}: constant ${v} is not a ${n.dtype} value`);
      }
      frozen.push(Object.freeze({ op: "const", value: v, dtype: n.dtype }));
    } else {
      const args = (n as { args: readonly number[] }).args;
      const arity = ARITY.get(n.op);
      if (arity === undefined) bad(`node ${i}: "${n.op}" is not a fusable elementwise op`);
      if (!Array.isArray(args) || args.length !== arity) {
        bad(`node ${i}: ${n.op} takes ${arity} argument(s)`);
      }
      for (const a of args) {
        if (!Number.isInteger(a) || a < 0 || a >= i) {
          bad(`node ${i}: argument ${a} must be an earlier node`);
        }
      }
      frozen.push(Object.freeze({ op: n.op, args: Object.freeze([...args]), dtype: n.dtype }));
    }
  }
  const expr: FusedExpr = Object.freeze({
    nodes: Object.freeze(frozen),
    inputs: Object.freeze([...inputs]),
    key: `${inputs.join(",")}|${frozen.map(nodeKey).join(";")}`,
  });
  CHECKED.add(expr);
  return expr;
}

export function checkAttrs(a: FusedAttrs): FusedExpr {
  const e = a?.expr;
  if (!e || !CHECKED.has(e)) {
    bad("attrs.expr must be an expression made by fusedExpr() (or F.fuse)");
  }
  return e;
}

/**
 * Builds expressions node by node, sharing identical nodes (`x·x` reads x once) and dropping
 * nodes the result does not use when finished.
 */
export class ExprBuilder {
  #nodes: FusedNode[] = [];
  #index = new Map<string, number>();

  /** Adds a node (or finds an identical one) and returns its index. */
  node(n: FusedNode): number {
    const k = nodeKey(n);
    let i = this.#index.get(k);
    if (i === undefined) {
      i = this.#nodes.length;
      this.#nodes.push(n);
      this.#index.set(k, i);
    }
    return i;
  }

  /** The dtype of node `i`. */
  dtype(i: number): DType {
    return this.#nodes[i].dtype;
  }

  /** An input node. */
  input(index: number, dtype: DType): number {
    return this.node({ op: "input", index, dtype });
  }

  /** A constant, rounded to `dtype`. */
  c(value: number, dtype: DType): number {
    return this.node({ op: "const", value: roundTo(value, dtype), dtype });
  }

  /** A primitive over earlier nodes; the dtype follows the op (bool for comparisons). */
  op(op: string, args: readonly number[], dtype?: DType): number {
    const d = dtype ??
      (COMPARE.has(op) || op === "logicalNot" ? "bool" : this.dtype(args[op === "where" ? 1 : 0]));
    return this.node({ op, args, dtype: d });
  }

  /** The expression computing node `out` (unused nodes dropped) over inputs of `inputs` dtypes. */
  finish(out: number, inputs: readonly DType[]): FusedExpr {
    const live = new Uint8Array(out + 1);
    live[out] = 1;
    for (let i = out; i >= 0; i--) {
      const n = this.#nodes[i];
      if (live[i] && "args" in n) { for (const a of n.args) live[a] = 1; }
    }
    const at = new Int32Array(out + 1).fill(-1);
    const kept: FusedNode[] = [];
    for (let i = 0; i <= out; i++) {
      if (!live[i]) continue;
      const n = this.#nodes[i];
      at[i] = kept.length;
      kept.push("args" in n ? { op: n.op, args: n.args.map((a) => at[a]), dtype: n.dtype } : n);
    }
    return fusedExpr(kept, inputs);
  }
}

const PRUNED = new WeakMap<FusedExpr, { expr: FusedExpr; used: number[] }>();

/** Which inputs an expression reads, and the same expression over those inputs alone (cached). */
export function pruneInputs(expr: FusedExpr): { expr: FusedExpr; used: number[] } {
  let p = PRUNED.get(expr);
  if (!p) PRUNED.set(expr, p = prune(expr));
  return p;
}

function prune(expr: FusedExpr): { expr: FusedExpr; used: number[] } {
  const used = [
    ...new Set(
      expr.nodes.filter((n) => n.op === "input").map((n) => (n as { index: number }).index),
    ),
  ].sort((a, b) => a - b);
  if (used.length === expr.inputs.length) return { expr, used };
  const to = new Map(used.map((u, j) => [u, j]));
  const nodes = expr.nodes.map((n) =>
    n.op === "input" ? { ...n, index: to.get((n as { index: number }).index)! } : n
  );
  return { expr: fusedExpr(nodes, used.map((u) => expr.inputs[u])), used };
}
