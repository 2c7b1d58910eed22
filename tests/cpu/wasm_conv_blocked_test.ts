/**
 * The all-wasm weight gradient for small weights (wasm_conv_weight.ts, backwardWeightBlocked): images are
 * summed per block into partial gradients, with the `dotPlane` kernel reading the padded input
 * planes in place (unit horizontal stride, rows of a multiple of 4 or at least 48 pixels) or the
 * `dot` kernel over im2col's columns (other shapes). Checked against float64 direct loops over
 * shapes that take each route (odd sizes, padding, stride, dilation, groups, a batch that is not
 * a multiple of the block size, several batch chunks, weights too large for partials), and for
 * identical bits on one and two threads. The forward and input-gradient drivers are checked the
 * same way on the LeNet shapes.
 */

import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
} from "../../plugins/cpu/conv.ts";
import { convParams, random } from "./_helpers.ts";
import { bigEnough, close, onOneAndTwo, refForward, refInput, refWeight } from "./_conv_check.ts";

const CASES: [string, Parameters<typeof convParams>[0]][] = [
  // dotPlane: rows of 28 pixels, padding.
  ["LeNet conv1", { n: 64, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, padH: 2, padW: 2 }],
  // dot over im2col (rows of 10 pixels).
  ["LeNet conv2", { n: 64, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 }],
  // dotPlane with odd tap count, vertical stride and dilation, groups, a batch of 37 (blocks of
  // 3, the last one short), rows of 16.
  ["dotPlane: groups, strideH, dilation", {
    n: 37,
    c: 6,
    h: 21,
    w: 14,
    o: 9,
    kh: 3,
    kw: 3,
    padH: 1,
    padW: 2,
    strideH: 2,
    dilationH: 2,
    dilationW: 1,
    groups: 3,
  }],
  // dotPlane with rows of 49 (ow % 4 = 1, over 48), no padding.
  ["dotPlane: wide odd rows", { n: 64, c: 4, h: 9, w: 53, o: 8, kh: 2, kw: 5 }],
  // dot over im2col: horizontal stride, odd sizes, dilation.
  ["im2col: strideW, dilation", {
    n: 64,
    c: 6,
    h: 13,
    w: 15,
    o: 12,
    kh: 3,
    kw: 2,
    padH: 1,
    padW: 1,
    strideW: 2,
    dilationH: 2,
  }],
  // Several batch chunks (about 0.5M floats per image against a 2M-float chunk).
  ["several chunks", { n: 7, c: 1, h: 400, w: 400, o: 2, kh: 3, kw: 3, padH: 1, padW: 1 }],
  // Weights too large for partial sums: the column-split route.
  ["large weights", { n: 4, c: 64, h: 6, w: 6, o: 128, kh: 3, kw: 3, padH: 1, padW: 1 }],
  // A single small image (one block) on one thread.
  ["small single image", { n: 1, c: 2, h: 7, w: 8, o: 3, kh: 3, kw: 3 }],
];

for (const [name, shape] of CASES) {
  Deno.test(`wasm conv2d weight gradient by image blocks matches float64 loops (${name})`, () => {
    const p = convParams(shape);
    const x = random(p.n * p.c * p.h * p.w, 11);
    const gy = random(p.n * p.o * p.oh * p.ow, 12);
    const dw = onOneAndTwo(`dw ${name}`, () => conv2dBackwardWeight(gy, x, p), bigEnough(p));
    close(`dw ${name}`, dw, refWeight(gy, x, p), p.n * p.oh * p.ow);
  });
}

for (const [name, shape] of CASES.slice(0, 3)) {
  Deno.test(`wasm conv2d forward and input gradient match float64 loops (${name})`, () => {
    const p = convParams(shape);
    const kk = (p.c / p.groups) * p.kh * p.kw;
    const x = random(p.n * p.c * p.h * p.w, 13);
    const w = random(p.o * kk, 14);
    const b = random(p.o, 15);
    const gy = random(p.n * p.o * p.oh * p.ow, 16);
    const y = onOneAndTwo(`y ${name}`, () => conv2dForward(x, w, b, p), bigEnough(p));
    close(`y ${name}`, y, refForward(x, w, b, p), kk);
    const dx = onOneAndTwo(`dx ${name}`, () => conv2dBackwardInput(gy, w, p), bigEnough(p));
    close(`dx ${name}`, dx, refInput(gy, w, p), (p.o / p.groups) * p.kh * p.kw);
  });
}
