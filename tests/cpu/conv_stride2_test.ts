/**
 * Stride-2 convolutions, whose im2col moves four floats per two vector loads and a shuffle: on the
 * geometry-specialised kernels (small maps) and on the generic ones (a 64 × 64 stem is too large to
 * specialise), with odd widths that leave a scalar tail, against the float64 reference, on both
 * GEMMs (the default wasm one and an injected one, as blas runs).
 */

import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
  type Gemm,
} from "../../plugins/cpu/conv.ts";
import { sgemm } from "../../plugins/cpu/gemm.ts";
import { unrollKernelsFor } from "../../plugins/cpu/wasm_gemm_conv_kernels.ts";
import { close, refForward, refInput, refWeight } from "./_conv_check.ts";
import { convParams, random } from "./_helpers.ts";
import assert from "node:assert/strict";

// A distinct function object, so the conv kernels take the injected-GEMM (blas) route.
const injected: Gemm = (...args) => sgemm(...args);

const CASES: [string, Partial<Conv2dParams> & { n: number; c: number; h: number; o: number }][] = [
  ["7 × 7 stem on 64 × 64 (generic kernels)", { n: 2, c: 3, h: 64, o: 4, kh: 7, kw: 7, padH: 3 }],
  ["3 × 3 on 11 × 13 (a scalar tail)", { n: 2, c: 5, h: 11, w: 13, o: 6, kh: 3, kw: 3, padH: 1 }],
  ["1 × 1 on 9 × 9", { n: 3, c: 4, h: 9, o: 5, kh: 1, kw: 1 }],
  ["3 × 3 dilated", { n: 2, c: 3, h: 15, o: 4, kh: 3, kw: 3, padH: 2, dilationH: 2 }],
];

Deno.test("the 64 × 64 stem is not specialised (the generic im2col runs)", () => {
  const p = convParams({
    n: 2,
    c: 3,
    h: 64,
    w: 64,
    o: 4,
    kh: 7,
    kw: 7,
    strideH: 2,
    strideW: 2,
    padH: 3,
    padW: 3,
  });
  assert.equal(unrollKernelsFor(p), null);
});

for (const [name, shape] of CASES) {
  for (const [gemmName, gemm] of [["default", sgemm], ["injected", injected]] as const) {
    Deno.test(`stride-2 conv2d (${gemmName} GEMM): ${name} matches the float64 reference`, () => {
      const pad = shape.padH ?? 0, dil = shape.dilationH ?? 1;
      const p = convParams({
        w: shape.h,
        kh: 1,
        kw: 1,
        ...shape,
        strideH: 2,
        strideW: 2,
        padW: pad,
        dilationW: dil,
      });
      const kk = p.c * p.kh * p.kw;
      const x = random(p.n * p.c * p.h * p.w, 1);
      const w = random(p.o * kk, 2);
      const bias = random(p.o, 3);
      const gy = random(p.n * p.o * p.oh * p.ow, 4);
      close("y", conv2dForward(x, w, bias, p, gemm), refForward(x, w, bias, p), kk);
      close("dx", conv2dBackwardInput(gy, w, p, gemm), refInput(gy, w, p), p.o * p.kh * p.kw);
      close("dw", conv2dBackwardWeight(gy, x, p, gemm), refWeight(gy, x, p), p.n * p.oh * p.ow);
    });
  }
}
