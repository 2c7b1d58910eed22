/**
 * The capability registry: what an op and a kernel are, the backends and their kernel tables
 * (including kernels waiting for a backend not registered yet), routes, strict mode and
 * `explain()`. Ops are defined in the catalogue (catalogue.ts); dispatch.ts runs them.
 *
 * @module
 */

import { DeviceError, PluginError } from "./errors.ts";
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
  KernelOverride,
  OpDef,
  TensorSpec,
} from "./types.ts";
export { kernelFor } from "./types.ts";
import type { Backend, BackendDef, Kernel, KernelEntry, KernelOverride, OpDef } from "./types.ts";

// deno-lint-ignore no-explicit-any
type AnyOp = OpDef<any> & { cache?: Map<string, KernelEntry | null> };

// Registry state; dispatch.ts reads it (these names are not part of core/mod.ts).
/** Registered backends by name. */
export const backends: Map<string, Backend> = new Map();

// Kernel providers by the host backend they serve, in priority order (rebuilt after registry changes).
const providerLists = new Map<string, readonly string[]>();
const NONE: readonly string[] = [];

/**
 * The registered backends that provide kernels for `home`'s tensors (see `BackendDef.provides`),
 * lowest priority first; empty when home is not a host backend.
 */
export function providersOf(home: string): readonly string[] {
  let list = providerLists.get(home);
  if (list) return list;
  const h = backends.get(home);
  list = h?.hostMemory
    ? [...backends.values()]
      .filter((b) => b.name !== home && b.hostMemory && b.provides?.includes(home))
      .sort((a, b) => (a.priority ?? 10) - (b.priority ?? 10))
      .map((b) => b.name)
    : NONE;
  if (!list.length) list = NONE;
  providerLists.set(home, list);
  return list;
}
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

export { defineOp, getOp, listOps } from "./catalogue.ts";
export { apply, apply1, moveStorage, validateAttrs } from "./dispatch.ts";

// Where each registered kernel came from: backend → op → who registered it (a plugin name, or
// `registerBackend("name")` / `registerKernels()` for direct calls) and whose kernel it replaced.
interface Source {
  readonly from: string;
  readonly replaced?: string;
}
const sources = new Map<string, Map<string, Source>>();
// Who registered each backend.
const owners = new Map<string, string>();

interface PendingKernels {
  readonly from: string;
  readonly kernels: Record<string, Kernel | KernelEntry>;
}
const pending = new Map<string, PendingKernels[]>();

const pluginName = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/** How errors name a provider: `plugin "@acme/x"`, or the direct call that registered it. */
export function providerLabel(from: string): string {
  return pluginName.test(from) ? `plugin "${from}"` : from;
}

