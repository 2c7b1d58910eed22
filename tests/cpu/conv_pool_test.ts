/**
 * Checks the CPU conv/pool kernels against PyTorch goldens from tools/gen_conv_pool_fixtures.py.
 *
 * Tolerance: |actual - expected| <= ATOL + RTOL * |expected| with ATOL = RTOL = 1e-5 everywhere.
 * The goldens are exact (float64 over the same float32 inputs), so the slack only has to cover the
 * kernels' float32 rounding; the longest sums here (conv weight gradients over N*OH*OW = 126 terms
 * of magnitude ~1) stay well inside it.
 */

import assert from "node:assert/strict";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
} from "../../plugins/cpu/conv.ts";
import { conv2dOutputSize } from "../../plugins/cpu/im2col.ts";
import { maxPool2dForward, pool2dOutputSize, type Pool2dParams } from "../../plugins/cpu/pool.ts";
import { maxPool2dBackward } from "../../plugins/cpu/pool_backward.ts";
import {
  adaptiveAvgPool2dBackward,
  adaptiveAvgPool2dForward,
  avgPool2dBackward,
  avgPool2dForward,
} from "../../plugins/cpu/avg_pool.ts";
import { convParams, pool2x2Params } from "./_helpers.ts";

const ATOL = 1e-5;
const RTOL = 1e-5;

interface ConvCase {
  name: string;
  params: Conv2dParams;
  x: number[];
  w: number[];
  b: number[] | null;
  y: number[];
  gy: number[];
  dx: number[];
  dw: number[];
}

interface PoolCase {
  name: string;
  params: Pool2dParams;
  x: number[];
  y: number[];
  indices?: number[];
  gy: number[];
  dx: number[];
}

interface AdaptiveCase {
  name: string;
  params: { n: number; c: number; h: number; w: number; oh: number; ow: number };
  x: number[];
  y: number[];
  gy: number[];
  dx: number[];
}

interface Fixtures {
  conv: ConvCase[];
  maxPool: PoolCase[];
  avgPool: PoolCase[];
  adaptiveAvgPool: AdaptiveCase[];
}

const fixtures: Fixtures = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/conv_pool.json", import.meta.url)),
);

const f32 = (a: number[]): Float32Array => Float32Array.from(a);

function assertClose(what: string, actual: ArrayLike<number>, expected: number[]): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= ATOL + RTOL * Math.abs(e))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

Deno.test("conv2d matches PyTorch", async (t) => {
  for (const c of fixtures.conv) {
    await t.step(c.name, () => {
      const p = c.params;
      assert.equal(conv2dOutputSize(p.h, p.kh, p.strideH, p.padH, p.dilationH), p.oh);
      assert.equal(conv2dOutputSize(p.w, p.kw, p.strideW, p.padW, p.dilationW), p.ow);
      const x = f32(c.x), w = f32(c.w), gy = f32(c.gy);
      assertClose("y", conv2dForward(x, w, c.b ? f32(c.b) : null, p), c.y);
      assertClose("dx", conv2dBackwardInput(gy, w, p), c.dx);
      assertClose("dw", conv2dBackwardWeight(gy, x, p), c.dw);
    });
  }
});

Deno.test("conv2d rejects channels not divisible by groups", () => {
  const p = convParams({ n: 1, c: 3, h: 4, w: 4, o: 4, kh: 3, kw: 3, groups: 2 });
  assert.throws(() => conv2dForward(new Float32Array(48), new Float32Array(36), null, p));
});

function checkOutputSize(p: Pool2dParams): void {
  assert.equal(
    pool2dOutputSize(p.h, p.kh, p.strideH, p.padH, p.dilationH, p.ceilMode),
    p.oh,
    "oh",
  );
  assert.equal(
    pool2dOutputSize(p.w, p.kw, p.strideW, p.padW, p.dilationW, p.ceilMode),
    p.ow,
    "ow",
  );
}

Deno.test("maxPool2d matches PyTorch", async (t) => {
  for (const c of fixtures.maxPool) {
    await t.step(c.name, () => {
      checkOutputSize(c.params);
      const { y, indices } = maxPool2dForward(f32(c.x), c.params);
      assertClose("y", y, c.y);
      assert.deepEqual(Array.from(indices), c.indices);
      assertClose("dx", maxPool2dBackward(f32(c.gy), indices, c.params), c.dx);
    });
  }
});

Deno.test("maxPool2d propagates NaN like PyTorch", () => {
  // Window [1, NaN, 3, NaN]: the last NaN wins because every NaN replaces the running max.
  const p = pool2x2Params(1, 1, 2, 2);
  const { y, indices } = maxPool2dForward(Float32Array.of(1, NaN, 3, NaN), p);
  assert.ok(Number.isNaN(y[0]));
  assert.equal(indices[0], 3);
  // A NaN before a larger value still wins.
  const r = maxPool2dForward(Float32Array.of(NaN, 5, 7, 1), p);
  assert.ok(Number.isNaN(r.y[0]));
  assert.equal(r.indices[0], 0);
  // All -inf: PyTorch reports the first element of the window.
  const inf = maxPool2dForward(Float32Array.of(-Infinity, -Infinity, -Infinity, -Infinity), p);
  assert.equal(inf.y[0], -Infinity);
  assert.equal(inf.indices[0], 0);
});

Deno.test("avgPool2d matches PyTorch", async (t) => {
  for (const c of fixtures.avgPool) {
    await t.step(c.name, () => {
      checkOutputSize(c.params);
      assertClose("y", avgPool2dForward(f32(c.x), c.params), c.y);
      assertClose("dx", avgPool2dBackward(f32(c.gy), c.params), c.dx);
    });
  }
});

Deno.test("adaptiveAvgPool2d matches PyTorch", async (t) => {
  for (const c of fixtures.adaptiveAvgPool) {
    await t.step(c.name, () => {
      const { n, c: ch, h, w, oh, ow } = c.params;
      assertClose("y", adaptiveAvgPool2dForward(f32(c.x), n, ch, h, w, oh, ow), c.y);
      assertClose("dx", adaptiveAvgPool2dBackward(f32(c.gy), n, ch, h, w, oh, ow), c.dx);
    });
  }
});
