/**
 * Conv kernel benchmarks: `deno bench bench/conv_bench.ts`.
 *
 * @module
 */

import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
} from "../plugins/cpu/conv.ts";
import { conv2dOutputSize } from "../plugins/cpu/im2col.ts";

function params(
  n: number,
  c: number,
  h: number,
  w: number,
  o: number,
  k: number,
  pad: number,
): Conv2dParams {
  return {
    n,
    c,
    h,
    w,
    o,
    kh: k,
    kw: k,
    strideH: 1,
    strideW: 1,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    oh: conv2dOutputSize(h, k, 1, pad, 1),
    ow: conv2dOutputSize(w, k, 1, pad, 1),
  };
}

// Deterministic fill so runs are comparable and no denormals sneak in.
function filled(size: number, seed: number): Float32Array {
  const a = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

function suite(name: string, p: Conv2dParams): void {
  const x = filled(p.n * p.c * p.h * p.w, 1);
  const w = filled(p.o * (p.c / p.groups) * p.kh * p.kw, 2);
  const b = filled(p.o, 3);
  const gy = filled(p.n * p.o * p.oh * p.ow, 4);
  Deno.bench(`${name} forward`, { group: name, baseline: true }, () => {
    conv2dForward(x, w, b, p);
  });
  Deno.bench(`${name} backward (input + weight)`, { group: name }, () => {
    conv2dBackwardInput(gy, w, p);
    conv2dBackwardWeight(gy, x, p);
  });
}

suite("lenet 5x5 N64 C1 28x28 O6 pad2", params(64, 1, 28, 28, 6, 5, 2));
suite("3x3 N8 C64 32x32 O64 pad1", params(8, 64, 32, 32, 64, 3, 1));
