/**
 * `explain()`: the trace dispatch records for each op (which backend ran it, why, and what data
 * moved) and the report of the capability registry's state (registry.ts) around it.
 *
 * @module
 */

import { shapeStr } from "./shape.ts";
import { currentFrame, isPromise, runInFrame } from "./context.ts";
import type { Tensor } from "./tensor.ts";
import type { KernelOverride } from "./types.ts";
import { backends, kernelOverrides, pending, sources, unavailable } from "./registry.ts";
import { providerLabel } from "./kernel_checks.ts";
import { activeRoutes } from "./routes.ts";

/** Where dispatch records what ran: the innermost explain(fn) call's trace, if any. */
export function activeTrace(): TraceEntry[] | undefined {
  return currentFrame()?.trace as TraceEntry[] | undefined;
}

/** Appends one dispatched op to an explain() trace. */
export function record(
  trace: TraceEntry[] | undefined,
  op: string,
  backend: string,
  via: TraceEntry["via"],
  inputs: readonly Tensor[],
  moved: string[] = [],
  declined?: readonly string[],
): void {
  if (!trace) return;
  const e: TraceEntry = { op, backend, via, shapes: inputs.map((t) => [...t.shape]), moved };
  if (declined?.length) e.declined = [...declined];
  if (via !== "decomposition" && via !== "view") {
    const s = sources.get(backend)?.get(op);
    if (s) {
      e.kernel = s.from;
      if (s.replaced !== undefined) e.overrides = s.replaced;
    }
  }
  trace.push(e);
}

/** One dispatched op in an {@linkcode explain} trace. */
export interface TraceEntry {
  /** Op name. */
  op: string;
  /** Backend whose kernel ran, or "decomposition". */
  backend: string;
  /**
   * Why that backend: the user's route, the inputs' device, a kernel provider for the inputs'
   * device (`BackendDef.provides`), a decomposition, or a fallback.
   */
  via: "route" | "device" | "provider" | "decomposition" | "fallback" | "view";
  /** Input shapes. */
  shapes: number[][];
  /** Data moved between backends for this op (`"input 0: webgpu→cpu"`). */
  moved: string[];
  /**
   * Who registered the kernel that ran (a plugin name, e.g. `"@denn/cpu"`); absent for views and
   * decompositions.
   */
  kernel?: string;
  /**
   * Set when that kernel replaced another provider's kernel (`override: true`): who registered
   * the replaced one.
   */
  overrides?: string;
  /**
   * Backends tried before this one that declined, each with its reason: a kernel provider's
   * cut-off (`"blas: conv weight [6, 1, 5, 5] is too small ..."`) or a route that could not run.
   */
  declined?: string[];
}

/** Report of the registry's state and, with a function, of where each op ran. */
export interface Explanation<T> {
  /** Result of the traced function. */
  result: T;
  /** One entry per dispatched op, in order. */
  trace: TraceEntry[];
  /** Registered backends with the number of kernels each has. */
  backends: Record<string, number>;
  /** Backends that could not register, with the reason. */
  unavailable: Record<string, string>;
  /** Active routes. */
  routes: Record<string, string>;
  /**
   * Kernels waiting for a backend that is not registered: backend name → `"op (from plugin)"`.
   * They attach when the backend registers.
   */
  pending: Record<string, string[]>;
  /** Kernels in force that replaced another provider's kernel (registered with `override: true`). */
  overrides: KernelOverride[];
  /** Human-readable summary. */
  toString(): string;
}

/**
 * Explains dispatch: which backends exist, which are unavailable and why, and, when given a
 * function, which backend ran every op it called. Given an async function, it resolves once that
 * has finished, with every op the function ran across its awaits (and only those).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { explain, tensor } from "./mod.ts";
 * const { trace } = explain(() => tensor([1, 2]).add(tensor([3, 4])));
 * console.log(trace[0].backend); // "cpu"
 * ```
 */
export function explain<T>(fn: () => Promise<T>): Promise<Explanation<T>>;
/** Explains a synchronous function (or, with none, the registry alone). */
export function explain<T = undefined>(fn?: () => T): Explanation<T>;
export function explain<T>(
  fn?: () => T | Promise<T>,
): Explanation<T> | Promise<Explanation<T>> {
  const entries: TraceEntry[] = [];
  const result = fn ? runInFrame({ trace: entries }, fn) : undefined;
  if (isPromise(result)) return result.then((r) => report(r as T, entries));
  return report(result as T, entries);
}

function report<T>(result: T, entries: TraceEntry[]): Explanation<T> {
  const r = activeRoutes();
  const info = {
    result,
    trace: entries,
    backends: Object.fromEntries([...backends].map(([k, b]) => [k, b.table.size])),
    unavailable: Object.fromEntries(unavailable),
    routes: Object.fromEntries(r),
    pending: Object.fromEntries(
      [...pending].map(([b, list]) => [
        b,
        list.flatMap((p) => Object.keys(p.kernels).map((op) => `${op} (from ${p.from})`)),
      ]),
    ),
    overrides: kernelOverrides(),
  };
  return {
    ...info,
    toString() {
      const lines = [
        `backends: ${
          Object.entries(info.backends).map(([k, n]) => `${k} (${n} kernels)`).join(", ")
        }`,
      ];
      for (const [k, why] of Object.entries(info.unavailable)) {
        lines.push(`unavailable: ${k}: ${why}`);
      }
      if (r.size) lines.push(`routes: ${JSON.stringify(info.routes)}`);
      for (const [b, list] of Object.entries(info.pending)) {
        lines.push(`pending for ${b} (not registered): ${list.join(", ")}`);
      }
      for (const o of info.overrides) {
        lines.push(
          `override: ${o.backend} ${o.op}: ${providerLabel(o.plugin)} replaces ${
            providerLabel(o.replaced)
          }`,
        );
      }
      for (const e of entries) {
        lines.push(
          `${e.op} ${e.shapes.map(shapeStr).join(" ")} → ${e.backend} (${e.via})` +
            (e.moved.length ? ` moved ${e.moved.join(", ")}` : "") +
            (e.declined ? ` (declined: ${e.declined.join("; ")})` : "") +
            (e.overrides === undefined
              ? ""
              : ` [kernel from ${e.kernel}, overriding ${e.overrides}]`),
        );
      }
      return lines.join("\n");
    },
  };
}
