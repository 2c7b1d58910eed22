/**
 * The plugin API: every layer, loss, optimizer, initializer, model, dataset and backend is a plugin
 * with a zod-validated manifest, registered with `use()` or loaded with `await loadPlugin()`.
 *
 * @module
 */

import { z } from "zod";
import { PluginError } from "./errors.ts";
import { isPromise } from "./context.ts";
import {
  backendOwner,
  defineOp,
  getOp,
  hasBackend,
  kernelOverrides,
  kernelSources,
  listBackends,
  markUnavailable,
  register,
} from "./registry.ts";
import type { BackendDef, Kernel, KernelEntry, KernelOverride, OpDef } from "./registry.ts";
import { describeValue } from "./kernel_checks.ts";

export type { KernelOverride };

/** Version of the plugin API this core implements; a plugin built for another is rejected. */
export const API_VERSION = 1;

/** What a plugin provides. */
export type PluginKind =
  | "layer"
  | "loss"
  | "optimizer"
  | "initializer"
  | "backend"
  | "op"
  | "model"
  | "dataset";

/** A plugin definition (see {@linkcode definePlugin}). */
export interface Plugin {
  /** Namespaced name, e.g. `"@acme/swish"`; it appears in every error about the plugin. */
  readonly name: string;
  /** What the plugin provides. */
  readonly kind: PluginKind;
  /** The plugin's own semver version. */
  readonly version: string;
  /** Plugin API version it was written for (must equal {@linkcode API_VERSION}). */
  readonly apiVersion: number;
  /** One-line description. */
  readonly description?: string;
  /** New ops it defines. */
  // deno-lint-ignore no-explicit-any
  readonly ops?: readonly OpDef<any>[];
  /**
   * Kernels it adds to backends: backend name → op name → kernel. Kernels for a backend that is
   * not registered yet attach when it registers, in any load order.
   */
  readonly kernels?: Readonly<Record<string, Record<string, Kernel | KernelEntry>>>;
  /** A backend it registers, or a factory that returns one or the reason it is unavailable. */
  readonly backend?: BackendDef | (() => BackendDef | string);
  /** Device name of the backend, reported by `explain()` when the factory declines (default: the name after the scope). */
  readonly device?: string;
  /** What it exports for users (layer classes, loss classes, functions). */
  readonly exports?: Readonly<Record<string, unknown>>;
}

const semver = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const pluginName = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

const manifestSchema = z.object({
  name: z.string().regex(
    pluginName,
    'must be a lowercase, optionally scoped name like "@acme/swish"',
  ),
  kind: z.enum(["layer", "loss", "optimizer", "initializer", "backend", "op", "model", "dataset"]),
  version: z.string().regex(semver, 'must be a semver version like "1.0.0"'),
  apiVersion: z.number().int().positive(),
  description: z.string().optional(),
  ops: z.array(z.object({ name: z.string().min(1), infer: z.function() }).loose()).optional(),
  kernels: z.record(z.string(), z.record(z.string(), z.any())).optional(),
  backend: z.any().optional(),
  device: z.string().optional(),
  exports: z.record(z.string(), z.any()).optional(),
});

/**
 * Validates a plugin manifest and returns it typed. Throws a {@linkcode PluginError} naming the
 * plugin and the offending field.
 *
 * @example
 * ```ts
 * import { definePlugin } from "./mod.ts";
 * const p = definePlugin({ name: "@acme/hello", kind: "op", version: "1.0.0", apiVersion: 1 });
 * ```
 */
