/**
 * The cpu fast paths of issue 13 against plain references: ReLU and its backward in wasm SIMD
 * (from 4096 elements), float32 sums with eight accumulators (trailing axes, leading axes, and all
 * axes but a kept block), the 2×2 stride-2 max pooling kernel with its backward, the general max
 * pooling kernel on one and two threads, and the broadcast loops of binary ops. The
 * references are the scalar loops the kernels had before (bit operations for ReLU, a one-by-one
 * float64 sum, the windowed max with PyTorch's NaN rule), so "the same result" means the same bits
 * for ReLU and pooling, and the float32 of a float64 sum (at most one ulp off) for sums.
 */

import assert from "node:assert/strict";
import { F, fromData, randn, tensor } from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { isPool2x2, maxPool2dForward, type Pool2dParams } from "../../plugins/cpu/pool.ts";
import { maxPool2dBackward } from "../../plugins/cpu/pool_backward.ts";
import { pool2x2Params } from "./_helpers.ts";
import { onOneAndTwo } from "./_conv_check.ts";

// A deterministic generator, so a failure reproduces.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

// Special values as bit patterns: ±0, ±Inf, positive and negative NaNs with payloads, the
// smallest subnormals, the largest finite values.
const SPECIAL_BITS = [
  0x00000000,
  0x80000000,
  0x7f800000,
  0xff800000,
  0x7fc00000,
  0xffc00000,
  0x7fc00123,
  0xffa00001,
  0x00000001,
  0x80000001,
  0x7f7fffff,
  0xff7fffff,
];

function withSpecials(a: Float32Array, seed: number): Float32Array {
  const r = rng(seed);
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let k = 0; k < Math.min(a.length, 64); k++) {
    bits[Math.floor(r() * a.length)] = SPECIAL_BITS[k % SPECIAL_BITS.length];
  }
  return a;
}

