/**
 * The geometry-specialised im2col/col2im of wasm_gemm_conv_kernels.ts against plain JS loops over
 * unpadded planes: every entry of the column matrix (zeros where a tap reads padding), nothing
 * written outside the images' columns, and the adjoint adding exactly the real-pixel entries.
 * The conv-level results of the injected-GEMM route are checked by conv_crop_test, wasm_conv_test
 * and blas_test.
 */

import assert from "node:assert/strict";
import { type UnrollGeometry, unrollKernelsFor } from "../../plugins/cpu/wasm_gemm_conv_kernels.ts";
import { heapRegions } from "../../plugins/cpu/wasm_conv_heap.ts";
import { wasmSimdAvailable } from "../../plugins/cpu/wasm_gemm.ts";

/** Deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Input pixel read by (plane, tap, output y, x), or -1 for padding. */
function source(g: UnrollGeometry, ki: number, kj: number, y: number, x: number): number {
  const ih = y * g.strideH + ki * g.dilationH - g.padH;
  const iw = x * g.strideW + kj * g.dilationW - g.padW;
  return ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? ih * g.w + iw : -1;
}

interface Case {
  g: UnrollGeometry;
  planes: number;
  images: number;
  /** Floats between consecutive images' planes (≥ planes · h · w). */
  xImage: number;
  /** Column matrix pitch (≥ images · oh · ow). */
  ld: number;
}

/** For each column entry (row, column), the x index it reads, or -1 for a zero. */
function reads(cs: Case): Int32Array {
  const { g, planes, images, xImage, ld } = cs;
  const pix = g.oh * g.ow;
  const idx = new Int32Array(planes * g.kh * g.kw * ld).fill(-2);
  for (let i = 0; i < images; i++) {
    for (let pl = 0; pl < planes; pl++) {
      for (let ki = 0; ki < g.kh; ki++) {
        for (let kj = 0; kj < g.kw; kj++) {
          const row = (pl * g.kh + ki) * g.kw + kj;
          for (let y = 0; y < g.oh; y++) {
            for (let x = 0; x < g.ow; x++) {
              const s = source(g, ki, kj, y, x);
              idx[row * ld + i * pix + y * g.ow + x] = s < 0 ? -1 : i * xImage + pl * g.h * g.w + s;
            }
          }
        }
      }
    }
  }
  return idx;
}

function check(cs: Case, seed: number): void {
  const { g, planes, images, xImage, ld } = cs;
  const k = unrollKernelsFor(g);
  assert.ok(k, `no kernels for ${JSON.stringify(g)}`);
  const pix = g.oh * g.ow;
  const rows = planes * g.kh * g.kw;
  const rand = rng(seed);
  const x = Float32Array.from({ length: images * xImage }, () => rand() - 0.5);
  const idx = reads(cs);
  const { at, f } = heapRegions([x.length, rows * ld, x.length]);
  const [X, COL, DX] = at;
  f.set(x, X);
  // Entries outside the images' columns must keep this value.
  f.fill(7, COL, COL + rows * ld);
  k.im2col(4 * X, 4 * COL, 4 * ld, planes, images, 4 * xImage, 4 * pix);
  for (let e = 0; e < rows * ld; e++) {
    const want = idx[e] === -2 ? 7 : idx[e] === -1 ? 0 : x[idx[e]];
    if (f[COL + e] !== want) {
      assert.fail(`im2col ${JSON.stringify(cs)}: entry ${e} is ${f[COL + e]}, expected ${want}`);
    }
  }
  // Adjoint: dx starts from random values, so that col2im must add (not store). Geometries whose
  // col2im would be too long have none (the callers fall back to the generic kernels).
  if (!k.col2im) return;
  const col = Float32Array.from({ length: rows * ld }, () => rand() - 0.5);
  const dx0 = Float32Array.from({ length: x.length }, () => rand() - 0.5);
  const want = Float64Array.from(dx0);
  for (let e = 0; e < rows * ld; e++) if (idx[e] >= 0) want[idx[e]] += col[e];
  f.set(col, COL);
  f.set(dx0, DX);
  k.col2im(4 * COL, 4 * ld, 4 * DX, planes, images, 4 * xImage, 4 * pix);
  for (let i = 0; i < x.length; i++) {
    const got = f[DX + i];
    // At most kh·kw float32 additions of values below 1 in magnitude.
    assert.ok(
      Math.abs(got - want[i]) <= 1e-5,
      `col2im ${JSON.stringify(cs)}: dx[${i}] is ${got}, expected ${want[i]}`,
    );
  }
}