/** A short description of an unexpected value, for error messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) {
    const n = (v as { length?: number }).length;
    return `a ${v.constructor.name}${n === undefined ? "" : ` of ${n}`}`;
  }
  if (typeof v === "object") return `an object (${v.constructor?.name ?? "no prototype"})`;
  if (typeof v === "function") return "a function";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 40))}`;
  return `${typeof v} ${String(v)}`;
}

function isKernel(v: unknown): v is Kernel | KernelEntry {
  return typeof v === "function" ||
    (typeof v === "object" && v !== null && typeof (v as KernelEntry).run === "function");
}

function entryOf(v: Kernel | KernelEntry): KernelEntry {
  return typeof v === "function" ? { run: v } : v;
}

// Methods may live on a class prototype, so they are read through the object, not its own keys.
function method<F>(def: BackendDef, key: keyof BackendDef): F | undefined {
  const f = (def as unknown as Record<string, unknown>)[key];
  return typeof f === "function" ? f.bind(def) as F : undefined;
}

// Host backends' handles are typed arrays: their length is the element count. Anything else is not
// a host handle, which NaN (never equal to a size) makes an error.
function hostHandleSize(h: unknown): number {
  return ArrayBuffer.isView(h) ? ((h as { length?: number }).length ?? NaN) : NaN;
}

// Throws a PluginError for a kernel table that is not an object of kernels.
function checkTable(from: string, backend: string, table: unknown): void {
  if (table === null || typeof table !== "object" || Array.isArray(table)) {
    throw new PluginError(
      `${providerLabel(from)}: its kernel table for backend "${backend}" must be an object ` +
        `mapping op names to kernels, got ${describeValue(table)}`,
    );
  }
  for (const [op, k] of Object.entries(table)) {
    if (!isKernel(k)) {
      throw new PluginError(
        `${providerLabel(from)}: its ${backend} kernel for ${op} is neither a function nor an ` +
          `entry with a run() function (got ${describeValue(k)})`,
      );
    }
    const o = typeof k === "object" ? k.override : undefined;
    if (o !== undefined && typeof o !== "boolean") {
      throw new PluginError(
        `${providerLabel(from)}: its ${backend} kernel for ${op} has override ${
          describeValue(o)
        }; it must be true or false`,
      );
    }
  }
}

function conflict(from: string, backend: string, op: string, existing: string): PluginError {
  return new PluginError(
    `${providerLabel(from)}: backend "${backend}" already has a kernel for ${op}, registered by ` +
      `${providerLabel(existing)}; a plugin may replace another's kernel only on purpose: give ` +
      `the entry override: true ({ run, override: true })`,
  );
}

// Normalises a kernel and passes it through the backend's wrapKernel, whose errors name both.
function prepare(
  backend: string,
  wrap: Backend["wrapKernel"],
  op: string,
  v: Kernel | KernelEntry,
  from: string,
): KernelEntry {
  const e = entryOf(v);
  if (!wrap) return e;
  let w: KernelEntry;
  try {
    w = wrap(op, e);
  } catch (err) {
    throw new PluginError(
      `${providerLabel(from)}: backend "${backend}" rejected its kernel for ${op} (wrapKernel ` +
        `threw ${(err as Error)?.name ?? "an error"}: ${(err as Error)?.message ?? String(err)})`,
      { cause: err },
    );
  }
  if (!isKernel(w) || typeof w === "function") {
    throw new PluginError(
      `${providerLabel(from)}: backend "${backend}"'s wrapKernel returned ${
        describeValue(w)
      } for ${op}, not a kernel entry`,
    );
  }
  return w;
}

/**
 * Registers a backend and/or kernel tables as one transaction: everything is checked (backend
 * definition, kernel entries, conflicts with kernels already registered or waiting, the backend's
 * wrapKernel) before anything changes, so an error leaves the registry exactly as it was. `from`
 * names the provider (a plugin name) in errors, `explain()` and `pluginInfo()`.
 */
