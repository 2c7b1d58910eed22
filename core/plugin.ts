/**
 * The plugin API: every layer, loss, optimizer, initializer, model, dataset and backend is a plugin
 * with a zod-validated manifest, registered with `use()` or loaded with `await loadPlugin()`.
 *
 * @module
 */

import { z } from "zod";
import { PluginError } from "./errors.ts";
import {
  checkBackend,
  defineOp,
  getOp,
  hasBackend,
  markUnavailable,
  registerBackend,
  registerKernels,
} from "./registry.ts";
import type { BackendDef, Kernel, KernelEntry, OpDef } from "./registry.ts";

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
  return manifest;
}

const loaded = new Map<string, Plugin>();

/**
 * Registers a plugin: its ops, kernels and backend. Registering the same plugin object twice is a
 * no-op; a different plugin with a name already taken is an error.
 */
export function use<P extends Plugin>(plugin: P): P {
  const prev = loaded.get(plugin.name);
  if (prev === plugin) return plugin;
  if (prev) {
    throw new PluginError(
      `plugin "${plugin.name}": a plugin with this name (version ${prev.version}) is already loaded`,
    );
  }
  definePlugin(plugin);
  const fail = (msg: string): never => {
    throw new PluginError(`plugin "${plugin.name}": ${msg}`);
  };
  // Everything is checked before anything is registered, so a rejected plugin leaves no trace.
  const names = new Set<string>();
  for (const op of plugin.ops ?? []) {
    if (getOp(op.name) || names.has(op.name)) fail(`op "${op.name}" is already defined`);
    names.add(op.name);
  }
  let def: BackendDef | null = null;
  if (plugin.backend) {
    const made = typeof plugin.backend === "function" ? plugin.backend() : plugin.backend;
    if (typeof made === "string") {
      // A declined backend is not recorded as loaded, so it can be retried with other options.
      markUnavailable(plugin.device ?? plugin.name.replace(/^@[^/]+\//, ""), made);
      return plugin;
    }
    if (hasBackend(made?.name)) fail(`a backend named "${made.name}" is already registered`);
    try {
      checkBackend(made);
    } catch (e) {
      fail((e as Error).message);
    }
    def = made;
  }
  for (const [backend, table] of Object.entries(plugin.kernels ?? {})) {
    for (const [op, k] of Object.entries(table)) {
      if (typeof k !== "function" && typeof (k as KernelEntry)?.run !== "function") {
        fail(`its ${backend} kernel for ${op} is neither a function nor an entry with run()`);
      }
    }
  }
  for (const op of plugin.ops ?? []) defineOp(op);
  if (def) registerBackend(def);
  // Kernels for a backend that is not registered (yet) wait and attach when it registers.
  for (const [backend, table] of Object.entries(plugin.kernels ?? {})) {
    registerKernels(backend, table, plugin.name);
  }
  loaded.set(plugin.name, plugin);
  return plugin;
}

/** Loaded plugins by name. */
export function listPlugins(): Plugin[] {
  return [...loaded.values()];
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
