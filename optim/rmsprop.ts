/**
 * RMSprop (Hinton), following `torch.optim.RMSprop`: g ← ∇ + λw; s ← αs + (1−α)g²;
 * centered: ḡ ← αḡ + (1−α)g and a = √(s − ḡ²) + ε, else a = √s + ε; with momentum μ:
 * b ← μb + g/a, w ← w − ηb; without: w ← w − ηg/a.
 *
 * @example
 * ```ts
 * import { RMSprop } from "./rmsprop.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new RMSprop([w], { lr: 0.01, momentum: 0.9, centered: true });
 * w.mul(w).sum().backward();
 * opt.step();
 * ```
 *
 * @module
 */

import { apply, definePlugin, noGrad, Optimizer, use, ValueError, zerosLike } from "../core/mod.ts";
import type { ParamsInput, Plugin, Tensor } from "../core/mod.ts";
import { assignStorage, rmspropUpdateForeachOp, rmspropUpdateOp } from "./ops.ts";
import { applyForeach, groupBy } from "./_foreach.ts";
import type { RmspropUpdateAttrs } from "./ops.ts";
import { checkOptions, withDefaults } from "./_defaults.ts";

const RMSPROP_DEFAULTS = {
  alpha: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  momentum: 0,
  centered: false,
  maximize: false,
};

/**
 * One RMSprop update: returns `[p', squareAvg', momentumBuffer'?, gradAvg'?]`, the buffer with
 * `momentum > 0` and the gradient average with `centered` (each then required as an input).
 */
export function rmspropUpdate(
  p: Tensor,
  grad: Tensor,
  squareAvg: Tensor,
  momentumBuffer: Tensor | null,
  gradAvg: Tensor | null,
  attrs: Partial<RmspropUpdateAttrs> & { lr: number },
): Tensor[] {
  const a: RmspropUpdateAttrs = { ...withDefaults(RMSPROP_DEFAULTS, attrs), lr: attrs.lr };
  const inputs = [p, grad, squareAvg];
  if (a.momentum > 0) {
    if (!momentumBuffer) throw new ValueError("rmspropUpdate: momentum needs the buffer tensor");
    inputs.push(momentumBuffer);
  }
  if (a.centered) {
    if (!gradAvg) throw new ValueError("rmspropUpdate: centered needs the gradient average");
    inputs.push(gradAvg);
  }
  return apply(rmspropUpdateOp, inputs, a);
}

/** Options of {@linkcode RMSprop}. */
export interface RMSpropOptions {
  /** Learning rate η (default 1e-2). */
  lr?: number;
  /** Smoothing constant α of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** Weight decay λ, added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum μ (default 0). */
  momentum?: number;
  /** Normalise by the estimated variance instead of the raw second moment (default false). */
  centered?: boolean;
  /** Maximise instead of minimise (default false). */
  maximize?: boolean;
}

// PyTorch's checks of RMSprop's option values, for the defaults and for each group.
function checkRmsprop(d: Required<RMSpropOptions>, where = ""): void {
  for (const k of ["lr", "alpha", "eps", "weightDecay", "momentum"] as const) {
    if (!(d[k] >= 0)) throw new ValueError(`RMSprop: ${where}invalid ${k} ${d[k]} (must be >= 0)`);
  }
}

/** RMSprop with optional momentum and centering. */
export class RMSprop extends Optimizer<Required<RMSpropOptions>> {
  /** Creates the optimizer over parameters or parameter groups. */
  constructor(params: ParamsInput<Required<RMSpropOptions>>, options: RMSpropOptions = {}) {
    checkOptions("RMSprop", options, { lr: 1e-2, ...RMSPROP_DEFAULTS });
    const d: Required<RMSpropOptions> = withDefaults({ lr: 1e-2, ...RMSPROP_DEFAULTS }, options);
    checkRmsprop(d);
    super(params, d, checkRmsprop);
  }

  /**
   * One update of every parameter that has a gradient: one fused `rmspropUpdate` op per
   * parameter, whose results replace the parameter's and the averages' data in place.
   */
  protected update(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        const ps = g.params.filter((p) => p.grad);
        for (const p of ps) {
          const st = this.stateOf(p);
          if (st.step === undefined) {
            st.step = 0;
            st.squareAvg = this.keepState(zerosLike(p));
          }
          if (g.momentum > 0 && !st.momentumBuffer) {
            st.momentumBuffer = this.keepState(zerosLike(p));
          }
          if (g.centered && !st.gradAvg) st.gradAvg = this.keepState(zerosLike(p));
          st.step = (st.step as number) + 1;
        }
        // One fused op per device over its parameters; the state roles in the op's input order.
        for (const set of groupBy(ps, (p) => p.device)) {
          const state = (name: string) => set.map((p) => this.stateOf(p)[name] as Tensor);
          const roles = [set, set.map((p) => p.grad!), state("squareAvg")];
          if (g.momentum > 0) roles.push(state("momentumBuffer"));
          if (g.centered) roles.push(state("gradAvg"));
          const outs = applyForeach(rmspropUpdateForeachOp, roles, {
            lr: g.lr,
            alpha: g.alpha,
            eps: g.eps,
            weightDecay: g.weightDecay,
            momentum: g.momentum,
            centered: g.centered,
            maximize: g.maximize,
          });
          // Outputs: parameters, square averages, then the buffers and gradient averages.
          const targets = [roles[0], ...roles.slice(2)];
          outs.forEach((o, r) => o.forEach((t, i) => assignStorage(targets[r][i], t)));
        }
      }
    });
  }
}

/** RMSprop as a plugin: it defines the fused `rmspropUpdate` op, and is registered on import. */
export const rmspropPlugin: Plugin = use(definePlugin({
  name: "@denn/rmsprop",
  kind: "optimizer",
  version: "0.1.0",
  apiVersion: 1,
  ops: [rmspropUpdateOp, rmspropUpdateForeachOp],
  exports: { RMSprop, rmspropUpdate },
}));
