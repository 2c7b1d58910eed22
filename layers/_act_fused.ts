/**
 * Fused activation formulas shared by activations.ts and activations_extra.ts (with its
 * functional forms in _act_extra_functional.ts; see fuse.ts).
 *
 * @module
 */

import type { Tensor } from "../core/mod.ts";
import { fuse } from "./fuse.ts";
import type { FuseOptions } from "./fuse.ts";

/**
 * For chains with erf, tanh or exp: unfused on cpu while recording gradients, where recomputing
 * them in the fused backward costs more than the passes fusing saves (see FuseOptions).
 */
export const TRANSCENDENTAL: FuseOptions = { unfusedOnHostWithGrad: true };

/** x·sigmoid(x) as one fused op. */
export const siluOf: (x: Tensor) => Tensor = fuse(
  (x: Tensor) => x.mul(x.sigmoid()),
  TRANSCENDENTAL,
);
