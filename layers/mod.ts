/**
 * Layer plugins: each file is one layer (or a family of activations), importable alone.
 *
 * @example
 * ```ts
 * import { Linear } from "./mod.ts";
 * const fc = new Linear(784, 10);
 * ```
 *
 * @module
 */

export * from "./linear.ts";
