/**
 * Checking what a provider registers before the capability registry (registry.ts) changes anything:
 * kernel tables and their entries, conflicts with kernels already registered, and each kernel
 * passed through its backend's wrapKernel; errors name the provider (`plugin "@acme/x"`).
 *
 * @module
 */

import { PluginError } from "./errors.ts";
import type { Backend, Kernel, KernelEntry } from "./types.ts";

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

export function isKernel(v: unknown): v is Kernel | KernelEntry {
  return typeof v === "function" ||
    (typeof v === "object" && v !== null && typeof (v as KernelEntry).run === "function");
}

function entryOf(v: Kernel | KernelEntry): KernelEntry {
  return typeof v === "function" ? { run: v } : v;
}

// Throws a PluginError for a kernel table that is not an object of kernels.
export function checkTable(from: string, backend: string, table: unknown): void {
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

export function conflict(from: string, backend: string, op: string, existing: string): PluginError {
  return new PluginError(
    `${providerLabel(from)}: backend "${backend}" already has a kernel for ${op}, registered by ` +
      `${providerLabel(existing)}; a plugin may replace another's kernel only on purpose: give ` +
      `the entry override: true ({ run, override: true })`,
  );
}

// Normalises a kernel and passes it through the backend's wrapKernel, whose errors name both.
export function prepare(
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
