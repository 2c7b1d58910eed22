/**
 * Per-op overhead: a tiny add (4 elements) and a tiny mul → sum → backward.
 *
 *     deno bench bench/overhead_bench.ts
 *
 * @module
 */

import { tensor } from "../mod.ts";

const a = tensor([1, 2, 3, 4]);
const b = tensor([5, 6, 7, 8]);
const w = tensor([1, 2, 3, 4], { requiresGrad: true });

Deno.bench("add, 4 elements", () => {
  a.add(b);
});

Deno.bench("mul → sum → backward, 4 elements", () => {
  w.grad = null;
  w.mul(b).sum().backward();
});
