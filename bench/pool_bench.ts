/**
 * cpu max pooling at ResNet-18's stem (3 × 3 windows, stride 2, padding 1, over [32, 64, 16, 16],
 * the general kernel, planes shared out to the threads) and at LeNet's first layer (2 × 2, stride 2,
 * over [64, 6, 28, 28], the SIMD kernel).
 *
 *     deno bench --allow-read --allow-env --allow-ffi bench/pool_bench.ts
 *
 * @module
 */

import { F, randn } from "../mod.ts";

const stem = randn([32, 64, 16, 16]), lenet = randn([64, 6, 28, 28]);

Deno.bench("maxPool2d 3x3 stride 2 padding 1, [32, 64, 16, 16]", () => {
  F.maxPool2d(stem, 3, { stride: 2, padding: 1 }).dispose();
});

Deno.bench("maxPool2d 2x2, [64, 6, 28, 28]", () => {
  F.maxPool2d(lenet, 2).dispose();
});
