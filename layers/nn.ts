/**
 * The `nn` namespace: every layer and loss module.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * const fc = new nn.Linear(4, 2);
 * ```
 *
 * @module
 */

export * from "./mod.ts";
export * from "../losses/mod.ts";
export { Module, Parameter } from "../core/mod.ts";
