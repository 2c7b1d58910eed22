/**
 * The gradients of conv2dMaxPool2x2 from the pooled gradient (wasm_conv_pool.ts and the kernels
 * of wasm_pool_grad.ts): against float64 direct loops over the unpooled gradient, for LeNet's
 * shapes and for ones that take every branch (kernel rows of 1 to 8 taps, so one or two vectors
 * and a partial last vector; window rows in passes of 5 and singly; padding; odd conv outputs
 * whose last row and column no cell covers; a batch of 37 in blocks of 3), each gradient alone
 * and both together, with ReLU's mask and the bias's gradient, with identical bits on one and two
 * threads. Indices outside their 2 × 2
 * cell are an IndexError; a NaN or infinity in x (for dW) or w (for dx) hands the call back to the
 * dense path, whose NaNs PyTorch's match.
 */

import assert from "node:assert/strict";
import type { Conv2dParams } from "../../plugins/cpu/conv.ts";
import { convKernels } from "../../plugins/cpu/wasm_conv_kernels.ts";
import { poolGradApplies, wasmConvMaxPool2x2Backward } from "../../plugins/cpu/wasm_conv_pool.ts";
import type { PoolGradWants } from "../../plugins/cpu/wasm_conv_pool.ts";
import { convParams, random } from "./_helpers.ts";
import { bigEnough, close, onOneAndTwo, refInput, refWeight } from "./_conv_check.ts";

const k = convKernels!;

/** Pooling indices: for each 2 × 2 cell of each conv output plane, a pseudo-random member. */
function cellIndices(p: Conv2dParams, seed: number): Int32Array {
  const ph = p.oh >> 1, pw = p.ow >> 1;
  const idx = new Int32Array(p.n * p.o * ph * pw);
  let s = seed;
  for (let i = 0; i < idx.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const cell = i % (ph * pw), py = Math.floor(cell / pw), px = cell % pw;
    idx[i] = (2 * py + ((s >>> 16) & 1)) * p.ow + 2 * px + ((s >>> 17) & 1);
  }
  return idx;
}

/** The conv output's gradient: g at each index, zero elsewhere. */
function unpool(g: Float32Array, idx: Int32Array, p: Conv2dParams): Float32Array {
  const q = (p.oh >> 1) * (p.ow >> 1), plane = p.oh * p.ow;
  const gy = new Float32Array(p.n * p.o * plane);
  for (let i = 0; i < g.length; i++) gy[Math.floor(i / q) * plane + idx[i]] = g[i];
  return gy;
}

function run(
  g: Float32Array,
  idx: Int32Array,
  x: Float32Array,
  w: Float32Array,
  p: Conv2dParams,
  want: PoolGradWants,
  y: Float32Array | null = null,
): { dx: Float32Array | null; dw: Float32Array | null; db: Float32Array | null } {
  const r = wasmConvMaxPool2x2Backward(k, g, idx, x, w, p, want, y);
  assert.ok(r, "the sparse path declined finite inputs");
  return r;
}

const CASES: [string, Parameters<typeof convParams>[0]][] = [
  ["LeNet conv1", { n: 8, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, padH: 2, padW: 2 }],
  ["LeNet conv2, a batch of 37", { n: 37, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 }],
  // 3 taps a row (one vector), 6 window rows (a pass of 5, then one), conv output 11 x 9.
  ["3x3, odd output", { n: 3, c: 2, h: 11, w: 13, o: 5, kh: 3, kw: 3, padH: 1, padW: 0 }],
  // 8 taps (two full vectors), 21 rows, 7 x 8 window.
  ["7x8", { n: 2, c: 3, h: 16, w: 15, o: 4, kh: 7, kw: 8, padH: 3, padW: 1 }],
  // 4 taps, one row per channel (kh 1): passes of 5 channels.
  ["1x4", { n: 2, c: 7, h: 9, w: 10, o: 3, kh: 1, kw: 4 }],
  ["2x1", { n: 2, c: 2, h: 8, w: 9, o: 3, kh: 2, kw: 1, padH: 1, padW: 1 }],
  ["6x6 taps", { n: 4, c: 3, h: 12, w: 12, o: 7, kh: 6, kw: 6, padH: 2, padW: 2 }],
];

