/**
 * Checks the blocked CPU sgemm against a naive triple loop written here, once per implementation:
 * every case runs with the pure-TypeScript kernel and, where the engine has WebAssembly SIMD,
 * with the wasm kernel (both forced through setGemmPath, whatever the size heuristic would pick).
 *
 * Tolerance: |actual - expected| <= 1e-5 * k + 1e-5 * |expected|. The reference sums in float64
 * over the float32 inputs; the scalar kernel also sums in float64 but rounds C to float32 between
 * depth blocks of 256, and the wasm kernel sums in float32, so the slack grows with k.
 */

import assert from "node:assert/strict";
import { type GemmPath, setGemmPath, sgemm } from "../../plugins/cpu/gemm.ts";
import { wasmSimdAvailable } from "../../plugins/cpu/wasm_gemm.ts";

const PATHS: GemmPath[] = wasmSimdAvailable ? ["scalar", "wasm"] : ["scalar"];

/** Registers `fn` once per implementation, restoring the automatic choice afterwards. */
function test(name: string, fn: () => void): void {
  for (const path of PATHS) {
    Deno.test(`${name} [${path}]`, () => {
      const prev = setGemmPath(path);
      try {
        fn();
      } finally {
        setGemmPath(prev);
      }
    });
  }
}

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

function naive(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        const bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        acc += av * bv;
      }
      const ci = cOff + i * ldc + j;
      c[ci] = alpha * acc + (beta === 0 ? 0 : beta * c[ci]);
    }
  }
}

interface Case {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  /** Extra elements added to each leading dimension beyond its minimum. */
  pad: number;
  /** Offset of each matrix inside its array. */
  off: number;
  /** Fill C with NaN before the call (only meaningful with beta = 0). */
  nanC: boolean;
}

function check(t: Case, seed: number): void {
  const next = rng(seed);
  const { transA, transB, m, n, k, alpha, beta, pad, off } = t;
  const lda = (transA ? m : k) + pad;
  const ldb = (transB ? k : n) + pad;
  const ldc = n + pad;
  const aRows = transA ? k : m;
  const bRows = transB ? n : k;
  const a = randomArray(off + aRows * lda + 3, next);
  const b = randomArray(off + bRows * ldb + 3, next);
  const c0 = randomArray(off + m * ldc + 3, next);
  if (t.nanC) c0.fill(NaN);
  const expected = c0.slice();
  const actual = c0.slice();
  naive(transA, transB, m, n, k, alpha, a, off, lda, b, off, ldb, beta, expected, off, ldc);
  sgemm(transA, transB, m, n, k, alpha, a, off, lda, b, off, ldb, beta, actual, off, ldc);
  const atol = 1e-5 * Math.max(1, k);
  const label = JSON.stringify(t);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i], x = actual[i];
    // Padding and elements outside C must be untouched (NaN stays NaN there).
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(x), `${label}: index ${i} expected NaN, got ${x}`);
      continue;
    }
    assert.ok(
      Math.abs(x - e) <= atol + 1e-5 * Math.abs(e),
      `${label}: index ${i} expected ${e}, got ${x}`,
    );
  }
  if (t.nanC) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const v = actual[off + i * ldc + j];
        assert.ok(Number.isFinite(v), `${label}: C[${i},${j}] = ${v} with beta = 0`);
      }
    }
  }
}

const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

test("sgemm: odd shapes, all transposes, alpha=1 beta=0", () => {
  const sizes = [1, 3, 4, 5, 17, 65, 129];
  let seed = 1;
  for (const [transA, transB] of TRANS) {
    for (const m of sizes) {
      for (const n of [1, 7, 17, 130]) {
        for (const k of [1, 2, 3, 65]) {
          check(
            { transA, transB, m, n, k, alpha: 1, beta: 0, pad: 0, off: 0, nanC: false },
            seed++,
          );
        }
      }
    }
  }
});

