/**
 * The capability registry: what an op and a kernel are, the backends and their kernel tables
 * (including kernels waiting for a backend not registered yet), routes, strict mode and
 * `explain()`. Ops are defined in the catalogue (catalogue.ts); dispatch.ts runs them.
 *
 * @module
 */

import { DeviceError, ValueError } from "./errors.ts";
import { shapeStr } from "./shape.ts";
import { currentFrame, isPromise, runInFrame } from "./context.ts";
import type { Tensor } from "./tensor.ts";
import { clearKernelCaches } from "./catalogue.ts";

export type {
  AttrSchema,
  Backend,
  BackendDef,
  GradContext,
  Kernel,
  KernelEntry,
  OpDef,
  TensorSpec,
} from "./types.ts";
export { kernelFor } from "./types.ts";
import type { Backend, BackendDef, Kernel, KernelEntry, OpDef } from "./types.ts";

// deno-lint-ignore no-explicit-any
type AnyOp = OpDef<any> & { cache?: Map<string, KernelEntry | null> };

// Registry state; dispatch.ts reads it (these names are not part of core/mod.ts).
/** Registered backends by name. */
export const backends: Map<string, Backend> = new Map();
/** Backends that could not register, with the reason. */
export const unavailable: Map<string, string> = new Map();
/** Routes set without a function (route(table)). */
export const globalRoutes: Map<string, string> = new Map();
let strict = false;

// The routes in force: those of the innermost route(table, fn) call, else the global table.
function activeRoutes(): Map<string, string> {
  return currentFrame()?.routes ?? globalRoutes;
}

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
): void {
  trace?.push({ op, backend, via, shapes: inputs.map((t) => [...t.shape]), moved });
}

export { defineOp, getOp, listOps } from "./catalogue.ts";
export { apply, apply1, moveStorage, validateAttrs } from "./dispatch.ts";

function entryOf(v: Kernel | KernelEntry): KernelEntry {
  return typeof v === "function" ? { run: v } : v;
}

// Methods may live on a class prototype, so they are read through the object, not its own keys.
function method<F>(def: BackendDef, key: keyof BackendDef): F | undefined {
  const f = (def as unknown as Record<string, unknown>)[key];
  return typeof f === "function" ? f.bind(def) as F : undefined;
}

/**
 * Registers a backend (normally through a backend plugin and `use()`). The definition may be a
 * plain object or a class instance. Kernels that plugins registered for this backend name before
 * it existed attach now.
 */
export function registerBackend(def: BackendDef): Backend {
  checkBackend(def);
  const wrap = method<(op: string, e: KernelEntry) => KernelEntry>(def, "wrapKernel");
  const table = new Map<string, KernelEntry>();
  const add = (k: string, v: Kernel | KernelEntry) => {
    const e = entryOf(v);
    table.set(k, wrap ? wrap(k, e) : e);
  };
  for (const [k, v] of Object.entries(def.kernels ?? {})) add(k, v);
  for (const p of pending.get(def.name) ?? []) {
    for (const [k, v] of Object.entries(p.kernels)) add(k, v);
  }
  pending.delete(def.name);
  const b: Backend = {
    name: def.name,
    hostMemory: def.hostMemory,
    priority: def.priority,
    context: def.context,
    upload: method(def, "upload")!,
    download: method(def, "download")!,
    downloadSync: method(def, "downloadSync"),
    free: method(def, "free"),
    wrapKernel: wrap,
    kernels: def.kernels ?? {},
    table,
  };
  backends.set(def.name, b);
  unavailable.delete(def.name);
  clearKernelCaches();
  return b;
}

/** Throws a clear error for a backend definition {@linkcode registerBackend} would reject. */
export function checkBackend(def: BackendDef): void {
  if (!def || typeof def !== "object" || typeof def.name !== "string" || def.name === "") {
    throw new ValueError("registerBackend: a backend needs a non-empty string name");
  }
  if (backends.has(def.name)) {
    throw new ValueError(`registerBackend: a backend named "${def.name}" is already registered`);
  }
  for (const key of ["upload", "download"] as const) {
    if (typeof def[key] !== "function") {
      throw new ValueError(`registerBackend: backend "${def.name}" has no ${key}() method`);
    }
  }
  for (const [op, k] of Object.entries(def.kernels ?? {})) {
    if (typeof k !== "function" && typeof (k as KernelEntry)?.run !== "function") {
      throw new ValueError(
        `registerBackend: backend "${def.name}": the kernel for ${op} is neither a function nor ` +
          `an entry with a run() function`,
      );
    }
  }
}