export function register(
  from: string,
  def: BackendDef | null,
  tables: Readonly<Record<string, Record<string, Kernel | KernelEntry>>>,
): Backend | null {
  // 1. Check.
  if (def) checkBackend(def, from);
  for (const [backend, table] of Object.entries(tables)) checkTable(from, backend, table);
  // 2. Plan: build every new table entry, calling all plugin and backend code now.
  let made: { backend: Backend; sources: Map<string, Source> } | null = null;
  if (def) {
    const name = def.name;
    const wrap = method<Backend["wrapKernel"]>(def, "wrapKernel");
    const table = new Map<string, KernelEntry>();
    const src = new Map<string, Source>();
    const own = def.kernels;
    for (const [op, v] of Object.entries(own)) {
      table.set(op, prepare(name, wrap, op, v, from));
      src.set(op, { from });
    }
    // Kernels registered for this backend before it existed attach after its own, then this
    // provider's tables for it; replacing a kernel needs override: true either way.
    const later: PendingKernels[] = [...(pending.get(name) ?? [])];
    if (tables[name]) later.push({ from, kernels: tables[name] });
    for (const p of later) {
      for (const [op, v] of Object.entries(p.kernels)) {
        const prev = src.get(op);
        if (prev && !(v as KernelEntry).override) {
          const err = conflict(p.from, name, op, prev.from);
          if (p.from === from) throw err;
          throw new PluginError(
            `${providerLabel(from)}: cannot register backend "${name}": ${
              providerLabel(p.from)
            } registered a ${name} kernel for ${op} before the backend existed, which would ` +
              `replace the one from ${providerLabel(prev.from)}; give that entry override: true ` +
              `to replace it on purpose (nothing was registered)`,
          );
        }
        table.set(op, prepare(name, wrap, op, v, p.from));
        src.set(op, prev ? { from: p.from, replaced: prev.from } : { from: p.from });
      }
    }
    const backend: Backend = {
      name,
      hostMemory: def.hostMemory,
      priority: def.priority,
      provides: def.provides ? [...def.provides] : undefined,
      context: def.context,
      upload: method(def, "upload")!,
      download: method(def, "download")!,
      downloadSync: method(def, "downloadSync"),
      free: method(def, "free"),
      handleSize: method(def, "handleSize") ?? (def.hostMemory ? hostHandleSize : undefined),
      wrapKernel: wrap,
      kernels: own,
      table,
    };
    made = { backend, sources: src };
  }
  const changes: { b: Backend; op: string; entry: KernelEntry; source: Source }[] = [];
  const waiting: [string, PendingKernels][] = [];
  for (const [name, kernels] of Object.entries(tables)) {
    if (def && name === def.name) continue;
    const b = backends.get(name);
    if (!b) {
      // Two providers waiting with a kernel for the same op conflict now, not when it arrives.
      for (const [op, v] of Object.entries(kernels)) {
        if ((v as KernelEntry).override) continue;
        const prev = pending.get(name)?.findLast((p) => Object.hasOwn(p.kernels, op));
        if (prev) throw conflict(from, name, op, prev.from);
      }
      waiting.push([name, { from, kernels }]);
      continue;
    }
    const src = sources.get(name);
    for (const [op, v] of Object.entries(kernels)) {
      const prev = src?.get(op)?.from ?? (b.table.has(op) ? "an unknown provider" : undefined);
      if (prev !== undefined && !(v as KernelEntry).override) throw conflict(from, name, op, prev);
      const entry = prepare(name, b.wrapKernel, op, v, from);
      changes.push({ b, op, entry, source: prev ? { from, replaced: prev } : { from } });
    }
  }
  // 3. Commit (no plugin code runs from here on, so nothing can fail half way).
  if (made) {
    const name = made.backend.name;
    backends.set(name, made.backend);
    sources.set(name, made.sources);
    owners.set(name, from);
    pending.delete(name);
    unavailable.delete(name);
  }
  for (const { b, op, entry, source } of changes) {
    b.table.set(op, entry);
    let src = sources.get(b.name);
    if (!src) sources.set(b.name, src = new Map());
    src.set(op, source);
  }
  for (const [name, p] of waiting) {
    const list = pending.get(name);
    if (list) list.push(p);
    else pending.set(name, [p]);
  }
  clearKernelCaches();
  providerLists.clear();
  return made?.backend ?? null;
}

/**
 * Registers a backend (normally through a backend plugin and `use()`). The definition may be a
 * plain object or a class instance. Kernels that plugins registered for this backend name before
 * it existed attach now; one that would replace the backend's own kernel without
 * `override: true` is a `PluginError`, and then nothing is registered. `from` names who registers
 * it (`use()` passes the plugin's name).
 */
export function registerBackend(def: BackendDef, from?: string): Backend {
  const name = def !== null && typeof def === "object" && typeof def.name === "string" && def.name
    ? `"${def.name}"`
    : "";
  from ??= `registerBackend(${name})`;
  checkBackend(def, from);
  return register(from, def, {})!;
}