test("sgemm: depth beyond one block (k = 257, 513) and odd depth padding", () => {
  let seed = 100;
  for (const [transA, transB] of TRANS) {
    for (const [m, n, k] of [[9, 11, 257], [33, 5, 513], [4, 4, 255], [17, 19, 300]]) {
      check({ transA, transB, m, n, k, alpha: 1, beta: 0, pad: 0, off: 0, nanC: false }, seed++);
      check({ transA, transB, m, n, k, alpha: 0.5, beta: 1, pad: 2, off: 3, nanC: false }, seed++);
    }
  }
});

test("sgemm: blocks larger than MC and NC (m = 250, n = 1030)", () => {
  let seed = 200;
  for (const [transA, transB] of TRANS) {
    check(
      {
        transA,
        transB,
        m: 250,
        n: 1030,
        k: 37,
        alpha: 1.5,
        beta: -0.5,
        pad: 1,
        off: 5,
        nanC: false,
      },
      seed++,
    );
  }
});

test("sgemm: threaded products over several A blocks and depth steps", () => {
  // m over MC (three A blocks per column range), k over KC (accumulating depth steps), n of 75
  // column panels and a ragged one, large enough to be split over the threads.
  let seed = 250;
  for (const [transA, transB] of TRANS) {
    check(
      { transA, transB, m: 250, n: 603, k: 300, alpha: 1, beta: 0, pad: 3, off: 2, nanC: false },
      seed++,
    );
  }
});

test("sgemm: offsets and leading dimensions larger than the minimum", () => {
  let seed = 300;
  for (const [transA, transB] of TRANS) {
    for (const [m, n, k] of [[3, 5, 7], [17, 65, 33], [65, 17, 129]]) {
      for (const pad of [1, 13]) {
        for (const off of [1, 7]) {
          check({ transA, transB, m, n, k, alpha: 1, beta: 0, pad, off, nanC: false }, seed++);
        }
      }
    }
  }
});

test("sgemm: alpha and beta variants", () => {
  let seed = 400;
  for (const [transA, transB] of TRANS) {
    for (const [alpha, beta] of [[1, 1], [2, 0], [-0.75, 0.25], [0, 3], [0.3, -1.7]]) {
      for (const [m, n, k] of [[5, 9, 17], [66, 34, 65]]) {
        check({ transA, transB, m, n, k, alpha, beta, pad: 2, off: 1, nanC: false }, seed++);
      }
    }
  }
});

test("sgemm: beta = 0 overwrites a NaN-filled C", () => {
  let seed = 500;
  for (const [transA, transB] of TRANS) {
    for (const [m, n, k] of [[1, 1, 1], [7, 5, 3], [65, 129, 17], [6, 6, 300]]) {
      check({ transA, transB, m, n, k, alpha: 1.25, beta: 0, pad: 3, off: 2, nanC: true }, seed++);
    }
  }
});

test("sgemm: k = 0 gives beta * C; m = 0 or n = 0 touch nothing", () => {
  let seed = 600;
  for (const beta of [0, 1, -2]) {
    check(
      {
        transA: false,
        transB: false,
        m: 5,
        n: 6,
        k: 0,
        alpha: 1,
        beta,
        pad: 1,
        off: 2,
        nanC: false,
      },
      seed++,
    );
  }
  check(
    { transA: true, transB: true, m: 5, n: 6, k: 0, alpha: 1, beta: 0, pad: 0, off: 0, nanC: true },
    seed++,
  );
  for (const [m, n] of [[0, 5], [5, 0], [0, 0]]) {
    check(
      { transA: false, transB: true, m, n, k: 4, alpha: 1, beta: 0, pad: 1, off: 1, nanC: false },
      seed++,
    );
  }
});

test("sgemm: repeated calls reuse scratch without stale data", () => {
  // A large call followed by a small one: leftovers in the packed panels must not leak in.
  check({
    transA: false,
    transB: false,
    m: 130,
    n: 130,
    k: 300,
    alpha: 1,
    beta: 0,
    pad: 0,
    off: 0,
    nanC: false,
  }, 700);
  for (const [transA, transB] of TRANS) {
    check(
      { transA, transB, m: 3, n: 2, k: 1, alpha: 1, beta: 0, pad: 0, off: 0, nanC: false },
      701,
    );
  }
});