export function definePlugin<P extends Plugin>(manifest: P): P {
  const r = manifestSchema.safeParse(manifest);
  const label = typeof (manifest as { name?: unknown })?.name === "string"
    ? `"${manifest.name}"`
    : "(unnamed)";
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "manifest"}: ${i.message}`)
      .join("; ");
    throw new PluginError(`plugin ${label}: invalid manifest: ${issues}`);
  }
  if (manifest.apiVersion !== API_VERSION) {
    throw new PluginError(
      `plugin ${label}: written for plugin API version ${manifest.apiVersion}, but this denn implements version ${API_VERSION}`,
    );
  }
  if (manifest.kind === "backend" && !manifest.backend) {
    throw new PluginError(`plugin ${label}: a backend plugin must provide "backend"`);
  }
  checkKernelTables(label, manifest.kernels);
  return manifest;
}

const loaded = new Map<string, Plugin>();

// Kernel tables in a manifest: objects of op name → function or entry with run().
function checkKernelTables(label: string, kernels: Plugin["kernels"]): void {
  for (const [backend, table] of Object.entries(kernels ?? {})) {
    for (const [op, k] of Object.entries(table)) {
      const entry = k as KernelEntry | null;
      if (
        typeof k !== "function" &&
        (entry === null || typeof entry !== "object" || typeof entry.run !== "function")
      ) {
        throw new PluginError(
          `plugin ${label}: invalid manifest: kernels.${backend}.${op}: must be a kernel ` +
            `function or an entry with a run() function, got ${describeValue(k)}`,
        );
      }
      if (typeof k !== "function" && entry!.override !== undefined) {
        if (typeof entry!.override !== "boolean") {
          throw new PluginError(
            `plugin ${label}: invalid manifest: kernels.${backend}.${op}.override: must be ` +
              `true or false, got ${describeValue(entry!.override)}`,
          );
        }
      }
    }
  }
}

/**
 * Registers a plugin: its ops, kernels and backend. Registering the same plugin object twice is a
 * no-op; a different plugin with a name already taken is an error.
 *
 * It is all or nothing: everything is checked (the manifest, op names, the backend the factory
 * makes, kernel entries and the ops they name, conflicts with kernels already registered or
 * waiting for a backend) before anything is registered, so a `PluginError` leaves the registry
 * exactly as it was. A kernel for an op a backend already has (its own, or another plugin's)
 * needs `override: true` on its entry.
 */
export function use<P extends Plugin>(plugin: P): P {
  if (plugin === null || typeof plugin !== "object") {
    throw new PluginError(
      `use: expected a plugin (a manifest made with definePlugin()), got ${describeValue(plugin)}`,
    );
  }
  const prev = loaded.get(plugin.name);
  if (prev === plugin) return plugin;
  if (prev) {
    throw new PluginError(
      `plugin "${plugin.name}": a plugin with this name (version ${prev.version}) is already loaded`,
    );
  }
  definePlugin(plugin);
  const fail = (msg: string, cause?: unknown): never => {
    throw new PluginError(
      `plugin "${plugin.name}": ${msg}`,
      cause === undefined ? undefined : { cause },
    );
  };
  // Everything is checked before anything is registered, so a rejected plugin leaves no trace.
  const names = new Set<string>();
  for (const op of plugin.ops ?? []) {
    if (getOp(op.name) || names.has(op.name)) fail(`op "${op.name}" is already defined`);
    names.add(op.name);
  }
  for (const [backend, table] of Object.entries(plugin.kernels ?? {})) {
    for (const op of Object.keys(table)) {
      if (!getOp(op) && !names.has(op)) {
        fail(
          `its ${backend} kernel is for op "${op}", which is not defined (define it in this ` +
            `plugin's ops, or load the plugin that defines it first)`,
        );
      }
    }
  }
  let def: BackendDef | null = null;
  if (plugin.backend) {
    let made: unknown;
    if (typeof plugin.backend === "function") {
      try {
        made = plugin.backend();
      } catch (e) {
        const err = e as Error | undefined;
        fail(
          `its backend factory threw ${
            err instanceof Error ? `${err.name}: ${err.message}` : describeValue(e)
          }`,
          e,
        );
      }
    } else {
      made = plugin.backend;
    }
    if (typeof made === "string") {
      // A declined backend is not recorded as loaded, so it can be retried with other options.
      markUnavailable(plugin.device ?? plugin.name.replace(/^@[^/]+\//, ""), made);
      return plugin;
    }
    if (isPromise(made)) {
      fail("its backend factory returned a promise; await it first (use(await factory()))");
    }
    if (made === null || typeof made !== "object") {
      fail(
        `its backend must be a backend definition (or a factory returning one or the reason it ` +
          `is unavailable), got ${describeValue(made)}`,
      );
    }
    const name = (made as BackendDef).name;
    if (typeof name === "string" && hasBackend(name)) {
      fail(`a backend named "${name}" is already registered`);
    }
    def = made as BackendDef;
  }
  try {
    register(plugin.name, def, plugin.kernels ?? {});
  } catch (e) {
    // register() changed nothing: it throws before its commit.
    if (e instanceof PluginError) throw e;
    fail(`registering it failed: ${(e as Error)?.message ?? String(e)}`, e);
  }
  // Cannot fail: the names were checked above.
  for (const op of plugin.ops ?? []) defineOp(op);
  loaded.set(plugin.name, plugin);
  return plugin;
}

/** Loaded plugins by name. */
export function listPlugins(): Plugin[] {
  return [...loaded.values()];
}

/** What a loaded plugin registered (see {@linkcode pluginInfo}). */
export interface PluginInfo {
  /** The plugin's name. */
  readonly name: string;
  /** The plugin's version. */
  readonly version: string;
  /** What the plugin provides. */
  readonly kind: PluginKind;
  /** The backend it registered, or null. */
  readonly backend: string | null;
  /** Kernels of it in force: backend name → op names. */
  readonly kernels: Record<string, string[]>;
  /** Kernels of it waiting for a backend that is not registered: backend name → op names. */
  readonly pending: Record<string, string[]>;
  /** Kernels of other providers it replaced (`override: true`). */
  readonly overrides: KernelOverride[];
  /** Kernels of it that another plugin replaced. */
  readonly overriddenBy: KernelOverride[];
}

/**
 * What each loaded plugin registered, in load order: its backend, its kernels in force and
 * waiting, and the overrides — which of its kernels replaced another provider's, and which of its
 * kernels another plugin replaced.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { pluginInfo } from "./mod.ts";
 * const cpu = pluginInfo().find((p) => p.name === "@denn/cpu")!;
 * console.log(cpu.backend, cpu.kernels.cpu.includes("add"), cpu.overriddenBy); // cpu true []
 * ```
 */
export function pluginInfo(): PluginInfo[] {
  const all = kernelSources();
  const overrides = kernelOverrides();
  const byBackend = (list: typeof all) => {
    const out: Record<string, string[]> = {};
    for (const k of list) (out[k.backend] ??= []).push(k.op);
    return out;
  };
  return [...loaded.values()].map((p) => {
    const mine = all.filter((k) => k.from === p.name);
    return {
      name: p.name,
      version: p.version,
      kind: p.kind,
      backend: listBackends().find((b) => backendOwner(b) === p.name) ?? null,
      kernels: byBackend(mine.filter((k) => !k.pending)),
      pending: byBackend(mine.filter((k) => k.pending)),
      overrides: overrides.filter((o) => o.plugin === p.name),
      overriddenBy: overrides.filter((o) => o.replaced === p.name),
    };
  });
}

/**
 * Imports a plugin module and registers it. The specifier is a file path (relative to the working
 * directory), a `file:`, `https:`, `npm:` or `jsr:` specifier; the module must export the plugin
 * as `default` or as `plugin`.
 *
 * @example
 * ```ts ignore
 * import { loadPlugin } from "./mod.ts";
 * const swish = await loadPlugin("./examples/plugins/swish/mod.ts");
 * ```
 */
export async function loadPlugin(specifier: string): Promise<Plugin> {
  let url = specifier;
  if (/^(\.{1,2}\/|\/)/.test(specifier) || /^[A-Za-z]:[\\/]/.test(specifier)) {
    const base = `file://${Deno.cwd().replaceAll("\\", "/")}/`;
    url = new URL(specifier, base).href;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    throw new PluginError(`loadPlugin: cannot import "${specifier}": ${(e as Error).message}`);
  }
  const p = (mod.default ?? mod.plugin) as Plugin | undefined;
  if (!p || typeof p !== "object") {
    throw new PluginError(
      `loadPlugin: "${specifier}" exports no plugin (expected a default export or "plugin")`,
    );
  }
  return use(p);
}
