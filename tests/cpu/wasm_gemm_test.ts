/**
 * Tests of the WebAssembly SIMD GEMM pieces that tests/cpu/gemm_test.ts does not reach: the
 * binary emitter's encodings, the plain (non-relaxed) kernel fallback, memory growth and the
 * multi-block paths of the wasm driver, and the batched (multi-image) convolution lowering.
 */

import assert from "node:assert/strict";
import { sleb, uleb } from "../../plugins/cpu/wasm.ts";
import {
  useRelaxedSimd,
  wasmRelaxedSimdAvailable,
  wasmSimdAvailable,
} from "../../plugins/cpu/wasm_gemm.ts";
import { wasmSgemm } from "../../plugins/cpu/wasm_gemm_driver.ts";
import { setGemmPath } from "../../plugins/cpu/gemm.ts";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
} from "../../plugins/cpu/conv.ts";

/** Deterministic xorshift32 stream in [-1, 1), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2147483648 - 1;
  };
}

function randomArray(len: number, next: () => number): Float32Array {
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = next();
  return x;
}

function assertClose(
  actual: Float32Array,
  expected: ArrayLike<number>,
  atol: number,
  what: string,
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i], x = actual[i];
    assert.ok(
      Math.abs(x - e) <= atol + 1e-5 * Math.abs(e),
      `${what}: index ${i} expected ${e}, got ${x}`,
    );
  }
}

Deno.test("wasm emitter: LEB128 encodings", () => {
  const u = (n: number) => {
    const out: number[] = [];
    uleb(n, out);
    return out;
  };
  const s = (n: number) => {
    const out: number[] = [];
    sleb(n, out);
    return out;
  };
  assert.deepEqual(u(0), [0]);
  assert.deepEqual(u(127), [0x7f]);
  assert.deepEqual(u(128), [0x80, 0x01]);
  assert.deepEqual(u(0x105), [0x85, 0x02]); // f32x4.relaxed_madd
  assert.deepEqual(u(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(s(0), [0]);
  assert.deepEqual(s(63), [0x3f]);
  assert.deepEqual(s(64), [0xc0, 0x00]);
  assert.deepEqual(s(-1), [0x7f]);
  assert.deepEqual(s(-64), [0x40]);
  assert.deepEqual(s(-65), [0xbf, 0x7f]);
  assert.deepEqual(s(-123456), [0xc0, 0xbb, 0x78]);
});

/** float64 reference of C = alpha * opA(A) opB(B) + beta * C over dense operands. */
function reference(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c: Float32Array,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        acc += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
      }
      out[i * n + j] = alpha * acc + (beta === 0 ? 0 : beta * c[i * n + j]);
    }
  }
  return out;
}

function checkWasm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  seed: number,
) {
  const next = rng(seed);
  const a = randomArray(m * k, next), b = randomArray(k * n, next), c = randomArray(m * n, next);
  const expected = reference(transA, transB, m, n, k, 0.5, a, b, -1.5, c);
  wasmSgemm(
    transA,
    transB,
    m,
    n,
    k,
    0.5,
    a,
    0,
    transA ? m : k,
    b,
    0,
    transB ? k : n,
    -1.5,
    c,
    0,
    n,
  );
  assertClose(c, expected, 1e-5 * k, `${JSON.stringify({ transA, transB, m, n, k })}`);
}

Deno.test({
  name: "wasm sgemm: plain mul+add kernels match relaxed ones and the reference",
  ignore: !wasmSimdAvailable,
  fn: () => {
    const variants = wasmRelaxedSimdAvailable ? [true, false] : [false];
    try {
      let seed = 1;
      for (const relaxed of variants) {
        assert.equal(useRelaxedSimd(relaxed), relaxed);
        for (
          const [transA, transB] of [[false, false], [true, true], [false, true], [true, false]]
        ) {
          // m = 6 and 16 select the 6-row and 4-row tiles; 13 leaves ragged edges everywhere.
          for (const [m, n, k] of [[6, 25, 257], [16, 33, 40], [13, 9, 5]]) {
            checkWasm(transA, transB, m, n, k, seed++);
          }
        }
      }
    } finally {
      useRelaxedSimd(true);
    }
  },
});

Deno.test({
  name: "wasm sgemm: C taller than one accumulator chunk and wider than one B block",
  ignore: !wasmSimdAvailable,
  fn: () => {
    // m > 960 rows and n > 1024 columns exercise the chunk loops and grow the memory.
    checkWasm(false, false, 1000, 1100, 3, 900);
    checkWasm(true, true, 970, 17, 300, 901);
  },
});

/** Direct (no im2col) convolution in float64, the reference for the batched lowering. */
function naiveConv(x: Float32Array, w: Float32Array, p: Conv2dParams): Float64Array {
  const { n, c, h, o, kh, kw, oh, ow, groups } = p;
  const cg = c / groups, og = o / groups;
  const y = new Float64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let yo = 0; yo < oh; yo++) {
        for (let xo = 0; xo < ow; xo++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let ki = 0; ki < kh; ki++) {
              const ih = yo * p.strideH + ki * p.dilationH - p.padH;
              if (ih < 0 || ih >= h) continue;
              for (let kj = 0; kj < kw; kj++) {
                const iw = xo * p.strideW + kj * p.dilationW - p.padW;
                if (iw < 0 || iw >= p.w) continue;
                acc += x[((b * c + g * cg + ci) * h + ih) * p.w + iw] *
                  w[((oc * cg + ci) * kh + ki) * kw + kj];
              }
            }
          }
          y[((b * o + oc) * oh + yo) * ow + xo] = acc;
        }
      }
    }
  }
  return y;
}

Deno.test("conv2d: batches split into several GEMM chunks match a direct convolution", () => {
  // (kk + og) * pix = (18 + 2) * 64 * 64 floats per image: 25 images per 2^21-float chunk, so a
  // batch of 27 needs two chunks (the second with 2 images). Two groups, stride and padding too.
  const p: Conv2dParams = {
    n: 27,
    c: 4,
    h: 127,
    w: 127,
    o: 4,
    kh: 3,
    kw: 3,
    strideH: 2,
    strideW: 2,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 2,
    oh: 64,
    ow: 64,
  };
  const next = rng(77);
  const x = randomArray(p.n * p.c * p.h * p.w, next);
  const w = randomArray(p.o * (p.c / p.groups) * p.kh * p.kw, next);
  for (const path of ["scalar", "auto"] as const) {
    const prev = setGemmPath(path);
    try {
      const y = conv2dForward(x, w, null, p);
      assertClose(y, naiveConv(x, w, p), 1e-5, `forward [${path}]`);
      // Linearity check of the backward kernels: <gy, conv(x)> = <dW, w> = <dX, x>.
      const gy = randomArray(y.length, next);
      let ref = 0;
      for (let i = 0; i < y.length; i++) ref += gy[i] * y[i];
      const dw = conv2dBackwardWeight(gy, x, p);
      const dx = conv2dBackwardInput(gy, w, p);
      let viaW = 0, viaX = 0;
      for (let i = 0; i < w.length; i++) viaW += dw[i] * w[i];
      for (let i = 0; i < x.length; i++) viaX += dx[i] * x[i];
      assert.ok(
        Math.abs(viaW - ref) <= 1e-4 * Math.abs(ref) + 1e-2,
        `dW [${path}]: ${viaW} vs ${ref}`,
      );
      assert.ok(
        Math.abs(viaX - ref) <= 1e-4 * Math.abs(ref) + 1e-2,
        `dX [${path}]: ${viaX} vs ${ref}`,
      );
    } finally {
      setGemmPath(prev);
    }
  }
});
