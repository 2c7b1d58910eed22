/**
 * The wasm conv drivers against the JS-free reference of conv_pool_test's goldens are covered there;
 * here the injected-GEMM route (what the blas backend uses, with column matrices in wasm memory)
 * must agree with the all-wasm route on shapes with padding, stride, dilation, groups and odd sizes.
 */

import assert from "node:assert/strict";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
  type Gemm,
} from "../../plugins/cpu/conv.ts";
import { sgemm } from "../../plugins/cpu/gemm.ts";
import { convParams, random } from "./_helpers.ts";

// A distinct function object, so the conv kernels take the injected-GEMM route.
const injected: Gemm = (...args) => sgemm(...args);

const params = (o: Partial<Conv2dParams>): Conv2dParams =>
  convParams({ n: 3, c: 4, h: 9, w: 11, o: 6, kh: 3, kw: 2, ...o });

function close(what: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= 1e-5 + 1e-5 * Math.abs(b[i]))) {
      assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
    }
  }
}

const CASES: [string, Partial<Conv2dParams>][] = [
  ["plain", {}],
  ["padded", { padH: 2, padW: 1 }],
  ["strided", { strideH: 2, strideW: 3, padH: 1, padW: 1 }],
  ["dilated", { dilationH: 2, dilationW: 3, padW: 2 }],
  ["grouped", { groups: 2, c: 4, o: 6, padH: 1 }],
  ["LeNet conv1", { n: 2, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, padH: 2, padW: 2 }],
  ["deep", { c: 40, o: 5, kh: 3, kw: 3 }],
];

for (const [name, o] of CASES) {
  Deno.test(`wasm conv2d: injected GEMM route matches the default route (${name})`, () => {
    const p = params(o);
    const x = random(p.n * p.c * p.h * p.w, 1);
    const w = random(p.o * (p.c / p.groups) * p.kh * p.kw, 2);
    const b = random(p.o, 3);
    const gy = random(p.n * p.o * p.oh * p.ow, 4);
    close("y", conv2dForward(x, w, b, p, injected), conv2dForward(x, w, b, p));
    close("dx", conv2dBackwardInput(gy, w, p, injected), conv2dBackwardInput(gy, w, p));
    close("dw", conv2dBackwardWeight(gy, x, p, injected), conv2dBackwardWeight(gy, x, p));
  });
}
