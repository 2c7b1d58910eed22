// The extra-argument check of the function forms of the sort, scan and max/min ops (the Tensor
// methods are guarded by guardArity): JavaScript would drop `sort(x, 0, true, "stable")`'s last
// argument silently. Core-internal, not exported from core/mod.ts.

import { ValueError } from "../errors.ts";
import { show } from "../args.ts";

/** Throws a ValueError naming `op` when it got more than `max` arguments. */
export function arity(op: string, args: IArguments, max: number): void {
  if (args.length > max) {
    throw new ValueError(
      `${op}: takes at most ${max} argument${max === 1 ? "" : "s"}, got ${args.length} (${
        Array.from(args, (a) => show(a)).join(", ")
      })`,
    );
  }
}
