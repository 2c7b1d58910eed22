/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, following `torch.optim.AdamW`:
 * w ← w·(1 − ηλ) before the Adam update, which sees the raw gradient. Default λ = 1e-2.
 *
 * @example
 * ```ts
 * import { AdamW } from "./adamw.ts";
 * import { tensor } from "../mod.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new AdamW([w], { lr: 0.01, weightDecay: 0.05 });
 * w.mul(w).sum().backward();
 * opt.step();
 * ```
 *
 * @module
 */

import type { ParamsInput } from "../core/mod.ts";
import { Adam, adamDefaults, type AdamOptions, checkAdamOptions } from "./adam.ts";

/** Options of {@linkcode AdamW} (as Adam's; `weightDecay` defaults to 1e-2). */
export type AdamWOptions = AdamOptions;

/** Adam with decoupled weight decay. */
export class AdamW extends Adam {
  /** AdamW decays the weights directly. */
  protected override readonly decoupled: boolean = true;

  /** Creates the optimizer over parameters or parameter groups. */
  constructor(params: ParamsInput<Required<AdamWOptions>>, options: AdamWOptions = {}) {
    const d = adamDefaults(options, 1e-2, "AdamW");
    checkAdamOptions("AdamW", d);
    super(params, d);
  }
}