function bitsEqual(actual: ArrayBufferView, expected: ArrayBufferView, what: string): void {
  const a = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
  assert.equal(a.length, e.length, `${what}: byte length`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}: byte ${i} is ${a[i]}, expected ${e[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// ReLU

function reluRef(a: Float32Array): Float32Array {
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const r = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = x[i] & ~(x[i] >> 31);
  return new Float32Array(r.buffer);
}

function reluBackwardRef(g: Float32Array, y: Float32Array): Float32Array {
  const gi = new Int32Array(g.buffer, g.byteOffset, g.length);
  const yi = new Int32Array(y.buffer, y.byteOffset, y.length);
  const r = new Int32Array(g.length);
  for (let i = 0; i < g.length; i++) r[i] = gi[i] & ((-yi[i] & ~yi[i]) >> 31);
  return new Float32Array(r.buffer);
}

// Sizes around the wasm threshold (4096), not multiples of the 8-lane step, and one past the
// 2^21-lane chunk of the wasm driver.
const RELU_SIZES = [0, 1, 7, 4095, 4096, 4097, 4103, 12345, (1 << 21) + 5];

Deno.test("relu: the wasm path gives the JS loop's bits, specials included", () => {
  for (const n of RELU_SIZES) {
    const a = withSpecials(randomF32(n, n + 1), n);
    const y = F.relu(fromData(a.slice(), [n]));
    bitsEqual(y.dataSync() as Float32Array, reluRef(a), `relu n=${n}`);
  }
});

Deno.test("relu: NaNs keep their bits, -0 becomes +0, as before", () => {
  const n = 8192;
  const a = new Float32Array(n);
  const bits = new Uint32Array(a.buffer);
  for (let i = 0; i < n; i++) bits[i] = SPECIAL_BITS[i % SPECIAL_BITS.length];
  const y = new Uint32Array((F.relu(fromData(a, [n])).dataSync() as Float32Array).buffer);
  assert.equal(y[0], 0x00000000);
  assert.equal(y[1], 0x00000000, "-0 → +0");
  assert.equal(y[2], 0x7f800000, "+Inf");
  assert.equal(y[3], 0, "-Inf → 0");
  assert.equal(y[4], 0x7fc00000, "NaN kept");
  assert.equal(y[6], 0x7fc00123, "NaN payload kept");
  assert.equal(y[8], 1, "subnormal kept");
  assert.equal(y[9], 0, "negative subnormal → 0");
});

Deno.test("relu: int32 takes the wasm path too; float16 and views agree with the reference", () => {
  const n = 10001;
  const r = rng(3);
  const ints = new Int32Array(n);
  for (let i = 0; i < n; i++) ints[i] = Math.floor((r() - 0.5) * 2 ** 32);
  ints[0] = -(2 ** 31);
  ints[1] = 2 ** 31 - 1;
  const yi = F.relu(fromData(ints.slice(), [n])).dataSync() as Int32Array;
  for (let i = 0; i < n; i++) assert.equal(yi[i], Math.max(ints[i], 0), `int32 relu at ${i}`);

  // float16 keeps its own loop: relu of the half values equals the half of relu.
  const x = randn([70, 90]);
  const h = F.relu(x.to("float16")).to("float32").dataSync();
  const e = F.relu(x).to("float16").to("float32").dataSync();
  bitsEqual(h, e, "float16 relu");

  // A transposed view goes through the same kernel once made dense.
  const base = randomF32(97 * 61, 9);
  const v = fromData(base.slice(), [97, 61]).transpose(0, 1);
  const dense = v.contiguous().dataSync() as Float32Array;
  bitsEqual(F.relu(v).dataSync(), reluRef(dense.slice()), "relu of a transposed view");
});

Deno.test("reluBackward: the wasm path gives the JS loop's bits (through autograd)", () => {
  for (const n of RELU_SIZES) {
    const a = withSpecials(randomF32(n, 2 * n + 3), n + 7);
    const g = withSpecials(randomF32(n, 3 * n + 5), n + 11);
    const x = fromData(a.slice(), [n], { requiresGrad: true });
    const y = F.relu(x);
    y.backward(fromData(g.slice(), [n]));
    const expected = reluBackwardRef(g, reluRef(a));
    bitsEqual(x.grad!.dataSync(), expected, `reluBackward n=${n}`);
  }
});

Deno.test("reluBackward: float16 and a shape with an odd tail agree with the reference", () => {
  const x = randn([3, 5, 17, 19], { requiresGrad: true });
  const g = randn([3, 5, 17, 19]);
  F.relu(x).backward(g);
  const y = reluRef(new Float32Array(x.dataSync()));
  bitsEqual(x.grad!.dataSync(), reluBackwardRef(new Float32Array(g.dataSync()), y), "4-d");

  const xh = x.detach().to("float16").requiresGrad_();
  F.relu(xh).backward(g.to("float16"));
  const gh = g.to("float16").to("float32").dataSync() as Float32Array;
  const yh = F.relu(xh.detach()).to("float32").dataSync() as Float32Array;
  const want = new Float32Array(gh.length);
  for (let i = 0; i < gh.length; i++) want[i] = yh[i] > 0 || yh[i] !== yh[i] ? gh[i] : 0;
  bitsEqual(xh.grad!.to("float32").dataSync(), want, "float16 reluBackward");
});

// ---------------------------------------------------------------------------------------------
// Sums

// The float32 of a one-by-one float64 sum over `dims` (the loops' former order).
function sumRef(
  data: Float32Array,
  shape: readonly number[],
  dims: readonly number[],
): Float64Array {
  const outShape = shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    let o = 0;
    for (let k = 0; k < shape.length; k++) o = o * outShape[k] + (dims.includes(k) ? 0 : idx[k]);
    out[o] += data[i];
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

// Within one float32 ulp of the float64 sum (NaN and the infinities exactly). The general
// odometer loop (kept axes not contiguous) accumulates in float32, as it always has: `slack` then
// allows the rounding of its running sum.
function assertSumClose(
  actual: ArrayLike<number>,
  ref: Float64Array,
  what: string,
  slack = 0,
): void {
  assert.equal(actual.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) {
    const a = actual[i], e = ref[i];
    if (e !== e || !Number.isFinite(e)) {
      assert.ok(Object.is(a, Math.fround(e)), `${what}[${i}]: ${a}, expected ${e}`);
      continue;
    }
    const f = Math.fround(e);
    const ulp = Math.max(Math.abs(Math.fround(f * (1 + 2 ** -23)) - f), 2 ** -149) + slack;
    assert.ok(Math.abs(a - e) <= ulp, `${what}[${i}]: ${a}, expected ${e} (±${ulp})`);
  }
}

const SUM_CASES: [number[], number[]][] = [
  // all axes but one (bias gradients), odd sizes and rows shorter than the 8 accumulators
  [[64, 6, 28, 28], [0, 2, 3]],
  [[3, 5, 7, 9], [0, 2, 3]],
  [[2, 3, 1, 1], [0, 2, 3]],
  [[5, 4, 3], [0, 2]],
  [[2, 3, 4, 5], [0, 3]],
  [[2, 3, 4, 5], [0, 1, 3]],
  // leading axes (linear bias gradients), including fewer rows than the 4-row pass
  [[64, 120], [0]],
  [[3, 7], [0]],
  [[13, 5], [0]],
  [[4, 6, 11], [0, 1]],
  [[3, 4, 6, 5], [1, 2]],
  // trailing axes and everything
  [[9, 1001], [1]],
  [[5, 3, 7], [1, 2]],
  [[12345], [0]],
  [[7, 3, 5], [0, 1, 2]],
  // a non-contiguous kept set: the general odometer (float32 accumulation, see GENERAL)
  [[3, 4, 5, 6], [0, 2]],
  // empty along a reduced axis, and along a kept one
  [[0, 3, 4, 4], [0, 2, 3]],
  [[2, 3, 0, 4], [0, 2, 3]],
  [[2, 0, 5], [0, 2]],
  [[0, 6], [0]],
];

// The cases the float32 fast paths do not take, and the rounding their float32 running sum allows.
function slackFor(shape: readonly number[], dims: readonly number[], data: Float32Array): number {
  const kept = shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const contiguous = kept.every((k, i) => i === 0 || k === kept[i - 1] + 1);
  const blocked = dims.every((d, i) => i === 0 || d === dims[i - 1] + 1);
  if (contiguous || blocked) return 0;
  let abs = 0;
  for (const v of data) abs += Math.abs(v);
  return abs * data.length * 2 ** -24;
}

Deno.test("sum: float32 fast paths stay within one ulp of the one-by-one float64 sum", () => {
  for (const [k, [shape, dims]] of SUM_CASES.entries()) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Mixed magnitudes make the order matter.
    const r = rng(k + 100);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (r() - 0.5) * 10 ** Math.floor(r() * 6 - 2);
    const x = fromData(data.slice(), shape);
    const what = `sum [${shape}] over [${dims}]`;
    const s = x.sum(dims, true);
    assert.deepEqual(s.shape, shape.map((d, i) => (dims.includes(i) ? 1 : d)), what);
    const slack = slackFor(shape, dims, data);
    assertSumClose(s.dataSync() as Float32Array, sumRef(data, shape, dims), what, slack);
    // Without keepdim: same values.
    const ref = sumRef(data, shape, dims);
    assertSumClose(x.sum(dims).dataSync() as Float32Array, ref, what, slack);
  }
});

Deno.test("sum: NaN and infinities propagate in every fast path", () => {
  for (const [shape, dims] of SUM_CASES) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n < 4) continue;
    const data = randomF32(n, n);
    data[1] = NaN;
    data[n - 1] = Infinity;
    data[n >> 1] = -Infinity;
    data[(n >> 1) + 1] = Infinity;
    const got = fromData(data.slice(), shape).sum(dims).dataSync() as Float32Array;
    const finite = data.map((v) => (Number.isFinite(v) ? v : 0));
    assertSumClose(
      got,
      sumRef(data, shape, dims),
      `sum [${shape}] over [${dims}] with NaN/Inf`,
      slackFor(shape, dims, finite),
    );
  }
});

Deno.test("sum: views, float16 and int32 give the general path's result", () => {
  const base = randomF32(6 * 10 * 14, 5);
  // A permuted view: its sum over [0, 2, 3] is the dense copy's.
  const v = fromData(base.slice(), [6, 10, 14, 1]).permute([1, 0, 2, 3]);
  const dense = new Float32Array(v.contiguous().dataSync());
  assertSumClose(
    v.sum([0, 2, 3]).dataSync() as Float32Array,
    sumRef(dense, [10, 6, 14, 1], [0, 2, 3]),
    "sum of a permuted view",
  );
  // float16 and int32 take the general loops: the same values as their float32 sums.
  const x = tensor(Array.from({ length: 60 }, (_, i) => (i % 7) - 3)).reshape([3, 4, 5]);
  for (const dims of [[0, 2], [0], [2], [0, 1, 2]]) {
    const f = x.sum(dims).dataSync();
    assert.deepEqual([...x.to("float16").sum(dims).to("float32").dataSync()], [...f]);
    assert.deepEqual([...x.to("int32").sum(dims).dataSync()], [...f]);
  }
});

Deno.test("sum: the conv bias gradient over [0, 2, 3] is the fast path's sum", () => {
  const x = randn([5, 3, 9, 7]);
  const w = randn([4, 3, 3, 3]);
  const b = randn([4], { requiresGrad: true });
  const y = F.conv2d(x, w, b);
  const g = randn(y.shape);
  y.backward(g);
  const gd = new Float32Array(g.dataSync());
  assertSumClose(b.grad!.dataSync() as Float32Array, sumRef(gd, y.shape, [0, 2, 3]), "bias grad");
});

// ---------------------------------------------------------------------------------------------
// Max pooling

// The scalar window loop: first maximum wins, a NaN wins and a later NaN replaces it, an all
// -Inf window reports its first tap.
function maxPoolRef(x: Float32Array, p: Pool2dParams): { y: Float32Array; indices: Int32Array } {
  const { n, c, h, w, oh, ow } = p;
  const y = new Float32Array(n * c * oh * ow), indices = new Int32Array(y.length);
  let o = 0;
  for (let pl = 0; pl < n * c; pl++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let m = -Infinity, best = 2 * oy * w + 2 * ox;
        for (let dy = 0; dy < 2 && 2 * oy + dy < h; dy++) {
          for (let dx = 0; dx < 2 && 2 * ox + dx < w; dx++) {
            const i = (2 * oy + dy) * w + 2 * ox + dx;
            const v = x[pl * h * w + i];
            if (v > m || v !== v) {
              m = v;
              best = i;
            }
          }
        }
        y[o] = m;
        indices[o++] = best;
      }
    }
  }
  return { y, indices };
}

