/**
 * cpu elementwise binary ops at a linear layer's sizes: a bias row broadcast ([128, 512] + [512],
 * the row loop), a per-channel broadcast ([64, 16, 10, 10] + [16, 1, 1], the block loop) and
 * same-shape operands. Each output is disposed, so its array returns to the host pool.
 *
 *     deno bench bench/elementwise_bench.ts
 *
 * @module
 */

import { randn } from "../mod.ts";

const rows = randn([128, 512]), bias = randn([512]);
const maps = randn([64, 16, 10, 10]), channel = randn([16, 1, 1]);

Deno.bench("add [128, 512] + [512] (row broadcast)", () => {
  rows.add(bias).dispose();
});

Deno.bench("add [64, 16, 10, 10] + [16, 1, 1] (channel broadcast)", () => {
  maps.add(channel).dispose();
});

Deno.bench("add [128, 512] + [128, 512]", () => {
  rows.add(rows).dispose();
});
