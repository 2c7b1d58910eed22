/**
 * The blas backend's convolutions (wasm im2col/col2im around the CBLAS sgemm) of this tree against
 * another checkout of denn, on ResNet-18's 3 × 3 layers at 32 × 32 input, batch 32 (`--set
 * resnet18`, the default), or on every convolution of GoogLeNet at 64 × 64, batch 16 (`--set
 * googlenet`, read from the model with forward pre-hooks): forward, input gradient and weight
 * gradient, both trees' kernels interleaved in one process over the same library. Prints per shape
 * the medians this / other and the median of the per-round ratios, then the totals weighted by how
 * often each shape occurs in a training step.
 *
 *     git worktree add /tmp/denn-base <commit>
 *     deno run -A bench/conv_ab.ts /tmp/denn-base [--rounds 31] [--set resnet18|googlenet] [--cpu]
 *
 * `--cpu` runs each tree's cpu backend GEMM (WebAssembly) instead of the library's.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { randn, use } from "../mod.ts";
import { Conv2d } from "../layers/mod.ts";
import { googlenet } from "../plugins/models/mod.ts";
import { blas, blasLibrary } from "../plugins/blas/mod.ts";
import { gemmOver } from "../plugins/blas/kernels.ts";
import * as here from "../plugins/cpu/conv.ts";
import * as hereGemm from "../plugins/cpu/gemm.ts";
import type { Conv2dParams, Gemm } from "../plugins/cpu/conv.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "31" },
    set: { type: "string", default: "resnet18" },
    cpu: { type: "boolean", default: false },
  },
});
const dir = positionals[0];
const rounds = Number(values.rounds);
if (
  !dir || !Number.isInteger(rounds) || rounds < 15 ||
  !["resnet18", "googlenet"].includes(values.set)
) {
  console.error(
    "usage: deno run -A bench/conv_ab.ts <other denn checkout> [--rounds N ≥ 15] " +
      "[--set resnet18|googlenet] [--cpu]",
  );
  Deno.exit(2);
}
type ConvModule = typeof here;
const other: ConvModule = await import(`${dir}/plugins/cpu/conv.ts`);
const otherKernels = await import(`${dir}/plugins/blas/kernels.ts`);
use(blas());
const lib = blasLibrary();
if (!lib) {
  console.log("no CBLAS loaded: nothing to compare");
  Deno.exit(0);
}
const gemmHere: Gemm = values.cpu ? hereGemm.sgemm : gemmOver(lib.sgemm);
const gemmOther: Gemm = values.cpu
  ? (await import(`${dir}/plugins/cpu/gemm.ts`)).sgemm
  : otherKernels.gemmOver(lib.sgemm);

// [n, c, h (= w), o, k, stride, pad] and how often the layer occurs in a ResNet-18 step.
const RESNET18: [number[], number][] = [
  [[32, 3, 32, 64, 7, 2, 3], 1],
  [[32, 64, 8, 64, 3, 1, 1], 4],
  [[32, 64, 8, 128, 3, 2, 1], 1],
  [[32, 128, 4, 128, 3, 1, 1], 3],
  [[32, 128, 4, 256, 3, 2, 1], 1],
  [[32, 256, 2, 256, 3, 1, 1], 3],
  [[32, 256, 2, 512, 3, 2, 1], 1],
];

/** GoogLeNet's convolutions at 64 × 64, batch 16, as its forward pass calls them. */
function googlenetShapes(): [number[], number][] {
  const model = googlenet({ numClasses: 10 });
  const counts = new Map<string, number>();
  for (const m of model.modules()) {
    if (!(m instanceof Conv2d)) continue;
    m.registerForwardPreHook((_m, [x]) => {
      const pad = m.padding;
      if (typeof pad === "string" || m.kernelSize[0] !== m.kernelSize[1]) {
        throw new Error(`conv_ab: unexpected GoogLeNet conv ${m.kernelSize} ${pad}`);
      }
      const key = [x.shape[0], m.inChannels, x.shape[2], m.outChannels, m.kernelSize[0]]
        .concat([m.stride[0], pad[0]]).join(",");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
  }
  model.forward(randn([16, 3, 64, 64])).dispose();
  return [...counts].map(([k, c]) => [k.split(",").map(Number), c]);
}

const SHAPES = values.set === "googlenet" ? googlenetShapes() : RESNET18;

function params([n, c, h, o, k, s, pad]: number[]): Conv2dParams {
  const oh = Math.floor((h + 2 * pad - k) / s) + 1;
  return {
    n,
    c,
    h,
    w: h,
    o,
    kh: k,
    kw: k,
    strideH: s,
    strideW: s,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    oh,
    ow: oh,
  };
}

const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const PASSES = ["forward", "input grad", "weight grad"];
const totals = PASSES.map(() => [0, 0]);
console.log(
  `${values.set}, ${rounds} rounds; other: ${dir}; ${values.cpu ? "cpu backend GEMM" : lib.path}`,
);
console.log("| shape [n,c,h,o,k,s,p] | pass | this ms | other ms | this / other (paired) |");
console.log("| --- | --- | --- | --- | --- |");
for (const [shape, count] of SHAPES) {
  const p = params(shape);
  const x = rnd(p.n * p.c * p.h * p.w), w = rnd(p.o * p.c * p.kh * p.kw);
  const gy = rnd(p.n * p.o * p.oh * p.ow);
  const passes = (m: ConvModule, g: Gemm) => [
    () => m.conv2dForward(x, w, null, p, g),
    () => m.conv2dBackwardInput(gy, w, p, g),
    () => m.conv2dBackwardWeight(gy, x, p, g),
  ];
  const a = passes(here, gemmHere), b = passes(other, gemmOther);
  for (let j = 0; j < PASSES.length; j++) {
    for (let r = 0; r < 5; r++) a[j](), b[j]();
    const ta: number[] = [], tb: number[] = [], ratio: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const [first, second] = r % 2 ? [b[j], a[j]] : [a[j], b[j]];
      let t0 = performance.now();
      first();
      const t1 = performance.now() - t0;
      t0 = performance.now();
      second();
      const t2 = performance.now() - t0;
      const [x1, x2] = r % 2 ? [t2, t1] : [t1, t2];
      ta.push(x1), tb.push(x2), ratio.push(x1 / x2);
    }
    totals[j][0] += median(ta) * count;
    totals[j][1] += median(tb) * count;
    console.log(
      `| ${shape.join(",")} | ${PASSES[j]} | ${median(ta).toFixed(3)} | ${
        median(tb).toFixed(3)
      } | ` +
        `${median(ratio).toFixed(2)} |`,
    );
  }
}
for (const [j, [a, b]] of totals.entries()) {
  console.log(`${PASSES[j]}, weighted by layer count: ${a.toFixed(2)} / ${b.toFixed(2)} ms`);
}
