/**
 * When a ReLU followed by a MaxPool2d may run as pool-then-ReLU (internal; used by Sequential and
 * the ResNet model).
 *
 * @module
 */

import type { AnyModule } from "../core/mod.ts";
import { ReLU } from "./activations.ts";
import { BatchNorm2d } from "./batch_norm.ts";
import { Conv2d } from "./conv2d.ts";
import { MaxPool2d } from "./pooling.ts";

// A module of exactly this class with no hooks (hooks ride on an own `forward`): its forward is the
// class's, so nobody can observe what it was given.
function plain(m: AnyModule, cls: abstract new (...args: never[]) => AnyModule): boolean {
  return m.constructor === cls && !Object.hasOwn(m, "forward");
}

/**
 * Whether `relu` then `pool` may run as `pool` then an out-of-place ReLU: max(relu(x)) =
 * relu(max(x)) for every window, and the gradient reaches the same element (the first maximum, and
 * only where it is positive) either way, so the result is the same bits with the ReLU over a 4×
 * (or so) smaller tensor. Both must be plain modules, so that no hook or subclass sees the swapped
 * input; an in-place ReLU only when `prev`, the module whose output it gets, is a plain Conv2d or
 * BatchNorm2d, whose fresh output nobody else holds (the swapped ReLU runs out of place, because
 * max pooling saves its output for backward, so a caller's tensor would be left unmodified).
 */
export function swapsReluPool(prev: AnyModule | null, relu: AnyModule, pool: AnyModule): boolean {
  if (!plain(relu, ReLU) || !plain(pool, MaxPool2d)) return false;
  if (!(relu as ReLU).inplace) return true;
  return prev !== null && (plain(prev, Conv2d) || plain(prev, BatchNorm2d));
}
