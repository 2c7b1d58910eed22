/**
 * How the optimizers call the foreach update ops: parameters grouped by what one op call must
 * share (device, step), and a call's outputs split back by role.
 *
 * @module
 */

import { apply } from "../core/mod.ts";
import type { OpDef, Tensor } from "../core/mod.ts";
import type { ForeachAttrs } from "./ops.ts";

/** `items` in groups of equal `key`, each group and the groups in first-seen order. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/**
 * Applies the foreach op `op` to `roles` (the parameters, their gradients, then each state role,
 * one tensor per parameter in each) with the one-parameter `attrs`; returns the outputs by role
 * (`out[role][parameter]`).
 */
export function applyForeach<A>(
  op: OpDef<ForeachAttrs<A>>,
  roles: readonly (readonly Tensor[])[],
  attrs: A,
): Tensor[][] {
  const k = roles[0].length;
  const outs = apply(op, roles.flat(), { ...attrs, count: k } as ForeachAttrs<A>);
  return Array.from({ length: outs.length / k }, (_, r) => outs.slice(r * k, (r + 1) * k));
}