// Values from a small set (ties between taps), with NaNs, infinities and signed zeros, and some
// windows all -Inf.
function poolInput(len: number, seed: number, specials: boolean): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = r() < 0.3 ? Math.floor(r() * 4) - 2 : r() * 2 - 1;
  if (!specials) return x;
  for (let i = 0; i < len; i++) {
    const u = r();
    if (u < 0.03) x[i] = NaN;
    else if (u < 0.05) x[i] = -Infinity;
    else if (u < 0.06) x[i] = Infinity;
    else if (u < 0.08) x[i] = -0;
    else if (u < 0.10) x[i] = 0;
  }
  for (let i = 0; i + 1 < len && i < 40; i += 2) x[i] = x[i + 1] = -Infinity;
  return x;
}

const POOL_SHAPES: [number, number, number, number][] = [
  [64, 6, 28, 28], // LeNet: ow = 14, not a multiple of 4
  [64, 16, 10, 10], // ow = 5
  [2, 3, 8, 8], // ow = 4 exactly
  [1, 2, 7, 9], // odd h and w: the last row and column are in no window
  [3, 1, 10, 6], // ow = 3: one step, three lanes past ow
  [1, 1, 2, 2],
  [2, 5, 3, 31], // ow = 15
  [1, 1, 1, 5], // oh = 0: empty output
  [1, 40, 256, 256], // more planes than one wasm chunk holds
];

