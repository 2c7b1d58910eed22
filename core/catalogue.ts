/**
 * The op catalogue: every op by name. A leaf module (it imports no other core module at run time),
 * so op modules can define their ops while they load, whatever order the modules load in.
 *
 * @module
 */

import { ValueError } from "./errors.ts";
import type { KernelEntry, OpDef } from "./registry.ts";

// deno-lint-ignore no-explicit-any
type AnyOp = OpDef<any> & { cache?: Map<string, KernelEntry | null> };

const ops = new Map<string, AnyOp>();

/** Registers an op in the catalogue; a second op of the same name is an error. */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  if (ops.has(def.name)) {
    throw new ValueError(`defineOp: an op named "${def.name}" is already defined`);
  }
  ops.set(def.name, def as AnyOp);
  return def;
}

/** Looks up an op by name. */
export function getOp(name: string): OpDef<unknown> | undefined {
  return ops.get(name) as OpDef<unknown> | undefined;
}

/** Names of all defined ops. */
export function listOps(): string[] {
  return [...ops.keys()];
}

/** Forgets every op's kernel lookups (after the kernel tables changed). */
export function clearKernelCaches(): void {
  for (const op of ops.values()) op.cache = undefined;
}
