/**
 * Loss plugins: each file is one loss, importable alone. Every loss takes `reduction` ("mean",
 * "sum" or "none"; `KLDivLoss` also "batchmean") and rejects an unknown one with an error naming it.
 *
 * @example
 * ```ts
 * import { CrossEntropyLoss, StructuredLoss } from "./mod.ts";
 * const lossFn = new CrossEntropyLoss({ labelSmoothing: 0.1 });
 * const svm = new StructuredLoss({ epsilon: 0 });
 * ```
 *
 * @module
 */

export * from "./cross_entropy.ts";
export * from "./nll.ts";
export * from "./mse.ts";
export * from "./l1.ts";
export * from "./smooth_l1.ts";
export * from "./bce.ts";
export * from "./bce_with_logits.ts";
export * from "./kl_div.ts";
export * from "./multi_margin.ts";
export * from "./hinge_embedding.ts";
export * from "./structured.ts";