Deno.test("maxPool2d 2×2: the fast kernel gives the window loop's values and indices", () => {
  for (const [k, [n, c, h, w]] of POOL_SHAPES.entries()) {
    const p = pool2x2Params(n, c, h, w);
    assert.ok(isPool2x2(p));
    for (const specials of [false, true]) {
      const x = poolInput(n * c * h * w, 31 * k + (specials ? 1 : 0), specials);
      const got = maxPool2dForward(x, p), want = maxPoolRef(x, p);
      const what = `maxPool2d [${n},${c},${h},${w}]${specials ? " with NaN/±Inf/±0" : ""}`;
      bitsEqual(got.y, want.y, `${what} values`);
      bitsEqual(got.indices, want.indices, `${what} indices`);
    }
  }
});

Deno.test("maxPool2d 2×2: the fast kernel agrees with the general kernel (ceil mode)", () => {
  // With ceil mode an odd size adds a partial window, so the general kernel runs; its full
  // windows must equal the fast kernel's output for the same input.
  for (const [n, c, h, w] of [[2, 3, 9, 11], [1, 4, 13, 7], [3, 2, 5, 5]]) {
    const x = poolInput(n * c * h * w, h * w, true);
    const fast = pool2x2Params(n, c, h, w), general = pool2x2Params(n, c, h, w, true);
    assert.ok(isPool2x2(fast) && !isPool2x2(general));
    const a = maxPool2dForward(x, fast), b = maxPool2dForward(x, general);
    for (let pl = 0; pl < n * c; pl++) {
      for (let oy = 0; oy < fast.oh; oy++) {
        for (let ox = 0; ox < fast.ow; ox++) {
          const i = (pl * fast.oh + oy) * fast.ow + ox;
          const j = (pl * general.oh + oy) * general.ow + ox;
          assert.ok(Object.is(a.y[i], b.y[j]), `value at ${pl},${oy},${ox}`);
          assert.equal(a.indices[i], b.indices[j], `index at ${pl},${oy},${ox}`);
        }
      }
    }
  }
  // Other window shapes keep the general kernel.
  assert.ok(!isPool2x2({ ...pool2x2Params(1, 1, 8, 8), kh: 3 }));
  assert.ok(!isPool2x2({ ...pool2x2Params(1, 1, 8, 8), strideW: 1 }));
  assert.ok(!isPool2x2({ ...pool2x2Params(1, 1, 8, 8), padH: 1 }));
  assert.ok(!isPool2x2({ ...pool2x2Params(1, 1, 8, 8), dilationW: 2 }));
});