Deno.test("conv-pool gradients from the pooled gradient match float64 loops, on 1 and 2 threads", () => {
  if (!k) return console.log("skipped: no WebAssembly SIMD");
  for (const [name, shape] of CASES) {
    const p = convParams(shape);
    assert.ok(poolGradApplies(p), name);
    const q = (p.oh >> 1) * (p.ow >> 1);
    const g = random(p.n * p.o * q, 1), idx = cellIndices(p, 2);
    const x = random(p.n * p.c * p.h * p.w, 3), w = random(p.o * p.c * p.kh * p.kw, 4);
    const gy = unpool(g, idx, p);
    const wantW = refWeight(gy, x, p), wantX = refInput(gy, w, p);
    const mustThread = bigEnough(p);
    const dw = onOneAndTwo(
      `dw ${name}`,
      () => run(g, idx, x, w, p, { input: false, weight: true }).dw!,
      mustThread,
    );
    close(`dw ${name}`, dw, wantW, p.n * q);
    const dx = onOneAndTwo(
      `dx ${name}`,
      () => run(g, idx, x, w, p, { input: true, weight: false }).dx!,
      mustThread,
    );
    close(`dx ${name}`, dx, wantX, p.o * p.kh * p.kw);
    const both = run(g, idx, x, w, p, { input: true, weight: true });
    assert.deepEqual(both.dw, dw, `${name}: dw alone and with dx`);
    assert.deepEqual(both.dx, dx, `${name}: dx alone and with dw`);
    // With ReLU's output (about half of it not positive, -0 included) and the bias's gradient.
    const y = random(g.length, 13).map((v, i) => i % 7 === 0 ? -0 : v);
    const gm = g.map((v, i) => y[i] > 0 ? v : 0);
    const r = run(g, idx, x, w, p, { input: true, weight: true, bias: true }, y);
    const gym = unpool(gm, idx, p);
    close(`relu dw ${name}`, r.dw!, refWeight(gym, x, p), p.n * q);
    close(`relu dx ${name}`, r.dx!, refInput(gym, w, p), p.o * p.kh * p.kw);
    const wantB = new Float64Array(p.o);
    gm.forEach((v, i) => wantB[Math.floor(i / q) % p.o] += v);
    close(`relu db ${name}`, r.db!, wantB, p.n * q);
    assert.equal(run(g, idx, x, w, p, { input: true, weight: false }).db, null);
  }
});

Deno.test("conv-pool gradients: the shapes the sparse path takes", () => {
  const base = { n: 2, c: 1, h: 8, w: 8, o: 1, kh: 3, kw: 3 };
  assert.ok(poolGradApplies(convParams(base)));
  assert.ok(!poolGradApplies(convParams({ ...base, strideH: 2 })), "stride");
  assert.ok(!poolGradApplies(convParams({ ...base, dilationW: 2 })), "dilation");
  assert.ok(!poolGradApplies(convParams({ ...base, c: 2, o: 2, groups: 2 })), "groups");
  assert.ok(!poolGradApplies(convParams({ ...base, kw: 9, w: 12 })), "9 taps a row");
  assert.ok(!poolGradApplies(convParams({ ...base, h: 3 })), "a conv output under 2 x 2");
});

Deno.test("conv-pool gradients: an index outside its cell is a named IndexError", () => {
  if (!k) return console.log("skipped: no WebAssembly SIMD");
  const p = convParams({ n: 2, c: 2, h: 10, w: 10, o: 3, kh: 3, kw: 3 });
  const q = (p.oh >> 1) * (p.ow >> 1);
  const g = random(p.n * p.o * q, 5), x = random(p.n * p.c * 100, 6), w = random(54, 7);
  for (const bad of [-1, 2, 1 << 30]) {
    const idx = cellIndices(p, 8);
    idx[q + 3] = bad;
    for (const want of [{ input: true, weight: false }, { input: false, weight: true }]) {
      assert.throws(
        () => wasmConvMaxPool2x2Backward(k, g, idx, x, w, p, want),
        (e: Error) =>
          e.name === "IndexError" &&
          e.message.includes(
            `conv2dMaxPool2x2Backward: pooling index ${bad} at flat position ${q + 3}`,
          ),
      );
    }
  }
});

Deno.test("conv-pool gradients: NaN or infinity in x or w hands the call to the dense path", () => {
  if (!k) return console.log("skipped: no WebAssembly SIMD");
  // 486 floats of x: the last two in the scalar tail of the check.
  const p = convParams({ n: 3, c: 2, h: 9, w: 9, o: 3, kh: 3, kw: 3 });
  const q = (p.oh >> 1) * (p.ow >> 1);
  const g = random(p.n * p.o * q, 9), idx = cellIndices(p, 10);
  const x = random(p.n * p.c * 81, 11), w = random(54, 12);
  for (const v of [NaN, Infinity, -Infinity]) {
    for (const at of [0, x.length - 1]) {
      const xb = x.slice();
      xb[at] = v;
      assert.equal(
        wasmConvMaxPool2x2Backward(k, g, idx, xb, w, p, { input: false, weight: true }),
        null,
      );
      // x is not needed for dx alone.
      assert.ok(wasmConvMaxPool2x2Backward(k, g, idx, xb, w, p, { input: true, weight: false }));
    }
    const wb = w.slice();
    wb[7] = v;
    assert.equal(
      wasmConvMaxPool2x2Backward(k, g, idx, x, wb, p, { input: true, weight: false }),
      null,
    );
    assert.ok(wasmConvMaxPool2x2Backward(k, g, idx, x, wb, p, { input: false, weight: true }));
  }
  // A non-finite gradient runs: it reaches the same elements as in the dense products.
  const gb = g.slice();
  gb[4] = Infinity;
  const r = run(gb, idx, x, w, p, { input: true, weight: true });
  const gy = unpool(gb, idx, p);
  const wantX = refInput(gy, w, p);
  r.dx!.forEach((v, i) =>
    assert.ok(Object.is(v, Math.fround(wantX[i])) || Math.abs(v - wantX[i]) < 1e-5, `dx[${i}]`)
  );
});
