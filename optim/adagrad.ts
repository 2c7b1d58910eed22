/**
 * Adagrad (Duchi, Hazan & Singer), following `torch.optim.Adagrad`: g ← ±∇ + λw;
 * s ← s + g²; w ← w − η/(1 + (t−1)·lrDecay) · g / (√s + ε), with the accumulator s starting at
 * `initialAccumulatorValue`. As in PyTorch, each parameter's state (`step`, `sum`) is created when
 * the optimizer is built, so `stateDict()` has it before the first step. One deliberate difference:
 * a parameter group's own `initialAccumulatorValue` is honoured, where PyTorch fills every
 * accumulator with the constructor's value and ignores the group's.
 *
 * @example
 * ```ts
 * import { Adagrad } from "./adagrad.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new Adagrad([w], { lr: 0.5, lrDecay: 0.01 });
 * w.mul(w).sum().backward();
 * opt.step();
 * console.log(w.toArraySync()); // [0.5, 1.5]
 * ```
 *
 * @module
 */

import {
  apply,
  definePlugin,
  full,
  noGrad,
  Optimizer,
  use,
  validateAttrs,
  ValueError,
} from "../core/mod.ts";
import type { ParamsInput, Plugin, Tensor } from "../core/mod.ts";
import { adagradUpdateForeachOp, adagradUpdateOp, assignStorage } from "./ops.ts";
import { applyForeach, groupBy } from "./_foreach.ts";
import type { AdagradUpdateAttrs } from "./ops.ts";
import { checkOptions, withDefaults } from "./_defaults.ts";

const ADAGRAD_DEFAULTS = {
  lr: 1e-2,
  lrDecay: 0,
  weightDecay: 0,
  initialAccumulatorValue: 0,
  eps: 1e-10,
  maximize: false,
};

/**
 * One Adagrad update of a parameter: returns `[p', sum']` from the parameter, its gradient and
 * its accumulator of squared gradients. `step` is the number t ≥ 1 of this update (the learning
 * rate used is lr / (1 + (t − 1)·lrDecay)); unset attributes default as in `torch.optim.Adagrad`.
 * The attributes are checked (a ValueError names a missing or mistyped one).
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { tensor } from "../core/mod.ts";
 * import { adagradUpdate } from "./adagrad.ts";
 * const [p, sum] = adagradUpdate(tensor([1]), tensor([3]), tensor([0]), { lr: 0.5, step: 1 });
 * console.log(p.toArraySync(), sum.toArraySync()); // [0.5] [9]
 * ```
 */
export function adagradUpdate(
  p: Tensor,
  grad: Tensor,
  sum: Tensor,
  attrs: Partial<AdagradUpdateAttrs> & { lr: number; step: number },
): Tensor[] {
  return apply(adagradUpdateOp, [p, grad, sum], validateAttrs(adagradUpdateOp, attrs));
}

/** Options of {@linkcode Adagrad}. */
export interface AdagradOptions {
  /** Learning rate η (default 1e-2). */
  lr?: number;
  /** Learning-rate decay: step t uses η / (1 + (t − 1)·lrDecay) (default 0). */
  lrDecay?: number;
  /** Weight decay λ, added to the gradient (default 0). */
  weightDecay?: number;
  /** Starting value of the accumulator of squared gradients (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the denominator for stability (default 1e-10). */
  eps?: number;
  /** Maximise instead of minimise (default false). */
  maximize?: boolean;
}

// PyTorch's checks of Adagrad's option values (each >= 0), plus finiteness: an infinite rate or
// accumulator would silently turn every parameter into NaN or leave it frozen.
function checkAdagrad(d: Required<AdagradOptions>, where = ""): void {
  for (const k of ["lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps"] as const) {
    if (!(d[k] >= 0 && Number.isFinite(d[k]))) {
      throw new ValueError(
        `Adagrad: ${where}invalid ${k} ${d[k]} (must be a finite number >= 0)`,
      );
    }
  }
}

/** Adagrad: per-coordinate learning rates from the accumulated squared gradients. */
export class Adagrad extends Optimizer<Required<AdagradOptions>> {
  /**
   * Creates the optimizer over parameters or parameter groups, and each parameter's state: step 0
   * and the accumulator `sum` filled with its group's `initialAccumulatorValue`.
   */
  constructor(params: ParamsInput<Required<AdagradOptions>>, options: AdagradOptions = {}) {
    if (arguments.length > 2) {
      throw new ValueError(
        `Adagrad: takes at most 2 arguments (params, options), got ${arguments.length}; pass ` +
          `PyTorch's positional options in the object: { lr, lrDecay, weightDecay, ... }`,
      );
    }
    checkOptions("Adagrad", options, ADAGRAD_DEFAULTS);
    const d: Required<AdagradOptions> = withDefaults(ADAGRAD_DEFAULTS, options);
    checkAdagrad(d);
    super(params, d, checkAdagrad);
    for (const g of this.paramGroups) {
      for (const p of g.params) this.#initState(p, g.initialAccumulatorValue);
    }
  }

  // The state PyTorch creates in its constructor (or after a loadStateDict without it).
  #initState(p: Tensor, initial: number): void {
    const st = this.stateOf(p);
    st.step = 0;
    st.sum = this.keepState(
      noGrad(() => full([...p.shape], initial, { dtype: p.dtype, device: p.device })),
    );
  }

  /**
   * One update of every parameter that has a gradient: one fused `adagradUpdate` op per
   * parameter, whose results replace the parameter's and the accumulator's data in place.
   */
  protected update(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        const ps = g.params.filter((p) => p.grad);
        for (const p of ps) {
          const st = this.stateOf(p);
          if (st.step === undefined || !st.sum) this.#initState(p, g.initialAccumulatorValue);
          st.step = (st.step as number) + 1;
        }
        // One fused op per device and step count over its parameters.
        const sets = groupBy(ps, (p) => `${p.device}/${this.stateOf(p).step}`);
        for (const set of sets) {
          const sums = set.map((p) => this.stateOf(p).sum as Tensor);
          // The group's options are already checked: the op is applied without re-validating.
          const [next, nextSum] = applyForeach(adagradUpdateForeachOp, [
            set,
            set.map((p) => p.grad!),
            sums,
          ], {
            lr: g.lr,
            lrDecay: g.lrDecay,
            weightDecay: g.weightDecay,
            eps: g.eps,
            maximize: g.maximize,
            step: this.stateOf(set[0]).step as number,
          });
          set.forEach((p, i) => {
            assignStorage(p, next[i]);
            assignStorage(sums[i], nextSum[i]);
          });
        }
      }
    });
  }
}

/** Adagrad as a plugin: it defines the fused `adagradUpdate` op, and is registered on import. */
export const adagradPlugin: Plugin = use(definePlugin({
  name: "@denn/adagrad",
  kind: "optimizer",
  version: "0.1.0",
  apiVersion: 1,
  ops: [adagradUpdateOp, adagradUpdateForeachOp],
  exports: { Adagrad, adagradUpdate },
}));
