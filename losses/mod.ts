/**
 * Loss plugins: each file is one loss, importable alone.
 *
 * @example
 * ```ts
 * import { CrossEntropyLoss } from "./mod.ts";
 * const lossFn = new CrossEntropyLoss({ labelSmoothing: 0.1 });
 * ```
 *
 * @module
 */

export * from "./cross_entropy.ts";
