/**
 * An adversarial-user catalogue of bad calls: the first guesses a PyTorch user makes (PyTorch's
 * argument forms, snake_case option names, wrong dtypes and shapes, out-of-range dims and indices,
 * strings, null and arrays where numbers go, disposed tensors, mixed devices, autograd misuse, bad
 * layer, loss and optimizer options). Each case names the error class denn must raise and text of
 * its message, which names the op. Not a test file: tests/core/bad_calls_test.ts runs it on cpu and
 * tests/webgpu/bad_calls_webgpu_test.ts on webgpu, and both print {@linkcode summary}'s table.
 *
 * This module holds the case type, the combined {@linkcode badCalls} and the runner; each group's
 * cases live in a file of this folder (creation.ts, elementwise.ts, ..., index_values.ts), and the
 * helpers they share in _helpers.ts.
 *
 * A case creates its tensors on the device it is given. When `run` returns a Tensor (or an array of
 * them) the runner reads it back, so errors that GPU backends record on the device (IndexError)
 * surface there. A case marked `known` describes a silent wrong answer still to fix: it is skipped
 * and listed in the summary.
 *
 * @module
 */

import { Tensor } from "../../mod.ts";
import { autogradCases } from "./autograd.ts";
import { creation } from "./creation.ts";
import { devicesCases } from "./devices.ts";
import { elementwise } from "./elementwise.ts";
import { functional } from "./functional.ts";
import { indexValues } from "./index_values.ts";
import { layers } from "./layers.ts";
import { linalg } from "./linalg.ts";
import { losses } from "./losses.ts";
import { movement } from "./movement.ts";
import { optimizers } from "./optimizers.ts";
import { reductions } from "./reductions.ts";
import { views } from "./views.ts";

/** An error class exported from mod.ts. */
export type ErrorClass = new (...args: never[]) => Error;

/** One bad call and the error it must raise. */
export interface BadCall {
  /** The catalogue group (creation, elementwise, ...). */
  group: string;
  /** What the call gets wrong. */
  name: string;
  /** Makes the call with its tensors on `device`; a returned Tensor (or Tensor[]) is read back. */
  run: (device: string) => unknown | Promise<unknown>;
  /** The class the error must be (exactly, not a subclass). */
  error: ErrorClass;
  /** Text the message must contain (naming the op), or a pattern it must match. */
  message: string | RegExp;
  /** The devices the case applies to (default: every device). */
  devices?: string[];
  /** A silent wrong answer not yet fixed: the case is skipped and this description printed. */
  known?: string;
}

/** The catalogue, in group order. */
export const badCalls: readonly BadCall[] = [
  ...creation.map((c) => ({ ...c, group: "creation" })),
  ...elementwise.map((c) => ({ ...c, group: "elementwise" })),
  ...reductions.map((c) => ({ ...c, group: "reductions" })),
  ...views.map((c) => ({ ...c, group: "views/indexing" })),
  ...movement.map((c) => ({ ...c, group: "movement" })),
  ...linalg.map((c) => ({ ...c, group: "linalg" })),
  ...functional.map((c) => ({ ...c, group: "nn functional" })),
  ...losses.map((c) => ({ ...c, group: "losses" })),
  ...layers.map((c) => ({ ...c, group: "layers/modules" })),
  ...optimizers.map((c) => ({ ...c, group: "optimizers" })),
  ...autogradCases.map((c) => ({ ...c, group: "autograd" })),
  ...devicesCases.map((c) => ({ ...c, group: "devices/dispose" })),
  ...indexValues.map((c) => ({ ...c, group: "index values" })),
];

// ------------------------------------------------------------------ the runner

/** The outcome of one case on one device. */
export interface CaseResult {
  /** The case. */
  call: BadCall;
  /** The device it ran on. */
  device: string;
  /** "passed", "failed", or "known" (skipped: a silent wrong answer still to fix). */
  status: "passed" | "failed" | "known";
  /** Why it failed (empty when it passed). */
  detail: string;
}

/** The groups, in catalogue order. */
export function groups(): string[] {
  return [...new Set(badCalls.map((c) => c.group))];
}

