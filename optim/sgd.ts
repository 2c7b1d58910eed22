/**
 * Stochastic gradient descent with momentum (the lecture's heavy ball), dampening, Nesterov and
 * weight decay (the lecture's C in C/2‖w‖²), following `torch.optim.SGD` exactly:
 * g ← ∇ + λw; b ← μb + (1−τ)g (b = g at the first step); g ← g + μb (Nesterov) or b; w ← w − ηg.
 *
 * @example
 * ```ts
 * import { SGD } from "./sgd.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
 * w.mul(w).sum().backward();
 * opt.step();
 * ```
 *
 * @module
 */

import { apply, definePlugin, noGrad, Optimizer, use, ValueError } from "../core/mod.ts";
import type { ParamsInput, Plugin, Tensor } from "../core/mod.ts";
import { assignStorage, sgdUpdateForeachOp, sgdUpdateOp } from "./ops.ts";
import { applyForeach, groupBy } from "./_foreach.ts";
import type { SgdUpdateAttrs } from "./ops.ts";
import { checkOptions, withDefaults } from "./_defaults.ts";

const SGD_DEFAULTS = {
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
};

/** Options of {@linkcode SGD}. */
export interface SGDOptions {
  /** Learning rate η. */
  lr: number;
  /** Momentum μ (default 0). */
  momentum?: number;
  /** Dampening τ (default 0). */
  dampening?: number;
  /** Weight decay λ (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** Maximise instead of minimise. */
  maximize?: boolean;
}

/**
 * One SGD update of a parameter: returns `[p', buf']` with momentum, else `[p']`. `buf` is the
 * momentum buffer, null without momentum or on the first step (`attrs.first`, where the buffer
 * starts as the gradient). Unset attributes default as in `torch.optim.SGD`.
 */
export function sgdUpdate(
  p: Tensor,
  grad: Tensor,
  buf: Tensor | null,
  attrs: Partial<SgdUpdateAttrs> & { lr: number },
): Tensor[] {
  const a: SgdUpdateAttrs = {
    ...withDefaults(SGD_DEFAULTS, attrs),
    lr: attrs.lr,
    first: attrs.first ?? buf === null,
    // Its results are new tensors: only the optimizer, which writes them back into p and buf,
    // lets a kernel update those arrays in place.
    inPlace: false,
  };
  return update(p, grad, buf, a);
}

function update(p: Tensor, grad: Tensor, buf: Tensor | null, a: SgdUpdateAttrs): Tensor[] {
  return apply(sgdUpdateOp, buf && a.momentum !== 0 && !a.first ? [p, grad, buf] : [p, grad], a);
}

// PyTorch's checks of SGD's option values, for the defaults and for each group (`where` names it).
function checkSgd(d: Required<SGDOptions>, where = ""): void {
  if (!(d.lr >= 0)) {
    throw new ValueError(`SGD: ${where}invalid learning rate ${d.lr} (must be >= 0)`);
  }
  if (!(d.momentum >= 0)) {
    throw new ValueError(`SGD: ${where}invalid momentum ${d.momentum} (must be >= 0)`);
  }
  if (!Number.isFinite(d.dampening)) {
    throw new ValueError(`SGD: ${where}invalid dampening ${d.dampening} (must be finite)`);
  }
  if (!(d.weightDecay >= 0)) {
    throw new ValueError(`SGD: ${where}invalid weightDecay ${d.weightDecay} (must be >= 0)`);
  }
  if (d.nesterov && (d.momentum <= 0 || d.dampening !== 0)) {
    throw new ValueError(`SGD: ${where}nesterov momentum requires a momentum and zero dampening`);
  }
}

/** SGD with momentum and weight decay. */
export class SGD extends Optimizer<Required<SGDOptions>> {
  /** Creates the optimizer over parameters or parameter groups. */
  constructor(params: ParamsInput<Required<SGDOptions>>, options: SGDOptions) {
    checkOptions("SGD", options, { lr: 0.1, ...SGD_DEFAULTS }, ["lr"]);
    const d: Required<SGDOptions> = { ...withDefaults(SGD_DEFAULTS, options), lr: options.lr };
    checkSgd(d);
    super(params, d, checkSgd);
  }

  /**
   * One update of every parameter that has a gradient: per group, one fused `sgdUpdateForeach` op
   * over the parameters on each device (those with a momentum buffer and those starting one
   * apart), whose results replace the parameters' and the momentum buffers' data in place.
   */
  protected update(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        const buf = (p: Tensor) =>
          g.momentum !== 0 ? (this.stateOf(p).momentumBuffer as Tensor | undefined) ?? null : null;
        const ps = g.params.filter((p) => p.grad);
        for (const set of groupBy(ps, (p) => `${p.device}/${buf(p) === null}`)) {
          const first = g.momentum !== 0 && buf(set[0]) === null;
          const bufs = first ? [] : set.map(buf);
          const roles = [set, set.map((p) => p.grad!)];
          if (g.momentum !== 0 && !first) roles.push(bufs as Tensor[]);
          const [next, nextBuf] = applyForeach(sgdUpdateForeachOp, roles, {
            lr: g.lr,
            momentum: g.momentum,
            dampening: g.dampening,
            weightDecay: g.weightDecay,
            nesterov: g.nesterov,
            maximize: g.maximize,
            first,
            // The results go straight back into the parameters and buffers below.
            inPlace: true,
          });
          set.forEach((p, i) => {
            assignStorage(p, next[i]);
            if (!nextBuf) return;
            if (first) this.stateOf(p).momentumBuffer = this.keepState(nextBuf[i]);
            else assignStorage(bufs[i]!, nextBuf[i]);
          });
        }
      }
    });
  }
}

/** SGD as a plugin: it defines the fused `sgdUpdate` op, and is registered on import. */
export const sgdPlugin: Plugin = use(definePlugin({
  name: "@denn/sgd",
  kind: "optimizer",
  version: "0.1.0",
  apiVersion: 1,
  ops: [sgdUpdateOp, sgdUpdateForeachOp],
  exports: { SGD, sgdUpdate },
}));
