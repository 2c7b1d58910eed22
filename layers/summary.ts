/**
 * `summary(model, inputShape)`: torchinfo's table of a model — every module call of one forward
 * pass with its output shape and parameter count, and the totals. It runs the model once on zeros
 * of that shape, on the model's device, in eval mode and without gradients, recording each call by
 * wrapping the modules' `forward` for that pass only (afterwards the model is as it was: same
 * forwards, same training flags, no tensors left behind).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { Conv2d, Flatten, Linear, ReLU, Sequential } from "./mod.ts";
 * import { summary } from "./summary.ts";
 * const net = new Sequential(new Conv2d(1, 4, 3), new ReLU(), new Flatten(), new Linear(4 * 26 * 26, 10));
 * const s = summary(net, [1, 1, 28, 28]);
 * console.log(s.totalParams, s.rows[1].outputShape); // 27090 [1, 4, 26, 26]
 * console.log(String(s)); // the table
 * ```
 *
 * @module
 */

import {
  isDType,
  itemSize,
  Module,
  noGrad,
  scope,
  ShapeError,
  Tensor,
  zeros,
} from "../core/mod.ts";
import type { DType } from "../core/mod.ts";
import { arity, bool, fail, knownKeys, show } from "./_validate.ts";

/** Options of {@linkcode summary}. */
export interface SummaryOptions {
  /** Deepest nesting shown (default 3, torchinfo's); deeper calls count in their parent's row. */
  depth?: number;
  /** Device of the zero inputs (default: the model's parameters' device, else "cpu"). */
  device?: string;
  /** Dtype of the zero inputs (default: the model's floating-point parameters' dtype, else float32). */
  dtype?: DType;
  /** Also print the table with `console.log` (default false). */
  print?: boolean;
}

/** One module call of the forward pass. */
export interface SummaryRow {
  /** Dotted name in the model (`"features.0"`; `""` for the model itself). */
  readonly name: string;
  /** The module's class name. */
  readonly type: string;
  /** Nesting of the call: 0 for the model, 1 for the modules it calls, ... */
  readonly depth: number;
  /** Shape of the output, or null when forward returned something other than a tensor. */
  readonly outputShape: readonly number[] | null;
  /** Elements of all the module's parameters, its children's included. */
  readonly numParams: number;
  /** Elements of the parameters the module holds itself. */
  readonly ownParams: number;
  /** Whether the module was already called earlier in the pass (a shared ReLU, say). */
  readonly repeated: boolean;
}

// The row index of each open call, and each row's parent, while the pass runs.
interface Call extends SummaryRow {
  parent: number;
  outputShape: number[] | null;
}

/** What {@linkcode summary} returns: the calls, the totals, and the table as its text. */
export class ModelSummary {
  /** Every module call of the forward pass, in call order (deeper ones too). */
  readonly rows: readonly SummaryRow[];
  /** The shapes of the zero inputs. */
  readonly inputShapes: readonly (readonly number[])[];
  /** Deepest nesting the table shows. */
  readonly depth: number;
  /** Parameter elements of the model, each parameter once. */
  readonly totalParams: number;
  /** Those that require grad. */
  readonly trainableParams: number;
  /** Those that do not. */
  readonly nonTrainableParams: number;
  /** Bytes of the parameters. */
  readonly paramBytes: number;
  /** Bytes of the inputs. */
  readonly inputBytes: number;
  readonly #parents: readonly number[];

  /** Built by {@linkcode summary}. */
  constructor(
    model: Module,
    rows: readonly SummaryRow[],
    parents: readonly number[],
    inputShapes: readonly (readonly number[])[],
    dtype: DType,
    depth: number,
  ) {
    this.rows = rows;
    this.#parents = parents;
    this.inputShapes = inputShapes;
    this.depth = depth;
    const params = model.parameters();
    this.totalParams = params.reduce((s, p) => s + p.numel(), 0);
    this.trainableParams = params.reduce((s, p) => s + (p.requiresGrad ? p.numel() : 0), 0);
    this.nonTrainableParams = this.totalParams - this.trainableParams;
    this.paramBytes = params.reduce((s, p) => s + p.numel() * itemSize(p.dtype), 0);
    this.inputBytes = inputShapes.reduce(
      (s, sh) => s + sh.reduce((a, b) => a * b, 1) * itemSize(dtype),
      0,
    );
  }