interface PendingKernels {
  readonly from: string;
  readonly kernels: Record<string, Kernel | KernelEntry>;
}
const pending = new Map<string, PendingKernels[]>();

/**
 * Adds kernels to a backend. Where the backend is not registered yet (a plugin loaded before
 * `use(await webgpu())`, or a backend that never registers here), they wait and attach when it
 * registers; `explain()` lists them meanwhile. `from` names who supplied them (a plugin).
 */
export function registerKernels(
  backend: string,
  kernels: Record<string, Kernel | KernelEntry>,
  from = "registerKernels",
): void {
  const b = backends.get(backend);
  if (!b) {
    const list = pending.get(backend) ?? [];
    list.push({ from, kernels });
    pending.set(backend, list);
    return;
  }
  for (const [k, v] of Object.entries(kernels)) {
    const e = entryOf(v);
    b.table.set(k, b.wrapKernel ? b.wrapKernel(k, e) : e);
  }
  clearKernelCaches();
}

/** Records that a backend could not register, so `explain()` can say why. */
export function markUnavailable(name: string, reason: string): void {
  if (!backends.has(name)) unavailable.set(name, reason);
}

/** Removes a backend (tests, or a backend whose device was lost). */
export function unregisterBackend(name: string): void {
  backends.delete(name);
  for (const [op, dev] of globalRoutes) if (dev === name) globalRoutes.delete(op);
  clearKernelCaches();
}

/** The backend registered under `name`; throws a clear error otherwise. */
export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (b) return b;
  const why = unavailable.get(name);
  throw new DeviceError(
    `device "${name}" is not available` + (why ? `: ${why}` : "") +
      ` (registered: ${[...backends.keys()].join(", ") || "none"}` +
      (name === "cpu" ? `; import "@denn/denn" or "@denn/denn/plugins/cpu" to register cpu)` : ")"),
  );
}

/** Whether a backend is registered. */
export function hasBackend(name: string): boolean {
  return backends.has(name);
}

/** Names of registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/**
 * Routes ops (or op families) to backends. With a function, the routes apply only while it runs
 * (an async function: across its awaits, and only for it).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { route, tensor } from "./mod.ts";
 * route({ matmul: "cpu" });
 * const y = tensor([[1, 2]]).matmul(tensor([[3], [4]]));
 * route({ matmul: null }); // removes the route
 * const z = route({ matmul: "cpu" }, () => y.matmul(tensor([[1]])));
 * ```
 */
export function route(table: Record<string, string | null>): void;
/** Applies routes only while `fn` runs and returns its result. */
export function route<T>(table: Record<string, string | null>, fn: () => T): T;
export function route<T>(table: Record<string, string | null>, fn?: () => T): T | void {
  const target = fn ? new Map(activeRoutes()) : globalRoutes;
  for (const [op, dev] of Object.entries(table)) {
    if (dev === null) target.delete(op);
    else target.set(op, dev);
  }
  if (fn) return runInFrame({ routes: target }, fn);
}

/** Current routes, op → backend. */
export function getRoutes(): Record<string, string> {
  return Object.fromEntries(activeRoutes());
}

/** Turns strict dispatch on or off: in strict mode no op silently falls back to another backend. */
export function setStrict(on: boolean): void {
  strict = on;
}

/** Whether strict dispatch is on. */
export function isStrict(): boolean {
  return strict;
}

/** One dispatched op in an {@linkcode explain} trace. */
export interface TraceEntry {
  /** Op name. */
  op: string;
  /** Backend whose kernel ran, or "decomposition". */
  backend: string;
  /** Why that backend: the user's route, the inputs' device, a decomposition, or a fallback. */
  via: "route" | "device" | "decomposition" | "fallback" | "view";
  /** Input shapes. */
  shapes: number[][];
  /** Data moved between backends for this op (`"input 0: webgpu→cpu"`). */
  moved: string[];
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
      for (const e of entries) {
        lines.push(
          `${e.op} ${e.shapes.map(shapeStr).join(" ")} → ${e.backend} (${e.via})` +
            (e.moved.length ? ` moved ${e.moved.join(", ")}` : ""),
        );
      }
      return lines.join("\n");
    },
  };
}
