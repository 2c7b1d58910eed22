// Option checks of the losses, run by each functional form and each loss class's constructor: an
// unknown key (`ignore_index`, `label_smoothing`), a value of the wrong type or a non-object (PyTorch's
// positional `mseLoss(x, y, "sum")` or `crossEntropy(x, y, weight)`) is a ValueError naming the loss,
// never silently the default. Internal: not exported from losses/mod.ts.

import { Tensor, ValueError } from "../core/mod.ts";

export { arity, tensorArg } from "../layers/_validate.ts";

type Kind = "reduction" | "tensor" | "number" | "int" | "boolean" | "taskLoss";

const KINDS: Record<string, Kind> = {
  reduction: "reduction",
  weight: "tensor",
  posWeight: "tensor",
  ignoreIndex: "int",
  labelSmoothing: "number",
  beta: "number",
  margin: "number",
  p: "int",
  logTarget: "boolean",
  epsilon: "number",
  taskLoss: "taskLoss",
};

function show(v: unknown): string {
  if (v instanceof Tensor) return `a ${v.dtype} tensor`;
  if (typeof v === "string") return `"${v}"`;
  if (v !== null && typeof v === "object") return v.constructor?.name ?? "an object";
  return String(v);
}

/** Checks a loss's options object against the keys it accepts; returns it. */
export function lossOptions<T extends object>(op: string, options: T, keys: readonly string[]): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== "object" || options instanceof Tensor || Array.isArray(options)) {
    throw new ValueError(
      `${op}: options must be an object like { ${keys.join(", ")} }, got ${show(options)}` +
        (options instanceof Tensor && keys.includes("weight") ? ` (pass { weight })` : "") +
        (typeof options === "string" ? ` (pass { reduction: "${options}" })` : ""),
    );
  }
  for (const [k, v] of Object.entries(options)) {
    if (!keys.includes(k)) {
      throw new ValueError(`${op}: unknown option "${k}" (expected ${keys.join(", ")})`);
    }
    if (v === undefined || (v === null && (KINDS[k] === "tensor" || KINDS[k] === "taskLoss"))) {
      continue;
    }
    const kind = KINDS[k];
    const ok = kind === "reduction"
      ? typeof v === "string"
      : kind === "tensor"
      ? v instanceof Tensor
      : kind === "number"
      ? typeof v === "number" && !Number.isNaN(v)
      : kind === "int"
      ? Number.isInteger(v)
      : kind === "boolean"
      ? typeof v === "boolean"
      : typeof v === "function" || v instanceof Tensor;
    if (!ok) {
      const what = kind === "reduction"
        ? "string"
        : kind === "int"
        ? "integer"
        : kind === "taskLoss"
        ? "function or a [C, C] tensor"
        : kind;
      throw new ValueError(`${op}: ${k} must be a ${what}, got ${show(v)}`);
    }
  }
  return options;
}