  /** The table, like torchinfo's. */
  toString(): string {
    const shown = this.rows.map((r) => r.depth <= this.depth);
    const hasShownChild = this.rows.map(() => false);
    const lastChild = new Map<number, number>();
    this.rows.forEach((_, i) => {
      const p = this.#parents[i];
      if (p >= 0 && shown[i]) {
        hasShownChild[p] = true;
        lastChild.set(p, i);
      }
    });
    const lines: [string, string, string][] = [];
    // Tree lines: "├─"/"└─" before the row, "│  " under each ancestor that has siblings below.
    const last = (c: number): boolean => lastChild.get(this.#parents[c]) === c;
    const prefix = (i: number): string => {
      let s = last(i) ? "└─" : "├─";
      for (let a = this.#parents[i]; a >= 0 && this.#parents[a] >= 0; a = this.#parents[a]) {
        s = (last(a) ? "   " : "│  ") + s;
      }
      return s;
    };
    this.rows.forEach((r, i) => {
      if (!shown[i]) return;
      const key = r.name.slice(r.name.lastIndexOf(".") + 1);
      const label = r.depth === 0 ? r.type : `${prefix(i)}${key}: ${r.type}`;
      const n = hasShownChild[i] ? r.ownParams : r.numParams;
      const params = n === 0 ? "--" : r.repeated ? "(recursive)" : group(n);
      lines.push([label, r.outputShape ? `[${r.outputShape.join(", ")}]` : "--", params]);
    });
    const head: [string, string, string] = ["Layer (name: type)", "Output Shape", "Param #"];
    const w0 = Math.max(...[head, ...lines].map((l) => l[0].length)) + 4;
    const w1 = Math.max(...[head, ...lines].map((l) => l[1].length)) + 4;
    const w2 = Math.max(...[head, ...lines].map((l) => l[2].length));
    const row = (l: [string, string, string]) =>
      (l[0].padEnd(w0) + l[1].padEnd(w1) + l[2]).trimEnd();
    const rule = "=".repeat(w0 + w1 + w2);
    const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
    return [
      rule,
      row(head),
      rule,
      ...lines.map(row),
      rule,
      `Total params: ${group(this.totalParams)}`,
      `Trainable params: ${group(this.trainableParams)}`,
      `Non-trainable params: ${group(this.nonTrainableParams)}`,
      rule,
      `Input size (MB): ${mb(this.inputBytes)}`,
      `Params size (MB): ${mb(this.paramBytes)}`,
      rule,
    ].join("\n");
  }

  /** What `console.log(summary)` prints in Deno: the table. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function shapeArg(v: unknown): readonly (readonly number[])[] | null {
  const isShape = (s: unknown): s is number[] =>
    Array.isArray(s) && s.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0);
  if (isShape(v) && v.length > 0) return [v];
  if (Array.isArray(v) && v.length > 0 && v.every(isShape)) return v;
  return null;
}

/**
 * torchinfo's `summary(model, input_size)`: runs `model` once on zeros of `inputShape` (a shape,
 * or a list of shapes for a forward that takes several inputs) and returns every module call with
 * its output shape and parameter count, and the totals. `String(result)` or `console.log(result)`
 * shows the table; `{ print: true }` also prints it.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { lenet5 } from "../plugins/models/mod.ts";
 * import { summary } from "./summary.ts";
 * const s = summary(lenet5(), [1, 1, 28, 28]);
 * console.log(s.totalParams); // 61706
 * console.log(s.rows.map((r) => r.outputShape)[2]); // [1, 6, 28, 28]
 * ```
 */
export function summary(
  model: Module,
  inputShape: readonly number[] | readonly (readonly number[])[],
  options: SummaryOptions = {},
): ModelSummary {
  arity("summary", arguments, 3);
  if (!(model instanceof Module)) fail("summary", "model", "must be a Module", model);
  const shapes = shapeArg(inputShape);
  if (!shapes) {
    throw new ShapeError(
      `summary: inputShape must be a shape like [1, 3, 224, 224] or a list of shapes, got ${
        show(inputShape)
      }`,
    );
  }
  knownKeys("summary", options, ["depth", "device", "dtype", "print"]);
  const depth = options.depth ?? 3;
  if (depth !== Infinity && (!Number.isInteger(depth) || depth < 0)) {
    fail("summary", "depth", "must be a non-negative integer or Infinity", depth);
  }
  const params = model.parameters();
  const device = options.device ?? params[0]?.device ?? "cpu";
  if (typeof device !== "string") fail("summary", "device", "must be a device name", device);
  const dtype = options.dtype ?? params.find((p) => p.dtype.startsWith("float"))?.dtype ??
    "float32";
  if (!isDType(dtype)) fail("summary", "dtype", "must be a denn dtype", dtype);
  const print = bool("summary", "print", options.print, false);

  const { rows, parents } = record(model, shapes, device, dtype);
  const result = new ModelSummary(model, rows, parents, shapes, dtype, depth);
  if (print) console.log(result.toString());
  return result;
}

// Runs the forward pass with every module's forward wrapped, and restores them.
function record(
  model: Module,
  shapes: readonly (readonly number[])[],
  device: string,
  dtype: DType,
): { rows: SummaryRow[]; parents: number[] } {
  const rows: Call[] = [];
  const stack: number[] = [];
  const seen = new Set<Module>();
  const restore: (() => void)[] = [];
  const modes = model.modules().map((m) => [m, m.training] as const);
  try {
    for (const [name, m] of model.namedModules()) {
      const own = Object.getOwnPropertyDescriptor(m, "forward");
      const forward = m.forward;
      const numParams = m.numParameters();
      const ownParams = Object.values(m).reduce(
        (s: number, v) => s + (v instanceof Tensor && v.isParameter ? v.numel() : 0),
        0,
      );
      Object.defineProperty(m, "forward", {
        configurable: true,
        writable: true,
        enumerable: false,
        value(this: Module, ...args: Tensor[]): Tensor {
          const row: Call = {
            name,
            type: m.constructor.name,
            depth: stack.length,
            parent: stack.length ? stack[stack.length - 1] : -1,
            outputShape: null,
            numParams,
            ownParams,
            repeated: seen.has(m),
          };
          seen.add(m);
          stack.push(rows.push(row) - 1);
          try {
            const out = forward.apply(this, args);
            if (out instanceof Tensor) row.outputShape = [...out.shape];
            return out;
          } finally {
            stack.pop();
          }
        },
      });
      restore.push(() => {
        if (own) Object.defineProperty(m, "forward", own);
        else delete (m as { forward?: unknown }).forward;
      });
    }
    model.eval();
    noGrad(() =>
      scope(() => {
        const inputs = shapes.map((s) => zeros(s, { dtype, device }));
        model.forward(...inputs);
      })
    );
  } finally {
    for (const r of restore) r();
    for (const [m, training] of modes) m.training = training;
  }
  return {
    rows: rows.map(({ parent: _, ...r }) => r),
    parents: rows.map((r) => r.parent),
  };
}