/** Throws a clear {@linkcode PluginError} for a backend definition {@linkcode registerBackend} would reject. */
export function checkBackend(def: BackendDef, from?: string): void {
  const who = from === undefined ? "registerBackend" : providerLabel(from);
  if (def === null || typeof def !== "object") {
    throw new PluginError(`${who}: a backend must be an object, got ${describeValue(def)}`);
  }
  if (typeof def.name !== "string" || def.name === "") {
    throw new PluginError(
      `${who}: a backend needs a non-empty string name, got ${describeValue(def.name)}`,
    );
  }
  if (backends.has(def.name)) {
    throw new PluginError(`${who}: a backend named "${def.name}" is already registered`);
  }
  for (const key of ["upload", "download"] as const) {
    if (typeof def[key] !== "function") {
      throw new PluginError(`${who}: backend "${def.name}" has no ${key}() method`);
    }
  }
  for (const key of ["downloadSync", "free", "wrapKernel", "handleSize"] as const) {
    const f = (def as unknown as Record<string, unknown>)[key];
    if (f !== undefined && typeof f !== "function") {
      throw new PluginError(
        `${who}: backend "${def.name}": ${key} must be a function, got ${describeValue(f)}`,
      );
    }
  }
  const k = def.kernels as unknown;
  if (k === null || typeof k !== "object" || Array.isArray(k)) {
    throw new PluginError(
      `${who}: backend "${def.name}" needs a kernels table (op name → kernel; {} for none), ` +
        `got ${describeValue(k)}`,
    );
  }
  const p = def.provides as unknown;
  if (p !== undefined) {
    if (!Array.isArray(p) || !p.every((s) => typeof s === "string" && s !== "")) {
      throw new PluginError(
        `${who}: backend "${def.name}": provides must be an array of backend names, got ${
          describeValue(p)
        }`,
      );
    }
    if (!def.hostMemory) {
      throw new PluginError(
        `${who}: backend "${def.name}" provides kernels for ${
          p.join(", ")
        }, which needs hostMemory: true (its kernels run on those backends' host arrays)`,
      );
    }
  }
  for (const [op, v] of Object.entries(k)) {
    if (!isKernel(v)) {
      throw new PluginError(
        `${who}: backend "${def.name}": the kernel for ${op} is neither a function nor an entry ` +
          `with a run() function (got ${describeValue(v)})`,
      );
    }
  }
}

/**
 * Adds kernels to a backend. Where the backend is not registered yet (a plugin loaded before
 * `use(await webgpu())`, or a backend that never registers here), they wait and attach when it
 * registers; `explain()` lists them meanwhile. `from` names who supplied them (a plugin). A kernel
 * for an op the backend already has (from any provider) needs `override: true` on its entry;
 * otherwise, or for an entry that is not a kernel, this throws a `PluginError` and registers none
 * of them.
 */
export function registerKernels(
  backend: string,
  kernels: Record<string, Kernel | KernelEntry>,
  from = "registerKernels()",
): void {
  register(from, null, { [backend]: kernels });
}

/** Who registered the kernel a backend runs for an op, and whose kernel it replaced, if any. */
export function kernelSource(backend: string, op: string): Source | undefined {
  return sources.get(backend)?.get(op);
}

/** Every registered kernel's provider, and every waiting one's (`pending: true`). */
export function kernelSources(): {
  backend: string;
  op: string;
  from: string;
  replaced?: string;
  pending: boolean;
}[] {
  const out = [];
  for (const [backend, m] of sources) {
    for (const [op, s] of m) out.push({ backend, op, ...s, pending: false });
  }
  for (const [backend, list] of pending) {
    for (const p of list) {
      for (const op of Object.keys(p.kernels)) {
        out.push({ backend, op, from: p.from, pending: true });
      }
    }
  }
  return out;
}

/** Who registered a backend (a plugin name, or `registerBackend("name")`). */
export function backendOwner(name: string): string | undefined {
  return owners.get(name);
}

/** Kernels in force that replaced another provider's kernel (`override: true`). */
export function kernelOverrides(): KernelOverride[] {
  const out: KernelOverride[] = [];
  for (const [backend, m] of sources) {
    for (const [op, s] of m) {
      if (s.replaced !== undefined) out.push({ backend, op, plugin: s.from, replaced: s.replaced });
    }
  }
  return out;
}

/** Records that a backend could not register, so `explain()` can say why. */
export function markUnavailable(name: string, reason: string): void {
  if (!backends.has(name)) unavailable.set(name, reason);
}

/** Removes a backend (tests, or a backend whose device was lost). */
export function unregisterBackend(name: string): void {
  backends.delete(name);
  sources.delete(name);
  owners.delete(name);
  for (const [op, dev] of globalRoutes) if (dev === name) globalRoutes.delete(op);
  clearKernelCaches();
  providerLists.clear();
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