// The scatter the backward did before: += at each valid index.
function maxPoolBackwardRef(gy: Float32Array, indices: Int32Array, p: Pool2dParams): Float32Array {
  const dx = new Float32Array(p.n * p.c * p.h * p.w);
  const outPlane = p.oh * p.ow;
  for (let o = 0; o < gy.length; o++) {
    if (indices[o] >= 0) dx[Math.floor(o / outPlane) * p.h * p.w + indices[o]] += gy[o];
  }
  return dx;
}

Deno.test("maxPool2dBackward 2×2: the fast scatter gives the general scatter's bits", () => {
  for (const [k, [n, c, h, w]] of POOL_SHAPES.entries()) {
    const p = pool2x2Params(n, c, h, w);
    const x = poolInput(n * c * h * w, 7 * k, true);
    const { indices } = maxPool2dForward(x, p);
    // Gradients with -0 (the += onto zero makes it +0) and NaN.
    const gy = withSpecials(randomF32(indices.length, k), k + 1);
    bitsEqual(
      maxPool2dBackward(gy, indices, p),
      maxPoolBackwardRef(gy, indices, p),
      `maxPool2dBackward [${n},${c},${h},${w}]`,
    );
  }
});

Deno.test("F.maxPool2d 2×2 through autograd: values, gradient, views, float16, empty", () => {
  const check = (x: Tensor, what: string) => {
    const xd = new Float32Array(x.contiguous().to("float32").dataSync());
    const [n, c, h, w] = x.shape;
    const p = pool2x2Params(n, c, h, w);
    const xg = x.detach().requiresGrad_();
    const y = F.maxPool2d(xg, 2);
    const want = maxPoolRef(xd, p);
    if (x.dtype === "float32") bitsEqual(y.dataSync(), want.y, `${what} values`);
    const g = randn(y.shape);
    y.backward(g.to(x.dtype));
    if (x.dtype !== "float32") return;
    const gd = new Float32Array(g.dataSync());
    bitsEqual(xg.grad!.dataSync(), maxPoolBackwardRef(gd, want.indices, p), `${what} grad`);
  };
  check(randn([4, 3, 12, 10]), "dense");
  check(randn([4, 12, 3, 10]).permute([0, 2, 1, 3]), "permuted view");
  check(randn([2, 3, 11, 13]).narrow(3, 1, 9), "narrowed view");
  check(randn([0, 3, 8, 8]), "empty batch");
  check(randn([2, 0, 8, 8]), "no channels");

  // float16 pools like float32 does on the half values.
  const x = randn([2, 3, 10, 14]);
  const h = F.maxPool2d(x.to("float16"), 2).to("float32").dataSync();
  const f = F.maxPool2d(x.to("float16").to("float32"), 2).dataSync();
  bitsEqual(h, f, "float16 maxPool2d");
  const e = F.maxPool2d(randn([0, 3, 8, 8]), 2);
  assert.deepEqual(e.shape, [0, 3, 4, 4]);
});

