/**
 * Convolutions whose outer kernel taps only ever read padding (ResNet's 3 × 3 convs on 1 × 1 maps)
 * run without those taps, and single-pixel pointwise convs as one product for the batch. Every
 * configuration below, cropped or not, is checked against float64 direct loops for the forward
 * pass and both gradients, with the default GEMM and with the blas backend's where it loads.
 */

import assert from "node:assert/strict";
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  type Conv2dParams,
  type Gemm,
} from "../../plugins/cpu/conv.ts";
import { sgemm } from "../../plugins/cpu/gemm.ts";
import { blas, openBlas } from "../../plugins/blas/mod.ts";
import {
  emptyHostPool,
  F,
  hostPoolStats,
  manualSeed,
  nn,
  noGrad,
  optim,
  randn,
  use,
} from "../../mod.ts";
import { convParams } from "./_helpers.ts";
import { gemmOver } from "../../plugins/blas/kernels.ts";

function reference(x: Float32Array, w: Float32Array, gy: Float32Array, p: Conv2dParams) {
  const y = new Float64Array(p.n * p.o * p.oh * p.ow);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length);
  const cg = p.c / p.groups, og = p.o / p.groups;
  for (let b = 0; b < p.n; b++) {
    for (let o = 0; o < p.o; o++) {
      const g = Math.floor(o / og);
      for (let i = 0; i < p.oh; i++) {
        for (let j = 0; j < p.ow; j++) {
          const yi = ((b * p.o + o) * p.oh + i) * p.ow + j;
          for (let c = 0; c < cg; c++) {
            for (let ky = 0; ky < p.kh; ky++) {
              for (let kx = 0; kx < p.kw; kx++) {
                const r = i * p.strideH - p.padH + ky * p.dilationH;
                const q = j * p.strideW - p.padW + kx * p.dilationW;
                if (r < 0 || r >= p.h || q < 0 || q >= p.w) continue;
                const xi = ((b * p.c + g * cg + c) * p.h + r) * p.w + q;
                const wi = ((o * cg + c) * p.kh + ky) * p.kw + kx;
                y[yi] += x[xi] * w[wi];
                dx[xi] += gy[yi] * w[wi];
                dw[wi] += gy[yi] * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw };
}

function close(name: string, actual: Float32Array, expected: Float64Array): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= 1e-4 + 1e-4 * Math.abs(expected[i]))) {
      assert.fail(`${name}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

let seed = 7;
const rnd = (n: number) =>
  Float32Array.from(
    { length: n },
    () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5,
  );

function checkAll(gemm: Gemm, label: string): number {
  let cases = 0;
  for (const size of [1, 2, 3, 5]) {
    for (const k of [1, 2, 3, 5]) {
      for (const pad of [0, 1, 2, 3]) {
        for (const stride of [1, 2, 3]) {
          for (const dil of [1, 2]) {
            for (const groups of [1, 2]) {
              const p = convParams({
                n: 3,
                c: 4,
                h: size,
                w: size + 1,
                o: 6,
                kh: k,
                kw: k,
                strideH: stride,
                strideW: stride,
                padH: pad,
                padW: pad,
                dilationH: dil,
                dilationW: dil,
                groups,
              });
              const { oh, ow } = p;
              if (oh < 1 || ow < 1) continue;
              const x = rnd(p.n * p.c * p.h * p.w), w = rnd(p.o * (p.c / groups) * k * k);
              const gy = rnd(p.n * p.o * oh * ow);
              const ref = reference(x, w, gy, p);
              const name = `${label} ${JSON.stringify({ size, k, pad, stride, dil, groups })}`;
              close(`${name} y`, conv2dForward(x, w, null, p, gemm), ref.y);
              close(`${name} dx`, conv2dBackwardInput(gy, w, p, gemm), ref.dx);
              close(`${name} dw`, conv2dBackwardWeight(gy, x, p, gemm), ref.dw);
              cases++;
            }
          }
        }
      }
    }
  }
  return cases;
}

Deno.test("conv kernels with padding-only taps dropped match direct loops (default GEMM)", () => {
  assert.ok(checkAll(sgemm, "cpu") > 500);
});

const lib = Deno.permissions.querySync({ name: "ffi" }).state === "granted" &&
    Deno.permissions.querySync({ name: "env" }).state === "granted"
  ? openBlas()
  : "no FFI or env permission";
if (typeof lib === "string") console.log(`blas conv crop test skipped: ${lib}`);

Deno.test({
  name: "conv kernels with padding-only taps dropped match direct loops (blas GEMM)",
  ignore: typeof lib === "string",
  fn() {
    const l = lib as Exclude<typeof lib, string>;
    assert.ok(checkAll(gemmOver(l.sgemm), "blas") > 500);
  },
});

Deno.test("cropped conv weights: the taps copied for the forward are not reused once the weight changes", () => {
  // A user's steps: a 3 x 3 conv on 1 x 1 maps (8 of 9 taps dropped), a training step that
  // updates the weight in place, an in-place edit, each followed by a forward. Every forward
  // must equal the same conv over a fresh copy of the weight's current values.
  for (const provider of ["cpu", ...(typeof lib === "string" ? [] : ["blas"])]) {
    if (provider === "blas") use(blas());
    manualSeed(3);
    const conv = new nn.Conv2d(64, 64, 3, { padding: 1 }); // 36,864 weights: blas takes it
    const x = randn([4, 64, 1, 1]);
    const opt = new optim.SGD(conv.parameters(), { lr: 0.5, momentum: 0.9 });
    const fresh = () =>
      F.conv2d(x, conv.weight.detach().clone(), conv.bias!.detach().clone(), { padding: 1 });
    const same = (label: string) => {
      const got = conv.forward(x).dataSync(), want = fresh().dataSync();
      assert.deepEqual(Array.from(got), Array.from(want), `${provider}: ${label}`);
    };
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      conv.forward(x).square().sum().backward();
      opt.step();
      same(`after step ${step}`);
    }
    noGrad(() => conv.weight.mul_(2));
    same("after an in-place edit");
  }
});

Deno.test("cropped conv weight gradient: its cropped temporary goes back to the host pool", () => {
  // A 3 × 3 conv with padding 1 on 1 × 1 maps keeps only the centre tap: the gradient is computed
  // as [128, 128, 1, 1] (64 KiB, poolable) and scattered into the [128, 128, 3, 3] result.
  const p = convParams({ n: 4, c: 128, h: 1, w: 1, o: 128, kh: 3, kw: 3, padH: 1, padW: 1 });
  const gy = Float32Array.from({ length: 4 * 128 }, (_, i) => Math.sin(i));
  const x = Float32Array.from({ length: 4 * 128 }, (_, i) => Math.cos(i));
  emptyHostPool();
  const first = conv2dBackwardWeight(gy, x, p);
  assert.equal(first.length, 128 * 128 * 9);
  assert.equal(hostPoolStats().pooledBytes, 128 * 128 * 4, "the cropped gradient was pooled");
  const second = conv2dBackwardWeight(gy, x, p);
  assert.equal(
    hostPoolStats().pooledBytes,
    128 * 128 * 4,
    "the next call took it and gave it back",
  );
  assert.deepEqual(second, first);
  emptyHostPool();
});
