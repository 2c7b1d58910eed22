/**
 * The capability registry: the backends and their kernel tables (including kernels waiting for a
 * backend not registered yet), registered as one checked transaction, and who provided each
 * kernel. What an op and a kernel are is in types.ts, the checks of a registration in
 * kernel_checks.ts, routes and strict mode in routes.ts, `explain()` in explain.ts. Ops are defined
 * in the catalogue (catalogue.ts); dispatch.ts runs them.
 *
 * @module
 */

import { DeviceError, PluginError } from "./errors.ts";
import { globalRoutes } from "./routes.ts";
import {
  checkTable,
  conflict,
  describeValue,
  isKernel,
  prepare,
  providerLabel,
} from "./kernel_checks.ts";
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

// Registry state; dispatch.ts and explain.ts read it (these names are not part of core/mod.ts).
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

export { defineOp, getOp, listOps } from "./catalogue.ts";
export { apply, apply1, moveStorage, validateAttrs } from "./dispatch.ts";

// Where each registered kernel came from: backend → op → who registered it (a plugin name, or
// `registerBackend("name")` / `registerKernels()` for direct calls) and whose kernel it replaced.
interface Source {
  readonly from: string;
  readonly replaced?: string;
}
export const sources = new Map<string, Map<string, Source>>();
// Who registered each backend.
const owners = new Map<string, string>();

interface PendingKernels {
  readonly from: string;
  readonly kernels: Record<string, Kernel | KernelEntry>;
}
export const pending = new Map<string, PendingKernels[]>();

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
