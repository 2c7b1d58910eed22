/**
 * Pointwise convolutions (1 × 1, unit stride, no padding) take one of three routes: one product
 * for the batch (one pixel per image), one product per image straight on the input planes, or the
 * wasm drivers (images of a chunk side by side for the injected GEMM; all-wasm for the default).
 * Which one is a measured rule (`pointwiseOnDrivers`); every route must give the float64
 * reference's values, with and without bias and groups, on both GEMMs, for each pass.
 */

import assert from "node:assert/strict";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
  type Gemm,
  pointwiseOnDrivers,
} from "../../plugins/cpu/conv.ts";
import { sgemm } from "../../plugins/cpu/gemm.ts";
import { close, refForward, refInput, refWeight } from "./_conv_check.ts";
import { convParams, random } from "./_helpers.ts";

// A distinct function object, so the conv kernels take the injected-GEMM (blas) route.
const injected: Gemm = (...args) => sgemm(...args);

type Pass = "forward" | "input" | "weight";
const PASSES: Pass[] = ["forward", "input", "weight"];

// [name, shape, bias]: chosen so that each route of the rule is taken by some pass and GEMM.
const CASES: [string, Partial<Conv2dParams> & { n: number; c: number; h: number; o: number }][] = [
  ["2 × 2 maps", { n: 3, c: 8, h: 2, o: 8 }],
  ["2 × 2 maps, 2 groups", { n: 3, c: 8, h: 2, o: 6, groups: 2 }],
  ["4 × 4 maps, 128 outputs", { n: 2, c: 16, h: 4, o: 128 }],
  ["4 × 4 maps, 96 outputs", { n: 3, c: 40, h: 4, o: 96 }],
  ["4 × 4 maps, 16 outputs", { n: 2, c: 16, h: 4, o: 16 }],
  ["4 × 4 maps, 256 inputs, 32 outputs", { n: 2, c: 256, h: 4, o: 32 }],
  ["8 × 8 maps, 256 inputs, 128 outputs", { n: 2, c: 256, h: 8, o: 128 }],
  ["8 × 8 maps, 64 inputs, 128 outputs", { n: 2, c: 64, h: 8, o: 128 }],
  ["16 × 16 maps", { n: 2, c: 12, h: 16, o: 20 }],
  ["odd 5 × 3 maps", { n: 3, c: 7, h: 5, w: 3, o: 9 }],
  ["one pixel", { n: 5, c: 12, h: 1, o: 7 }],
  ["one pixel, 3 groups", { n: 5, c: 12, h: 1, o: 9, groups: 3 }],
];

const routes = new Set<string>();
for (const [name, shape] of CASES) {
  for (const [gemmName, gemm] of [["default", sgemm], ["injected", injected]] as const) {
    Deno.test(`pointwise conv2d (${gemmName} GEMM): ${name} matches the float64 reference`, () => {
      const p = convParams({ w: shape.h, kh: 1, kw: 1, ...shape });
      const cg = p.c / p.groups, og = p.o / p.groups;
      const x = random(p.n * p.c * p.h * p.w, 1);
      const w = random(p.o * cg, 2);
      const bias = random(p.o, 3);
      const gy = random(p.n * p.o * p.oh * p.ow, 4);
      for (const pass of PASSES) routes.add(`${gemmName} ${pointwiseOnDrivers(p, gemm, pass)}`);
      close("y", conv2dForward(x, w, bias, p, gemm), refForward(x, w, bias, p), cg);
      close("y without bias", conv2dForward(x, w, null, p, gemm), refForward(x, w, null, p), cg);
      close("dx", conv2dBackwardInput(gy, w, p, gemm), refInput(gy, w, p), og);
      close("dw", conv2dBackwardWeight(gy, x, p, gemm), refWeight(gy, x, p), p.n * p.oh * p.ow);
    });
  }
}

Deno.test("pointwise conv2d: the cases take both routes on both GEMMs", () => {
  // Runs after the cases above (tests in a file run in order).
  assert.deepEqual([...routes].sort(), [
    "default false",
    "default true",
    "injected false",
    "injected true",
  ]);
});
