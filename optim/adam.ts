/**
 * Adam (Kingma & Ba) with bias correction and the AMSGrad variant, following `torch.optim.Adam`:
 * g ← ∇ + λw; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; v̂ ← max(v̂, v) (AMSGrad);
 * w ← w − η/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε).
 *
 * @example
 * ```ts
 * import { Adam } from "./adam.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new Adam([w], { lr: 0.01, amsgrad: true });
 * w.mul(w).sum().backward();
 * opt.step();
 * ```
 *
 * @module
 */

import { apply, definePlugin, noGrad, Optimizer, use, ValueError, zerosLike } from "../core/mod.ts";
import type { ParamsInput, Plugin, Tensor } from "../core/mod.ts";
import { adamUpdateForeachOp, adamUpdateOp, assignStorage } from "./ops.ts";
import { applyForeach, groupBy } from "./_foreach.ts";
import type { AdamUpdateAttrs } from "./ops.ts";
import { checkOptions } from "./_defaults.ts";

/**
 * One Adam (or, with `decoupled`, AdamW) update: returns `[p', m', v']`, plus `vmax'` with
 * `amsgrad` (then `vmax` must be given). Unset attributes default as in `torch.optim.Adam`.
 */
export function adamUpdate(
  p: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  vmax: Tensor | null,
  attrs: Partial<AdamUpdateAttrs> & { lr: number; step: number },
): Tensor[] {
  const a: AdamUpdateAttrs = {
    lr: attrs.lr,
    beta1: attrs.beta1 ?? 0.9,
    beta2: attrs.beta2 ?? 0.999,
    eps: attrs.eps ?? 1e-8,
    weightDecay: attrs.weightDecay ?? 0,
    decoupled: attrs.decoupled ?? false,
    amsgrad: attrs.amsgrad ?? false,
    maximize: attrs.maximize ?? false,
    step: attrs.step,
  };
  if (a.amsgrad && !vmax) throw new ValueError("adamUpdate: amsgrad needs the vmax tensor");
  return apply(adamUpdateOp, a.amsgrad ? [p, grad, m, v, vmax!] : [p, grad, m, v], a);
}

/** Options of {@linkcode Adam} and `AdamW`. */
export interface AdamOptions {
  /** Learning rate η (default 1e-3). */
  lr?: number;
  /** Decay rates (β₁, β₂) of the moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** Weight decay λ (default 0 for Adam, added to the gradient; AdamW decays the weights). */
  weightDecay?: number;
  /** Use the running maximum of v (AMSGrad, default false). */
  amsgrad?: boolean;
  /** Maximise instead of minimise (default false). */
  maximize?: boolean;
}

/**
 * Checks Adam-family options the way PyTorch does, naming the optimizer; `where` names a parameter
 * group ("parameter group 1: ") when the options are a group's.
 */
export function checkAdamOptions(name: string, d: Required<AdamOptions>, where = ""): void {
  if (!(d.lr >= 0)) {
    throw new ValueError(`${name}: ${where}invalid learning rate ${d.lr} (must be >= 0)`);
  }
  if (!(d.eps >= 0)) throw new ValueError(`${name}: ${where}invalid eps ${d.eps} (must be >= 0)`);
  d.betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) {
      throw new ValueError(
        `${name}: ${where}invalid beta at index ${i}: ${b} (must be in [0, 1))`,
      );
    }
  });
  if (!(d.weightDecay >= 0)) {
    throw new ValueError(`${name}: ${where}invalid weightDecay ${d.weightDecay} (must be >= 0)`);
  }
}

/** Adam, optionally AMSGrad. */
export class Adam extends Optimizer<Required<AdamOptions>> {
  /** Whether weight decay multiplies the weights (AdamW) instead of adding to the gradient. */
  protected readonly decoupled: boolean = false;

  /** Creates the optimizer over parameters or parameter groups. */
  constructor(params: ParamsInput<Required<AdamOptions>>, options: AdamOptions = {}) {
    const name = new.target.name;
    const d = adamDefaults(options, 0, name);
    checkAdamOptions(name, d);
    super(params, d, (g, where) => checkAdamOptions(name, g, where));
  }

  /**
   * One update of every parameter that has a gradient: per group, one fused `adamUpdateForeach` op
   * over the parameters on each device at the same step, whose results replace the parameters' and
   * the moments' data in place.
   */
  protected update(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        const [beta1, beta2] = g.betas;
        const ps = g.params.filter((p) => p.grad);
        for (const p of ps) {
          const st = this.stateOf(p);
          if (st.step === undefined) {
            st.step = 0;
            st.expAvg = this.keepState(zerosLike(p));
            st.expAvgSq = this.keepState(zerosLike(p));
          }
          if (g.amsgrad && !st.maxExpAvgSq) st.maxExpAvgSq = this.keepState(zerosLike(p));
          st.step = (st.step as number) + 1;
        }
        // One fused op per device and step count; the state roles in the op's input order.
        for (const set of groupBy(ps, (p) => `${p.device}/${this.stateOf(p).step}`)) {
          const state = (name: string) => set.map((p) => this.stateOf(p)[name] as Tensor);
          const roles = [set, set.map((p) => p.grad!), state("expAvg"), state("expAvgSq")];
          if (g.amsgrad) roles.push(state("maxExpAvgSq"));
          const outs = applyForeach(adamUpdateForeachOp, roles, {
            lr: g.lr,
            beta1,
            beta2,
            eps: g.eps,
            weightDecay: g.weightDecay,
            decoupled: this.decoupled,
            amsgrad: g.amsgrad,
            maximize: g.maximize,
            step: this.stateOf(set[0]).step as number,
          });
          // Outputs: the parameters, then each state role, as the inputs after the gradients.
          const targets = [roles[0], ...roles.slice(2)];
          outs.forEach((o, r) => o.forEach((t, i) => assignStorage(targets[r][i], t)));
        }
      }
    });
  }
}

/** Adam's options with defaults filled in (`weightDecay` defaults to `wd`). */
export function adamDefaults(
  options: AdamOptions,
  wd: number,
  name = "Adam",
): Required<AdamOptions> {
  const ref = {
    lr: 1e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: wd,
    amsgrad: false,
    maximize: false,
  };
  options = checkOptions(name, options, ref);
  return {
    lr: options.lr ?? 1e-3,
    betas: options.betas ?? [0.9, 0.999],
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? wd,
    amsgrad: options.amsgrad ?? false,
    maximize: options.maximize ?? false,
  };
}

/**
 * Adam (and AdamW, which subclasses it) as a plugin: it defines the fused `adamUpdate` op, and is
 * registered on import.
 */
export const adamPlugin: Plugin = use(definePlugin({
  name: "@denn/adam",
  kind: "optimizer",
  version: "0.1.0",
  apiVersion: 1,
  ops: [adamUpdateOp, adamUpdateForeachOp],
  exports: { Adam, adamUpdate },
}));
