/**
 * Per-call overhead of the functional forms over the raw op: `F.conv2d` and `F.maxPool2d` (options
 * validated once, at this boundary, by zod schemas built at module load) and the layers' forward
 * (validated at construction) against `apply` of the op with ready attributes, on tiny inputs so the
 * kernel costs almost nothing. "schema built per call" rebuilds the kernel-size schema on each call,
 * as `F.maxPool2d` did before the schemas moved to module load.
 *
 *     deno bench bench/functional_overhead_bench.ts
 *
 * @module
 */

import { z } from "zod";
import { apply, F, nn } from "../mod.ts";
import { conv, convAttrs, pool, poolAttrs, w, x } from "./_tiny.ts";

const convLayer = new nn.Conv2d(1, 1, 3, { padding: 1, bias: false });
const poolLayer = new nn.MaxPool2d(2);

Deno.bench("conv2d: apply (raw op)", { group: "conv2d", baseline: true }, () => {
  apply(conv, [x, w], convAttrs);
});

Deno.bench("conv2d: F.conv2d", { group: "conv2d" }, () => {
  F.conv2d(x, w, null, { padding: 1 });
});

Deno.bench("conv2d: Conv2d.forward", { group: "conv2d" }, () => {
  convLayer.forward(x);
});

Deno.bench("maxPool2d: apply (raw op)", { group: "maxPool2d", baseline: true }, () => {
  apply(pool, [x], poolAttrs);
});

Deno.bench("maxPool2d: F.maxPool2d", { group: "maxPool2d" }, () => {
  F.maxPool2d(x, 2);
});

Deno.bench("maxPool2d: MaxPool2d.forward", { group: "maxPool2d" }, () => {
  poolLayer.forward(x);
});

const posInt = z.number().int().positive();
Deno.bench("maxPool2d: F.maxPool2d + schema built per call", { group: "maxPool2d" }, () => {
  z.object({ kernelSize: z.union([posInt, z.tuple([posInt, posInt])]) }).safeParse({
    kernelSize: 2,
  });
  F.maxPool2d(x, 2);
});
