/**
 * The all-wasm forward convolution's direct kernels (wasm_product_kernels.ts `emitConvDirect`, driven
 * by wasm_conv_direct.ts `forwardDirect`): they read zero-padded input planes in place and keep a
 * tile of output channels by pixels in registers, vectorised over the pixels of an output row
 * (`convPixels`) or over output channels (`convChannels`). Checked against float64 direct loops
 * over shapes that take each tile (odd sizes, channel counts that are not a multiple of the tile,
 * rows exactly one tile wide, padding wider than the kernel so that whole output rows read only
 * padding, vertical stride, dilation, groups, no bias), for identical bits on one and two threads,
 * and that the shapes the kernels do not take (horizontal stride, rows narrower than a tile, many
 * channels) go to im2col and the GEMM, with the same results.
 */

import assert from "node:assert/strict";
import { conv2dForward } from "../../plugins/cpu/conv.ts";
import { forwardDirectTile } from "../../plugins/cpu/wasm_conv_direct.ts";
import { convKernels } from "../../plugins/cpu/wasm_conv_kernels.ts";
import { convParams, random } from "./_helpers.ts";
import { bigEnough, close, onOneAndTwo, refForward } from "./_conv_check.ts";

type Shape = Parameters<typeof convParams>[0];
// [name, shape, the tile expected (channels x pixels) or null for im2col + GEMM, bias]
const CASES: [string, Shape, string | null, boolean][] = [
  ["LeNet conv1", { n: 64, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, padH: 2, padW: 2 }, "6x8", true],
  ["LeNet conv2", { n: 64, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 }, "16x2", true],
  // Pixels tile: 11 channels (a second, partly empty block), rows of 13 (last tile moved left),
  // odd padding, no bias.
  [
    "pixels: odd sizes",
    { n: 5, c: 3, h: 11, w: 13, o: 11, kh: 3, kw: 3, padH: 1, padW: 1 },
    "6x8",
    false,
  ],
  // Rows exactly one tile wide; padding wider than the kernel: the top and bottom output rows read
  // only padding (bias alone).
  [
    "pixels: padding-only rows",
    { n: 3, c: 2, h: 4, w: 6, o: 6, kh: 3, kw: 3, padH: 4, padW: 2 },
    "6x8",
    true,
  ],
  // Channels tile: 13 of 16 lanes used, rows of 5 (odd: last tile moved left), groups, vertical
  // stride and dilation in both directions.
  [
    "channels: groups, strideH, dilation",
    {
      n: 9,
      c: 4,
      h: 17,
      w: 11,
      o: 26,
      kh: 3,
      kw: 2,
      padH: 2,
      padW: 1,
      strideH: 2,
      dilationH: 2,
      dilationW: 3,
      groups: 2,
    },
    "16x2",
    true,
  ],
  // Channels tile with rows of 2 (exactly one tile) and 10 channels.
  ["channels: narrow rows", { n: 4, c: 5, h: 6, w: 3, o: 10, kh: 3, kw: 2, padH: 1 }, "16x2", true],
  // Declined: horizontal stride; rows of one pixel; more than 16 channels per group.
  ["declined: strideW", { n: 4, c: 2, h: 12, w: 12, o: 6, kh: 3, kw: 3, strideW: 2 }, null, true],
  ["declined: one-pixel rows", { n: 4, c: 3, h: 5, w: 3, o: 6, kh: 3, kw: 3 }, null, true],
  [
    "declined: many channels",
    { n: 2, c: 32, h: 8, w: 8, o: 32, kh: 3, kw: 3, padH: 1, padW: 1 },
    null,
    true,
  ],
];

for (const [name, shape, tile, withBias] of CASES) {
  Deno.test(`wasm conv2d forward, direct kernels: matches float64 loops (${name})`, () => {
    if (!convKernels) return;
    const p = convParams(shape);
    const t = forwardDirectTile(convKernels, p);
    assert.equal(t && `${t.chans}x${t.width}`, tile, `${name}: route`);
    const kk = (p.c / p.groups) * p.kh * p.kw;
    const x = random(p.n * p.c * p.h * p.w, 21);
    const w = random(p.o * kk, 22);
    const b = withBias ? random(p.o, 23) : null;
    const y = onOneAndTwo(name, () => conv2dForward(x, w, b, p), bigEnough(p));
    close(name, y, refForward(x, w, b, p), kk);
  });
}

Deno.test("wasm conv2d forward, direct kernels: NaN and infinity in the input reach the output", () => {
  if (!convKernels) return;
  const p = convParams({ n: 2, c: 1, h: 9, w: 9, o: 6, kh: 3, kw: 3, padH: 1, padW: 1 });
  assert.ok(forwardDirectTile(convKernels, p));
  const x = random(p.n * p.c * p.h * p.w, 24);
  x[4 * 9 + 4] = NaN;
  x[81 + 0] = Infinity;
  const w = random(p.o * 9, 25).map(Math.abs);
  const y = conv2dForward(x, w, null, p);
  for (let oc = 0; oc < p.o; oc++) {
    for (let yo = 3; yo <= 5; yo++) {
      for (let xo = 3; xo <= 5; xo++) assert.ok(Number.isNaN(y[(oc * 9 + yo) * 9 + xo]));
    }
    assert.equal(y[((p.o + oc) * 9 + 0) * 9 + 0], Infinity);
  }
});