/** The cases that apply to `device`. */
export function casesFor(device: string, group?: string): BadCall[] {
  return badCalls.filter((c) =>
    (!c.devices || c.devices.includes(device)) && (group === undefined || c.group === group)
  );
}

function tensorsIn(v: unknown): Tensor[] {
  if (v instanceof Tensor) return [v];
  if (Array.isArray(v)) return v.flatMap(tensorsIn);
  return [];
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return v.toString();
  if (Array.isArray(v)) return `[${v.map(describe).join(", ")}]`;
  if (v !== null && typeof v === "object") return `a ${v.constructor?.name ?? "object"}`;
  return String(v);
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : `the non-error ${String(e)}`;
}

/**
 * Runs one case on `device`: calls it, reads back a returned tensor, and checks the error's class
 * and message. `settle` (e.g. the webgpu plugin's `sync`) runs afterwards; an error it raises is a
 * device error the case left behind, and fails the case.
 */
export async function runCase(
  call: BadCall,
  device: string,
  settle?: () => Promise<void>,
): Promise<CaseResult> {
  if (call.known) return { call, device, status: "known", detail: call.known };
  let detail = "";
  try {
    const v = await call.run(device);
    for (const t of tensorsIn(v)) await t.toArray();
    detail = `returned ${describe(v)} instead of throwing ${call.error.name}`;
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== call.error) {
      detail = `expected ${call.error.name}, got ${describeError(e)}`;
    } else {
      const m = call.message;
      const ok = typeof m === "string" ? e.message.includes(m) : m.test(e.message);
      if (!ok) detail = `${call.error.name} message lacks ${String(m)}:\n    ${e.message}`;
    }
  }
  if (settle) {
    try {
      await settle();
    } catch (e) {
      detail ||= `left a pending device error: ${describeError(e)}`;
    }
  }
  return { call, device, status: detail ? "failed" : "passed", detail };
}

/** Runs every case of `group` on `device`, in order. */
export async function runGroup(
  group: string,
  device: string,
  settle?: () => Promise<void>,
): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of casesFor(device, group)) out.push(await runCase(c, device, settle));
  return out;
}

/** The failures among `results`, one line each, or "" when there are none. */
export function failures(results: readonly CaseResult[]): string {
  return results
    .filter((r) => r.status === "failed")
    .map((r) => `  [${r.call.group}] ${r.call.name}: ${r.detail}`)
    .join("\n");
}

/**
 * The table both runners print: per group, the cases that apply to the device, those run (all but
 * the `known` ones), those passed, those skipped as known, and the error classes the group's cases
 * expect; then the known gaps, if any.
 */
export function summary(results: readonly CaseResult[], device: string): string {
  const rows: string[][] = [["group", "cases", "run", "passed", "known", "errors"]];
  const totals = [0, 0, 0, 0];
  const all = new Set<string>();
  for (const g of groups()) {
    const rs = results.filter((r) => r.call.group === g);
    if (rs.length === 0) continue;
    const known = rs.filter((r) => r.status === "known").length;
    const counts = [
      rs.length,
      rs.length - known,
      rs.filter((r) => r.status === "passed").length,
      known,
    ];
    counts.forEach((n, i) => (totals[i] += n));
    const errs = [...new Set(rs.map((r) => r.call.error.name))].sort();
    errs.forEach((e) => all.add(e));
    rows.push([g, ...counts.map(String), errs.join(", ")]);
  }
  rows.push(["total", ...totals.map(String), [...all].sort().join(", ")]);
  const numeric = (i: number) => i >= 1 && i <= 4;
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    `| ${
      r.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => (numeric(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")
  }|`;
  const out = [`bad calls on ${device}:`, line(rows[0]), rule, ...rows.slice(1).map(line)];
  const known = results.filter((r) => r.status === "known");
  if (known.length) {
    out.push("", "known gaps, skipped (silent wrong answers and raw errors still to fix):");
    for (const r of known) out.push(`  [${r.call.group}] ${r.call.name}: ${r.detail}`);
  }
  return out.join("\n");
}
