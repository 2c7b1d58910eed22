/**
 * denn: a deep-learning framework for Deno. This entry point registers the cpu backend and exports
 * the core API.
 *
 * @example
 * ```ts
 * import { tensor } from "./mod.ts";
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const y = x.matmul(x).sum();
 * y.backward();
 * ```
 *
 * @module
 */

import "./plugins/cpu/mod.ts";
export * from "./core/mod.ts";