function geometry(
  h: number,
  w: number,
  kh: number,
  kw: number,
  s: [number, number],
  pad: [number, number],
  dil: [number, number] = [1, 1],
): UnrollGeometry {
  const oh = Math.floor((h + 2 * pad[0] - dil[0] * (kh - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((w + 2 * pad[1] - dil[1] * (kw - 1) - 1) / s[1]) + 1;
  return {
    h,
    w,
    kh,
    kw,
    strideH: s[0],
    strideW: s[1],
    padH: pad[0],
    padW: pad[1],
    dilationH: dil[0],
    dilationW: dil[1],
    oh,
    ow,
  };
}

Deno.test({
  name: "unroll kernels: ResNet-18 geometries at 32 x 32 input",
  ignore: !wasmSimdAvailable,
  fn() {
    const cases: UnrollGeometry[] = [
      geometry(8, 8, 3, 3, [1, 1], [1, 1]),
      geometry(4, 4, 3, 3, [1, 1], [1, 1]),
      geometry(2, 2, 3, 3, [1, 1], [1, 1]),
      geometry(8, 8, 3, 3, [2, 2], [1, 1]),
      geometry(4, 4, 3, 3, [2, 2], [1, 1]),
      geometry(2, 2, 2, 2, [2, 2], [0, 0]),
      geometry(8, 8, 1, 1, [2, 2], [0, 0]),
      geometry(32, 32, 7, 7, [2, 2], [3, 3]),
    ];
    cases.forEach((g, i) =>
      check({ g, planes: 3, images: 3, xImage: 3 * g.h * g.w, ld: 3 * g.oh * g.ow + 5 }, i)
    );
  },
});

Deno.test({
  name: "unroll kernels: random geometries (stride, padding, dilation, odd sizes, pitches)",
  ignore: !wasmSimdAvailable,
  fn() {
    const rand = rng(1234);
    const r = (a: number, b: number) => a + Math.floor(rand() * (b - a + 1));
    let checked = 0;
    while (checked < 150) {
      const g = geometry(
        r(1, 9),
        r(1, 9),
        r(1, 4),
        r(1, 4),
        [r(1, 3), r(1, 3)],
        [r(0, 3), r(0, 3)],
        [
          r(1, 2),
          r(1, 2),
        ],
      );
      if (g.oh < 1 || g.ow < 1) continue;
      const planes = r(1, 3), images = r(1, 3);
      check({
        g,
        planes,
        images,
        xImage: (planes + r(0, 2)) * g.h * g.w,
        ld: images * g.oh * g.ow + r(0, 5),
      }, checked);
      checked++;
    }
  },
});

Deno.test({
  name: "unroll kernels: geometries too long to unroll fall back (null), and are cached",
  ignore: !wasmSimdAvailable,
  fn() {
    // A 7 x 7, stride-2 stem on 224 x 224 input: 49 taps x 112 rows x 112 columns per plane.
    assert.equal(unrollKernelsFor(geometry(224, 224, 7, 7, [2, 2], [3, 3])), null);
    // At 32 x 32 input its im2col (stride-2 runs four floats at a time) is specialised, but not
    // its col2im (one float at a time); a stride-1 3 x 3 has both.
    const stem = unrollKernelsFor(geometry(32, 32, 7, 7, [2, 2], [3, 3]));
    assert.ok(stem !== null && stem.col2im === null);
    assert.ok(unrollKernelsFor(geometry(8, 8, 3, 3, [1, 1], [1, 1]))?.col2im);
    const g = geometry(8, 8, 3, 3, [1, 1], [1, 1]);
    assert.equal(unrollKernelsFor(g), unrollKernelsFor({ ...g }));
  },
});
