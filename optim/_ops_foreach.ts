/**
 * The foreach forms of the fused optimizer updates (private to optim/; public through ops.ts): the
 * attributes of an update over a group of parameters at once, how such a call splits into one call
 * per parameter, a backend's foreach kernel made from its one-parameter kernel, and the input count
 * per parameter of each update. The foreach ops themselves are defined in ops.ts; how the
 * optimizers call them is in _foreach.ts.
 *
 * @module
 */

import type { KernelEntry } from "../core/mod.ts";
import type {
  AdagradUpdateAttrs,
  AdamUpdateAttrs,
  RmspropUpdateAttrs,
  SgdUpdateAttrs,
} from "./ops.ts";

/**
 * Attributes of a foreach update (`"sgdUpdateForeach"`, `"adamUpdateForeach"`: what the PyTorch
 * optimizers do with `foreach`): those of the one-parameter op, applied to `count` parameters.
 */
export type ForeachAttrs<A> = A & {
  /** How many parameters the op updates (its inputs are that many of each role). */
  count: number;
};

/**
 * Runs a foreach call as one `each` per parameter: `each` gets that parameter's inputs (its
 * `perParameter` tensors of the one-parameter op), the one-parameter op's attributes and that
 * parameter's outputs among `out` (specs or buffers, role-major like the op's), and returns its
 * results, which are joined in the op's role-major output order.
 */
export function foreachEach<A, T, O, R>(
  perParameter: number,
  inputs: readonly T[],
  a: ForeachAttrs<A>,
  out: readonly O[],
  each: (inputs: T[], attrs: A, out: O[]) => R[],
): R[] {
  const { count: k, ...rest } = a;
  const outPer = out.length / k;
  const results = Array.from({ length: k }, (_, i) =>
    each(
      Array.from({ length: perParameter }, (_, j) => inputs[j * k + i]),
      rest as unknown as A,
      Array.from({ length: outPer }, (_, r) => out[r * k + i]),
    ));
  const per = results.length ? results[0].length : 0;
  return Array.from({ length: per * k }, (_, x) => results[x % k][(x / k) | 0]);
}

/**
 * A backend's kernel for `"<op>Foreach"` from its kernel for the one-parameter `op`: it accepts
 * what the one-parameter kernel accepts for every parameter, and runs it once per parameter in one
 * call. `inputsPer` is {@linkcode foreachInputs}'s entry for the op.
 */
export function foreachKernel<A, C, H>(
  one: KernelEntry<A, C, H>,
  inputsPer: (a: A) => number,
): KernelEntry<ForeachAttrs<A>, C, H> {
  const { supports, dtypes } = one;
  return {
    dtypes,
    // Every parameter must be one the one-parameter kernel takes (dtypes included: parameters may
    // differ in dtype, and dispatch checks only the first input's).
    supports(inputs, a, ctx) {
      const bad = dtypes && inputs.find((t) => !dtypes.includes(t.dtype));
      if (bad) return `${bad.dtype} inputs run as one op per parameter`;
      let why: true | string = true;
      if (supports) {
        foreachEach(inputsPer(a), inputs, a, [], (ins, attrs) => {
          if (why === true) why = supports(ins, attrs, ctx);
          return [];
        });
      }
      return why;
    },
    run: (inputs, a, out, ctx) =>
      foreachEach(inputsPer(a), inputs, a, out, (ins, attrs, o) => one.run(ins, attrs, o, ctx)),
  };
}

/** Input tensors per parameter of the one-parameter updates that have a foreach op, by op name. */
export const foreachInputs: {
  sgdUpdate: (a: SgdUpdateAttrs) => number;
  adamUpdate: (a: AdamUpdateAttrs) => number;
  rmspropUpdate: (a: RmspropUpdateAttrs) => number;
  adagradUpdate: (a: AdagradUpdateAttrs) => number;
} = {
  sgdUpdate: (a) => sgdInputsPer(a),
  adamUpdate: (a) => (a.amsgrad ? 5 : 4),
  rmspropUpdate: (a) => 3 + (a.momentum > 0 ? 1 : 0) + (a.centered ? 1 : 0),
  adagradUpdate: () => 3,
};

/** Input tensors per parameter of an SGD update: parameter, gradient and, after step one, buffer. */
function sgdInputsPer(a: SgdUpdateAttrs): number {
  return a.momentum !== 0 && !a.first ? 3 : 2;
}
