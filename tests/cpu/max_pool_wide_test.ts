/**
 * The wasm max pooling kernel does four neighbouring outputs at once (stride 1 or 2, no horizontal
 * dilation), with the taps of windows that reach past the row masked, and a row's last outputs one
 * by one. All must give what one window at a time gives: the maximum, the in-plane index of the
 * first tap holding it, and NaN winning (a later NaN replacing an earlier one), on wide rows and on
 * small maps, with padding, ceil mode, ties and NaNs. Stride 1 without dilation has a two-pass
 * kernel of its own (row maxima, then column maxima of those), checked on the same terms, with
 * rectangular windows and on enough planes to be shared out to the threads and cut into chunks.
 */

import assert from "node:assert/strict";
import { maxPool2dForward, pool2dOutputSize, type Pool2dParams } from "../../plugins/cpu/pool.ts";

function params(
  n: number,
  c: number,
  h: number,
  w: number,
  k: number,
  s: number,
  pad: number,
  ceilMode: boolean,
  dilation = 1,
): Pool2dParams {
  const oh = pool2dOutputSize(h, k, s, pad, dilation, ceilMode);
  const ow = pool2dOutputSize(w, k, s, pad, dilation, ceilMode);
  return {
    n,
    c,
    h,
    w,
    kh: k,
    kw: k,
    strideH: s,
    strideW: s,
    padH: pad,
    padW: pad,
    dilationH: dilation,
    dilationW: dilation,
    oh,
    ow,
    ceilMode,
    countIncludePad: true,
  };
}

// One window at a time, taps in row-major order: `v > m || v !== v` takes the tap.
function reference(x: Float32Array, p: Pool2dParams): { y: number[]; idx: number[] } {
  const y: number[] = [], idx: number[] = [];
  for (let pl = 0; pl < p.n * p.c; pl++) {
    for (let oy = 0; oy < p.oh; oy++) {
      for (let ox = 0; ox < p.ow; ox++) {
        let m = -Infinity, best = -1;
        for (let ki = 0; ki < p.kh; ki++) {
          const ih = oy * p.strideH - p.padH + ki * p.dilationH;
          if (ih < 0 || ih >= p.h) continue;
          for (let kj = 0; kj < p.kw; kj++) {
            const iw = ox * p.strideW - p.padW + kj * p.dilationW;
            if (iw < 0 || iw >= p.w) continue;
            const v = x[pl * p.h * p.w + ih * p.w + iw];
            if (best < 0) best = ih * p.w + iw;
            if (v > m || v !== v) {
              m = v;
              best = ih * p.w + iw;
            }
          }
        }
        y.push(m);
        idx.push(best);
      }
    }
  }
  return { y, idx };
}

// Values from a few levels (ties), some NaNs and infinities.
function input(size: number, seed: number): Float32Array {
  const a = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const r = s / 2 ** 32;
    a[i] = r < 0.03 ? NaN : r < 0.05 ? -Infinity : Math.floor(r * 7) - 3;
  }
  return a;
}

const CASES: [string, Pool2dParams][] = [
  ["3 × 3 stride 1 pad 1 on 13 × 17", params(2, 3, 13, 17, 3, 1, 1, true)],
  ["3 × 3 stride 2 on 32 × 32, ceil", params(2, 2, 32, 32, 3, 2, 0, true)],
  ["3 × 3 stride 2 pad 1 on 15 × 21", params(2, 3, 15, 21, 3, 2, 1, false)],
  ["2 × 2 stride 1 on 9 × 12", params(1, 4, 9, 12, 2, 1, 0, false)],
  ["5 × 5 stride 2 pad 2 on 20 × 20, ceil", params(1, 3, 20, 20, 5, 2, 2, true)],
  ["3 × 3 stride 1 dilation 2 on 16 × 16", params(1, 2, 16, 16, 3, 1, 2, false, 2)],
  ["3 × 3 stride 3 on 19 × 19", params(1, 2, 19, 19, 3, 3, 0, true)],
  // Small maps: every window of a row reaches past it (GoogLeNet's 4 × 4 and ResNet's stem pool).
  ["3 × 3 stride 1 pad 1 on 4 × 4, ceil", params(2, 5, 4, 4, 3, 1, 1, true)],
  ["3 × 3 stride 1 pad 1 on 2 × 5", params(2, 3, 2, 5, 3, 1, 1, false)],
  ["3 × 3 stride 2 pad 1 on 16 × 16", params(2, 3, 16, 16, 3, 2, 1, false)],
  ["3 × 3 stride 2 pad 1 on 7 × 9, ceil", params(1, 4, 7, 9, 3, 2, 1, true)],
  ["5 × 5 stride 1 pad 2 on 6 × 6", params(1, 3, 6, 6, 5, 1, 2, false)],
  // Stride 1, no dilation: the two-pass kernel.
  ["3 × 3 stride 1 pad 1 on 2 × 2", params(3, 7, 2, 2, 3, 1, 1, false)],
  ["3 × 3 stride 1 pad 1 on 1 × 1", params(2, 5, 1, 1, 3, 1, 1, false)],
  ["3 × 3 stride 1 pad 1 on 8 × 37", params(2, 3, 8, 37, 3, 1, 1, false)],
  ["4 × 4 stride 1 on 7 × 11", params(2, 3, 7, 11, 4, 1, 0, false)],
  ["1 × 1 stride 1 on 5 × 6", params(1, 3, 5, 6, 1, 1, 0, false)],
  ["2 × 5 stride 1 pad (1, 2) on 6 × 9", {
    ...params(2, 3, 6, 9, 1, 1, 0, false),
    kh: 2,
    kw: 5,
    padH: 1,
    padW: 2,
    oh: 7,
    ow: 9,
  }],
  ["5 × 2 stride 1 pad (2, 0) on 3 × 10", {
    ...params(2, 3, 3, 10, 1, 1, 0, false),
    kh: 5,
    kw: 2,
    padH: 2,
    padW: 0,
    oh: 3,
    ow: 9,
  }],
  // Shared out to the threads (16 · 512 planes, as GoogLeNet's inception 4b pool).
  ["3 × 3 stride 1 pad 1 on 4 × 4, 8192 planes", params(16, 512, 4, 4, 3, 1, 1, true)],
  // Cut into chunks of planes (2^21 floats of heap: 43690 planes of 4 × 4).
  ["3 × 3 stride 1 pad 1 on 4 × 4, 49152 planes", params(48, 1024, 4, 4, 3, 1, 1, false)],
];

for (const [name, p] of CASES) {
  Deno.test(`max pooling: ${name} matches one window at a time`, () => {
    const x = input(p.n * p.c * p.h * p.w, 7);
    const { y, indices } = maxPool2dForward(x, p);
    const want = reference(x, p);
    assert.equal(y.length, want.y.length);
    for (let i = 0; i < y.length; i++) {
      const ok = Object.is(y[i], Math.fround(want.y[i])) ||
        (Number.isNaN(y[i]) && Number.isNaN(want.y[i]));
      if (!ok || indices[i] !== want.idx[i]) {
        assert.fail(`output ${i}: ${y[i]} at ${indices[i]}, want ${want.y[i]} at ${want.idx[i]}`);
      }
    }
  });
}
