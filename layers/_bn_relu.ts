/**
 * Where the batch-norm layers hand out their forward with the ReLU fused (internal): set by
 * batch_norm.ts when it loads, read by _relu_pool.ts, so that the fused path needs no public
 * method.
 *
 * @module
 */

import type { Tensor } from "../core/mod.ts";
import type { BatchNormBase } from "./batch_norm.ts";

/** The layer's forward with its output's ReLU in the same op; set by batch_norm.ts. */
export const bnReluForward: { run: ((bn: BatchNormBase, x: Tensor) => Tensor) | null } = {
  run: null,
};