// Broadcast binary loops: the row loop (a bias [C] against [N, C]: period C, inner 1) on either
// side, the block loop, and shapes that must stay on the general loop, against an index-by-index
// reference through explicit coordinates.
Deno.test("binary broadcasts: row and block loops give the reference's bits, either side", () => {
  const cases: [number[], number[]][] = [
    [[128, 512], [512]],
    [[3, 4, 5], [5]],
    [[3, 4, 5], [1, 5]],
    [[3, 4, 5], [4, 5]],
    [[3, 4, 5], [4, 1]],
    [[2, 3, 4, 5], [3, 1, 1]],
    [[7, 1], [7, 1]],
    [[6, 1, 5], [5]],
  ];
  let seed = 90;
  for (const [big, small] of cases) {
    const a = fromData(randomF32(big.reduce((p, q) => p * q, 1), seed++), big);
    const b = fromData(randomF32(small.reduce((p, q) => p * q, 1), seed++), small);
    const av = a.dataSync(), bv = b.dataSync();
    const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((p, q) => p * q, 1));
    const sa = strides(big), sbFull = strides(small);
    const off = big.length - small.length;
    for (const [x, y, swap] of [[a, b, false], [b, a, true]] as const) {
      for (
        const [op, f] of [["add", (p: number, q: number) => p + q], [
          "sub",
          (p: number, q: number) => p - q,
        ]] as const
      ) {
        const got = (op === "add" ? x.add(y) : x.sub(y)).dataSync();
        for (let i = 0; i < av.length; i++) {
          let j = 0;
          for (let d = 0; d < small.length; d++) {
            const coord = Math.floor(i / sa[off + d]) % big[off + d];
            j += small[d] === 1 ? 0 : coord * sbFull[d];
          }
          const want = Math.fround(swap ? f(bv[j], av[i]) : f(av[i], bv[j]));
          if (!Object.is(got[i], want)) {
            assert.fail(`${big} ${op} ${small} (swap ${swap}) [${i}]: ${got[i]} vs ${want}`);
          }
        }
      }
    }
  }
});

// The general max pooling kernel shares planes out to the threads: ResNet's 3 × 3, stride 2,
// padding 1 window over [32, 64, 16, 16], against a scalar window loop, on one thread and on two
// (the workers taking every item), values and indices.
Deno.test("maxPool2d 3×3 stride 2: the threaded general kernel gives the window loop's bits", () => {
  const [n, c, h, w] = [32, 64, 16, 16];
  const p: Pool2dParams = {
    ...pool2x2Params(n, c, h, w),
    kh: 3,
    kw: 3,
    padH: 1,
    padW: 1,
    oh: 8,
    ow: 8,
  };
  const x = poolInput(n * c * h * w, 77, true);
  const want = new Float32Array(n * c * 64), wantIdx = new Int32Array(want.length);
  for (let pl = 0, o = 0; pl < n * c; pl++) {
    for (let oy = 0; oy < 8; oy++) {
      for (let ox = 0; ox < 8; ox++, o++) {
        const y0 = Math.max(0, 2 * oy - 1), x0 = Math.max(0, 2 * ox - 1);
        let m = -Infinity, best = y0 * w + x0;
        for (let iy = y0; iy < Math.min(h, 2 * oy + 2); iy++) {
          for (let ix = x0; ix < Math.min(w, 2 * ox + 2); ix++) {
            const v = x[pl * h * w + iy * w + ix];
            if (v > m || v !== v) {
              m = v;
              best = iy * w + ix;
            }
          }
        }
        want[o] = m;
        wantIdx[o] = best;
      }
    }
  }
  const y = onOneAndTwo("maxPool2d 3x3 values", () => maxPool2dForward(x, p).y, true);
  const idx = onOneAndTwo(
    "maxPool2d 3x3 indices",
    () => new Float32Array(maxPool2dForward(x, p).indices.buffer),
    true,
  );
  bitsEqual(y, want, "maxPool2d 3x3 values");
  bitsEqual(new Int32Array(idx.buffer), wantIdx, "maxPool2d 3x3 indices");
});
