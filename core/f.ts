/**
 * The `F` namespace: functional forms of the layers and losses.
 *
 * @example
 * ```ts
 * import { F, randn } from "../mod.ts";
 * const p = F.softmax(randn([2, 5]), 1);
 * ```
 *
 * @module
 */

export * from "./functional.ts";
export * from "./functional_loss.ts";
